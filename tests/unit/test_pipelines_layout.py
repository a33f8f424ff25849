"""``pipelines/`` keeps its three jobs apart: ``stages/`` (one module per DVC stage), ``lib/`` (what they share)
and ``commands/`` (``asgl-bench`` and its subcommands).

The rules, read statically (the import graph of :mod:`tests.unit.test_import_graph`, deferred imports included,
and ``dvc.yaml``; nothing is run):

* a stage imports no other stage: stages talk only through the files ``dvc.yaml`` declares, so each stage's
  ``deps`` can name all the code it runs;
* ``lib/`` imports nothing from ``stages/`` or ``commands/``: what two of them need lives in ``lib/``;
* a command imports no stage; the only place a command names one is ``asgl-bench``'s table of delegated
  subcommands (``fetch``, ``prepare``), which runs that stage's ``main(argv)`` whole, as DVC does;
* ``tables`` and ``plots`` read only what ``evaluate`` writes (``plots`` also the run folders' histories), so
  their code imports neither evaluate, train nor linear, and their data deps in ``dvc.yaml`` are evaluate's
  outputs;
* every module of ``stages/`` is a stage of ``dvc.yaml`` with a ``main()``, and nothing else lives directly in
  ``pipelines/``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from tests.unit.test_import_graph import import_graph

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = ROOT / "pipelines"
SUBPACKAGES = ("stages", "lib", "commands")


def _in(module: str, sub: str) -> bool:
    return module.startswith(f"pipelines.{sub}.")


def violations(graph: dict[str, set[str]]) -> list[str]:
    """Every import of ``graph`` that breaks one of the rules between the three subpackages."""
    found = []
    for a, targets in sorted(graph.items()):
        for b in sorted(targets):
            if _in(a, "stages") and _in(b, "stages"):
                found.append(f"{a} imports {b}: a stage imports another stage")
            elif _in(a, "lib") and (_in(b, "stages") or _in(b, "commands") or b in ("pipelines.stages",
                                                                                  "pipelines.commands")):
                found.append(f"{a} imports {b}: the library imports a stage or a command")
            elif _in(a, "commands") and (_in(b, "stages") or b == "pipelines.stages"):
                found.append(f"{a} imports {b}: a command imports a stage")
    return found


def _dvc_stages() -> dict[str, dict]:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    return {name: stage.get("do", stage) for name, stage in stages.items()}


def _stage_module(body: dict) -> str:
    words = body["cmd"].split()
    assert words[:2] == ["python", "-m"], body["cmd"]
    return words[2]


def test_the_checker_finds_each_kind_of_violation():
    graph = {"pipelines.stages.tables": {"pipelines.stages.evaluate", "pipelines.lib.stats"},
             "pipelines.lib.records": {"pipelines.commands.compare"},
             "pipelines.commands.plan": {"pipelines.stages.train", "pipelines.lib.runs"},
             "pipelines.lib.runs": {"pipelines.lib.records"}}
    assert violations(graph) == [
        "pipelines.commands.plan imports pipelines.stages.train: a command imports a stage",
        "pipelines.lib.records imports pipelines.commands.compare: the library imports a stage or a command",
        "pipelines.stages.tables imports pipelines.stages.evaluate: a stage imports another stage"]


def test_stages_lib_and_commands_import_each_other_only_downwards():
    graph = import_graph()
    assert {m for m in graph if _in(m, "stages")} and {m for m in graph if _in(m, "commands")}
    assert violations(graph) == []


def test_a_command_names_a_stage_only_in_the_delegated_subcommands():
    """No ``importlib.import_module("pipelines.stages.X")`` behind the import graph's back, except the table of
    subcommands that run a stage's ``main`` whole."""
    from pipelines.commands.cli import DELEGATED

    delegated = {module for module, _ in DELEGATED.values() if module.startswith("pipelines.stages.")}
    assert delegated == {"pipelines.stages.fetch", "pipelines.stages.prepare"}
    named = {}
    for path in sorted((PIPELINES / "commands").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(
                    r"pipelines\.stages(\.\w+)*", node.value):
                named.setdefault(node.value, set()).add(path.name)
    assert named == {m: {"cli.py"} for m in delegated}, named


def test_tables_and_plots_read_only_what_evaluate_writes():
    graph = import_graph()
    upstream = {"pipelines.stages.evaluate", "pipelines.stages.train", "pipelines.stages.linear"}
    for module in ("pipelines.stages.tables", "pipelines.stages.plots"):
        assert not graph[module] & upstream, f"{module} imports {graph[module] & upstream}"
    stages = _dvc_stages()
    written = {next(iter(o)) if isinstance(o, dict) else o
               for key in ("outs", "metrics", "plots") for o in stages["evaluate"].get(key, [])}
    allowed = {"tables": written | {"reference_results.yaml"},
               "plots": written | {"${results_dir}/runs"}}  # the run folders' history.csv
    for name, extra in allowed.items():
        data = [d for d in stages[name]["deps"] if not d.startswith("pipelines/")]
        assert data and set(data) <= extra, f"{name} depends on {set(data) - extra}, which evaluate does not write"
        assert {"${results_dir}/runs.json", "${results_dir}/statistics.json"} <= set(data)


def test_every_stage_module_is_a_dvc_stage_and_every_dvc_stage_a_stage_module():
    modules = {f"pipelines.stages.{p.stem}" for p in (PIPELINES / "stages").glob("*.py") if p.stem != "__init__"}
    run_by_dvc = {_stage_module(body) for body in _dvc_stages().values()}
    assert run_by_dvc == modules
    for module in modules:
        tree = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8"))
        assert any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body), f"{module}: no main()"


def test_pipelines_holds_only_the_three_subpackages_and_the_published_tables():
    loose = sorted(p.name for p in PIPELINES.glob("*.py") if p.name != "__init__.py")
    assert loose == [], f"pipelines/{loose[0]}: a module belongs in stages/, lib/ or commands/"
    folders = {p.name for p in PIPELINES.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == {*SUBPACKAGES, "published"}
    for sub in SUBPACKAGES:
        doc = ast.get_docstring(ast.parse((PIPELINES / sub / "__init__.py").read_text(encoding="utf-8")))
        assert doc and len(doc.split()) > 20, f"pipelines/{sub}/__init__.py: say in its docstring what belongs there"


# Imported by a stage but not its dependency, by design: where a run executes, not what it computes
# (dvc.yaml's comment on the train stage; tests/scaling checks that every executor gives the same records).
NOT_DEPS = {"pipelines/lib/executors.py"}


def test_each_stage_depends_on_the_pipelines_files_it_imports():
    """DVC does not follow imports, so each stage's ``deps`` name every ``pipelines/`` module its own module
    imports directly (an edit there reruns the stage), bar the executors."""
    graph = import_graph()
    for name, body in _dvc_stages().items():
        module = _stage_module(body)
        files = {m.replace(".", "/") + ".py" for m in graph[module] if m.startswith("pipelines.")}
        missing = sorted(files - set(body["deps"]) - NOT_DEPS)
        assert not missing, f"dvc.yaml: stage {name} imports {', '.join(missing)} without depending on it"
