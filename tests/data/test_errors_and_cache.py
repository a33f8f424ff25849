"""Failure paths (clear one-line errors, no half-written cache) and cache invalidation."""

from __future__ import annotations

import json

import pytest

from asgl.data import cache, load_prepared, prepare_dataset
from asgl.data.errors import ChecksumMismatchError, CorruptFileError, DatasetUnavailableError
from asgl.data.registry import RemoteFile
from pipelines.stages import fetch as fetch_cli
from pipelines.stages import prepare as prepare_cli

from .conftest import prepared_files
from .formats import write_hsd_h5


def _shd_files(tmp_path, rng):
    raw = tmp_path / "raw/shd"
    raw.mkdir(parents=True)
    for split in ("train", "test"):
        write_hsd_h5(raw / f"shd_{split}.h5", rng, 10, 20)
    return raw


def test_truncated_hdf5_names_file_and_leaves_no_cache(tmp_path, rng):
    raw = _shd_files(tmp_path, rng)
    data = (raw / "shd_test.h5").read_bytes()
    (raw / "shd_test.h5").write_bytes(data[: len(data) // 3])
    with pytest.raises(CorruptFileError, match=r"shd_test\.h5"):
        prepare_dataset("shd", tmp_path)
    assert prepared_files(tmp_path) == []


def test_cli_prints_one_line_for_corrupt_file(tmp_path, rng, capsys):
    raw = _shd_files(tmp_path, rng)
    (raw / "shd_train.h5").write_bytes(b"not hdf5")
    assert prepare_cli.main(["shd", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "shd_train.h5" in err and "Traceback" not in err


def test_missing_files_no_network(tmp_path, closed_port_url, override_spec, capsys):
    override_spec("fsdd", embedded=False, remotes=(RemoteFile("fsdd.zip", closed_port_url),))
    with pytest.raises(DatasetUnavailableError, match=r"fsdd\.zip"):
        prepare_dataset("fsdd", tmp_path)
    assert prepared_files(tmp_path) == []
    assert fetch_cli.main(["fsdd", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "fsdd" in err and closed_port_url in err and str(tmp_path / "raw/fsdd") in err
    assert err.count("\n") == 1


def test_local_archive_with_wrong_checksum(tmp_path, override_spec, capsys):
    override_spec("fsdd", remotes=(RemoteFile("fsdd.zip", "http://127.0.0.1:9/x", md5="0" * 32),))
    (tmp_path / "raw/fsdd").mkdir(parents=True)
    (tmp_path / "raw/fsdd/fsdd.zip").write_bytes(b"tampered")
    with pytest.raises(ChecksumMismatchError, match=r"fsdd\.zip"):
        prepare_dataset("fsdd", tmp_path)
    assert prepare_cli.main(["fsdd", "--data-root", str(tmp_path)]) == 2
    assert "checksum mismatch" in capsys.readouterr().err


def test_unknown_id_lists_known_ids(tmp_path, capsys):
    assert prepare_cli.main(["cifar11", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "cifar11" in err and "cifar10" in err and "synth-speech" in err


def test_fetch_embedded_downloads_nothing_and_leaves_a_source_note(tmp_path, capsys):
    assert fetch_cli.main(["digits", "--data-root", str(tmp_path)]) == 0
    assert "nothing to fetch" in capsys.readouterr().out
    assert [p.name for p in (tmp_path / "raw" / "digits").iterdir()] == ["SOURCE.json"]


def test_env_var_sets_default_root(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASGL_DATA_ROOT", str(tmp_path))
    assert prepare_cli.main(["digits"]) == 0
    assert (tmp_path / "prepared/digits.pt").exists()


def test_cache_reused_then_rebuilt_on_param_and_code_change(tmp_path, monkeypatch):
    path = prepare_dataset("synth-speech", tmp_path, per_class=2)
    stamp = path.stat().st_mtime_ns
    assert prepare_dataset("synth-speech", tmp_path, per_class=2).stat().st_mtime_ns == stamp
    prepare_dataset("synth-speech", tmp_path, per_class=3)
    assert load_prepared(tmp_path, "synth-speech").train_x.shape[0] == 20  # 30 * 0.75 after rounding per class
    stamp = path.stat().st_mtime_ns
    monkeypatch.setattr("asgl.data.prepare.code_version", lambda: "different")
    prepare_dataset("synth-speech", tmp_path, per_class=3)
    assert path.stat().st_mtime_ns != stamp
    assert json.loads((tmp_path / "prepared/synth-speech.manifest.json").read_text())["code_version"] == "different"


def test_source_change_triggers_rebuild(tmp_path, rng):
    raw = _shd_files(tmp_path, rng)
    prepare_dataset("shd", tmp_path, time_steps=5)
    first = cache.read_manifest(tmp_path, "shd")["source_checksums"]
    write_hsd_h5(raw / "shd_test.h5", rng, 12, 20)
    prepare_dataset("shd", tmp_path, time_steps=5)
    assert cache.read_manifest(tmp_path, "shd")["source_checksums"] != first
    assert load_prepared(tmp_path, "shd").test_x.shape[0] == 12


def test_unknown_option_rejected(tmp_path):
    with pytest.raises(ValueError, match="time_step"):
        prepare_dataset("digits", tmp_path, time_step=3)


def test_load_prepared_missing_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"pipelines\.stages\.prepare digits"):
        load_prepared(tmp_path, "digits")


def test_cache_rejects_non_tensor_payload(tmp_path):
    import torch

    pt, _ = cache.cache_paths(tmp_path, "digits")
    pt.parent.mkdir(parents=True)
    torch.save({"train_x": object()}, pt)
    (pt.parent / "digits.manifest.json").write_text("{}")
    with pytest.raises(Exception, match=r"(?i)weights_only|unsupported|global"):
        load_prepared(tmp_path, "digits")
