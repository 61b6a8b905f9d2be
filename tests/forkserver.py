"""A fork server for the stress loops: the installed command's imports paid once, not per run.

The loops of tests/test_crash.py, tests/test_concurrency.py and a few others start the
installed ``up42keys`` hundreds of times, and each process spends most of its CPU importing
Click, keyring, httpx, pyjwt and filelock (0.3 to 0.5 CPU-s a run, on a 2-core machine).
As AFL's fork server or Android's zygote do, one helper process imports all that once, and
forks a child per run: a real process (its own PID, files, locks, signals) that starts where
a fresh one would be once its imports are done.

The helper (tests/forkhelper.py) runs with the launcher's own interpreter (its shebang).
It imports modules only: no keyring backend is chosen, no path resolved, no file opened, no
thread started, and every environment variable read by those imports is recorded. A request whose
environment differs from the helper's in a variable that a fresh interpreter reads at
start (``PYTHON*``, the locale, ``TZ``) or that an import read is refused, since a child
could not behave as a fresh process would with it. Each child then does what the launcher
and interpreter would: its environment exactly, its directory, umask, stdin/stdout/stderr
(as the interpreter makes them), signal dispositions and mask as at start, ``sys.argv``,
``sys.path`` with the request's ``PYTHONPATH`` and its ``sitecustomize``, the SIGINT
takeover that importing ``up42keys`` does, and then the launcher's own code; it ends
through the interpreter's normal exit (threads, atexit, flush), or ``os._exit`` on the
fast path, as the installed command does.

The helper is single-threaded (a fork copies only the calling thread) and reports each
child's PID at once, with a pidfd over the socket so that a signal can never reach a
recycled PID, then its exit status (negative for a signal, as subprocess reports it).
Tests call ``ForkServer.start``, which returns a ``Child`` with Popen's ``pid``, ``poll``,
``wait``, ``send_signal``, ``kill`` and ``communicate``; the ``fork_server`` fixture
(tests/conftest.py) keeps one per pytest worker. Each loop keeps some runs on the installed
command itself, so that the launcher and the imports stay under the same stress.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import locale
import os
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Literal

from tests.forkhelper import MAX_MESSAGE, launcher_interpreter

# stdin is written into its pipe before the child starts: at most what a pipe holds.
MAX_INPUT = 60_000
# Where a test runs the command many times (the loops of processes at once in
# tests/test_concurrency.py, tests/test_keyring_lock.py and tests/test_hostile_files.py, the
# cases of tests/test_pin_trust.py and tests/test_fastpath.py), one run in this many is the
# installed command, its launcher and imports included; the fork server starts the others.
INSTALLED_EVERY = 4
# The helper program, run with the launcher's interpreter.
HELPER = Path(__file__).with_name("forkhelper.py")


Output = Literal["devnull", "pipe"]


class Child:
    """A run started by the fork server, used as a subprocess.Popen is."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.pid = 0
        self.returncode: int | None = None
        self.stdout: IO[bytes] | None = None
        self.stderr: IO[bytes] | None = None
        self.error: str | None = None
        self._pidfd = -1
        self._lock = threading.Lock()  # the pidfd is closed once, never while signalled
        self._started = threading.Event()
        self._ended = threading.Event()

    def _set_started(self, pid: int, pidfd: int) -> None:
        self.pid, self._pidfd = pid, pidfd
        self._started.set()

    def _set_ended(self, code: int | None, error: str | None = None) -> None:
        with self._lock:
            self.returncode, self.error = code, error
            if self._pidfd >= 0:
                os.close(self._pidfd)
                self._pidfd = -1
        self._started.set()
        self._ended.set()

    def poll(self) -> int | None:
        """The exit code once the process has ended, as Popen.poll (no later than it)."""
        with self._lock:
            if self._pidfd >= 0 and select.select([self._pidfd], [], [], 0)[0]:
                exited = True  # a zombie already: its status is on the way
            else:
                exited = self._pidfd < 0
        if exited:
            self._ended.wait(60)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        if self.returncode is None:
            raise RuntimeError(f"no exit status for {self.args}: {self.error}")
        return self.returncode

    def send_signal(self, number: int) -> None:
        """Signal the process through its pidfd: never another process that got its PID."""
        with self._lock:
            if self._pidfd >= 0:
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(self._pidfd, number)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """stdout and stderr as Popen(text=True).communicate gives them, then the exit."""
        deadline = None if timeout is None else time.monotonic() + timeout
        streams = [stream for stream in (self.stdout, self.stderr) if stream is not None]
        chunks: dict[int, list[bytes]] = {stream.fileno(): [] for stream in streams}
        while streams:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = select.select(streams, [], [], left)[0]
            if not ready:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            for stream in ready:
                data = os.read(stream.fileno(), 1 << 16)
                if data:
                    chunks[stream.fileno()].append(data)
                else:
                    streams.remove(stream)
        texts = [
            _text(b"".join(chunks[output.fileno()])) if output is not None else ""
            for output in (self.stdout, self.stderr)
        ]
        for output in (self.stdout, self.stderr):
            if output is not None:
                output.close()
        self.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return texts[0], texts[1]


