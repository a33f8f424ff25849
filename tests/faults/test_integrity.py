"""Corrupted files (truncated, one bit flipped) of every kind the suite reads, unsafe archives, stale manifests.

Raw files: a clear one-line :class:`DataError` naming the file, or — a flip inside sample values, which no
format can tell — a normal prepare. Our own files (checkpoint, prepared tensors, manifest) carry digests:
damage is always detected (an error naming the file, or a rebuild of the cache), or the bytes that changed
did not change the content.
"""

from __future__ import annotations

import json
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
import torch

from asgl.data import load_prepared, prepare_dataset
from asgl.data import prepare as prepare_module
from asgl.data.archive import safe_extract
from asgl.data.cache import CorruptCacheError, _manifest_digest, cache_paths, read_manifest
from asgl.data.errors import DataError, UnsafeArchiveError
from asgl.training import train
from asgl.training.checkpoint import CheckpointError, load_checkpoint

from . import plan
from . import train_script as script
from .conftest import assert_same_tree, flip_bit, one_line, truncate
from .raw_files import DATASETS, write_raw


def _cases(kinds):
    out = []
    for mode in plan.MODES:
        for kind in kinds:
            out += [plan.mode_param(mode, kind, ("truncate", f), id=f"{mode}-{kind}-truncate{f}")
                    for f in plan.TRUNCATIONS[mode]]
            out += [plan.mode_param(mode, kind, ("flip", s), id=f"{mode}-{kind}-flip{s}") for s in plan.BIT_FLIPS[mode]]
    return out


def _corrupt(path: Path, how: tuple[str, float]) -> None:
    kind, arg = how
    truncate(path, arg) if kind == "truncate" else flip_bit(path, int(arg))


# ------------------------------------------------------------------ raw files


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy on flipped values (NaN/huge spike times)
@pytest.mark.parametrize(("kind", "how"), _cases(plan.RAW_KINDS))
def test_corrupted_raw_file_is_named_or_harmless(kind, how, tmp_path):
    dataset_id, options = DATASETS[kind]
    target = write_raw(kind, tmp_path)
    _corrupt(target, how)
    try:
        prepare_dataset(dataset_id, tmp_path, **options)
    except DataError as exc:
        message = str(exc)
        assert target.name in message and one_line(message), message
        assert not (tmp_path / "prepared").exists() or not list((tmp_path / "prepared").iterdir())
        return
    assert how[0] == "flip", "a truncated file was read without an error"
    load_prepared(tmp_path, dataset_id)  # a flip in sample values: a valid cache of what the file now says


# ------------------------------------------------------------------ checkpoint


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    threads = torch.get_num_threads()
    try:
        script.main([str(folder), "autograd", "--epochs", "2"])
    finally:
        torch.set_num_threads(threads)
    return folder


@pytest.mark.parametrize(("kind", "how"), _cases(["checkpoint"]))
def test_corrupted_checkpoint_is_refused_with_one_line(kind, how, tmp_path, finished_run):
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    original = load_checkpoint(run_dir)
    path = run_dir / "checkpoint.pt"
    _corrupt(path, how)
    try:
        got = load_checkpoint(run_dir)
    except CheckpointError as exc:
        message = str(exc)
        assert str(path) in message and "delete it" in message and one_line(message), message
        model, callbacks = script.build("autograd")
        with pytest.raises(CheckpointError):
            train(model, *script.make_data(), script.config(2), run_dir, callbacks)
        return
    assert_same_tree(original, got)  # the flip hit bytes the loader does not use (zip padding)


# ------------------------------------------------------------------ prepared cache

OPTIONS = {"max_per_class": 3}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("prepared")
    prepare_dataset("digits-dvs", root, **OPTIONS)
    return root


def _same_data(a, b) -> None:
    for key in ("train_x", "train_y", "test_x", "test_y"):
        assert torch.equal(getattr(a, key), getattr(b, key)), key


