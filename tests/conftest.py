"""Fixtures shared by every test: an isolated home, a fake UP42, and ways to run the CLI."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keyring
import pytest
from click.testing import CliRunner
from keyring.backend import KeyringBackend

from tests.fakeup42 import FakeUp42
from tests.forkserver import ForkServer
from up42keys import cli

API_KEY = "test-api-key-" + "s3cr3t" * 4
PASSWORD = "test-password-" + "pa55" * 4

# Variables the user's own environment could leak into a test.
LEAKY_VARIABLES = (
    "UP42KEYS_PROFILE",
    "UP42KEYS_CONFIG_DIR",
    "UP42KEYS_CACHE_DIR",
    "UP42KEYS_MIN_TTL",
    "UP42KEYS_TIMEOUT",
    "UP42_PROJECT_ID",
    "UP42_PROJECT_API_KEY",
    "UP42_API_URL",
    "UP42_TOKEN_FILE",
    "XDG_RUNTIME_DIR",
)


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
# Port 9 (discard) on loopback: nothing listens there, so a request through it fails at once.
DEAD_PROXY = "http://127.0.0.1:9"


def pytest_configure(config: pytest.Config) -> None:
    """Start every process as a terminal's shell does: with SIGINT at its default.

    A script's background job (``cmd &`` without job control) starts with SIGINT ignored,
    and the processes the tests start would inherit that: the installed command then keeps
    it ignored, as it should, and the SIGINT tests would test another start. A handler,
    unlike SIG_IGN, is not inherited across exec: pytest-xdist's workers and every process
    they start get the default.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


