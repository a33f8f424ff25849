"""``params.yaml`` checks the executor keys of ``run``
(through :func:`pipelines.lib.executor_config.check_run_block`)."""

from __future__ import annotations

import pytest

from pipelines.lib.params import ParamsError, validate
from tests.scaling.stage import stage_params


def test_params_yaml_checks_the_executor_keys():
    params = stage_params()
    params["run"].update(executor="ray", workers="auto", ray={"address": "auto", "max_retries": 1})
    validate(params)
    params["run"]["ray"]["max_retries"] = -1
    with pytest.raises(ParamsError, match=r"^params\.yaml: run\.ray\.max_retries must be an integer >= 0, got -1$"):
        validate(params)
    params["run"]["engine"] = "ray"
    with pytest.raises(ParamsError, match=r"unknown key\(s\) \['engine'\] in run"):
        validate(params)
