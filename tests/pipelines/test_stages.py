"""Every stage's ``main()`` on a tiny profile: fetch → prepare → train → linear → evaluate → tables, plots, in
a scratch folder."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipelines.commands import profile
from pipelines.lib import identity, runs
from pipelines.stages import evaluate, fetch, linear, plots, prepare, tables, train

ROOT = Path(__file__).resolve().parents[2]


def _tiny_params() -> dict:
    params = yaml.safe_load((ROOT / "profiles" / "embedded.yaml").read_text())
    params["run"].update(datasets=["digits"], methods={"asgl": "asgl/methods.py", "sg": "asgl/methods.py"},
                         seeds=[0, 1], workers=1)
    params["sweep"] = {"methods": ["sg", "asgl"], "widths": [1.0, 10.0]}
    digits = params["datasets"]["digits"]
    digits["model_kwargs"]["width"] = 4
    digits["train"].update(epochs=1, metrics_samples=32)
    params["datasets"] = {"digits": digits}
    return params


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A scratch project (params.yaml, reference file) in which the stages run end to end once."""
    folder = tmp_path_factory.mktemp("project")
    (folder / "params.yaml").write_text(yaml.safe_dump(_tiny_params()))
    (folder / "reference_results.yaml").write_text((ROOT / "reference_results.yaml").read_text())
    mp = pytest.MonkeyPatch()
    mp.chdir(folder)
    mp.delenv("ASGL_DATA_ROOT", raising=False)
    codes = {
        "fetch": fetch.main(["digits", "--data-root", "data"]),
        "prepare": prepare.main(["digits", "--data-root", "data", "--params", "params.yaml"]),
        "train-sg": train.main(["--method", "sg"]),
        "train-asgl": train.main(["--method", "asgl"]),
        "linear": linear.main([]),
        "evaluate": evaluate.main([]),
        "tables": tables.main([]),
        "plots": plots.main([]),
    }
    yield folder, codes
    mp.undo()


def test_every_stage_succeeds(workspace):
    _, codes = workspace
    assert codes == dict.fromkeys(codes, 0)


def test_train_writes_a_record_per_run_and_the_run_folders(workspace):
    folder, _ = workspace
    records = json.loads((folder / "results/train/sg.json").read_text())
    assert sorted((r["width_init"], r["seed"]) for r in records) == [(1.0, 0), (1.0, 1), (10.0, 0), (10.0, 1)]
    for r in records:
        assert 0.0 <= r["accuracy"] <= 100.0 and r["firing_rate"] is not None and r["synops_effective"] > 0
        run = folder / r["run_dir"]
        assert {"config.json", "environment.json", "checkpoint.pt", "history.csv", "metrics.json"} <= {
            p.name for p in run.iterdir()}
    asgl = json.loads((folder / "results/train/asgl.json").read_text())
    assert all(any("width" in layer for layer in r["layers"].values()) for r in asgl), \
        "ASGL runs record their learned widths per layer"
    assert all(any("decay" in layer for layer in r["layers"].values()) for r in asgl), \
        "the LIF learns its decay by default and records it"
    assert all(r["test_predictions"].startswith("u8:") and len(r["data_sha256"]) == 64 for r in asgl)


