"""Install a hash-locked requirements file into this interpreter's environment with uv, from pip's sources.

``python scripts/install_lock.py requirements.lock`` (what ``make venv`` runs, with the venv's python).

Why uv: pip unpacks the wheels one after another on one core. For this project's lock (6.3 GB installed, most
of it torch's CUDA libraries) that took 73 s on 2 cores, 52 s of it pip's own CPU time; uv unpacks them in
parallel into its cache and links them into the environment: 19 s (docs/pipeline.md, "Time budget").

Why this script: uv does not read pip's configuration (``pip.conf``, ``PIP_*`` variables), and that is where a
mirror, a local index or a certificate is set. So the sources pip would use are read from ``pip config list`` and
handed to uv (:func:`uv_source_args`): ``index-url``, ``extra-index-url``, ``find-links``, ``no-index``,
``trusted-host``, and ``cert`` (as ``SSL_CERT_FILE``), and a local (``file://``) index's project pages as flat
lists too (:func:`local_pages`), so that uv chooses among the same files as pip. Not ``constraint``: uv's
hash-checking mode takes a constraint for a requirement without hashes and refuses it, and the lock's exact pins
leave a constraint nothing to decide. pip treats every index alike, while uv by default takes a package only from
the first index that has it; ``--index-strategy unsafe-best-match`` lets every index count, as in pip. The lock's hashes
pin every file, whichever index serves it.

uv itself comes from the same lock, installed by pip with its hashes. Where uv fails (a source it cannot
read, say), the lock is installed with pip instead, after a one-line message: slower, never different.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

# pip's sections for `pip install`, in increasing precedence: the [global] and [install] sections of its
# configuration files, then its PIP_* environment variables.
SECTIONS = ("global", "install", ":env:")
LIST_OPTIONS = {"extra-index-url": "--extra-index-url", "find-links": "--find-links",
                "trusted-host": "--allow-insecure-host"}
TRUE = {"1", "true", "yes", "on"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")


def canonical(name: str) -> str:
    """A project name as PEP 503 normalises it (``typing_extensions`` → ``typing-extensions``): the folder name
    of its page on a simple index, and how two spellings of one name compare."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_settings(listing: str) -> dict[str, str]:
    """The effective ``pip install`` settings from ``pip config list`` output (``section.key='value'`` lines):
    for each key, the value of the section with the highest precedence (:data:`SECTIONS`)."""
    found: dict[str, dict[str, str]] = {}
    for line in listing.splitlines():
        name, sep, value = line.partition("=")
        section, dot, key = name.rpartition(".")
        if not sep or not dot or section not in SECTIONS:
            continue
        try:
            text = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            text = value
        found.setdefault(key, {})[section] = str(text)
    return {key: next(by[s] for s in reversed(SECTIONS) if s in by) for key, by in found.items()}


def uv_source_args(settings: Mapping[str, str], packages: Iterable[str] = ()) -> list[str]:
    """``uv pip install`` arguments naming the sources that ``settings`` (:func:`pip_settings`) gives pip, for
    a lock that pins ``packages``: pip's options one for one, plus each local index's pages of ``packages`` as
    flat lists (:func:`local_pages`)."""
    args = ["--index-strategy", "unsafe-best-match"]
    if settings.get("index-url"):
        args += ["--index-url", settings["index-url"]]
    for key, flag in LIST_OPTIONS.items():
        for value in settings.get(key, "").split():
            args += [flag, value]
    if settings.get("no-index", "").strip().lower() in TRUE:
        args.append("--no-index")
    indexes = [settings.get("index-url", ""), *settings.get("extra-index-url", "").split()]
    for page in local_pages([url for url in indexes if url], packages):
        args += ["--find-links", page]
    return args


def local_pages(index_urls: Iterable[str], packages: Iterable[str]) -> list[str]:
    """The ``file://`` URLs of the project pages (``<index>/<name>/index.html``, PEP 503) that the local
    indexes among ``index_urls`` have for ``packages``.

    uv takes a version's files from the first index that has the version, where pip chooses among the files of
    every index: with ``soundfile`` 0.14.0 split across two local indexes, the pure wheel on the first and the
    ``manylinux_2_28`` one (with libsndfile) on the second, uv installed the pure one, which cannot load.
    A project page is also a flat list of files, and uv merges flat lists (``--find-links``) into every
    version's files, so with these pages uv chooses among all the local files, as pip does."""
    pages = []
    for url in index_urls:
        if not url.startswith("file://"):
            continue
        root = Path(unquote(urlparse(url).path))
        for name in packages:
            page = root / canonical(name) / "index.html"
            if page.is_file():
                pages.append(page.as_uri())
    return pages


def pinned_names(lock_text: str) -> list[str]:
    """The package names pinned in a hash-locked file, in its order."""
    return [m.group(1) for m in map(PIN.match, lock_text.splitlines()) if m]


def lock_entry(lock_text: str, package: str) -> str:
    """The lines of ``package``'s pin in a hash-locked file: the ``name==version`` line and the ``--hash``
    lines it continues into (``\\`` at the end of a line); ``ValueError`` where it is not pinned."""
    wanted = canonical(package)
    lines = lock_text.splitlines()
    for start, line in enumerate(lines):
        match = PIN.match(line)
        if match and canonical(match.group(1)) == wanted:
            end = start
            while lines[end].rstrip().endswith("\\") and end + 1 < len(lines):
                end += 1
            return "\n".join(lines[start:end + 1]) + "\n"
    raise ValueError(f"the lock pins no {package!r}: add it to the dev extra of pyproject.toml, then `make lock`")


def install(lock: Path, python: str = sys.executable, run: Any = subprocess.run) -> None:
    """Install ``lock`` into ``python``'s environment: uv from the lock by pip, then the lock by uv (pip where uv
    fails). Every install is ``--no-deps --require-hashes``: nothing outside the lock comes in."""
    text = lock.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as folder:
        uv_lock = Path(folder) / "uv.txt"
        uv_lock.write_text(lock_entry(text, "uv"), encoding="utf-8")
        run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--require-hashes", "-r", str(uv_lock)],
            check=True)
    settings = pip_settings(run([python, "-m", "pip", "config", "list"], check=True, capture_output=True,
                                text=True).stdout)
    env = dict(os.environ)
    if settings.get("cert"):
        env["SSL_CERT_FILE"] = settings["cert"]
    uv = [python, "-m", "uv", "pip", "install", "--python", python, "--quiet", "--no-deps", "--require-hashes",
          *uv_source_args(settings, pinned_names(text)), "-r", str(lock)]
    status = run(uv, env=env).returncode
    if status != 0:
        print(f"install_lock: uv could not install {lock} (exit status {status}); installing it with pip instead",
              file=sys.stderr)
        run([python, "-m", "pip", "install", "--quiet", "--no-compile", "--no-deps", "--require-hashes", "-r",
             str(lock)], check=True)


def main(argv: Iterable[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python scripts/install_lock.py requirements.lock", file=sys.stderr)
        return 2
    lock = Path(args[0])
    if not lock.is_file():
        print(f"{lock}: no such lock file; run `make lock` to write it", file=sys.stderr)
        return 2
    try:
        install(lock)
    except ValueError as exc:
        print(f"{lock}: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"install_lock: `{' '.join(exc.cmd)}` failed with exit status {exc.returncode}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
