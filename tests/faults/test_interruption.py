"""SIGKILL at random points of a training run, a checkpoint write, a download and a prepare; the rerun
ends where an uninterrupted run ends, exactly (on the CPU)."""

from __future__ import annotations

import hashlib
import json
import random
import time
from pathlib import Path

import pytest
import torch

from asgl.data import load_prepared, prepare_dataset
from asgl.data.cache import CorruptCacheError, cache_paths, read_manifest
from asgl.training.checkpoint import load_checkpoint

from . import plan
from . import train_script as script
from .conftest import Proc, assert_same_run, assert_same_tree

STEP_SLEEP = 0.03  # seconds per training step in the killed runs: 6 steps/epoch → ~0.2 s epochs to aim at
EPOCH_SECONDS = 6 * STEP_SLEEP + 0.05


def _params(table):
    return [plan.mode_param(mode, item, id=f"{mode}-{item}") for mode in plan.MODES for item in table[mode]]


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Uninterrupted runs per backend (in this process, one thread, like the children)."""
    done: dict[str, Path] = {}

    def get(backend: str) -> Path:
        if backend not in done:
            folder = tmp_path_factory.mktemp(f"reference-{backend}")
            threads = torch.get_num_threads()
            try:
                script.main([str(folder), backend])
            finally:
                torch.set_num_threads(threads)
            done[backend] = folder
        return done[backend]

    return get


def _check_after_kill(run_dir: Path) -> None:
    """What a kill may leave: a loadable checkpoint (or none), parseable history/metrics, no stray ``.pt``."""
    saved = load_checkpoint(run_dir)  # raises on a partial file
    assert saved is None or 1 <= saved["epoch"] <= script.EPOCHS
    if (run_dir / "metrics.json").exists():
        json.loads((run_dir / "metrics.json").read_text())
    assert [p.name for p in run_dir.glob("*.pt")] in ([], ["checkpoint.pt"])


def _start(run_dir: Path, backend: str, *extra: str) -> Proc:
    args = ["-m", "tests.faults.train_script", str(run_dir), backend, "--step-sleep", str(STEP_SLEEP), *extra]
    return Proc(args, run_dir.parent / f"{run_dir.name}.stderr")


def _finish(run_dir: Path, backend: str) -> None:
    proc = _start(run_dir, backend)
    assert proc.wait() == 0, proc.stderr()


def kill_in_write(run_dir: Path, backend: str, epoch: int) -> None:
    """Start a run and SIGKILL it inside the atomic write of epoch ``epoch``'s checkpoint."""
    proc = _start(run_dir, backend, "--slow-save", str(epoch))
    assert proc.wait_for("in-write"), proc.stderr()
    before = load_checkpoint(run_dir)
    partial = list(run_dir.glob(".checkpoint.pt.*.tmp"))
    assert proc.kill()
    assert len(partial) == 1 and partial[0].stat().st_size > 0  # the half-written file is the temporary one
    saved = load_checkpoint(run_dir)
    assert (saved is None) == (epoch == 1) and (saved is None or saved["epoch"] == epoch - 1)
    if before is not None:
        assert_same_tree(before["model"], saved["model"])
    _check_after_kill(run_dir)


def kill_chain(run_dir: Path, backend: str, seed: int, kills: int) -> list[str]:
    """Start, SIGKILL at a random point, restart … up to ``kills`` times, then let it finish; returns where
    each kill landed (``startup``, ``epoch <e>`` + delay, ``final``). A run that finishes before the next kill
    lands ends the chain (restarting a finished run would never give a kill a chance to land)."""
    rng = random.Random(seed)
    landed: list[str] = []
    while len(landed) < kills:
        saved = load_checkpoint(run_dir) if run_dir.exists() else None
        done = saved["epoch"] if saved else 0
        proc = _start(run_dir, backend)
        target = rng.randint(done - 1, script.EPOCHS)  # -1: during start-up; EPOCHS: final metrics
        if target < 0:
            time.sleep(rng.uniform(0.2, 3.0))
            where = "startup"
        else:
            alive = proc.wait_for(f"epoch {min(target, script.EPOCHS - 1)}")
            delay = rng.uniform(0, EPOCH_SECONDS) + (EPOCH_SECONDS if target == script.EPOCHS else 0)
            time.sleep(delay if alive else 0)
            where = f"epoch {target} +{delay:.2f}s" if target < script.EPOCHS else "final"
        if proc.kill():
            landed.append(where)
            _check_after_kill(run_dir)
        elif (run_dir / "metrics.json").exists():
            break  # the run finished before this kill could land: nothing is left to interrupt
    _finish(run_dir, backend)
    return landed


@pytest.mark.parametrize("chain", _params(plan.TRAIN_CHAINS))
def test_sigkill_during_training_resumes_to_identical_results(chain, tmp_path, references):
    backend, seed, kills, write_epoch = chain
    run_dir = tmp_path / "run"
    if write_epoch:
        kill_in_write(run_dir, backend, write_epoch)
    landed = kill_chain(run_dir, backend, seed, kills)
    assert 1 <= len(landed) <= kills, landed
    assert_same_run(references(backend), run_dir)


@pytest.mark.parametrize("case", _params(plan.CHECKPOINT_WRITE_KILLS))
def test_sigkill_inside_checkpoint_write_leaves_the_previous_checkpoint(case, tmp_path, references):
    backend, epoch = case
    run_dir = tmp_path / "run"
    kill_in_write(run_dir, backend, epoch)
    _finish(run_dir, backend)
    assert_same_run(references(backend), run_dir)


# ------------------------------------------------------------------ download

DOWNLOAD = """
import sys
from pathlib import Path
from asgl.data.download import download
print(download(sys.argv[1], Path(sys.argv[2]), dataset_id="x", expected=["blob.bin"], sha256=sys.argv[3]))
"""


