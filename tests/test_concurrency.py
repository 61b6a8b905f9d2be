"""Real processes at once: one mint per profile, no lost profile, no torn file, bounded waits.

The processes are the installed ``up42keys`` (one in ``INSTALLED_EVERY``) and children of
the fork server (tests/forkserver.py: the same code, its imports paid once). A
``sitecustomize`` module on
their PYTHONPATH only observes them: it holds each at a start barrier, and
notes when one is about to wait for a profile's lock, so that the test can
release that lock once every process is past its first look at the cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import filelock
import pytest

from tests.conftest import API_KEY, installed_command, run_in_process
from tests.forkserver import INSTALLED_EVERY, Child, ForkServer
from tests.helpers import add_profile, claims
from up42keys import cache, files, paths, settings, state

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

PROCESSES = 24

HOOK = """
import os
import time

_barrier = os.environ.get("UP42KEYS_TEST_BARRIER")
while _barrier and not os.path.exists(_barrier):
    time.sleep(0.005)

_waiting = os.environ.get("UP42KEYS_TEST_WAITING_DIR")
if _waiting:
    import filelock

    _acquire = filelock.BaseFileLock.acquire

    def _noting_acquire(self, *args, **kwargs):
        if os.path.basename(self.lock_file) == "prod.lock":
            open(os.path.join(_waiting, str(os.getpid())), "w").close()
        return _acquire(self, *args, **kwargs)

    filelock.BaseFileLock.acquire = _noting_acquire
