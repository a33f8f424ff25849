"""``params.yaml``, the profiles and ``dvc.yaml`` agree with each other and with the method registry."""

from pathlib import Path

import pytest
import yaml

import baselines  # noqa: F401  (registers the baselines)
from asgl.data import REGISTRY as DATASETS
from asgl.models import MODELS
from asgl.registry import available_methods, get_method
from asgl.training.config import TrainConfig
from pipelines import profile
from pipelines.params import ParamsError, load_params, runs_of, validate

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
    for method in params["run"]["methods"]:
        spec = get_method(method)
        assert spec.params_section == method, "the pipeline addresses a method's section by its name"
        spec.resolve_params(params["methods"][method])
    assert set(params["sweep"]["methods"]) <= set(params["run"]["methods"])
    assert sorted(params["sweep"]["widths"]) == [0.5, 1.0, 2.5, 5.0, 10.0]


def test_every_registered_method_runs_in_the_embedded_profile():
    params = _load(ROOT / "profiles" / "embedded.yaml")
    missing = set(available_methods()) - set(params["run"]["methods"])
    assert not missing, f"registered but not benchmarked (add them to run.methods and methods:): {missing}"


def test_embedded_profile_uses_three_seeds_and_the_four_embedded_sets():
    params = _load(ROOT / "profiles" / "embedded.yaml")
    assert len(params["run"]["seeds"]) == 3
    assert set(params["run"]["datasets"]) == {"digits", "digits-dvs", "synth-speech", "synth-instruments"}


def test_dvc_yaml_matrix_and_params_match_params_yaml():
    dvc = _load(ROOT / "dvc.yaml")
    stages = dvc["stages"]
    assert list(stages) == ["fetch", "prepare", "train", "evaluate", "tables"]
    assert stages["train"]["matrix"] == {"dataset": "${run.datasets}", "method": "${run.methods}"}
    assert "methods.${item.method}" in stages["train"]["params"]
    params = load_params(ROOT / "params.yaml")
    for key in ("run.seeds", "run.device"):
        section, name = key.split(".")
        assert name in params[section], f"dvc.yaml depends on {key} but params.yaml lacks it"
    for name, stage in stages.items():
        imports = {"asgl", "baselines"} if name == "train" else set()
        deps = set(stage["deps"])
        assert imports <= deps, f"stage {name} must depend on the packages it imports"
        script = stage["cmd"].split()[2].replace(".", "/") + ".py"
        assert script in deps and (ROOT / script).exists()


def test_runs_of_includes_sweep_without_duplicating_the_main_width():
    params = _load(ROOT / "profiles" / "embedded.yaml")
    runs = runs_of(params, "digits", "sg")
    main_width = params["methods"]["sg"]["width"]
    assert len(runs) == len(set((w or main_width, s) for w, s in runs))
    widths = {w for w, _ in runs if w is not None} | {main_width}
    assert widths == {0.5, 1.0, 2.5, 5.0, 10.0}
    assert runs_of(params, "digits", "snntorch-atan") == [(None, s) for s in params["run"]["seeds"]]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.update(extra=1), "unknown key"),
        (lambda p: p["run"].update(seeds="0"), "run.seeds"),
        (lambda p: p["run"]["datasets"].append("mnist"), "datasets.mnist"),
        (lambda p: p["sweep"].update(widths=[1.0, -2.0]), "sweep.widths"),
        (lambda p: p["methods"].pop("asgl"), "methods.asgl"),
        (lambda p: p["datasets"]["digits"].update(modle="x"), "modle"),
    ],
    ids=["top-level", "seeds-type", "dataset-section", "width-sign", "method-section", "typo"],
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
