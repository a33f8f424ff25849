"""The executor keys of ``run``: one-line errors naming the key, defaults, job names, renamed errors."""

from __future__ import annotations

import pytest

from pipelines.lib.executor_config import check_run_block, ddp_size, job_name, named_error, ray_settings


@pytest.mark.parametrize(("run", "message"), [
    ({"executor": "slurm"}, r"run\.executor must be one of \['local', 'ray'\], got 'slurm'"),
    ({"workers": 0}, r"run\.workers must be an integer >= 1 or 'auto', got 0"),
    ({"workers": "all"}, r"run\.workers must be an integer >= 1 or 'auto', got 'all'"),
    ({"threads_per_worker": 1.5}, r"run\.threads_per_worker must be an integer >= 1, got 1\.5"),
    ({"device": "gpu"}, r"run\.device must be one of \['auto', 'cpu', 'cuda'\], got 'gpu'"),
    ({"ray": ["auto"]}, r"run\.ray must be a mapping"),
    ({"ray": {"adress": "auto"}}, r"run\.ray: unknown key\(s\) \['adress'\]"),
    ({"ray": {"address": "head-node"}}, r"run\.ray\.address must be null .* got 'head-node'"),
    ({"ray": {"cpus_per_run": 0}}, r"run\.ray\.cpus_per_run must be a number > 0, got 0"),
    ({"ray": {"gpus_per_run": -1}}, r"run\.ray\.gpus_per_run must be a number >= 0, got -1"),
    ({"ray": {"max_retries": True}}, r"run\.ray\.max_retries must be an integer >= 0, got True"),
    ({"executor": "ray", "device": "cuda", "ray": {"gpus_per_run": 0}},
     r"run\.ray\.gpus_per_run is 0 but run\.device is cuda"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 12 else None)
def test_bad_values_name_the_key(run, message):
    with pytest.raises(ValueError, match=message):
        check_run_block(run)


@pytest.mark.parametrize("address", [None, "auto", "10.0.0.5:6379", "head.cluster.local:6379",
                                     "ray://10.0.0.5:10001"])
def test_good_addresses(address):
    check_run_block({"executor": "ray", "workers": "auto", "ray": {"address": address, "gpus_per_run": 0.5}})


def test_ray_defaults_follow_the_run_block():
    assert ray_settings({"threads_per_worker": 2, "device": "cuda"}) == {
        "address": None, "cpus_per_run": 2, "gpus_per_run": 1, "max_retries": 3}
    assert ray_settings({"device": "cpu", "ray": {"max_retries": 0}})["gpus_per_run"] == 0


def test_ddp_size_is_read_from_the_train_settings():
    assert ddp_size({"settings": {"train": {"epochs": 1}}}) == 1
    assert ddp_size({"settings": {"train": {"ddp": 4}}}) == 4
    assert ddp_size("not a train job") == 1
    with pytest.raises(ValueError, match=r"train\.ddp must be an integer >= 1"):
        ddp_size({"settings": {"train": {"ddp": 0}}})


def test_job_names():
    settings = {"method": "asgl", "dataset": "digits", "width": 2.5, "seed": 3}
    assert job_name({"settings": settings}, 7) == "run asgl/digits/w2.5-s3"
    assert job_name({"other": 1}, 7) == "job 7"


def test_named_error_keeps_the_type_and_names_the_run():
    original = ValueError("train.lr must be >= 0")
    renamed = named_error(original, "run sg/digits/w1-s0")
    assert type(renamed) is ValueError and renamed.__cause__ is original
    assert str(renamed) == "run sg/digits/w1-s0: train.lr must be >= 0"
    key = named_error(KeyError("x"), "run a")  # KeyError's message is its repr: keep it, add a note
    assert str(key) == "'x'" and key.__notes__ == ["in run a"]

