"""docker/entrypoint.sh as the container runs it: any uid, DVC's site cache, the GPU preflight.

No image is built. The entrypoint runs on this machine against a container-like folder without ``.git``:
with the real ``dvc`` under an unnamed uid (``setpriv``, as root), and with the real
docker/gpu_preflight.py behind stub ``nvidia-smi`` drivers, ``python`` (other than the preflight) and ``dvc``.
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
PREFLIGHT = ROOT / "docker" / "gpu_preflight.py"
UID = 1001
VENV_BIN = Path(sys.executable).parent

sys.path.insert(0, str(ROOT / "docker"))
import gpu_preflight  # noqa: E402

sys.path.pop(0)


def _uid_is_unnamed(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return True
    return False


needs_setpriv = pytest.mark.skipif(
    shutil.which("setpriv") is None or os.geteuid() != 0 or shutil.which("bash") is None,
    reason="needs setpriv (util-linux), bash and root to switch to an unnamed uid",
)


@pytest.fixture
def shared_dir():
    """A temporary folder every uid can write (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="asgl-uid-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _dvc_repo(parent: Path) -> Path:
    app = parent / "app"
    app.mkdir()
    subprocess.run([str(VENV_BIN / "dvc"), "init", "--no-scm", "-q"], cwd=app, check=True, timeout=60,
                   env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    for path in [app, *app.rglob("*")]:
        path.chmod(0o777)
    return app


@functools.cache
def _setpriv() -> list[str]:
    """setpriv switching to uid:gid 1001:1001 without groups.

    Where this interpreter lies in a folder the uid may not enter (e.g. a Python under /root), the uid keeps
    CAP_DAC_READ_SEARCH (directory search and file reads only) so its child processes can start it; the uid
    still has no passwd entry, which is what these tests are about.
    """
    base = ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups"]
    probe = subprocess.run([*base, "/bin/sh", "-c", f'"{sys.executable}" -c pass'], capture_output=True,
                           timeout=60, check=False)
    if probe.returncode == 0:
        return base
    return [*base, "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]


def _as_uid(command: list[str], app: Path, home: Path, **env: str) -> subprocess.CompletedProcess:
    """``command`` as uid:gid 1001:1001 without groups or passwd entry, in a bare environment."""
    base = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(home), "DVC_NO_ANALYTICS": "1",
            "ASGL_APP_DIR": str(app), "ASGL_DVC_LOCK_STORE": "", "ASGL_DATA_ROOT": str(app / "data")}
    return subprocess.run([*_setpriv(), *command],
                          env={**base, **env}, cwd=app, capture_output=True, text=True, timeout=60, check=False)


@needs_setpriv
def test_dvc_runs_through_the_entrypoint_under_an_unnamed_uid(shared_dir):
    app = _dvc_repo(shared_dir)
    if _uid_is_unnamed(UID):  # the fault the entrypoint fixes: DVC asks the passwd database for a name
        bare = _as_uid(["dvc", "status"], app, shared_dir)
        assert bare.returncode != 0 and "getpwuid" in bare.stderr + bare.stdout
    result = _as_uid(["bash", str(ENTRYPOINT), "bash", "-c", 'echo "$USER $LOGNAME" && dvc status'], app, shared_dir)
    assert result.returncode == 0, result.stderr
    name = f"uid{UID}" if _uid_is_unnamed(UID) else pwd.getpwuid(UID).pw_name
    assert result.stdout.splitlines()[0] == f"{name} {name}"


@needs_setpriv
def test_dvc_site_cache_is_reused_by_the_next_container(shared_dir):
    """DVC keys its site cache by .dvc/tmp/btime; each new container (fresh .dvc/tmp) must find the same key."""
    app, site = _dvc_repo(shared_dir), shared_dir / "site"
    for _ in range(2):  # two containers from one image: .dvc/tmp is not in the image
        shutil.rmtree(app / ".dvc" / "tmp", ignore_errors=True)
        result = _as_uid(["bash", str(ENTRYPOINT), "dvc", "status"], app, shared_dir, DVC_SITE_CACHE_DIR=str(site))
        assert result.returncode == 0, result.stderr
    assert len(list((site / "repo").iterdir())) == 1, "each container hashed the data afresh"


# --------------------------------------------------------------------------------------------- GPU preflight


@pytest.fixture
def gpu_app(tmp_path):
    """A container-like app with the project's profiles and preflight; stub `dvc`, `python` and `nvidia-smi`.

    The stub `python` hands docker/gpu_preflight.py to the real interpreter and logs every other call.
    """
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    app, bin_dir, log = tmp_path / "app", tmp_path / "bin", tmp_path / "calls.log"
    for folder in (app / ".dvc" / "cache", app / "results", app / "data", app / "docker", bin_dir):
        folder.mkdir(parents=True)
    (app / "profiles").symlink_to(ROOT / "profiles")
    (app / "docker" / "gpu_preflight.py").symlink_to(PREFLIGHT)
    stubs = {
        "dvc": f'echo "dvc $*" >> "{log}"',
        "python": f'case "$1" in docker/gpu_preflight.py) exec "{sys.executable}" "$@";; esac\n'
                  f'echo "python $*" >> "{log}"',
    }
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        (bin_dir / name).chmod(0o755)

    def run(*args: str, driver: str | None = None, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        smi = bin_dir / "nvidia-smi"  # no driver: nvidia-smi fails as it does without one
        smi.write_text(f"#!/bin/sh\necho '{driver}'\n" if driver else "#!/bin/sh\nexit 9\n", encoding="utf-8")
        smi.chmod(0o755)
        full_env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "ASGL_APP_DIR": str(app),
                    "ASGL_DATA_ROOT": str(app / "data"), "ASGL_NVIDIA_PROC_VERSION": str(tmp_path / "none"),
                    **env}
        result = subprocess.run(["bash", str(ENTRYPOINT), *args], env=full_env, capture_output=True, text=True,
                                timeout=60, check=False)
        calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return result, calls

    return run


@pytest.mark.parametrize(
    ("driver", "expected"),
    [(None, "no NVIDIA GPU driver visible"), ("535.104.05", "NVIDIA driver 535.104.05 is too old")],
    ids=["no-driver", "old-driver"],
)
def test_gpu_profile_stops_in_one_line_before_anything_is_downloaded(gpu_app, driver, expected):
    result, calls = gpu_app(ASGL_PROFILE="paper", driver=driver)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0] and "CUDA 13" in lines[0] and "driver >= 580" in lines[0]
    assert calls == [], "nothing may run (no profile switch, no dvc) once the preflight failed"


def test_a_new_enough_driver_still_needs_a_device_torch_can_use(gpu_app):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a usable GPU")
    result, calls = gpu_app(ASGL_PROFILE="paper", driver="580.65.06")
    assert result.returncode == 1 and calls == []
    assert result.stderr.strip().splitlines() == [
        "gpu-preflight: error: NVIDIA driver 580.65.06, but torch sees no CUDA device; " + gpu_preflight.HINT]


@pytest.mark.parametrize(
    ("args", "env"),
    [((), {"ASGL_PROFILE": "embedded"}), (("bash", "-c", "true"), {"ASGL_PROFILE": "paper"}),
     ((), {"ASGL_PROFILE": "paper", "ASGL_GPU_PREFLIGHT": "0"})],
    ids=["cpu-profile", "other-command", "switched-off"],
)
def test_no_preflight_where_no_gpu_training_starts(gpu_app, args, env):
    result, calls = gpu_app(*args, **env)
    assert result.returncode == 0, result.stderr
    assert "gpu-preflight" not in result.stderr
    if not args:
        assert calls[-1] == "dvc repro"


def test_preflight_setting_is_validated(gpu_app):
    result, _ = gpu_app(ASGL_GPU_PREFLIGHT="yes")
    assert result.returncode == 2 and "ASGL_GPU_PREFLIGHT must be auto, 1 or 0, got 'yes'" in result.stderr


@pytest.mark.parametrize(
    ("text", "version"),
    [("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023", "535.104.05"),
     ("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release Build  (dvs-builder)", "580.65.06"),
     ("something else", None)],
    ids=["proprietary", "open", "unreadable"],
)
def test_driver_version_from_the_kernel_module(tmp_path, monkeypatch, text, version):
    (tmp_path / "version").write_text(text, encoding="utf-8")
    monkeypatch.setenv("ASGL_NVIDIA_PROC_VERSION", str(tmp_path / "version"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi
    assert gpu_preflight.driver_version() == version


def test_which_profiles_train_on_cuda():
    assert gpu_preflight.profile_needs_gpu(ROOT / "profiles" / "paper.yaml")
    assert not gpu_preflight.profile_needs_gpu(ROOT / "profiles" / "embedded.yaml")
