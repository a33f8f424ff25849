"""Switch the active profile: copy ``profiles/<name>.yaml`` to ``params.yaml``.

``python -m pipelines.commands.profile paper`` selects the paper's settings (GPU, real datasets);
``python -m pipelines.commands.profile embedded`` goes back to the default CPU benchmark on embedded data.

``params.yaml`` is never silently lost: if it differs from every shipped profile (local edits), it is first
copied to ``params.yaml.bak`` (an existing backup is kept as ``params.yaml.bak.1``, ``.2``, …).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from asgl.io import atomic_write_text
from pipelines.lib.entry import run_main
from pipelines.lib.params import ParamsError, validate

PROFILES_DIR = Path("profiles")


def available_profiles(profiles_dir: Path = PROFILES_DIR) -> list[str]:
    """Names of the shipped profiles (``profiles/*.yaml``)."""
    return sorted(p.stem for p in profiles_dir.glob("*.yaml"))


def _backup_path(target: Path) -> Path:
    candidate = target.with_name(target.name + ".bak")
    index = 1
    while candidate.exists():
        candidate = target.with_name(f"{target.name}.bak.{index}")
        index += 1
    return candidate


def select_profile(name: str, target: Path = Path("params.yaml"), profiles_dir: Path = PROFILES_DIR) -> Path | None:
    """Write profile ``name`` to ``target``; return the backup path if local edits were saved, else None."""
    import yaml

    source = profiles_dir / f"{name}.yaml"
    if not source.exists():
        raise ParamsError(f"unknown profile {name!r}; available: {', '.join(available_profiles(profiles_dir))}")
    text = source.read_text(encoding="utf-8")
    try:
        validate(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        raise ParamsError(f"{source}: not valid YAML ({type(exc).__name__}); fix the profile file") from None
    backup = None
    if target.exists():
        current = target.read_text(encoding="utf-8")
        shipped = {p.read_text(encoding="utf-8") for p in profiles_dir.glob("*.yaml")}
        if current not in shipped:
            backup = _backup_path(target)
            shutil.copy2(target, backup)
    atomic_write_text(target, text)
    return backup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Select the benchmark profile (writes params.yaml).")
    parser.add_argument("name", help=f"profile name ({', '.join(available_profiles()) or 'profiles/*.yaml'})")
    args = parser.parse_args(argv)
    return run_main(lambda: _select(args.name))


def _select(name: str) -> None:
    backup = select_profile(name)
    if backup is not None:
        print(f"params.yaml had local edits; saved them to {backup}")
    print(f"params.yaml now holds the {name!r} profile; run `dvc repro` to reproduce it")


if __name__ == "__main__":
    sys.exit(main())
