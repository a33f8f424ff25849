"""A small real train stage (2 runs of ``pipelines.lib.runs.run_one`` on ``digits``, :mod:`tests.scaling.stage`)
and a Ray instance on the loopback interface, shared by the scaling tests."""

from __future__ import annotations

import pytest

from tests.scaling.stage import stage_jobs

STAGE_RUNS = [("asgl", 0), ("sg", 1)]
LOCAL_POOL = {"executor": "local", "workers": 2, "threads_per_worker": 1, "device": "cpu"}


def pytest_configure(config):
    config.addinivalue_line("markers", "ray: starts a Ray instance on this machine (loopback only)")


@pytest.fixture(scope="session")
def stage(tmp_path_factory):
    """``jobs_for(results_folder)``: the stage's jobs, writing under the given folder."""
    root = tmp_path_factory.mktemp("scaling-data")
    jobs = stage_jobs(root, root / "unused", STAGE_RUNS)
    return lambda results: [{**job, "results": str(results)} for job in jobs]


@pytest.fixture(scope="session")
def local_records(stage, tmp_path_factory):
    """The stage's run records from the local spawn pool (the reference for every other executor)."""
    from pipelines.lib.executors import run_jobs
    from pipelines.lib.runs import run_one

    return run_jobs(run_one, stage(tmp_path_factory.mktemp("local-results")), LOCAL_POOL)


@pytest.fixture(scope="module")
def ray_instance():
    """``ray.init`` with 2 CPUs on 127.0.0.1, no dashboard, no usage reporting; shut down afterwards."""
    mp = pytest.MonkeyPatch()
    mp.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray's loopback-only mode, read when ray is imported
    mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        address = ray.get_runtime_context().gcs_address
        assert address.startswith("127.0.0.1:"), f"Ray is not on the loopback interface: {address}"
        yield ray
    finally:
        ray.shutdown()
        mp.undo()
