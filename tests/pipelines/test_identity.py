"""A run's identity is code + data + settings: a changed prepare key retrains, another method's file does not;
the run record's format, messages and the tables are outside it."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from asgl.data import prepare_dataset
from pipelines.lib import identity, runs
from pipelines.stages import train

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


def test_a_changed_prepare_key_retrains_and_an_unchanged_one_reuses(tmp_path, monkeypatch):
    root, results = tmp_path / "data", tmp_path / "results"
    prepare_dataset("digits", root, seed=0)
    first = train.train_stage(_params(root, results, {"seed": 0}), "sg")
    before = _checkpoint_mtime(results)
    again = train.train_stage(_params(root, results, {"seed": 0}), "sg")
    assert _checkpoint_mtime(results) == before, "same code, data and settings: the finished run is reused"
    assert again[0]["accuracy"] == first[0]["accuracy"]
    make_record = runs.make_record
    monkeypatch.setattr(runs, "make_record", lambda *a: {**make_record(*a), "a_new_column": 1})
    reformatted = train.train_stage(_params(root, results, {"seed": 0}), "sg")
    assert _checkpoint_mtime(results) == before, "a new record column reuses the finished run"
    assert reformatted[0]["a_new_column"] == 1 and reformatted[0]["accuracy"] == first[0]["accuracy"]
    monkeypatch.undo()

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
    shutil.copytree(ROOT / "pipelines", tmp_path / "pipelines", ignore=shutil.ignore_patterns("__pycache__"))
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


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}; pick another edit"
    path.write_text(text.replace(old, new, 1))


def test_record_format_messages_and_tables_are_outside_the_identity(repo_copy):
    base = _fingerprints(repo_copy)
    pipelines = repo_copy / "pipelines"
    _edit(pipelines / "lib" / "records.py", "def make_record(",
          "def a_new_record_column() -> str:\n    return 'x'\n\n\ndef make_record(")
    _edit(pipelines / "stages" / "train.py", "run.methods has no", "run.methods lacks")
    _edit(pipelines / "lib" / "runs.py", '"""', '"""Edited. ')
    _edit(pipelines / "lib" / "params.py", "class ParamsError", "# edited\nclass ParamsError")
    _edit(pipelines / "stages" / "tables.py", '"""', '"""Edited. ')
    _edit(pipelines / "stages" / "evaluate.py", '"""', '"""Edited. ')
    assert _fingerprints(repo_copy) == base, "a record column, a message or a table must retrain nothing"


def test_the_code_that_trains_a_run_is_inside_the_identity(repo_copy):
    base = _fingerprints(repo_copy)
    _edit(repo_copy / "pipelines" / "lib" / "training_run.py", "torch.manual_seed(settings[\"seed\"])",
          "torch.manual_seed(settings[\"seed\"] + 1)")
    assert all(a != b for a, b in zip(_fingerprints(repo_copy).values(), base.values(), strict=True)), \
        "an edit of how a run is trained retrains every method"
