"""``asgl-bench``: the suite's command for its users' jobs (console script, ``pipelines.cli:main``).

Subcommands (each with its own ``--help``)::

    asgl-bench methods                     the registry: each method's source, parameters and defaults
    asgl-bench compare METHOD [options]    train METHOD as the table does; compare it with ASGL and SG
    asgl-bench table                       print the current tables (<results_dir>/tables/*.md)
    asgl-bench plan [options]              time one step per dataset × method; estimate the benchmark's time
    asgl-bench export RUN_DIR OUT.nir      write a trained run in the Neuromorphic Intermediate Representation

Everything reads the active ``params.yaml`` (``--params`` to use another); nothing here edits it.
Argument parsing happens in :func:`main` only; errors are one ``error:`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

from pipelines.identity import display_path

EPILOG_COMPARE = """\
METHOD is one of:
  a registered name          asgl-bench compare dspike
  an installed plugin        a package with an entry point in the group "asgl_bench.methods"
  a file                     asgl-bench compare my_method.py   (a module that calls register_method)

The method trains on run.datasets at run.seeds with each dataset's train block (the table's budget), into
<results_dir>/compare/<method>/ (--results to change it), then is compared per dataset with the reference
runs (<results_dir>/runs.csv): accuracy with its 95 % CI, the paired difference against ASGL and SG over the
same seeds with its CI and a verdict (better / no different / worse at 95 %), firing rate and energy.
Its parameters come from methods.<name> of params.yaml if present, else from the method's defaults.

