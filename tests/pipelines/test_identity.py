"""A run's identity is code + data + settings: a changed prepare key retrains, another method's file does not."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from asgl.data import prepare_dataset
from pipelines import identity, train

ROOT = Path(__file__).resolve().parents[2]


def _params(root: Path, results: Path, prepare: dict) -> dict:
    params = yaml.safe_load((ROOT / "profiles" / "embedded.yaml").read_text())
    params.update(data_root=str(root), results_dir=str(results))
    params["run"].update(datasets=["digits"], methods={"sg": "asgl/methods.py"}, seeds=[0], workers=1)
    params["sweep"] = {}
    digits = params["datasets"]["digits"]
    digits["prepare"] = prepare
    digits["model_kwargs"]["width"] = 4
    digits["train"].update(epochs=1, metrics_samples=16)
    return params


def _checkpoint_mtime(results: Path) -> int:
    return next((results / "runs/sg/digits").rglob("checkpoint.pt")).stat().st_mtime_ns


def test_a_changed_prepare_key_retrains_and_an_unchanged_one_reuses(tmp_path):
    root, results = tmp_path / "data", tmp_path / "results"
    prepare_dataset("digits", root, seed=0)
    first = train.train_stage(_params(root, results, {"seed": 0}), "sg")
    before = _checkpoint_mtime(results)
    again = train.train_stage(_params(root, results, {"seed": 0}), "sg")
    assert _checkpoint_mtime(results) == before, "same code, data and settings: the finished run is reused"
    assert again[0]["accuracy"] == first[0]["accuracy"]

    prepare_dataset("digits", root, seed=0, test_fraction=0.3)
    changed = train.train_stage(_params(root, results, {"seed": 0, "test_fraction": 0.3}), "sg")
    assert _checkpoint_mtime(results) != before, "a changed prepare block must retrain the run"
    config = json.loads(next((results / "runs/sg/digits").rglob("config.json")).read_text())
    data = config["meta"]["settings"]["data"]
    assert data["prepare"]["test_fraction"] == 0.3 and len(data["sha256"]) == 64
    assert changed[0]["run_dir"] == first[0]["run_dir"]


@pytest.fixture
def repo_copy(tmp_path, monkeypatch):
    """The sources a fingerprint reads, copied to a scratch repository root."""
    for folder in ("asgl", "baselines"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "pipelines").mkdir()
    for name in identity.PIPELINE_FILES:
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.setattr(identity, "REPO_ROOT", tmp_path)
    identity._core_digest.cache_clear()
    yield tmp_path
    identity._core_digest.cache_clear()


def _fingerprints(root: Path) -> dict[str, str]:
    identity._core_digest.cache_clear()
    return {name: identity.code_fingerprint(root / source) for name, source in
            {"sg": "asgl/methods.py", "sharpen": "baselines/sharpen.py", "relu-ann": "baselines/ann_relu.py"}.items()}


def test_adding_or_editing_one_method_changes_only_its_own_identity(repo_copy):
    base = _fingerprints(repo_copy)
    assert len(set(base.values())) == 3, "each baseline's identity includes its own file"
    (repo_copy / "baselines" / "my_method.py").write_text("# a new method\n")
    assert _fingerprints(repo_copy) == base, "adding a method module must not retrain the others"
    sharpen = repo_copy / "baselines" / "sharpen.py"
    sharpen.write_text(sharpen.read_text() + "\n# edited\n")
    edited = _fingerprints(repo_copy)
    assert edited["sharpen"] != base["sharpen"]
    assert edited["sg"] == base["sg"] and edited["relu-ann"] == base["relu-ann"]
    core = repo_copy / "asgl" / "neuron.py"
    core.write_text(core.read_text() + "\n# edited\n")
    assert all(a != b for a, b in zip(_fingerprints(repo_copy).values(), edited.values(), strict=True)), \
        "a change in the core retrains every method"
