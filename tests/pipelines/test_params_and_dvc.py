"""``params.yaml``, the profiles and ``dvc.yaml`` agree with each other and with the method registry."""

from pathlib import Path

import pytest
import yaml

from asgl.data import REGISTRY as DATASETS
from asgl.models import MODELS
from asgl.registry import available_methods
from asgl.training.config import TrainConfig
from pipelines.commands import profile
from pipelines.lib.identity import load_method
from pipelines.lib.params import ParamsError, load_params, runs_of, validate

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_params_yaml_is_the_embedded_profile():
    assert (ROOT / "params.yaml").read_text() == (ROOT / "profiles" / "embedded.yaml").read_text()


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_profile_is_complete_and_valid(path):
    params = validate(_load(path))
    assert params["profile"] == path.stem
    for dataset in params["run"]["datasets"]:
        assert dataset in DATASETS, f"{path.name}: unknown dataset id {dataset!r}"
        block = params["datasets"][dataset]
        assert block["model"] in MODELS, f"{path.name}: datasets.{dataset}.model {block['model']!r} is unknown"
        TrainConfig.from_dict(block["train"])
        spec = DATASETS[dataset]
        unknown = set(block.get("prepare") or {}) - set(spec.defaults)
        assert not unknown, f"{path.name}: datasets.{dataset}.prepare has unknown keys {unknown}"
    for method, source in params["run"]["methods"].items():
        spec = load_method(method, source)
        assert spec.name == method
        spec.resolve_params(params["methods"][method])
    assert set(params["sweep"]["methods"]) <= set(params["run"]["methods"])
    assert sorted(params["sweep"]["widths"]) == [0.5, 1.0, 2.5, 5.0, 10.0]
    assert "seeds" not in params["sweep"], "every cell runs at run.seeds"


def test_every_registered_method_runs_in_some_profile():
    covered = set()
    for path in PROFILES:
        covered |= set(_load(path)["run"]["methods"])
    missing = set(available_methods()) - covered
    assert not missing, f"registered but benchmarked in no profile (add them to run.methods): {missing}"


def test_embedded_profile_uses_three_seeds_the_embedded_sets_and_its_ceilings():
    params = _load(ROOT / "profiles" / "embedded.yaml")
    assert len(params["run"]["seeds"]) == 3
    assert set(params["run"]["datasets"]) == {"digits", "nmnist-small", "fsdd", "fsdd-speakers", "synth-instruments"}
    assert {"asgl", "sg", "relu-ann"} <= set(params["run"]["methods"])


def test_a_method_source_that_registers_another_name_is_refused():
    params = _load(ROOT / "profiles" / "embedded.yaml")
    params["run"]["methods"]["sharpen"] = "baselines/ann_relu.py"
    with pytest.raises(ParamsError, match=r"run.methods.sharpen: baselines/ann_relu.py does not register"):
        validate(params)


def test_dvc_yaml_stages_match_params_yaml():
    dvc = _load(ROOT / "dvc.yaml")
    stages = dvc["stages"]
    assert list(stages) == ["fetch", "prepare", "train", "linear", "evaluate", "tables", "plots"]
    train = stages["train"]
    assert train["foreach"] == "${run.methods}", "one train stage per method"
    deps = set(train["do"]["deps"])
    assert "${item}" in deps, "a method's stage depends on its own source file"
    assert "baselines" not in deps, "a method's stage must not depend on the other methods' files"
    from pipelines.lib.identity import CORE_FOLDER, PIPELINE_FILES
    assert {CORE_FOLDER, *PIPELINE_FILES} <= deps, "DVC deps and the run identity cover the same code"
    assert "methods.${key}" in train["do"]["params"]
    params = load_params(ROOT / "params.yaml")
    for key in ("run.seeds", "run.device", "run.datasets"):
        section, name = key.split(".")
        assert name in params[section], f"dvc.yaml depends on {key} but params.yaml lacks it"
    for name, stage in stages.items():
        body = stage.get("do", stage)
        script = body["cmd"].split()[2].replace(".", "/") + ".py"
        assert script in body["deps"] and (ROOT / script).exists(), f"stage {name} must depend on {script}"


def test_runs_of_includes_sweep_without_duplicating_the_main_width():
    params = _load(ROOT / "profiles" / "embedded.yaml")
    runs = runs_of(params, "digits", "sg")
    main_width = params["methods"]["sg"]["width"]
    assert len(runs) == len(set((w or main_width, s) for w, s in runs))
    widths = {w for w, _ in runs if w is not None} | {main_width}
    assert widths == {0.5, 1.0, 2.5, 5.0, 10.0}
    assert runs_of(params, "digits", "sharpen") == [(None, s) for s in params["run"]["seeds"]]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.update(extra=1), "unknown key"),
        (lambda p: p["run"].update(seeds="0"), "run.seeds"),
        (lambda p: p["run"]["datasets"].append("mnist"), "datasets.mnist"),
        (lambda p: p["sweep"].update(widths=[1.0, -2.0]), "sweep.widths"),
        (lambda p: p["methods"].pop("asgl"), "methods.asgl"),
        (lambda p: p["datasets"]["digits"].update(modle="x"), "modle"),
        (lambda p: p["sweep"].update(seeds=[0]), "sweep.seeds"),
        (lambda p: p["run"].update(methods=["asgl", "sg"]), "file that registers it"),
        (lambda p: p["run"]["methods"].update(asgl="asgl/nothing.py"), "asgl/nothing.py not found"),
        (lambda p: p["sweep"].update(methods=["sg", "dspike2"]), r"sweep.methods \['dspike2'\]"),
    ],
    ids=["top-level", "seeds-type", "dataset-section", "width-sign", "method-section", "typo", "sweep-seeds",
         "methods-list", "missing-source", "sweep-outside-run"],
)
def test_bad_params_give_one_clear_error(mutate, message):
    params = _load(ROOT / "profiles" / "embedded.yaml")
    mutate(params)
    with pytest.raises(ParamsError, match=message):
        validate(params)


def test_load_params_reports_file_and_syntax(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "params.yaml")
    bad = tmp_path / "params.yaml"
    bad.write_text("run: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)


def test_profile_switch_keeps_local_edits(tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    for path in PROFILES:
        (profiles / path.name).write_text(path.read_text())
    target = tmp_path / "params.yaml"
    assert profile.select_profile("embedded", target, profiles) is None
    target.write_text(target.read_text() + "# my edit\n")
    backup = profile.select_profile("paper", target, profiles)
    assert backup is not None and backup.read_text().endswith("# my edit\n")
    assert target.read_text() == (profiles / "paper.yaml").read_text()
    second = profile.select_profile("embedded", target, profiles)
    assert second is None, "an unedited profile needs no backup"
    with pytest.raises(ParamsError, match="unknown profile"):
        profile.select_profile("gpu-cluster", target, profiles)
