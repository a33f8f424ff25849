"""Every command shown in README.md, CONTRIBUTING.md and docs/*.md exists, with the options it is shown with.

Commands are read from fenced ``bash``/``sh``/``console`` blocks (one per line, ``\\`` continuations joined,
``&&`` chains split, comments dropped) and from inline code spans that start with ``asgl-bench``, ``make`` or
``dvc``. Each is checked without running it:

* ``asgl-bench …`` and ``dvc …``: the subcommand exists in the real parser and knows every option shown; a
  subcommand that hands its arguments to a pipelines module is checked against that module's ``--help``;
* ``make TARGET``: the target is in the Makefile;
* ``python -m MODULE …``: the module exists; for a ``pipelines`` module, its options as above; for pytest,
  the test paths exist; ``python FILE``: the file exists.

Anything else (``docker``, ``ray``, ``git``, shell built-ins) is left to its own tool.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import io
import re
import shlex

import pytest

from pipelines.commands.cli import DELEGATED, build_parser
from pipelines.commands.cli import main as cli_main
from pipelines.lib.identity import REPO_ROOT

PAGES = sorted([REPO_ROOT / "README.md", REPO_ROOT / "CONTRIBUTING.md", *(REPO_ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"```(bash|sh|console|shell)\n(.*?)```", re.S)
INLINE = re.compile(r"`((?:asgl-bench|make|dvc) [^`]*)`")
CHECKED = ("asgl-bench", "dvc", "make", "python")
MAKE_TARGET = re.compile(r"^([A-Za-z][\w-]*):", re.M)


def command_lines(text: str) -> list[str]:
    """The command lines of a page: fenced shell blocks and the inline spans named in the module docstring."""
    lines: list[str] = []
    for _, body in FENCE.findall(text):
        for line in body.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            lines.extend(part.strip() for part in line.split("&&"))
    lines.extend(part.strip() for span in INLINE.findall(text) for part in span.split("&&"))
    out = []
    for line in lines:
        words = shlex.split(line, comments=True) if line else []
        if words and words[0].startswith(".venv/bin/"):
            words[0] = words[0].removeprefix(".venv/bin/")
        if words and words[0] in CHECKED:
            out.append(shlex.join(words))
    return out


def documented() -> list[tuple[str, str]]:
    """``(page, command line)`` for every checked command of every page."""
    found = []
    for page in PAGES:
        for line in command_lines(page.read_text(encoding="utf-8")):
            found.append((page.relative_to(REPO_ROOT).as_posix(), line))
    return found


def help_of(run) -> str:
    """What ``run()`` prints for ``--help`` (it must exit with status 0)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), pytest.raises(SystemExit) as stop:
        run()
    assert stop.value.code in (0, None), buffer.getvalue()
    return buffer.getvalue()


def check_options(words: list[str], help_text: str, what: str) -> None:
    """Every ``--option`` in ``words`` is listed in ``help_text``."""
    listed = set(re.findall(r"--[\w-]+", help_text))
    unknown = [w.split("=")[0] for w in words if w.startswith("--") and w.split("=")[0] not in listed]
    assert not unknown, f"{what} has no option {unknown} (its --help lists {sorted(listed)})"


def check_known(parser: argparse.ArgumentParser, args: list[str], program: str) -> None:
    """The (sub)command named by the leading words of ``args`` exists and knows every option shown.

    A command mentioned in prose may leave out its arguments or an option's value; only names are checked.
    """
    for word in (w for w in args if not w.startswith("-")):
        subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subcommands:
            break
        assert word in subcommands[0].choices, f"{program} has no command {word!r} here"
        parser = subcommands[0].choices[word]
    listed = set(parser._option_string_actions)
    unknown = [w.split("=")[0] for w in args if w.startswith("-") and w.split("=")[0] not in listed]
    assert not unknown, f"{parser.prog} has no option {unknown}"


def check_asgl_bench(words: list[str]) -> None:
    args = words[1:]
    if args and args[0] in DELEGATED:
        check_options(args[1:], help_of(lambda: cli_main([args[0], "--help"])), f"asgl-bench {args[0]}")
    else:
        check_known(build_parser(), args, "asgl-bench")


def check_dvc(words: list[str]) -> None:
    from dvc.cli.parser import get_main_parser

    check_known(get_main_parser(), words[1:], "dvc")


def check_make(words: list[str]) -> None:
    targets = set(MAKE_TARGET.findall((REPO_ROOT / "Makefile").read_text(encoding="utf-8")))
    for target in (w for w in words[1:] if "=" not in w and not w.startswith("-")):
        assert target in targets, f"the Makefile has no target {target!r} (it has {sorted(targets)})"


def check_python(words: list[str]) -> None:
    if words[1:2] != ["-m"]:
        script = words[1] if len(words) > 1 else ""
        assert script.startswith("-") or (REPO_ROOT / script).is_file(), f"{script}: no such file"
        return
    module, rest = words[2], words[3:]
    assert importlib.util.find_spec(module) is not None, f"no module {module}"
    if module == "pytest":
        paths = [w.split("::")[0] for w in rest if w.startswith("tests")]
        missing = [p for p in paths if not (REPO_ROOT / p).exists()]
        assert not missing, f"pytest is shown with test paths that do not exist: {missing}"
    elif module.startswith("pipelines."):
        main = importlib.import_module(module).main
        check_options(rest, help_of(lambda: main(["--help"])), f"python -m {module}")


CHECKS = {"asgl-bench": check_asgl_bench, "dvc": check_dvc, "make": check_make, "python": check_python}
COMMANDS = documented()


def test_the_pages_show_commands_of_every_kind():
    kinds = {line.split()[0] for _, line in COMMANDS}
    assert {"asgl-bench", "dvc", "make", "python"} <= kinds
    readme = [line for page, line in COMMANDS if page == "README.md"]
    assert "make benchmark" in readme and "make test" in readme


@pytest.mark.parametrize("page, line", COMMANDS, ids=[f"{p}: {c}" for p, c in COMMANDS])
def test_documented_command_exists_with_its_options(page, line):
    words = shlex.split(line)
    CHECKS[words[0]](words)


@pytest.mark.parametrize("line, message", [
    ("asgl-bench no-such-command", "no command"),
    ("asgl-bench compare sg --no-such-flag", "has no option"),
    ("asgl-bench plan --no-such-flag", "has no option"),
    ("dvc exp run --no-such-flag", "has no option"),
    ("dvc no-such-command", "no command"),
    ("make no-such-target", "no target"),
    ("python -m pipelines.commands.profile --no-such-flag", "has no option"),
])
def test_a_wrong_command_or_option_is_caught(line, message):
    words = shlex.split(line)
    with pytest.raises(AssertionError, match=message):
        CHECKS[words[0]](words)
