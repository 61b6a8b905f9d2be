"""The test harness itself: the stale-install check, the one profile helper, the JWT helper."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys

import pytest

from tests import conftest
from tests.conftest import REPOSITORY, reinstall_command, stale_files
from tests.helpers import USERNAME, add_profile, claims
from tests.terminal import Terminal


def test_stale_files_names_each_changed_added_and_removed_file(tmp_path):
    tree, installed = tmp_path / "tree", tmp_path / "installed"
    shutil.copytree(REPOSITORY / "up42keys", tree, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(tree, installed)
    assert stale_files(tree, installed) == []
    (tree / "cli" / "__init__.py").write_text((tree / "cli" / "__init__.py").read_text() + "\n#\n")
    (tree / "newmodule.py").write_text("")
    (installed / "paths.py").unlink()
    (installed / "ops" / "tokens.py").unlink()
    assert stale_files(tree, installed) == [
        "cli/__init__.py",
        "newmodule.py",
        "ops/tokens.py",
        "paths.py",
    ]


def test_a_stale_install_refuses_subprocess_tests_with_the_reinstall_command(tmp_path, monkeypatch):
    stale = tmp_path / "up42keys"
    shutil.copytree(REPOSITORY / "up42keys", stale, ignore=shutil.ignore_patterns("__pycache__"))
    (stale / "ops" / "tokens.py").write_text("# an older version\n")
    monkeypatch.setattr(conftest, "installed_package_dir", lambda: stale)
    conftest.installed_mismatch.cache_clear()
    try:
        with pytest.raises(pytest.fail.Exception) as refused:
            conftest.installed_command()
    finally:
        conftest.installed_mismatch.cache_clear()
    message = str(refused.value)
    assert "ops/tokens.py" in message
    assert message.endswith(f"in {REPOSITORY}: {reinstall_command()}")
    assert reinstall_command().endswith(" -m pip install --no-deps --force-reinstall .")
    if sys.executable == str(REPOSITORY / ".venv" / "bin" / "python"):
        assert (
            reinstall_command() == ".venv/bin/python -m pip install --no-deps --force-reinstall ."
        )


def test_a_module_left_in_the_install_asks_to_remove_build_first(tmp_path, monkeypatch):
    stale = tmp_path / "up42keys"
    shutil.copytree(REPOSITORY / "up42keys", stale, ignore=shutil.ignore_patterns("__pycache__"))
    (stale / "oldmodule.py").write_text("")
    monkeypatch.setattr(conftest, "installed_package_dir", lambda: stale)
    conftest.installed_mismatch.cache_clear()
    try:
        message = conftest.installed_mismatch()
    finally:
        conftest.installed_mismatch.cache_clear()
    assert message is not None
    assert message.endswith(f": rm -rf build && {reinstall_command()}")


def test_this_session_runs_against_this_tree():
    assert conftest.installed_mismatch() is None


def test_one_helper_adds_either_kind_in_process_and_by_process(run, up42keys, server, project_id):
    server.add_account(USERNAME, "pw-" + "x" * 12)
    assert add_profile(run, server, "p", project_id).exit_code == 0
    assert add_profile(run, server, "a", USERNAME, secret="pw-" + "x" * 12).exit_code == 0
    listed = {row["name"]: row["kind"] for row in json.loads(run("list", "--json").stdout)}
    assert listed == {"p": "project", "a": "account"}
    by_process = add_profile(up42keys, server, "q", project_id, "--no-verify", check=True)
    assert by_process.returncode == 0
    token = up42keys("token", "q").stdout
    assert claims(token)["sub"] == project_id


def test_a_run_started_with_sigint_ignored_still_tests_a_terminals_start():
    """A script's background job (``cmd &`` without job control) starts with SIGINT ignored,
    and every process started from it inherits that: the SIGINT tests would test another
    start than a terminal's, and fail."""
    forkserver_tests = [
        "tests/test_forkserver.py::test_a_process_finds_the_same_at_start_and_at_exit",
        "tests/test_forkserver.py::"
        "test_a_signalled_child_reports_the_signal_as_the_installed_command[2]",
    ]
    ignoring = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *forkserver_tests],
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ignoring.returncode == 0, ignoring.stdout[-3000:]
    assert "2 passed" in ignoring.stdout


def test_a_terminal_shows_all_a_command_wrote_to_it_before_it_ended():
    """Terminal.finish reads the pty until the command's side is closed. It had waited for
    the exit without reading, then read once: a command writing more than the pty holds
    never ended, and under load a prompt still in the kernel's queue at the exit was lost
    (tests/test_shell.py saw only the typed answer's echo)."""
    name = "x" * 120_000  # more than the pty's buffers hold unread (64 KiB and 4 KiB)
    terminal = Terminal([name])
    code, stdout = terminal.finish(timeout=30)
    assert (code, stdout) == (2, "")
    assert terminal.shown.count("x") == len(name)