@pytest.mark.parametrize(("kind", "how"), _cases(["prepared-pt", "manifest"]))
def test_corrupted_cache_is_refused_then_rebuilt(kind, how, tmp_path, prepared, monkeypatch):
    shutil.copytree(prepared, tmp_path, dirs_exist_ok=True)
    reference = load_prepared(prepared, "digits-dvs")
    pt, manifest = cache_paths(tmp_path, "digits-dvs")
    target = pt if kind == "prepared-pt" else manifest
    _corrupt(target, how)
    try:
        got = load_prepared(tmp_path, "digits-dvs")
        detected = False
    except (CorruptCacheError, FileNotFoundError) as exc:
        message = str(exc)
        assert str(pt.parent) in message and one_line(message), message
        assert "pipelines.stages.prepare digits-dvs" in message, message
        detected = True
    if not detected:  # only a manifest flip that keeps the parsed content (e.g. 'e' -> 'E' in 1e-05)
        assert kind == "manifest" and read_manifest(tmp_path, "digits-dvs") == reference.manifest
        _same_data(reference, got)
    builds = []
    real_write = prepare_module.write_prepared
    monkeypatch.setattr(prepare_module, "write_prepared", lambda *a, **k: builds.append(1) or real_write(*a, **k))
    prepare_dataset("digits-dvs", tmp_path, **OPTIONS)
    assert len(builds) == int(detected)
    _same_data(reference, load_prepared(tmp_path, "digits-dvs"))


@pytest.mark.parametrize("field", [plan.mode_param(m, f, id=f"{m}-{f}") for m in plan.MODES
                                   for f in plan.MANIFEST_MISMATCHES[m]])
def test_manifest_mismatch_triggers_a_rebuild(field, tmp_path, prepared, monkeypatch):
    """A well-formed manifest (its own digest recomputed) that disagrees with the request or the tensors."""
    shutil.copytree(prepared, tmp_path, dirs_exist_ok=True)
    _, manifest_path = cache_paths(tmp_path, "digits-dvs")
    manifest = json.loads(manifest_path.read_text())
    changed = {"params": {**manifest["params"], "max_per_class": 4}, "code_version": "0" * 16,
               "source_checksums": {"listing": {"sha256": "0" * 64}}, "format_version": 0,
               "tensor_sha256": "0" * 64}
    manifest[field] = changed[field]
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    manifest_path.write_text(json.dumps(manifest))
    builds = []
    real_write = prepare_module.write_prepared
    monkeypatch.setattr(prepare_module, "write_prepared", lambda *a, **k: builds.append(1) or real_write(*a, **k))
    prepare_dataset("digits-dvs", tmp_path, **OPTIONS)
    assert builds == [1]
    _same_data(load_prepared(prepared, "digits-dvs"), load_prepared(tmp_path, "digits-dvs"))


# ------------------------------------------------------------------ unsafe archives


def _tar(path: Path, member: tarfile.TarInfo, data: bytes = b"") -> None:
    import io

    with tarfile.open(path, "w") as tar:
        ok = tarfile.TarInfo("fine.txt")
        ok.size = 2
        tar.addfile(ok, io.BytesIO(b"ok"))
        member.size = len(data) if member.isreg() else 0
        tar.addfile(member, io.BytesIO(data) if member.isreg() else None)


def _build_attack(attack: str, folder: Path) -> tuple[Path, str]:
    fmt, what = attack.split(":")
    if fmt == "zip":
        path = folder / "evil.zip"
        name = {"../x": "../x", "/abs": "/tmp/abs-evil", "symlink": "link"}[what]
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("fine.txt", "ok")
            info = zipfile.ZipInfo(name)
            if what == "symlink":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, "../../outside")
            else:
                zf.writestr(info, "evil")
        return path, name
    path = folder / "evil.tar"
    if what in ("../x", "a/../../x", "/abs"):
        member = tarfile.TarInfo({"/abs": "/tmp/abs-evil"}.get(what, what))
        _tar(path, member, b"evil")
    elif what in ("symlink-out", "symlink-abs", "hardlink-out"):
        member = tarfile.TarInfo("link")
        member.type = tarfile.LNKTYPE if what == "hardlink-out" else tarfile.SYMTYPE
        member.linkname = "/etc/passwd" if what == "symlink-abs" else "../../outside"
        _tar(path, member)
    else:
        member = tarfile.TarInfo("dev")
        member.type = {"chardev": tarfile.CHRTYPE, "blockdev": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}[what]
        _tar(path, member)
    return path, member.linkname if member.islnk() else member.name


@pytest.mark.parametrize("attack", [plan.mode_param(m, a, id=f"{m}-{a}") for m in plan.MODES
                                    for a in plan.ARCHIVE_ATTACKS[m]])
def test_unsafe_archive_is_refused_before_writing_anything(attack, tmp_path):
    (tmp_path / "src").mkdir()
    archive, member = _build_attack(attack, tmp_path / "src")
    target = tmp_path / "deep" / "er" / "out"
    with pytest.raises(UnsafeArchiveError) as info:
        safe_extract(archive, target)
    message = str(info.value)
    assert archive.name in message and repr(member) in message and one_line(message), message
    assert list(target.iterdir()) == []  # checked before anything is written
    assert not (tmp_path / "deep" / "outside").exists() and not (tmp_path / "deep" / "x").exists()