Quick check (minutes, not the table's budget):
  asgl-bench compare my_method.py --datasets digits --seeds 0 1 --epochs 1
"""


def resolve_method(arg: str, params: dict[str, Any], name: str | None = None) -> tuple[str, str]:
    """``(method name, source file)`` for a registered name, an installed plugin's name or a ``.py`` path.

    A plugin announced by an entry point is located without importing it (its file is imported once, by the
    training machinery). A file that registers several methods needs ``name``.
    """
    from asgl.registry import get_method, method_entry_points, registered_methods, source_file
    from pipelines.identity import import_source

    path = Path(arg)
    if arg.endswith(".py") or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"{arg}: no such file (give the .py file that registers the method)")
        import_source(path)
        here = path.resolve()
        names = [n for n in registered_methods() if source_file(get_method(n)) == here]
        if name is not None:
            if name not in names:
                raise ValueError(f"{arg}: registers no method named {name!r} (it registers: {names})")
            names = [name]
        if not names:
            raise ValueError(f"{arg}: registers no method; the module must call "
                             "asgl.registry.register_method(MethodSpec(...)) when imported")
        if len(names) > 1:
            raise ValueError(f"{arg}: registers several methods {names}; choose one with --name")
        return names[0], display_path(here)
    if arg in params["run"]["methods"]:
        return arg, params["run"]["methods"][arg]
    ep = method_entry_points().get(arg)
    if ep is not None:
        found = importlib.util.find_spec(ep.module)
        if found is None or not found.origin:
            raise ValueError(f"method {arg!r}: its entry point names module {ep.module!r}, which is not importable")
        return arg, display_path(Path(found.origin).resolve())
    spec = get_method(arg)  # built-ins; raises listing the known names
    return arg, display_path(source_file(spec))


def cmd_methods(args: argparse.Namespace) -> int:
    from asgl.registry import available_methods, get_method, source_file

    for name in available_methods():
        spec = get_method(name)
        print(f"{name}  ({spec.display_name}; family {spec.family})  source: {display_path(source_file(spec))}")
        if spec.description:
            print(f"    {spec.description}")
        if spec.requires:
            print(f"    requires: {', '.join(r for _, r in spec.requires)}")
        print("    methods." + name + ": {" + ", ".join(f"{k}: {v!r}" for k, v in spec.defaults.items()) + "}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from pipelines.compare import compare, markdown
    from pipelines.params import load_params

    params = load_params(args.params)
    name, source = resolve_method(args.method, params, args.name)
    report = compare(params, name, source, results=args.results, reference=args.reference,
                     datasets=args.datasets, seeds=args.seeds, epochs=args.epochs, sweep=args.sweep,
                     workers=args.workers)
    print(markdown(report))
    folder = Path(report["results"])
    print(f"wrote {folder / 'comparison.md'} and {folder / 'comparison.json'} "
          f"(training took {report['train_seconds']:.0f} s)")
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    from pipelines.params import load_params, results_dir

    folder = Path(args.tables) if args.tables else results_dir(load_params(args.params)) / "tables"
    files = sorted(folder.glob("*.md"))
    if not files:
        raise FileNotFoundError(f"{folder}: no tables (*.md); run `make benchmark` (or `dvc repro`) first")
    for f in files:
        print(f"## {f.stem} ({f})\n")
        print(f.read_text(encoding="utf-8"))
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    try:
        from pipelines.plan import main as plan_main
    except ImportError:
        print("error: pipelines.plan is not available in this version", file=sys.stderr)
        return 2
    return plan_main(args.rest)


def cmd_export(args: argparse.Namespace) -> int:
    from pipelines.export import export_run

    shape = tuple(args.input_shape) if args.input_shape else None
    print(export_run(Path(args.run_dir), Path(args.output), check=not args.no_check, input_shape=shape))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``asgl-bench`` argument parser (also used by the documentation test to check documented commands)."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="asgl-bench", formatter_class=raw,
        description="The ASGL benchmark's command: list the methods, compare a new method with the table (ASGL "
                    "and SG, paired 95 % CIs), print the tables, plan the benchmark's time, export a run to NIR.",
        epilog="Examples:\n  asgl-bench methods\n  asgl-bench compare my_method.py --datasets digits --seeds 0 1 "
               "--epochs 1\n  asgl-bench compare dspike\n  asgl-bench table\n"
               "  asgl-bench export results/runs/sg/digits-dvs/w1-s0 model.nir\n\n"
               "Run `asgl-bench <command> --help` for each command's options.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--params", default="params.yaml", help="the params file to read (default: params.yaml)")

    p = sub.add_parser("methods", parents=[common],
                       help="list the registered methods, their source files and parameters",
                       description="Every method the registry finds: built-ins, this project's baselines and "
                                   "installed plugins (entry point group asgl_bench.methods), with the source file "
                                   "that registers each and its params section methods.<name> with defaults.")
    p.set_defaults(func=cmd_methods)

    p = sub.add_parser("compare", parents=[common],
                       help="train a method as the table does and compare it with ASGL and SG",
                       description="Train METHOD on the table's datasets, seeds and budgets, then compare it with "
                                   "the reference runs.", epilog=EPILOG_COMPARE, formatter_class=raw)
    p.add_argument("method", metavar="METHOD", help="registered name, installed plugin name, or path/to/file.py")
    p.add_argument("--name", default=None, help="the method to take when the file registers several")
    p.add_argument("--sweep", action="store_true", help="also train at every width of sweep.widths "
                                                        "(the method needs a `width` parameter)")
    p.add_argument("--datasets", nargs="+", default=None, metavar="ID", help="a subset of run.datasets")
    p.add_argument("--seeds", nargs="+", type=int, default=None, metavar="S", help="seeds instead of run.seeds")
    p.add_argument("--epochs", type=int, default=None, help="epochs per run instead of each dataset's budget")
    p.add_argument("--workers", type=int, default=None, help="parallel runs instead of run.workers")
    p.add_argument("--results", default=None, help="output folder (default: <results_dir>/compare/<method>)")
    p.add_argument("--reference", default=None, help="reference runs (default: <results_dir>/runs.csv)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("table", parents=[common], help="print the current tables",
                       description="Print the Markdown tables of the last benchmark (<results_dir>/tables/*.md).")
    p.add_argument("--tables", default=None, help="folder of the tables (default: <results_dir>/tables)")
    p.set_defaults(func=cmd_table)

    p = sub.add_parser("plan", help="estimate the benchmark's time (python -m pipelines.plan)", add_help=False,
                       description="Pass every argument to `python -m pipelines.plan` (see its --help).")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("export", help="write a trained run as a NIR graph",
                       description="Write the final weights of a run folder (results/runs/<method>/<dataset>/"
                                   "w<width>-s<seed>) in the Neuromorphic Intermediate Representation. The neuron "
                                   "becomes NIR's discrete-time LIF equivalent (see docs/methods.md, 'NIR export').")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder holding config.json and checkpoint.pt")
    p.add_argument("output", metavar="OUT.nir", help="the file to write")
    p.add_argument("--no-check", action="store_true", help="skip re-reading the file and comparing it")
    p.add_argument("--input-shape", nargs="+", type=int, default=None, metavar="N",
                   help="one sample's shape without time and batch (e.g. 2 16 16) when the run does not tell it")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["plan"]:  # every further argument, --help included, belongs to pipelines.plan
        return cmd_plan(argparse.Namespace(rest=argv[1:]))
    args = build_parser().parse_args(argv)
    from asgl.data import DataError
    from asgl.io import WriteError
    from asgl.registry import MissingRequirementError, PluginError
    from pipelines.compare import CompareError
    from pipelines.identity import MethodSourceError
    from pipelines.params import ParamsError

    try:
        return args.func(args)
    except (ParamsError, CompareError, MethodSourceError, PluginError, MissingRequirementError, DataError,
            WriteError, FileNotFoundError, ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; rerun the same command to resume (finished runs are reused)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
