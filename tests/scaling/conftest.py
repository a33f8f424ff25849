"""A small real train stage (2 runs of ``pipelines.train.run_one`` on ``digits``) and a Ray instance on the
loopback interface, shared by the scaling tests."""

from __future__ import annotations

from pathlib import Path

import pytest

RUN_FIELDS_THAT_TIME = ("train_throughput", "inference_throughput", "train_seconds", "peak_memory_bytes",
                        "run_dir")
STAGE_RUNS = (("asgl", 0), ("sg", 1))
LOCAL_POOL = {"executor": "local", "workers": 2, "threads_per_worker": 1, "device": "cpu"}


def pytest_configure(config):
    config.addinivalue_line("markers", "ray: starts a Ray instance on this machine (loopback only)")


def stage_params() -> dict:
    """A params dict for two tiny digits runs (3 epochs: the kill test needs a checkpoint before the end)."""
    train = {"epochs": 3, "batch_size": 64, "optimizer": "adam", "lr": 1e-2, "weight_decay": 0.0,
             "neuron_lr": 1e-2, "progress": False, "eval_every": 3, "metrics_samples": 32,
             "eval_batch_size": 512, "throughput_warmup": 0}
    return {"run": {"datasets": ["digits"], "methods": {"asgl": "asgl/methods.py", "sg": "asgl/methods.py"},
                    "seeds": [0, 1], "device": "cpu"},
            "datasets": {"digits": {"model": "resnet_tiny", "train": train,
                                    "model_kwargs": {"in_channels": 1, "time_steps": 2, "width": 4}}},
            "methods": {"asgl": {"width": 1.0, "p": 0.2}, "sg": {"width": 1.0}}}


@pytest.fixture(scope="session")
def stage(tmp_path_factory):
    """``(jobs_for(results_folder), data_root)``: the stage's jobs, writing under the given folder."""
    from asgl.data import load_prepared, prepare_dataset
    from pipelines.train import run_settings

    root = tmp_path_factory.mktemp("scaling-data")
    prepare_dataset("digits", root, test_fraction=0.8)  # ~360 training images: short epochs
    meta = load_prepared(root, "digits").manifest
    params = stage_params()
    settings = [run_settings(params, "digits", method, None, seed, meta) for method, seed in STAGE_RUNS]

    def jobs_for(results: Path) -> list[dict]:
        return [{"settings": s, "root": str(root), "results": str(results)} for s in settings]

    return jobs_for


@pytest.fixture(scope="session")
def local_records(stage, tmp_path_factory):
    """The stage's run records from the local spawn pool (the reference for every other executor)."""
    from pipelines.executors import run_jobs
    from pipelines.train import run_one

    return run_jobs(run_one, stage(tmp_path_factory.mktemp("local-results")), LOCAL_POOL)


def comparable(record: dict) -> dict:
    """A run record without the fields that measure time, memory or place."""
    return {k: v for k, v in record.items() if k not in RUN_FIELDS_THAT_TIME}


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
