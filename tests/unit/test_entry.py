"""The one entry (:func:`pipelines.lib.entry.run_main`): user errors in one line with status 2, Ctrl-C 130, bugs
raise."""

from __future__ import annotations

import errno
import json

import pytest
import yaml

from asgl.errors import UserError
from pipelines.lib.entry import run_main


def _raise(exc: BaseException):
    def work():
        raise exc
    return work


def _bad_json():
    json.loads('{"a": ')


def _bad_yaml():
    yaml.safe_load("a: [1, 2")


@pytest.mark.parametrize("work, needle", [
    (_raise(UserError("params.yaml: run.seeds: expected a list; fix it")), "run.seeds"),
    (_bad_json, "not valid JSON"),
    (_bad_yaml, "not valid YAML"),
    (_raise(FileNotFoundError(errno.ENOENT, "No such file", "results/runs.csv")), "results/runs.csv: not found"),
    (_raise(OSError(errno.ENOSPC, "No space left on device", "out.pt")), "no space left on the device while "
                                                                        "writing out.pt"),
    (_raise(ModuleNotFoundError("No module named 'snntorch'", name="snntorch")), "'snntorch' is not installed"),
], ids=["user-error", "json", "yaml", "missing-file", "full-disk", "missing-package"])
def test_a_user_error_is_one_line_and_status_2(work, needle, capsys):
    assert run_main(work) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and err.count("\n") == 1


def test_ctrl_c_is_status_130(capsys):
    assert run_main(_raise(KeyboardInterrupt())) == 130
    assert "interrupted" in capsys.readouterr().err


@pytest.mark.parametrize("exc", [TypeError("bug"), KeyError("bug"), ValueError("bug"), OSError(errno.EIO, "bug"),
                                 ModuleNotFoundError("No module named 'asgl.nope'", name="asgl.nope")],
                         ids=["type", "key", "value", "io", "own-module"])
def test_a_bug_keeps_its_traceback(exc):
    with pytest.raises(type(exc)):
        run_main(_raise(exc))


def test_the_work_status_is_returned():
    assert run_main(lambda: 3) == 3 and run_main(lambda: None) == 0


def test_every_user_error_class_derives_from_the_one_base():
    from asgl.data import DataError
    from asgl.io import WriteError
    from asgl.nir_export import ExportError
    from asgl.registry import MethodNameError, MethodParamsError, MissingRequirementError, PluginError
    from asgl.training.checkpoint import CheckpointError
    from asgl.training.trainer import NonFiniteLossError
    from pipelines.commands.compare import CompareError
    from pipelines.commands.export import RunFolderError
    from pipelines.commands.plan import PlanError
    from pipelines.lib.executor_config import RunBlockError
    from pipelines.lib.identity import MethodSourceError
    from pipelines.lib.params import ParamsError

    for cls in (DataError, WriteError, ExportError, MethodNameError, MethodParamsError, MissingRequirementError,
                PluginError, CheckpointError, NonFiniteLossError, CompareError, RunFolderError, MethodSourceError,
                ParamsError, PlanError, RunBlockError):
        assert issubclass(cls, UserError), cls
