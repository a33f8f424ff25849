"""The run's environment record (asgl/training/environment.py): commit, image identity, lock digest and drift."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import torch

from asgl.training import environment as E

ROOT = Path(__file__).resolve().parents[2]
IMAGE_ENV = {"ASGL_IMAGE": "asgl-bench:0.1.0", "ASGL_IMAGE_VERSION": "0.1.0",
             "ASGL_IMAGE_REVISION": "0123456789abcdef0123456789abcdef01234567",
             "ASGL_IMAGE_BASE": "python:3.11.14-slim-bookworm"}


def test_image_identity_is_read_from_the_image_variables():
    assert E.image_info(IMAGE_ENV) == {"name": "asgl-bench:0.1.0", "version": "0.1.0",
                                       "revision": IMAGE_ENV["ASGL_IMAGE_REVISION"],
                                       "base": "python:3.11.14-slim-bookworm"}
    assert E.image_info({}) is None, "outside an image there is no image to record"
    assert E.image_info({**IMAGE_ENV, "ASGL_IMAGE_REVISION": "unknown"})["revision"] is None


def test_without_git_the_commit_baked_into_the_image_is_recorded(tmp_path):
    assert E.git_state(tmp_path, IMAGE_ENV) == {"git_sha": IMAGE_ENV["ASGL_IMAGE_REVISION"], "git_dirty": None,
                                                "git_source": "image"}
    assert E.git_state(tmp_path, {**IMAGE_ENV, "ASGL_IMAGE_REVISION": "unknown"})["git_sha"] is None
    assert E.git_state(tmp_path, {}) == {"git_sha": None, "git_dirty": None, "git_source": None}


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout (e.g. inside the Docker image)")
def test_in_a_checkout_git_wins_over_the_image_variables():
    state = E.git_state(ROOT, IMAGE_ENV)
    assert state["git_source"] == "git"
    assert re.fullmatch(r"[0-9a-f]{40}", state["git_sha"]) and state["git_sha"] != IMAGE_ENV["ASGL_IMAGE_REVISION"]
    assert isinstance(state["git_dirty"], bool)


def test_lock_digest_and_drift(tmp_path):
    text = "# header\ntorch==2.14.1 \\\n    --hash=sha256:" + "a" * 64 + "\nnumpy==2.4.6 \\\n    --hash=sha256:" \
           + "b" * 64 + "\nsnntorch==1.0.0\n"
    (tmp_path / E.LOCK_NAME).write_text(text, encoding="utf-8")
    installed = {"torch": "2.14.1+cu130", "numpy": "2.3.0", "snntorch": None, "dvc": "3.67.1"}
    state = E.lock_state(tmp_path, installed)
    assert state["file"] == "requirements.lock"
    assert state["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    # torch's local label follows its pin; dvc is not in this lock, so nothing to compare it with.
    assert state["drift"] == {"numpy": "locked 2.4.6, installed 2.3.0", "snntorch": "locked 1.0.0, installed nothing"}
    assert E.lock_state(tmp_path / "elsewhere", installed) is None


def test_every_run_records_image_commit_and_lock(monkeypatch):
    for name, value in IMAGE_ENV.items():
        monkeypatch.setenv(name, value)
    record = E.environment(torch.device("cpu"))
    json.dumps(record)  # environment.json must be plain JSON
    assert record["image"]["name"] == "asgl-bench:0.1.0"
    assert record["git_sha"] is not None
    lock = ROOT / E.LOCK_NAME
    if lock.exists():
        assert record["lock"]["sha256"] == hashlib.sha256(lock.read_bytes()).hexdigest()
        assert set(record["lock"]["drift"]) <= set(E.PACKAGES)
    else:
        assert record["lock"] is None