@pytest.mark.parametrize("case", _params(plan.DOWNLOAD_KILLS))
def test_sigkill_during_download_resumes_or_restarts_and_verifies(case, tmp_path, slow_server):
    fraction, ranged = case
    url, files, log, settings = slow_server
    body = random.Random(7).randbytes(4 << 20)  # the downloader writes 1 MiB blocks
    files["/blob.bin"] = body
    sha = hashlib.sha256(body).hexdigest()
    settings.update(chunk=1 << 16, delay=0.01, ranges=ranged)
    dest = tmp_path / "raw" / "blob.bin"
    part = dest.with_name("blob.bin.part")
    args = ["-c", DOWNLOAD, url + "/blob.bin", str(dest), sha]
    proc = Proc(args, tmp_path / "download.stderr")
    threshold = min(max(1, int(fraction * len(body))), len(body) - (1 << 20))
    deadline = time.monotonic() + 120
    while not (part.exists() and part.stat().st_size >= threshold):
        assert proc.popen.poll() is None and time.monotonic() < deadline, proc.stderr()
        time.sleep(0.002)
    assert proc.kill()
    kept = part.stat().st_size
    assert not dest.exists() and 0 < kept < len(body)

    settings.update(delay=0.0)
    proc = Proc(args, tmp_path / "download2.stderr")
    assert proc.wait() == 0, proc.stderr()
    assert dest.read_bytes() == body and not part.exists()
    assert log[-1]["range"] == f"bytes={kept}-"  # the client asked to resume; the server may ignore it


# ------------------------------------------------------------------ prepare

PREPARE_OPTIONS = {"max_per_class": 10}


@pytest.fixture(scope="module")
def prepared_reference(tmp_path_factory):
    """digits-dvs prepared without interruption, per ``max_per_class``."""
    done: dict[int, Path] = {}

    def get(max_per_class: int):
        if max_per_class not in done:
            root = tmp_path_factory.mktemp(f"prepared-{max_per_class}")
            prepare_dataset("digits-dvs", root, max_per_class=max_per_class)
            done[max_per_class] = root
        return load_prepared(done[max_per_class], "digits-dvs")

    return get


def _same_data(a, b) -> None:
    for key in ("train_x", "train_y", "test_x", "test_y"):
        assert torch.equal(getattr(a, key), getattr(b, key)), key
    skip = ("prepare_seconds", "tensor_sha256", "manifest_sha256")
    assert {k: v for k, v in a.manifest.items() if k not in skip} == {
        k: v for k, v in b.manifest.items() if k not in skip}


def _check_prepared_after_kill(root: Path, reference) -> None:
    """Nothing valid-looking but wrong: either no cache, or one that loads and equals the reference."""
    pt, manifest = cache_paths(root, "digits-dvs")
    names = sorted(p.name for p in pt.parent.iterdir()) if pt.parent.exists() else []
    assert not [n for n in names if n.endswith((".pt", ".json")) and n not in (pt.name, manifest.name)], names
    if read_manifest(root, "digits-dvs") is not None and pt.exists():
        try:
            got = load_prepared(root, "digits-dvs")
        except CorruptCacheError:
            return
        _same_data(reference, got)


@pytest.mark.parametrize("seed", _params(plan.PREPARE_KILLS))
def test_sigkill_during_prepare_then_rerun_gives_the_same_cache(seed, tmp_path, prepared_reference):
    reference = prepared_reference(PREPARE_OPTIONS["max_per_class"])
    root = tmp_path / "data"
    args = ["-m", "pipelines.stages.prepare", "digits-dvs", "--data-root", str(root),
            "--set", f"max_per_class={PREPARE_OPTIONS['max_per_class']}"]
    proc = Proc(args, tmp_path / "prepare.stderr")
    time.sleep(random.Random(seed).uniform(2.0, 10.0))
    proc.kill()
    _check_prepared_after_kill(root, reference)
    prepare_dataset("digits-dvs", root, **PREPARE_OPTIONS)
    _same_data(reference, load_prepared(root, "digits-dvs"))


@pytest.mark.parametrize("where", _params(plan.PREPARE_WRITE_KILLS))
def test_sigkill_inside_the_cache_write(where, tmp_path, prepared_reference):
    """``pt``: killed inside the tensor file's atomic write; ``gap``: after the tensor file, before the manifest,
    over a cache of other parameters — whose manifest must not vouch for the new tensors."""
    root = tmp_path / "data"
    older = 8
    prepare_dataset("digits-dvs", root, max_per_class=older)
    old_bytes = {p.name: p.read_bytes() for p in (root / "prepared").iterdir()}
    args = ["-m", "tests.faults.prepare_script", str(root), where, "--set",
            f"max_per_class={PREPARE_OPTIONS['max_per_class']}"]
    proc = Proc(args, tmp_path / "prepare.stderr")
    assert proc.wait_for("paused", timeout=180), proc.stderr()
    assert proc.kill()
    if where == "pt":  # the old cache is untouched
        assert {n: (root / "prepared" / n).read_bytes() for n in old_bytes} == old_bytes
    else:  # new tensors beside the old manifest: refused, never taken for the old parameters
        with pytest.raises(CorruptCacheError, match=r"digits-dvs\.pt.*--force"):
            load_prepared(root, "digits-dvs")
    _check_prepared_after_kill(root, prepared_reference(older))
    prepare_dataset("digits-dvs", root, max_per_class=older)
    _same_data(prepared_reference(older), load_prepared(root, "digits-dvs"))
    prepare_dataset("digits-dvs", root, **PREPARE_OPTIONS)
    _same_data(prepared_reference(PREPARE_OPTIONS["max_per_class"]), load_prepared(root, "digits-dvs"))
