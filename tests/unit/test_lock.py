"""requirements.lock against pyproject.toml, and the two install paths that use it (Makefile, Dockerfile).

The lock pins every package of the environment (runtime and ``dev`` extras, Linux x86_64, Python 3.11) with
its hashes; ``make lock`` writes it. These checks need no network: they parse the files.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)(?:\s*;.*?)?\s*\\?$")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
# The platform the lock is for: the Docker image and the supported hosts.
LOCK_ENV = {"python_version": "3.11", "python_full_version": "3.11.14", "sys_platform": "linux",
            "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
            "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def parse_lock(text: str) -> dict[str, tuple[Version, int]]:
    """``{canonical name: (pinned version, number of hashes)}`` of a pip-style lock with ``--hash`` lines."""
    entries: dict[str, tuple[Version, int]] = {}
    current = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("--hash="):
            if current is None:
                raise ValueError(f"requirements.lock:{number}: a hash before any pinned package")
            version, hashes = entries[current]
            entries[current] = (version, hashes + len(HASH.findall(line)))
            continue
        match = PIN.match(line)
        if match is None:
            raise ValueError(f"requirements.lock:{number}: {line!r} is not a `name==version` pin")
        current = canonicalize_name(match.group(1))
        if current in entries:
            raise ValueError(f"requirements.lock:{number}: {current} is pinned twice")
        entries[current] = (Version(match.group(2)), 0)
    return entries


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _requirements() -> list[Requirement]:
    """Every requirement the lock must satisfy: dependencies, the dev extra and the build backend."""
    data = _pyproject()
    texts = [*data["project"]["dependencies"], *data["project"]["optional-dependencies"]["dev"],
             *data["build-system"]["requires"]]
    return [Requirement(text) for text in texts]


@pytest.fixture(scope="module")
def lock() -> dict[str, tuple[Version, int]]:
    assert LOCK.is_file(), "requirements.lock is missing: run `make lock`"
    return parse_lock(LOCK.read_text(encoding="utf-8"))


def test_every_pyproject_requirement_is_pinned_in_the_lock(lock):
    problems = []
    for req in _requirements():
        if req.marker is not None and not req.marker.evaluate(LOCK_ENV):
            continue
        name = canonicalize_name(req.name)
        if name not in lock:
            problems.append(f"{req} is not in the lock")
        elif not req.specifier.contains(lock[name][0], prereleases=True):
            problems.append(f"{req} is not satisfied by the locked {name}=={lock[name][0]}")
    assert not problems, "pyproject.toml and requirements.lock disagree (run `make lock`): " + "; ".join(problems)


def test_every_locked_package_has_a_hash(lock):
    unhashed = sorted(name for name, (_, hashes) in lock.items() if hashes == 0)
    assert not unhashed, f"packages without --hash in requirements.lock: {unhashed}"
    assert len(lock) > 100, "the lock should hold the whole environment (torch alone brings dozens)"


def test_the_torch_stack_is_pinned_exactly_alike():
    pins = {canonicalize_name(r.name): str(r.specifier) for r in _requirements()}
    text = LOCK.read_text(encoding="utf-8")
    for name in ("torch", "torchvision", "torchaudio"):
        assert pins[name].startswith("=="), f"pyproject.toml must pin {name} exactly"
        assert re.search(rf"^{name}{re.escape(pins[name])} ", text, re.M), f"the lock must hold {name}{pins[name]}"


def test_lock_is_for_linux_x86_64_python_311(lock):
    """The lock resolves the Linux-only CUDA stack of torch, and nothing for other platforms."""
    assert "triton" in lock and any(name.startswith("nvidia-") for name in lock)
    text = LOCK.read_text(encoding="utf-8")
    assert not re.search(r"^\S+==\S+ ; ", text, re.M), "a marker in the lock: it was resolved for many platforms"
    assert SpecifierSet(_pyproject()["project"]["requires-python"]).contains(LOCK_ENV["python_full_version"])


def test_makefile_installs_from_the_lock_with_hashes():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^\$\(STAMP\):(.*)\n((?:\t.*\n?)+)", makefile, re.M)
    assert recipe, "the Makefile has no $(STAMP) rule"
    assert "$(LOCK)" in recipe.group(1), "the venv must be rebuilt when the lock changes"
    assert re.search(r"^LOCK := requirements\.lock$", makefile, re.M)
    body = recipe.group(2)
    assert "scripts/install_lock.py $(LOCK)" in body and "scripts/install_lock.py" in recipe.group(1)
    script = (ROOT / "scripts" / "install_lock.py").read_text(encoding="utf-8")
    assert script.count('"--no-deps", "--require-hashes"') == 3, "uv, the lock by uv and by pip: hashes, no deps"
    assert re.search(r"pip install .*--no-deps .*-e \.", body), "the project itself adds no unlocked package"
    assert "torch==" not in body, "the torch pins live in the lock only"


def test_dockerfile_installs_from_the_lock_with_hashes():
    text = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^COPY .*requirements\.lock", text, re.M), "the image must copy the lock"
    assert "--require-hashes --no-deps -r requirements.lock" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [("torch==1.0 \\\n", None), ("--hash=sha256:" + "0" * 64, "before any pinned package"),
     ("torch>=1.0\n", "not a `name==version` pin"), ("a==1\na==2\n", "pinned twice")],
    ids=["pin", "orphan-hash", "range", "duplicate"],
)
def test_lock_parser_rejects_what_pip_would_not_lock(text, message):
    if message is None:
        assert parse_lock(text) == {"torch": (Version("1.0"), 0)}
    else:
        with pytest.raises(ValueError, match=message):
            parse_lock(text)
