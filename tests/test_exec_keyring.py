"""exec never calls the keyring in the background: its renewals use the secret read at start.

The installed command runs with a keyring backend that notes the thread of every call
(tests/recording_keyring.py); tokens live 3 s, so the command outlives several.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import API_KEY, PASSWORD, installed_command, run_in_process, run_installed
from tests.helpers import USERNAME, add_profile

# Prints "renewed" each time the token file holds a new token, and waits for a line on
# stdin before it waits for the next one; ends after ``RENEWALS``.
RENEWALS_WATCHER = textwrap.dedent(
    """
    import os, sys, time
    path = os.environ["UP42_TOKEN_FILE"]
    seen = open(path).read()
    for round in range(RENEWALS):
        deadline = time.time() + 10
        while open(path).read() == seen and time.time() < deadline:
            time.sleep(0.05)
        now = open(path).read()
        print("renewed" if now != seen else "stale", flush=True)
        seen = now
        sys.stdin.readline()
    """
)


@pytest.fixture
def recording(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The environment that selects the recording backend, and its log."""
    log = tmp_path / "keyring-calls"
    log.touch()
    env = {
        "PYTHONPATH": str(Path(__file__).parent),
        "PYTHON_KEYRING_BACKEND": "recording_keyring.RecordingKeyring",
        "UP42KEYS_TEST_KEYRING_LOG": str(log),
        "UP42KEYS_MIN_TTL": "1",
    }
    return env, log


def calls(log: Path) -> list[tuple[str, str, str]]:
    return [tuple(line.split(" ", 2)) for line in log.read_text().splitlines()]  # type: ignore[misc]


@contextlib.contextmanager
def exec_watcher(name: str, env: dict[str, str], renewals: int) -> Iterator[subprocess.Popen[str]]:
    """``exec NAME`` running the watcher, killed if the test ends first."""
    script = RENEWALS_WATCHER.replace("RENEWALS", str(renewals))
    process = subprocess.Popen(
        [installed_command(), "exec", name, "--", sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    try:
        yield process
    finally:
        process.kill()


def stderr_at_exit(process: subprocess.Popen[str]) -> str:
    """What exec printed on stderr, once it has ended with exit 0."""
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    return stderr


def next_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.readline()


def go_on(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.write("\n")
    process.stdin.flush()


def test_project_renewals_use_the_key_read_before_the_command_started(server, recording):
    env, log = recording
    project = str(uuid.uuid4())
    server.add_project(project, API_KEY)
    add_profile(run_in_process, server, "dev", project, "--no-verify", check=True)
    server.token_ttl = 3
    log.write_text("")
    with exec_watcher("dev", env, renewals=2) as process:
        for _ in range(2):
            assert next_line(process) == "renewed\n"
            go_on(process)
        assert stderr_at_exit(process) == ""
    assert server.mints >= 3  # the first token, and one per renewal, each with the key
    made = calls(log)
    assert ("MainThread", "get", "dev") in made
    assert {thread for thread, _, _ in made} == {"MainThread"}, made


def test_account_renews_by_refresh_token_then_by_the_password_held_in_memory(server, recording):
    env, log = recording
    server.add_account(USERNAME, PASSWORD)
    server.token_ttl = 3
    add_profile(run_in_process, server, "acct", USERNAME, check=True)
    log.write_text("")
    grants = dict(server.grants)
    with exec_watcher("acct", env, renewals=2) as process:
        assert next_line(process) == "renewed\n"
        assert server.grants.get("refresh_token", 0) > grants.get("refresh_token", 0)
        server.refresh_tokens.clear()  # UP42 refuses the refresh token from now on
        go_on(process)
        assert next_line(process) == "renewed\n"
        go_on(process)
        assert stderr_at_exit(process) == ""
    assert server.grants["password"] > grants["password"]
    made = calls(log)
    assert ("MainThread", "get", "acct") in made
    assert {thread for thread, _, _ in made} == {"MainThread"}, made


def test_a_keyring_that_fails_at_start_costs_the_renewals_and_says_so(server, recording):
    env, log = recording
    project = str(uuid.uuid4())
    server.add_project(project, API_KEY)
    add_profile(run_in_process, server, "dev", project, check=True)  # a token is cached
    # Six seconds: exec must start on that cached token (its keyring is locked) before the
    # token nears its end, and a loaded machine took more than 2 s to start it.
    server.token_ttl = 6
    assert run_installed("token", "--refresh", "dev").returncode == 0
    log.write_text("")
    with exec_watcher("dev", {**env, "UP42KEYS_TEST_KEYRING_LOCKED": "1"}, renewals=1) as process:
        assert next_line(process) == "stale\n"
        go_on(process)
        stderr = stderr_at_exit(process)
    assert "up42keys: warning: cannot renew the token" in stderr
    assert "could not be read when exec started" in stderr
    assert "the keyring is locked" in stderr
    assert {thread for thread, _, _ in calls(log)} == {"MainThread"}