def _text(data: bytes) -> str:
    """Bytes as Popen(text=True) decodes them: the locale's encoding, universal newlines."""
    decoded = data.decode(locale.getpreferredencoding(False))
    return decoded.replace("\r\n", "\n").replace("\r", "\n")


def _umask() -> int:
    """This process's umask, read without setting it (another thread may be creating files)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    raise RuntimeError("no Umask in /proc/self/status")


class ForkServer:
    """The client end: starts the helper, sends requests, dispatches what it reports."""

    def __init__(self, launcher: str) -> None:
        self.launcher = launcher
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        self._process = subprocess.Popen(
            [launcher_interpreter(launcher), str(HELPER), launcher, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=environment,
            cwd="/",
        )
        theirs.close()
        self._channel = ours
        self._lock = threading.Lock()  # the children by request id
        self._sending = threading.Lock()  # one message at a time on the socket
        self._ids = itertools.count()
        self._children: dict[int, Child] = {}
        ours.settimeout(120)
        try:
            ready = json.loads(ours.recv(MAX_MESSAGE) or b"{}")
        except TimeoutError:
            ready = {}
        ours.settimeout(None)
        if "ready" not in ready:
            self._process.kill()
            raise RuntimeError(f"the fork server did not start (exit {self._process.wait()})")
        self._reader = threading.Thread(target=self._read, name="forkserver-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            data, descriptors, _, _ = socket.recv_fds(self._channel, MAX_MESSAGE, 1)
            if not data:
                break
            message = json.loads(data)
            with self._lock:
                child = self._children[message["id"]]
                if "pid" not in message:
                    del self._children[message["id"]]
            if "pid" in message:
                child._set_started(message["pid"], descriptors[0])
            else:
                child._set_ended(message.get("status"), message.get("error"))
        with self._lock:
            orphans, self._children = list(self._children.values()), {}
        for child in orphans:
            child._set_ended(None, "the fork server ended")

    def start(
        self,
        args: list[str],
        env: Mapping[str, str] | None = None,
        *,
        stdin: str | bytes = b"",
        stdout: Output = "devnull",
        stderr: Output = "devnull",
        cwd: str | os.PathLike[str] | None = None,
    ) -> Child:
        """Run ``up42keys ARGS`` as ``Popen([installed_command(), *args], ...)`` would.

        ``env`` is the whole environment (this process's when None); stdin is written to
        the child's pipe, which is then closed; "pipe" captures an output for
        ``communicate``. Raises RuntimeError when the server refuses the request.
        """
        data = stdin.encode() if isinstance(stdin, str) else stdin
        if len(data) > MAX_INPUT:
            raise ValueError(f"stdin of {len(data)} bytes: more than a pipe holds unread")
        child = Child([self.launcher, *args])
        ends: list[int] = []  # the child's ends, closed here once they are sent
        try:
            read_end, write_end = os.pipe()
            ends.append(read_end)
            os.write(write_end, data)
            os.close(write_end)
            for output, name in ((stdout, "stdout"), (stderr, "stderr")):
                if output == "pipe":
                    ours, theirs = os.pipe()
                    setattr(child, name, open(ours, "rb", buffering=0))  # noqa: SIM115
                    ends.append(theirs)
                else:
                    ends.append(os.open(os.devnull, os.O_WRONLY))
            message = {
                "argv": list(args),
                "env": dict(os.environ if env is None else env),
                "cwd": os.fspath(cwd if cwd is not None else os.getcwd()),
                "umask": _umask(),
            }
            with self._lock:
                message["id"] = request_id = next(self._ids)
                self._children[request_id] = child
            with self._sending:
                socket.send_fds(self._channel, [json.dumps(message).encode()], ends)
        finally:
            for end in ends:
                os.close(end)
        if not child._started.wait(60):
            raise RuntimeError(f"the fork server did not start {args}")
        if child.error is not None:
            raise RuntimeError(child.error)
        return child

    def run(
        self,
        args: list[str],
        env: Mapping[str, str] | None = None,
        *,
        stdin: str = "",
        cwd: str | os.PathLike[str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Start, capture both outputs and wait: as subprocess.run(capture_output, text)."""
        child = self.start(args, env, stdin=stdin, stdout="pipe", stderr="pipe", cwd=cwd)
        out, err = child.communicate(timeout=timeout)
        return subprocess.CompletedProcess(child.args, child.wait(), out, err)

    def close(self) -> None:
        """End the helper (it kills any child left) and wait for it."""
        with contextlib.suppress(OSError):
            self._channel.shutdown(socket.SHUT_WR)
        self._reader.join(timeout=60)
        self._channel.close()
        self._process.wait(timeout=60)
