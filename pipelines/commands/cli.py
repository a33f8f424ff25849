"""``asgl-bench``: the suite's one command for its users' jobs (console script, ``pipelines.commands.cli:main``).

Subcommands (each with its own ``--help``)::

    asgl-bench profile NAME                select a profile: params.yaml from profiles/NAME.yaml
    asgl-bench fetch ID / prepare ID       download and verify a dataset / build its prepared cache
    asgl-bench plan [options]              time one step per dataset × method; estimate the benchmark's time
    asgl-bench reproduce [options]         check a finished benchmark against a reference, cell by cell
    asgl-bench warm-kernels                compile the CPU kernels the runs use (make benchmark does it)
    asgl-bench table                       print the current tables (<results_dir>/tables/*.md)
    asgl-bench methods                     the registry: each method's source, parameters and defaults
    asgl-bench compare METHOD [options]    train METHOD as the table does; compare it with ASGL and SG
    asgl-bench export RUN_DIR OUT.nir      write a trained run in the Neuromorphic Intermediate Representation

``profile``, ``fetch``, ``prepare``, ``plan``, ``reproduce`` and ``warm-kernels`` hand their arguments to
the ``main(argv)`` of the module of the same name (:data:`DELEGATED`): ``fetch`` and ``prepare`` are DVC
stages, run whole as ``dvc.yaml`` runs them (``python -m pipelines.stages.NAME``), the others commands
(``pipelines.commands.NAME``).
A list option takes its items either way, ``--datasets a b`` or ``--datasets a,b``, in every subcommand.
Only ``profile`` writes ``params.yaml``. A user error is one ``error:`` line and exit status 2
(:func:`pipelines.lib.entry.run_main`); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pipelines.lib.entry import run_main
from pipelines.lib.identity import display_path

EPILOG_COMPARE = """\
METHOD is one of:
  a registered name          asgl-bench compare dspike
  an installed plugin        a package with an entry point in the group "asgl_bench.methods"
  a file                     asgl-bench compare my_method.py   (a module that calls register_method)

The method trains on run.datasets at run.seeds with each dataset's train block (the table's budget), into
<results_dir>/compare/<method>/ (--results to change it), then is compared per dataset with the reference
runs (<results_dir>/runs.json): accuracy with its 95 % interval over seeds and test samples, the difference
against ASGL and SG paired on seeds and test samples with its interval, the probability of outperforming and a
verdict (better / no different at n = … / worse, at 95 %), firing rate and energy.
Its parameters come from methods.<name> of params.yaml if present, else from the method's defaults.