def test_evaluate_aggregates_and_tables_and_plots_render(workspace):
    folder, _ = workspace
    runs = pd.read_csv(folder / "results/runs.csv")
    assert len(runs) == 8 and set(runs["method"]) == {"sg", "asgl"}
    assert runs["train_seconds"].notna().all(), "every scalar field of the record is filled"
    stats = json.loads((folder / "results/statistics.json").read_text())
    assert set(stats["robustness"]["digits"]["sg"]) == {"1", "10"}
    asgl = stats["main"]["digits"]["asgl"]
    assert asgl["seeds"] == [0, 1] and asgl["accuracy"]["half"] > 0 and asgl["accuracy"]["items"] > 0
    records = {(r["method"], r["width_init"], r["seed"]): r for r in json.loads(
        (folder / "results/runs.json").read_text())["runs"]}
    diffs = [records[("asgl", 1.0, s)]["accuracy"] - records[("sg", 1.0, s)]["accuracy"] for s in (0, 1)]
    assert asgl["minus_sg"]["mean"] == pytest.approx(sum(diffs) / 2)
    assert asgl["minus_sg"]["half"] > 0 and 0.0 <= asgl["minus_sg"]["p_better"] <= 1.0
    assert stats["paired"]["digits"]["1"]["mean"] == pytest.approx(sum(diffs) / 2)
    assert stats["degradation"]["digits"]["sg"]["n"] == 2
    assert 50.0 < stats["linear"]["digits"]["accuracy"] <= 100.0
    assert asgl["minus_linear"]["n"] == 2
    headline = json.loads((folder / "results/metrics.json").read_text())
    assert set(headline["digits"]) == {"asgl", "sg", "asgl_minus_sg_w10"}
    main_md = (folder / "results/tables/main.md").read_text()
    assert "ASGL" in main_md and "SG (fixed width)" in main_md and "Logistic regression" in main_md
    assert "published %" in main_md and "paper %" not in main_md
    robustness = pd.read_csv(folder / "results/tables/robustness.csv")
    assert list(robustness["width"]) == [1, 10] and "ASGL − SG (paired)" in robustness.columns
    claim = pd.read_csv(folder / "results/tables/claim.csv")
    assert list(claim["dataset"]) == ["digits"] and claim["n"].tolist() == [2]
    published = pd.read_csv(folder / "results/tables/published.csv")
    assert set(published["kind"]) <= {"paper", "authors' repository", "later citation"}
    assert (folder / "results/tables/main.tex").read_text().startswith("\\begin{tabular}")
    for name in ("accuracy_vs_width", "learned_width", "firing_rate", "training_curves"):
        assert (folder / f"results/plots/{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert not pd.read_csv(folder / f"results/plots/{name}.csv").empty


def test_a_second_train_reuses_finished_runs(workspace, capsys):
    folder, _ = workspace
    record = folder / "results/train/sg.json"
    before = json.loads(record.read_text())
    mtimes = {p: p.stat().st_mtime_ns for p in (folder / "results/runs/sg/digits").rglob("checkpoint.pt")}
    mp = pytest.MonkeyPatch()
    mp.chdir(folder)
    try:
        assert train.main(["--method", "sg"]) == 0
    finally:
        mp.undo()
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes, "finished runs must not be trained again"
    after = json.loads(record.read_text())
    assert [r["accuracy"] for r in after] == [r["accuracy"] for r in before]


def test_stage_errors_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert evaluate.main([]) == 2
    assert "params.yaml: not found" in capsys.readouterr().err
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(_tiny_params()))
    assert evaluate.main([]) == 2
    assert "train@asgl" in capsys.readouterr().err
    assert tables.main([]) == 2
    assert "dvc repro evaluate" in capsys.readouterr().err
    assert plots.main([]) == 2
    assert "dvc repro evaluate" in capsys.readouterr().err
    assert profile.main(["nonexistent"]) == 2


def test_runs_train_again_when_the_code_changed(workspace, monkeypatch):
    """A finished run is reused only under the code that produced it (the settings carry a source hash)."""
    folder, _ = workspace
    mtimes = {p: p.stat().st_mtime_ns for p in (folder / "results/runs/sg/digits").rglob("checkpoint.pt")}
    assert len(identity.code_fingerprint("asgl/methods.py")) == 16
    monkeypatch.setattr(runs, "code_fingerprint", lambda source: "0123456789abcdef")
    monkeypatch.chdir(folder)
    assert train.main(["--method", "sg"]) == 0
    assert all(p.stat().st_mtime_ns != t for p, t in mtimes.items()), "runs of older code must train again"
    saved = json.loads(next((folder / "results/runs/sg/digits").rglob("config.json")).read_text())
    assert saved["meta"]["settings"]["code"] == "0123456789abcdef"
