"""The data root comes from one place for fetch/prepare (``--data-root`` > ``$ASGL_DATA_ROOT`` > params.yaml's
``data_root`` > ``data``), and a raw path that is a folder (or a symlink to one) is reported as such."""

from __future__ import annotations

import pytest

from asgl.data import CorruptFileError, get_spec
from asgl.data.raw import ensure_raw
from pipelines.lib.data_cli import parser
from pipelines.stages import prepare


def _root(argv):
    return parser("test", "test").parse_args(argv).data_root


def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASGL_DATA_ROOT", raising=False)
    assert _root(["digits"]) == "data"
    (tmp_path / "params.yaml").write_text("data_root: elsewhere\n", encoding="utf-8")
    assert _root(["digits"]) == "elsewhere"
    (tmp_path / "other.yaml").write_text("data_root: other\n", encoding="utf-8")
    assert _root(["digits", "--params", "other.yaml"]) == "other"
    monkeypatch.setenv("ASGL_DATA_ROOT", "from-env")
    assert _root(["digits"]) == "from-env"
    assert _root(["digits", "--data-root", "flag"]) == "flag"


def test_a_missing_params_file_given_explicitly_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        _root(["digits", "--params", "nope.yaml"])
    assert "nope.yaml: not found" in capsys.readouterr().err


def test_prepare_writes_under_the_params_data_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASGL_DATA_ROOT", raising=False)
    (tmp_path / "params.yaml").write_text("data_root: store\n", encoding="utf-8")
    assert prepare.main(["digits"]) == 0
    assert (tmp_path / "store" / "prepared" / "digits.pt").is_file()
    assert not (tmp_path / "data").exists()


def test_a_symlinked_folder_where_a_file_belongs_is_named(tmp_path):
    spec = get_spec("cifar10")
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    (recordings / "a.bin").write_bytes(b"1")
    (recordings / "b.bin").write_bytes(b"2")
    raw = tmp_path / "raw" / "cifar10"
    raw.mkdir(parents=True)
    (raw / spec.remotes[0].filename).symlink_to(recordings, target_is_directory=True)
    with pytest.raises(CorruptFileError) as info:
        ensure_raw(spec, tmp_path, allow_download=False)
    message = str(info.value)
    assert "expected a file, found a symlink to" in message and "a folder of 2 entries" in message
    assert "truncated" not in message and "\n" not in message