Quick check (minutes, not the table's budget):
  asgl-bench compare my_method.py --datasets digits --seeds 0 1 --epochs 1

Width sweep (the paper's robustness claim; the method needs a `width` parameter):
  asgl-bench compare my_method.py --sweep
"""

# Subcommands whose work is a pipelines module's main(argv): name -> (module, one-line help). fetch and prepare
# run a DVC stage whole, as dvc.yaml does; this table is the only place a command names a stage.
DELEGATED = {
    "profile": ("pipelines.commands.profile", "select a profile: write params.yaml from profiles/NAME.yaml"),
    "fetch": ("pipelines.stages.fetch", "download and verify one dataset's raw files"),
    "prepare": ("pipelines.stages.prepare", "build one dataset's prepared tensor cache (fetching first if needed)"),
    "plan": ("pipelines.commands.plan", "time one step per dataset × method and estimate the profile's wall time"),
    "reproduce": ("pipelines.commands.reproduce", "check a finished benchmark against a reference table, cell by cell"),
    "warm-kernels": ("pipelines.commands.warm_kernels", "compile the CPU kernels the runs use, ahead of training"),
}
# The delegated modules that read a list as one comma-separated value: their list options.
COMMA_LISTS = {"plan": ("--datasets", "--methods")}


def package_version() -> str:
    """The installed version of ``asgl-bench`` (pyproject's ``version``)."""
    try:
        return version("asgl-bench")
    except PackageNotFoundError:
        return "unknown (the project is not installed; run `make venv` or `pip install -e .`)"


def split_items(values: Sequence[str] | None) -> list[str] | None:
    """A list option's items whether given as ``a b`` or ``a,b`` (or both); None when the option is absent."""
    if values is None:
        return None
    return [item for value in values for item in value.split(",") if item]


def join_lists(argv: Sequence[str], flags: Sequence[str]) -> list[str]:
    """``argv`` with each of ``flags`` followed by its items as one comma-separated value.

    ``--datasets a b --steps 1`` becomes ``--datasets a,b --steps 1``: the items run to the next option.
    """
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        out.append(arg)
        i += 1
        if arg in flags:
            items = []
            while i < len(argv) and not argv[i].startswith("-"):
                items.append(argv[i])
                i += 1
            if items:
                out.append(",".join(split_items(items) or []))
    return out


@contextlib.contextmanager
def program_name(name: str) -> Iterator[None]:
    """Run with ``sys.argv[0] = name``, so a delegated module's usage line reads ``asgl-bench NAME``."""
    saved = sys.argv[0] if sys.argv else ""
    if sys.argv:
        sys.argv[0] = name
    else:
        sys.argv.append(name)
    try:
        yield
    finally:
        sys.argv[0] = saved


def delegate(command: str, argv: Sequence[str]) -> int:
    """Run ``command``'s pipelines module's ``main`` with ``argv`` (lists normalised for that module)."""
    module = importlib.import_module(DELEGATED[command][0])
    rest = join_lists(argv, COMMA_LISTS.get(command, ()))
    with program_name(f"asgl-bench {command}"):
        return int(module.main(rest) or 0)


def resolve_method(arg: str, params: dict[str, Any], name: str | None = None) -> tuple[str, str]:
    """``(method name, source file)`` for a registered name, an installed plugin's name or a ``.py`` path.

    A plugin announced by an entry point is located without importing it (its file is imported once, by the
    training machinery). A file that registers several methods needs ``name``.
    """
    from asgl.registry import get_method, method_entry_points, registered_methods, source_file
    from pipelines.lib.identity import MethodSourceError, import_source

    path = Path(arg)
    if arg.endswith(".py") or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"{arg}: no such file (give the .py file that registers the method)")
        import_source(path)
        here = path.resolve()
        names = [n for n in registered_methods() if source_file(get_method(n)) == here]
        if name is not None:
            if name not in names:
                raise MethodSourceError(f"{arg}: registers no method named {name!r} (it registers: {names})")
            names = [name]
        if not names:
            raise MethodSourceError(f"{arg}: registers no method; the module must call "
                             "asgl.registry.register_method(MethodSpec(...)) when imported")
        if len(names) > 1:
            raise MethodSourceError(f"{arg}: registers several methods {names}; choose one with --name")
        return names[0], display_path(here)
    if arg in params["run"]["methods"]:
        return arg, params["run"]["methods"][arg]
    ep = method_entry_points().get(arg)
    if ep is not None:
        found = importlib.util.find_spec(ep.module)
        if found is None or not found.origin:
            raise MethodSourceError(f"method {arg!r}: its entry point names module {ep.module!r}, which is not "
                                    "importable; install the package that provides it")
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
    from pipelines.commands.compare import CompareError, compare, markdown
    from pipelines.lib.params import load_params

    params = load_params(args.params)
    name, source = resolve_method(args.method, params, args.name)
    seeds = split_items(args.seeds)
    if seeds is not None:
        bad = [s for s in seeds if not s.lstrip("-").isdigit()]
        if bad:
            raise CompareError(f"--seeds: {bad[0]!r} is not an integer; give seeds as `--seeds 0 1` or `--seeds 0,1`")
    report = compare(params, name, source, results=args.results, reference=args.reference,
                     datasets=split_items(args.datasets), seeds=None if seeds is None else [int(s) for s in seeds],
                     epochs=args.epochs, sweep=args.sweep, workers=args.workers)
    print(markdown(report))
    folder = Path(report["results"])
    print(f"wrote {folder / 'comparison.md'} and {folder / 'comparison.json'} "
          f"(training took {report['train_seconds']:.0f} s)")
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    from pipelines.lib.params import load_params, results_dir

    folder = Path(args.tables) if args.tables else results_dir(load_params(args.params)) / "tables"
    files = sorted(folder.glob("*.md"))
    if not files:
        raise FileNotFoundError(f"{folder}: no tables (*.md); run `make benchmark` (or `dvc repro`) first")
    for f in files:
        print(f"## {f.stem} ({f})\n")
        print(f.read_text(encoding="utf-8"))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pipelines.commands.export import export_run

    shape = tuple(args.input_shape) if args.input_shape else None
    print(export_run(Path(args.run_dir), Path(args.output), check=not args.no_check, input_shape=shape))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``asgl-bench`` argument parser (also used by the documentation test to check documented commands)."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="asgl-bench", formatter_class=raw,
        description="The ASGL benchmark's command: select a profile, fetch and prepare data, plan the benchmark's "
                    "time, check a run against the published table, print the tables, compare a new method with "
                    "ASGL and SG (paired 95 % CIs), export a run to NIR.",
        epilog="Examples:\n  asgl-bench profile embedded\n  asgl-bench reproduce\n  asgl-bench table\n"
               "  asgl-bench methods\n  asgl-bench compare my_method.py --datasets digits --seeds 0 1 --epochs 1\n"
               "  asgl-bench plan --profile paper --device cuda\n"
               "  asgl-bench export results/runs/sg/digits/w1-s0 model.nir\n\n"
               "Lists are given either way: --datasets a b, or --datasets a,b.\n"
               "Run `asgl-bench <command> --help` for each command's options.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--params", default="params.yaml", help="the params file to read (default: params.yaml)")

    for name, (module, summary) in DELEGATED.items():
        p = sub.add_parser(name, help=summary, add_help=False,
                           description=f"{summary[0].upper()}{summary[1:]}. Every argument goes to "
                                       f"`python -m {module}`; `asgl-bench {name} --help` prints its options.")
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=lambda args, name=name: delegate(name, args.rest))

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
    p.add_argument("--datasets", nargs="+", default=None, metavar="ID",
                   help="a subset of run.datasets (`a b` or `a,b`)")
    p.add_argument("--seeds", nargs="+", default=None, metavar="S", help="seeds instead of run.seeds (`0 1` or `0,1`)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per run instead of each dataset's budget")
    p.add_argument("--workers", type=int, default=None, help="parallel runs instead of run.workers")
    p.add_argument("--results", default=None, help="output folder (default: <results_dir>/compare/<method>)")
    p.add_argument("--reference", default=None, help="reference results folder or runs.json (default: <results_dir>)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("table", parents=[common], help="print the current tables",
                       description="Print the Markdown tables of the last benchmark (<results_dir>/tables/*.md).")
    p.add_argument("--tables", default=None, help="folder of the tables (default: <results_dir>/tables)")
    p.set_defaults(func=cmd_table)

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
    """Run ``asgl-bench`` with ``argv`` (default: the command line); return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] and argv[0] in DELEGATED:  # every further argument, --help included, belongs to the module
        return delegate(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    return run_main(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