class MemoryKeyring(KeyringBackend):
    """A keyring held in memory, for in-process tests."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every directory the tool or keyring could touch at tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    for variable in LEAKY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    # Subprocesses store keys in keyrings.alt's file backend, inside tmp_path.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("UP42KEYS_RETRY_DELAY", "0.01")
    # Anything that is not loopback goes to a dead local port: a default URL is never reached.
    for variable in PROXY_VARIABLES:
        monkeypatch.setenv(variable, DEAD_PROXY)
        monkeypatch.setenv(variable.lower(), DEAD_PROXY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,::1")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost,::1")
    return home


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process code resolves loopback names only: no test reaches another machine, or its DNS."""
    resolve = socket.getaddrinfo

    def guarded(host: object, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in (None, "127.0.0.1", "localhost", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, f"tests resolve loopback names only: {name}")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def server() -> Iterator[FakeUp42]:
    fake = FakeUp42().start()
    yield fake
    fake.stop()


@pytest.fixture
def other_server() -> Iterator[FakeUp42]:
    """A second fake UP42: a host a profile can be moved to, that no secret was stored for."""
    fake = FakeUp42().start()
    yield fake
    fake.stop()


@pytest.fixture
def project_id(server: FakeUp42) -> str:
    """A project the fake server knows, with API_KEY as its key."""
    identifier = str(uuid.uuid4())
    server.add_project(identifier, API_KEY)
    return identifier


@pytest.fixture
def profile(run, server: FakeUp42, project_id: str) -> str:
    """An active project profile on the fake UP42 with no cached token: its first use mints."""
    from tests.helpers import add_profile

    add_profile(run, server, "prod", project_id, "--no-verify", check=True)
    assert server.mints == 0
    return "prod"


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


def click_runner() -> CliRunner:
    """A CliRunner that keeps stderr apart from stdout.

    Click 8.2 always does; 8.1, the floor that the smoke set on Python 3.10 runs, only with
    ``mix_stderr=False``, a parameter that 8.2 removed.
    """
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


@pytest.fixture
def runner() -> CliRunner:
    return click_runner()


@pytest.fixture
def run(runner: CliRunner) -> Iterator[Callable[..., Outcome]]:
    """Run the CLI in-process through its real error boundary (``cli.main``).

    Exceptions that the boundary does not turn into a message propagate and
    fail the test, as ``catch_exceptions=False`` would.
    """

    def invoke(*args: str, input: str | None = None) -> Outcome:
        with runner.isolation(input=input) as streams:
            code = cli.main(list(args))
            # Read before the block ends: Click 8.1 closes the streams there.
            stdout, stderr = streams[0].getvalue().decode(), streams[1].getvalue().decode()
        return Outcome(code, stdout, stderr)

    return invoke


REPOSITORY = Path(__file__).resolve().parent.parent


def reinstall_command() -> str:
    """The command, run in the repository, that reinstalls the working tree with pip."""
    python = Path(sys.executable)
    with contextlib.suppress(ValueError):
        python = python.relative_to(REPOSITORY)
    return f"{python} -m pip install --no-deps --force-reinstall ."


def stale_files(tree: Path, installed: Path) -> list[str]:
    """The package files in which the installed copy differs from the working tree."""

    def sources(root: Path) -> dict[str, bytes]:
        return {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in root.rglob("*")
            if (path.suffix == ".py" or path.name == "py.typed") and "__pycache__" not in path.parts
        }

    mine, theirs = sources(tree), sources(installed)
    return sorted(
        name for name in mine.keys() | theirs.keys() if mine.get(name) != theirs.get(name)
    )


def installed_package_dir() -> Path:
    """Where the interpreter's ``import up42keys`` finds the package outside the working tree."""
    found = subprocess.run(
        [sys.executable, "-c", "import up42keys; print(up42keys.__file__)"],
        capture_output=True,
        text=True,
        cwd=Path(sys.executable).parent,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
        check=False,
    )
    assert found.returncode == 0, f"install the package first: {reinstall_command()}"
    return Path(found.stdout.strip()).parent


@functools.cache
def installed_mismatch() -> str | None:
    """Why the subprocess tests must not run (a stale installed copy), or None. Once a session."""
    tree = REPOSITORY / "up42keys"
    stale = stale_files(tree, installed_package_dir())
    if not stale:
        return None
    command = reinstall_command()
    if any(not (tree / name).exists() for name in stale):
        # setuptools ships what an earlier build left in build/, a removed module included.
        command = f"rm -rf build && {command}"
    return (
        f"the installed up42keys differs from the working tree ({', '.join(stale)}); "
        f"reinstall it, in {REPOSITORY}: {command}"
    )


def installed_command() -> str:
    """The ``up42keys`` that pip installed next to this interpreter, once it is this tree's."""
    path = Path(sys.executable).parent / "up42keys"
    assert path.exists(), f"install the package first, in {REPOSITORY}: {reinstall_command()}"
    mismatch = installed_mismatch()
    if mismatch is not None:
        pytest.fail(mismatch, pytrace=False)
    return str(path)


def run_installed(
    *args: str,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed command as a subprocess, as a user runs it."""
    environment = dict(os.environ)
    environment.update(env or {})
    return subprocess.run(
        [installed_command(), *args],
        input=input,
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


@functools.cache
def shared_fork_server() -> ForkServer:
    """This pytest process's fork server (tests/forkserver.py), started at its first use."""
    return ForkServer(installed_command())


def pytest_sessionfinish(session: pytest.Session) -> None:
    if shared_fork_server.cache_info().currsize:
        shared_fork_server().close()


@pytest.fixture(scope="session")
def fork_server() -> ForkServer:
    """The fork server itself, for the loops that start and signal many runs at once."""
    return shared_fork_server()


def run_forked(
    *args: str,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """What ``run_installed`` does, in a process the fork server starts: for tests whose
    subject is what a command does, seen from outside (its exit code, output, files, locks).

    The child is a process of its own, as the installed command's is, which starts where
    that one would be once its imports are done: a run costs a fraction of the CPU. What
    only a fresh process shows (the launcher, imports, the fast path's imports, start-up
    signals, limits, peak memory, a shell or another tool finding ``up42keys`` on PATH, the
    keyring a fresh process picks) stays with ``run_installed``, and tests/test_smoke.py
    runs every command installed. The server refuses an environment that a fresh process
    would start differently with (``PYTHON*``, the locale): such a run goes installed.
    """
    environment = {**os.environ, **(env or {})}
    return shared_fork_server().run(
        list(args), environment, stdin=input or "", cwd=cwd, timeout=timeout
    )


@pytest.fixture
def forked() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the command in a process the fork server starts (``run_forked``)."""
    return run_forked


@pytest.fixture
def up42keys() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed command as a subprocess, as a user runs it (``run_installed``)."""
    return run_installed


def run_in_process(
    *args: str,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """What ``run_installed`` does, without a process: for tests whose subject is behaviour.

    The same arguments, environment and working directory reach ``cli.main``, and the keys
    go to the keyring file the installed command reads (keyrings.alt's, in the test's home),
    so a test may mix both. A process start costs 100 to 300 ms of CPU (Click, keyring,
    httpx); this costs a few. What only a process shows (signals, exit by a signal, a child,
    files and locks held across processes) goes to ``run_forked``, what only a fresh process
    shows to ``run_installed``. ``timeout`` is accepted for the same signature; nothing here
    waits on a child.
    """
    from keyrings.alt.file import PlaintextKeyring

    # exec's child writes to this process's own stdout, where no runner captures it.
    assert args[:1] != ("exec",), "exec runs a child: run it installed (run_installed)"
    saved_environment, saved_directory = dict(os.environ), os.getcwd()
    saved_keyring = keyring.get_keyring()
    keyring.set_keyring(PlaintextKeyring())
    try:
        os.environ.update(env or {})
        if cwd is not None:
            os.chdir(cwd)
        with click_runner().isolation(input=input) as streams:
            try:
                code = cli.main(list(args))
            except SystemExit as exit:  # Click's shell completion ends the process itself
                code = exit.code if isinstance(exit.code, int) else 1
            # What was written to sys.stderr itself (not through click.echo) waits in its
            # buffer, which a process flushes at exit.
            sys.stdout.flush()
            sys.stderr.flush()
            stdout, stderr = streams[0].getvalue().decode(), streams[1].getvalue().decode()
    finally:
        keyring.set_keyring(saved_keyring)
        os.chdir(saved_directory)
        os.environ.clear()
        os.environ.update(saved_environment)
    return subprocess.CompletedProcess(list(args), code, stdout, stderr)


@pytest.fixture
def in_process() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the CLI in-process on the installed command's files and keyring (``run_in_process``)."""
    return run_in_process


def require_os_feature(available: bool, reason: str) -> None:
    """Skip a test whose OS packages are missing; under CI=true that is a failure instead.

    CI installs every package the tests need (scripts/install-os-packages), so
    there a missing one is a broken CI, never a reason to skip.
    """
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI (CI=true) must run this test, not skip it")
    pytest.skip(reason)


def files_containing(secret: str, root: Path) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``secret``."""
    return [
        Path(directory, name)
        for directory, _, names in os.walk(root)
        for name in names
        if secret.encode() in Path(directory, name).read_bytes()
    ]
