"""How methods are found: built-ins lazily, this project's baselines and third-party plugins through the
entry-point group ``asgl_bench.methods``, strictly, and without importing training code."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from asgl import registry
from pipelines.lib.identity import REPO_ROOT
from tests.cli.plugin_fixture import METHOD, MODULE, write_distribution, write_plugin


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
                         cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120)
    return set(out.stdout.split())


def test_looking_up_sg_imports_no_training_code_and_no_baseline():
    torch_only = _modules_after("import torch")
    after = _modules_after("from asgl.registry import get_method\nget_method('sg')")
    added = after - torch_only
    assert not {m for m in added if m.startswith(("asgl.training", "baselines", "pipelines"))}, sorted(added)
    assert "tqdm" not in added, "tqdm comes only with torch itself (torch.hub), never from the registry"


def test_importing_baselines_imports_no_baseline_module():
    after = _modules_after("import baselines")
    assert not {m for m in after if m.startswith("baselines.")}


def test_the_installed_entry_points_are_the_ones_in_pyproject():
    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    table = declared["project"]["entry-points"][registry.ENTRY_POINT_GROUP]
    installed = {name: ep.value for name, ep in registry.method_entry_points().items() if name in table}
    assert installed == table, "reinstall the project (`pip install -e . --no-deps`) after editing pyproject.toml"
    assert set(table) <= set(registry.available_methods())


@pytest.fixture
def plugin_on_path(tmp_path, monkeypatch):
    write_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    registry._METHODS.pop(METHOD, None)
    sys.modules.pop(MODULE, None)


def test_an_installed_plugin_is_found_by_name_and_listed(plugin_on_path):
    assert METHOD in registry.method_entry_points()
    spec = registry.get_method(METHOD)
    assert spec.display_name == "Rectangle SG"
    assert registry.source_file(spec) == (plugin_on_path / f"{MODULE}.py").resolve()
    assert METHOD in registry.available_methods()


def test_the_same_file_imported_twice_is_one_method(plugin_on_path):
    from pipelines.lib.identity import import_source

    spec = registry.get_method(METHOD)
    import_source(plugin_on_path / f"{MODULE}.py")  # a second module object from the same file
    assert registry.get_method(METHOD) is spec


def test_a_broken_plugin_is_named(tmp_path, monkeypatch):
    write_distribution(tmp_path, "broken", "broken-m", "asgl_broken_mod", "raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(registry.PluginError, match=r"asgl_bench.methods:broken-m.*distribution broken.*boom"):
        registry.get_method("broken-m")
    sys.modules.pop("asgl_broken_mod", None)


def test_a_plugin_that_registers_another_name_is_named(tmp_path, monkeypatch):
    write_distribution(tmp_path, "wrong", "wrong-m", "asgl_wrong_mod", "")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(registry.PluginError, match="registered no method named 'wrong-m'"):
        registry.get_method("wrong-m")
    sys.modules.pop("asgl_wrong_mod", None)
