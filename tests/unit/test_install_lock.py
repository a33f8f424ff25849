"""``scripts/install_lock.py``: pip's sources handed to uv, uv taken from the lock, pip where uv fails.

No network: the installs are recorded by a fake ``run``; the lock parsing runs on the real lock.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import install_lock  # noqa: E402

sys.path.pop(0)

LISTING = """\
:env:.find-links='/srv/wheels'
global.extra-index-url='https://mirror.example/simple https://second.example/simple'
global.index-url='https://global.example/simple'
install.index-url='https://install.example/simple'
download.index-url='https://download.example/simple'
global.cert='/etc/ca.pem'
"""


def test_settings_take_the_env_then_install_then_global_section():
    settings = install_lock.pip_settings(LISTING + ":env:.index-url='https://env.example/simple'\n")
    assert settings["index-url"] == "https://env.example/simple"
    assert install_lock.pip_settings(LISTING)["index-url"] == "https://install.example/simple"
    assert install_lock.pip_settings("global.index-url='https://g'\n")["index-url"] == "https://g"


def test_settings_ignore_other_commands_and_lines_that_are_not_settings():
    settings = install_lock.pip_settings("download.no-index='1'\nnot a setting\nglobal.timeout=60\n")
    assert settings == {"timeout": "60"}


def test_uv_gets_every_source_pip_has_and_pips_index_strategy():
    args = install_lock.uv_source_args(install_lock.pip_settings(LISTING))
    assert args == ["--index-strategy", "unsafe-best-match", "--index-url", "https://install.example/simple",
                    "--extra-index-url", "https://mirror.example/simple",
                    "--extra-index-url", "https://second.example/simple", "--find-links", "/srv/wheels"]


@pytest.mark.parametrize(("value", "flag"), [("1", True), ("yes", True), ("0", False), ("off", False)])
def test_no_index_is_passed_only_when_pip_has_it_on(value, flag):
    args = install_lock.uv_source_args({"no-index": value})
    assert ("--no-index" in args) is flag


def test_trusted_hosts_become_insecure_hosts_one_flag_each():
    args = install_lock.uv_source_args({"trusted-host": "a.example b.example"})
    assert args[2:] == ["--allow-insecure-host", "a.example", "--allow-insecure-host", "b.example"]


def test_local_index_pages_are_handed_over_as_flat_lists(tmp_path):
    """uv takes a version's files from the first index that has it; the pages as flat lists make it choose
    among every local index's files, as pip does (soundfile's libsndfile wheel was on the second index)."""
    first, second = tmp_path / "first", tmp_path / "second"
    for index, project in ((first, "soundfile"), (second, "soundfile"), (second, "typing-extensions")):
        (index / project).mkdir(parents=True)
        (index / project / "index.html").write_text("<a href='../../files/x.whl'>x.whl</a>", encoding="utf-8")
    (first / "numpy").mkdir()  # a project folder without a page is not a flat list
    settings = {"index-url": "https://pypi.org/simple", "extra-index-url": f"{first.as_uri()} {second.as_uri()}"}
    args = install_lock.uv_source_args(settings, ["soundfile", "typing_extensions", "numpy", "absent"])
    pages = [args[i + 1] for i, arg in enumerate(args) if arg == "--find-links"]
    assert pages == [(first / "soundfile" / "index.html").as_uri(), (second / "soundfile" / "index.html").as_uri(),
                     (second / "typing-extensions" / "index.html").as_uri()]
    assert args.count("--extra-index-url") == 2, "the local indexes stay indexes too"


def test_pinned_names_are_the_locks_packages_in_order():
    names = install_lock.pinned_names((ROOT / "requirements.lock").read_text(encoding="utf-8"))
    assert len(names) == len(set(names)) > 100 and {"torch", "uv", "soundfile"} <= set(names)


def test_uv_entry_of_the_real_lock_is_its_pin_with_every_hash():
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    lines = install_lock.lock_entry(text, "uv").splitlines()
    assert lines[0].startswith("uv==") and lines[0].endswith("\\") and not lines[-1].endswith("\\")
    assert len(lines) > 1 and all(line.strip().startswith(("--hash=sha256:", "#")) for line in lines[1:])


def test_lock_entry_matches_normalised_names_and_names_a_missing_package():
    uv = "uv==1.0 \\\n    --hash=sha256:" + "b" * 64 + "\n"
    text = "typing_extensions==4.0 \\\n    --hash=sha256:" + "a" * 64 + "\n" + uv
    assert install_lock.lock_entry(text, "typing-extensions").count("\n") == 2
    assert install_lock.lock_entry(text, "uv") == uv
    with pytest.raises(ValueError, match=r"pins no 'ruff'.*make lock"):
        install_lock.lock_entry(text, "ruff")


class FakeRun:
    """Records every command; ``uv pip install`` ends with ``uv_status``."""

    def __init__(self, uv_status: int = 0, listing: str = LISTING) -> None:
        self.calls: list[tuple[list[str], dict]] = []
        self.uv_status, self.listing = uv_status, listing
        self.uv_lock_text = ""

    def __call__(self, cmd, check=False, capture_output=False, text=False, env=None):
        self.calls.append((list(cmd), env))
        if cmd[2:4] == ["pip", "install"] and cmd[-2] == "-r" and cmd[-1].endswith("uv.txt"):
            self.uv_lock_text = Path(cmd[-1]).read_text(encoding="utf-8")
        if cmd[2:4] == ["pip", "config"]:
            return SimpleNamespace(returncode=0, stdout=self.listing)
        if cmd[2:5] == ["uv", "pip", "install"]:
            return SimpleNamespace(returncode=self.uv_status)
        return SimpleNamespace(returncode=0)


def _lock(tmp_path: Path) -> Path:
    lock = tmp_path / "requirements.lock"
    lock.write_text("numpy==2.0 \\\n    --hash=sha256:" + "c" * 64 + "\nuv==1.0 \\\n    --hash=sha256:" + "d" * 64
                    + "\n", encoding="utf-8")
    return lock


def test_install_takes_uv_from_the_lock_then_installs_the_lock_with_uv_from_pips_sources(tmp_path):
    run = FakeRun()
    install_lock.install(_lock(tmp_path), python="py", run=run)
    commands = [cmd for cmd, _ in run.calls]
    assert commands[0][:6] == ["py", "-m", "pip", "install", "--quiet", "--no-deps"]
    assert "--require-hashes" in commands[0] and run.uv_lock_text == install_lock.lock_entry(
        _lock(tmp_path).read_text(encoding="utf-8"), "uv")
    assert commands[1] == ["py", "-m", "pip", "config", "list"]
    uv, env = run.calls[2]
    assert uv[:5] == ["py", "-m", "uv", "pip", "install"] and uv[-2:] == ["-r", str(tmp_path / "requirements.lock")]
    assert {"--no-deps", "--require-hashes", "--extra-index-url", "--find-links"} <= set(uv)
    assert env["SSL_CERT_FILE"] == "/etc/ca.pem"
    assert len(commands) == 3, "no pip install of the lock when uv succeeded"


def test_install_falls_back_to_pip_with_one_line_when_uv_fails(tmp_path, capsys):
    run = FakeRun(uv_status=2)
    install_lock.install(_lock(tmp_path), python="py", run=run)
    last = run.calls[-1][0]
    assert last[:4] == ["py", "-m", "pip", "install"] and last[-2:] == ["-r", str(tmp_path / "requirements.lock")]
    assert {"--no-deps", "--require-hashes"} <= set(last)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "uv could not install" in err[0] and "exit status 2" in err[0]


def test_main_names_a_missing_lock_and_a_lock_without_uv(tmp_path, capsys, monkeypatch):
    assert install_lock.main([str(tmp_path / "absent.lock")]) == 2
    assert "absent.lock: no such lock file; run `make lock`" in capsys.readouterr().err
    lock = tmp_path / "requirements.lock"
    lock.write_text("numpy==2.0 \\\n    --hash=sha256:" + "c" * 64 + "\n", encoding="utf-8")
    assert install_lock.main([str(lock)]) == 2
    assert f"{lock}: the lock pins no 'uv'" in capsys.readouterr().err


def test_main_reports_a_failed_command_in_one_line(tmp_path, capsys, monkeypatch):
    def failing(lock, python=sys.executable, run=None):
        raise subprocess.CalledProcessError(1, ["py", "-m", "pip", "install"])

    monkeypatch.setattr(install_lock, "install", failing)
    assert install_lock.main([str(_lock(tmp_path))]) == 1
    assert capsys.readouterr().err.strip() == "install_lock: `py -m pip install` failed with exit status 1"