"""


@pytest.fixture
def hooks(tmp_path: Path) -> dict[str, str]:
    """The environment that puts the observing sitecustomize in front of the processes."""
    directory = tmp_path / "hooks"
    directory.mkdir()
    (directory / "sitecustomize.py").write_text(HOOK)
    waiting = tmp_path / "waiting"
    waiting.mkdir()
    return {
        "PYTHONPATH": str(directory),
        "UP42KEYS_TEST_WAITING_DIR": str(waiting),
        "UP42KEYS_TEST_BARRIER": str(tmp_path / "go"),
    }


def spawn(
    args: list[str], env: dict[str, str], stdin: str = "", fork_server: ForkServer | None = None
) -> subprocess.Popen[str] | Child:
    """``up42keys ARGS`` with ``env`` over this environment: installed, or forked when given."""
    if fork_server is not None:
        environment = {**os.environ, **env}
        return fork_server.start(args, environment, stdin=stdin, stdout="pipe", stderr="pipe")
    process = subprocess.Popen(
        [installed_command(), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    assert process.stdin is not None
    process.stdin.write(stdin)
    process.stdin.close()
    return process


def finish(
    processes: list[subprocess.Popen[str] | Child], timeout: float = 120
) -> list[tuple[int, str, str]]:
    results = []
    for process in processes:
        if isinstance(process, subprocess.Popen):
            process.stdin = None  # closed by spawn, once the input was written
        stdout, stderr = process.communicate(timeout=timeout)
        assert process.returncode is not None
        results.append((process.returncode, stdout, stderr))
    return results


def way(fork_server: ForkServer, number: int) -> ForkServer | None:
    """How the ``number``-th process of a loop runs: installed one in INSTALLED_EVERY."""
    return None if number % INSTALLED_EVERY == 0 else fork_server


def wait_for(condition: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


@pytest.mark.parametrize("cache_state", ["empty", "expired"])
def test_stampede_of_processes_mints_once(
    forked, server, project_id, hooks, tmp_path, cache_state, fork_server
):
    add_profile(run_in_process, server, "prod", project_id, "--no-verify", check=True)
    old_token = None
    if cache_state == "expired":
        old_token = forked("token").stdout.strip()
        record = cache.read("prod")
        assert record is not None
        record.expires_at = int(time.time()) - 1
        cache.write("prod", record)
    mints_before = server.mints

    waiting = hooks["UP42KEYS_TEST_WAITING_DIR"]
    files.ensure_private_dir(os.path.dirname(paths.lock_file("prod")))
    with filelock.FileLock(paths.lock_file("prod")):
        processes = [spawn(["token"], hooks, "", way(fork_server, n)) for n in range(PROCESSES)]
        Path(hooks["UP42KEYS_TEST_BARRIER"]).touch()
        # Every process has missed the cache and waits for the lock that this test holds.
        wait_for(
            lambda: (
                len(os.listdir(waiting)) == PROCESSES
                or any(process.poll() is not None for process in processes)
            )
        )
        assert len(os.listdir(waiting)) == PROCESSES
        assert server.mints == mints_before
    results = finish(processes)

    assert [code for code, _, _ in results] == [0] * PROCESSES, results[0][2]
    assert {stderr for _, _, stderr in results} == {""}
    printed = {stdout for _, stdout, _ in results}
    assert len(printed) == 1
    token = printed.pop().strip()
    assert token != old_token
    assert server.mints == mints_before + 1
    assert len(server.requests) == mints_before + 1
    assert Path(paths.current_token_file()).read_text() == token + "\n"


def test_concurrent_add_use_remove_rename_lose_nothing(
    forked, server, project_id, hooks, fork_server
):
    """24 processes change the profile file at once while readers parse it without a lock."""
    for name in ("r0", "r1", "r2", "r3", "m0", "m1", "m2", "m3", "u0", "u1"):
        add_profile(run_in_process, server, name, project_id, "--no-verify", check=True)
    for name in ("u0", "u1"):
        assert forked("token", name).returncode == 0  # so that `use` needs no keyring

    problems: list[str] = []
    reads = [0]
    stop = threading.Event()

    def read_without_lock() -> None:
        while not stop.is_set():
            try:
                with open(paths.profiles_file(), "rb") as stream:
                    tomllib.load(stream)
                for name in ("u0", "u1"):
                    text = files.read_text(paths.token_record(name))
                    if text is not None and cache.parse(text) is None:
                        problems.append(f"torn record {name}: {text!r}")
                active = files.read_text(paths.active_file())
                if active is not None and not active.endswith("\n"):
                    problems.append(f"torn active file: {active!r}")
            except Exception as error:  # noqa: BLE001 - any failure to read is the finding
                problems.append(repr(error))
            reads[0] += 1

    commands: list[tuple[list[str], str]] = (
        [(["add", f"a{i}", "--project-id", project_id, "--api-url", server.url,
           "--api-key-stdin", "--no-verify"], f"key-a{i}\n") for i in range(8)]
        + [(["remove", f"r{i}"], "") for i in range(4)]
        + [(["rename", f"m{i}", f"n{i}"], "") for i in range(4)]
        + [(["use", f"u{i % 2}"], "") for i in range(4)]
        + [(["list"], "") for _ in range(4)]
    )  # fmt: skip
    assert len(commands) == PROCESSES
    reader = threading.Thread(target=read_without_lock)
    reader.start()
    try:
        processes = [
            spawn(args, hooks, stdin, way(fork_server, n))
            for n, (args, stdin) in enumerate(commands)
        ]
        Path(hooks["UP42KEYS_TEST_BARRIER"]).touch()
        results = finish(processes)
    finally:
        stop.set()
        reader.join()

    for (args, _), (code, _, stderr) in zip(commands, results, strict=True):
        assert code == 0, (args, stderr)
    assert problems == []
    assert reads[0] > 0
    with open(paths.profiles_file(), "rb") as stream:
        names = set(tomllib.load(stream)["profiles"])
    expected = {f"a{i}" for i in range(8)} | {f"n{i}" for i in range(4)} | {"u0", "u1"}
    assert names == expected
    assert Path(paths.active_file()).read_text().strip() in expected

    from keyrings.alt.file import PlaintextKeyring

    keyring_file = PlaintextKeyring()
    for name in expected:
        wanted = f"key-{name}" if name.startswith("a") else API_KEY
        assert keyring_file.get_password("up42keys", name) == wanted, name
    for name in ("r0", "m0"):
        assert keyring_file.get_password("up42keys", name) is None


def test_lock_timeout_is_tied_to_the_request_timeout(monkeypatch):
    monkeypatch.delenv("UP42KEYS_TIMEOUT", raising=False)
    assert settings.timeout() == 10
    # Three requests and two pauses (each at most one timeout) fit in the wait, with a margin.
    assert settings.lock_timeout() == 60
    monkeypatch.setenv("UP42KEYS_TIMEOUT", "0.1")
    assert settings.lock_timeout() == pytest.approx(0.6)
    monkeypatch.setenv("UP42KEYS_TIMEOUT", "100")
    assert settings.lock_timeout() == 3 * 100 + 2 * settings.MAX_RETRY_PAUSE + 100


def test_token_waits_for_a_held_profile_lock_then_gives_a_clear_error(
    run, server, project_id, monkeypatch
):
    assert add_profile(run, server, "prod", project_id, "--no-verify").exit_code == 0
    monkeypatch.setenv("UP42KEYS_TIMEOUT", "0.05")
    files.ensure_private_dir(os.path.dirname(paths.lock_file("prod")))
    with filelock.FileLock(paths.lock_file("prod")):
        outcome = run("token")
    assert outcome.exit_code == 1
    assert outcome.stderr.startswith("up42keys: error: another up42keys process has held the lock")
    assert "profile 'prod'" in outcome.stderr
    assert "UP42KEYS_TIMEOUT" in outcome.stderr
    assert len(outcome.stderr.splitlines()) == 1
    assert server.requests == []
    assert not Path(paths.token_record("prod")).exists()
    assert run("token").exit_code == 0


def test_writers_wait_for_the_profile_file_lock_then_change_nothing(
    forked, server, project_id, monkeypatch
):
    add_profile(run_in_process, server, "prod", project_id, "--no-verify", check=True)
    before = Path(paths.profiles_file()).read_bytes()
    lock_path = os.path.join(paths.config_dir(), ".profiles.lock")
    with filelock.FileLock(lock_path):
        for args in (["add", "dev", "--project-id", project_id, "--no-verify", "--api-key-stdin"],
                     ["remove", "prod"], ["rename", "prod", "other"]):  # fmt: skip
            result = forked(*args, input="key\n", env={"UP42KEYS_TIMEOUT": "0.05"})
            assert result.returncode == 1, (args, result.stderr)
            assert "lock on the profile file" in result.stderr
            assert len(result.stderr.splitlines()) == 1
    assert Path(paths.profiles_file()).read_bytes() == before


def test_a_switch_during_a_mint_never_leaves_another_profiles_token_current(
    run, forked, server, project_id, monkeypatch
):
    other = str(uuid.uuid4())
    server.add_project(other, API_KEY)
    assert add_profile(run, server, "u0", project_id).exit_code == 0  # active
    # Its token is cached: `use` needs no key.
    assert add_profile(run, server, "u1", other).exit_code == 0
    monkeypatch.setenv("UP42KEYS_TIMEOUT", "0.05")
    read_active = state.read_active
    switches: list[subprocess.CompletedProcess[str]] = []

    def read_while_another_process_switches() -> str | None:
        active = read_active()
        if not switches:
            switches.append(forked("use", "u1"))
        return active

    monkeypatch.setattr(state, "read_active", read_while_another_process_switches)
    assert run("token", "u0", "--refresh").exit_code == 0
    monkeypatch.setattr(state, "read_active", read_active)

    # The switch had to wait for the mint to finish with the current-token file.
    assert switches[0].returncode == 1
    assert "lock on the profile file" in switches[0].stderr
    active = Path(paths.active_file()).read_text().strip()
    current = Path(paths.current_token_file()).read_text().strip()
    assert claims(current)["sub"] == {"u0": project_id, "u1": other}[active]
