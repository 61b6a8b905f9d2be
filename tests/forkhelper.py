"""The fork server's helper program (tests/forkserver.py says what it is for and how).

Run as ``INTERPRETER forkhelper.py LAUNCHER FD`` with the launcher's interpreter: it imports
PRELOAD once, then serves the requests that arrive on the socket FD, forking a child for
each; the child becomes what the launcher would have started.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import socket
import sys
import threading
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

# A request carries argv, environment, directory and umask; stdin, stdout and stderr go as
# descriptors beside it (SCM_RIGHTS), so that the client makes its pipes as Popen does.
MAX_MESSAGE = 1 << 20
# What the child finds ready; each name pulls in its own imports (httpx: httpcore, h11...).
PRELOAD = (
    "up42keys.fastpath",
    "up42keys.cli",
    "up42keys.ops.doctor",
    "up42keys.ops.lifecycle",
    "up42keys.ops.policy",
    "up42keys.ops.shell",
    "up42keys.ops.switching",
    "up42keys.ops.tokens",
    "up42keys.ops.transfer",
    "up42keys.remote.accounts",
    "up42keys.remote.client",
    "up42keys.remote.jwtinfo",
    "up42keys.remote.progress",
    "up42keys.store.coredumps",
    "up42keys.store.journal",
    "up42keys.store.keychain",
    "up42keys.store.leftovers",
    "up42keys.store.locks",
    "up42keys.store.profile_file",
    "up42keys.store.statefiles",
    "keyring",
    "keyring.backend",
    "keyring.core",
    "keyrings.alt.file",
    "importlib_metadata",
    "httpx",
    "httpcore",
    "jwt",
    "jwt.algorithms",
    "filelock",
    "tomli_w",
)
# Read when used (keyring reads its variable when it chooses a backend), or rebuilt in the
# child (PYTHONPATH): a request may set them as it likes.
NOT_AT_START = frozenset({"PYTHONPATH", "PYTHON_KEYRING_BACKEND", "PYTHONBREAKPOINT"})
LOCALE_AND_CLOCK = ("LC_ALL", "LC_CTYPE", "LANG", "TZ")


def startup_variables(environment: Mapping[str, str], also: frozenset[str]) -> dict[str, str]:
    """What of ``environment`` a fresh interpreter would have used before our code ran."""
    return {
        key: value
        for key, value in environment.items()
        if (key.startswith("PYTHON") and key not in NOT_AT_START)
        or key in LOCALE_AND_CLOCK
        or key in also
    }


def launcher_interpreter(launcher: str) -> str:
    """The interpreter in the launcher's shebang: the one every installed run starts."""
    first = Path(launcher).read_bytes().split(b"\n", 1)[0].decode()
    assert first.startswith("#!"), f"{launcher} is not a script with a shebang"
    return first[2:].strip()


class _RecordingEnviron(type(os.environ)):  # type: ignore[misc]
    """os.environ, noting each name read: what an import read cannot change in a child."""

    read: set[str]

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return str(super().__getitem__(key))

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return bool(super().__contains__(key))

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


def _preload() -> frozenset[str]:
    """Import PRELOAD; the environment variables those imports read."""
    import importlib

    real = os.environ
    recording = _RecordingEnviron(
        real._data,  # type: ignore[attr-defined]
        real.encodekey,
        real.decodekey,
        real.encodevalue,
        real.decodevalue,
    )
    recording.read = set()
    # The same variables, seen through a recorder; os.getenv reads os.environ too.
    os.environ = recording  # noqa: B003
    try:
        for name in PRELOAD:
            importlib.import_module(name)
    finally:
        os.environ = real  # noqa: B003
    return frozenset(recording.read)


class _Request:
    """One run, as the child gets it."""

    def __init__(self, message: dict[str, Any], descriptors: list[int]) -> None:
        self.id: int = message["id"]
        self.argv: list[str] = message["argv"]
        self.env: dict[str, str] = message["env"]
        self.cwd: str = message["cwd"]
        self.umask: int = message["umask"]
        self.descriptors = descriptors


class _Helper:
    """The helper's state: what a fresh process had at start, and the children to report."""

    def __init__(self, launcher: str, channel: socket.socket) -> None:
        self.launcher = launcher
        self.channel = channel
        # Before anything changes them: the dispositions and mask a fresh interpreter has.
        self.signals = {
            number: signal.getsignal(number)
            for number in signal.valid_signals()
            if number not in (signal.SIGKILL, signal.SIGSTOP)
        }
        self.mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        assert "PYTHONPATH" not in os.environ, "start the helper without PYTHONPATH"
        # As the launcher's interpreter sets it: the script's directory first.
        sys.path[0] = os.path.dirname(launcher)
        self.base_path = list(sys.path[1:])
        assert "sitecustomize" not in sys.modules, "a sitecustomize of the interpreter's own"
        assert "usercustomize" not in sys.modules, "a usercustomize of the interpreter's own"
        read = _preload()
        self.startup = startup_variables(os.environ, read)
        self.read = read
        self.code = compile(Path(launcher).read_bytes(), launcher, "exec")
        self.interpreter = launcher_interpreter(launcher)
        import keyring.core

        assert keyring.core._keyring_backend is None, "an import chose a keyring backend"
        assert threading.active_count() == 1, "an import started a thread"
        # The imported objects are never collected: the children's collections skip them,
        # and leave their pages shared with the helper.
        import gc

        gc.freeze()
        self.children: dict[int, tuple[int, int]] = {}  # pidfd -> (request id, pid)

    def send(self, message: dict[str, Any], descriptors: tuple[int, ...] = ()) -> None:
        socket.send_fds(self.channel, [json.dumps(message).encode()], list(descriptors))

    def refusal(self, request: _Request) -> str | None:
        """Why a child could not start as a fresh process would with this request, or None."""
        wanted = startup_variables(request.env, self.read)
        differ = sorted(
            key for key in wanted.keys() | self.startup.keys()
            if wanted.get(key) != self.startup.get(key)
        )  # fmt: skip
        if differ:
            return (
                f"the request's environment differs from the fork server's in {', '.join(differ)},"
                " which a fresh interpreter reads at start: run it installed"
            )
        return None

    def serve(self) -> _Request:
        """Fork a child per request and report it; returns only in a child, with its request."""
        poller = select.poll()
        poller.register(self.channel, select.POLLIN)
        self.send({"ready": len(sys.modules), "read": sorted(self.read)})
        while True:
            for descriptor, _ in poller.poll():
                if descriptor != self.channel.fileno():
                    request_id, pid = self.children.pop(descriptor)
                    poller.unregister(descriptor)
                    os.close(descriptor)
                    _, status = os.waitpid(pid, 0)
                    self.send({"id": request_id, "status": os.waitstatus_to_exitcode(status)})
                    continue
                data, descriptors, _, _ = socket.recv_fds(self.channel, MAX_MESSAGE, 3)
                if not data:
                    self.stop()
                request = _Request(json.loads(data), descriptors)
                refused = self.refusal(request)
                if refused is not None:
                    for received in descriptors:
                        os.close(received)
                    self.send({"id": request.id, "error": refused})
                    continue
                pid = os.fork()
                if pid == 0:
                    self.channel.close()
                    for pidfd in self.children:
                        os.close(pidfd)
                    return request
                for received in descriptors:
                    os.close(received)
                pidfd = os.pidfd_open(pid)
                self.children[pidfd] = (request.id, pid)
                poller.register(pidfd, select.POLLIN)
                self.send({"id": request.id, "pid": pid}, (pidfd,))

    def stop(self) -> None:
        """The client has gone: no child outlives the helper."""
        for pidfd, (_, pid) in self.children.items():
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            os.waitpid(pid, 0)
        sys.exit(0)

    def become(self, request: _Request) -> types.ModuleType:
        """In the child: the process the launcher would be, up to running its code."""
        for target, received in enumerate(request.descriptors):
            os.dup2(received, target)
            os.close(received)
        os.umask(request.umask)
        os.chdir(request.cwd)
        os.environ.clear()
        os.environ.update(request.env)
        for number, disposition in self.signals.items():
            if disposition is not None and signal.getsignal(number) != disposition:
                signal.signal(number, disposition)
        signal.pthread_sigmask(signal.SIG_SETMASK, self.mask)
        sys.argv = [self.launcher, *request.argv]
        sys.orig_argv = [self.interpreter, *sys.argv]
        # As getpath and site make it: PYTHONPATH, then the rest, none twice; the script's
        # directory goes in front after site has run (sitecustomize does not see it).
        extra = [os.path.abspath(entry) for entry in request.env.get("PYTHONPATH", "").split(":")]
        path = extra if "PYTHONPATH" in request.env else []
        sys.path = list(dict.fromkeys([*path, *self.base_path]))
        _fresh_stdio()
        import site

        site.execsitecustomize()
        if site.ENABLE_USER_SITE:
            site.execusercustomize()
        sys.path.insert(0, os.path.dirname(self.launcher))
        # What importing up42keys does in the launcher, with this argv and these signals.
        import up42keys

        up42keys._die_on_sigint()
        main = types.ModuleType("__main__")
        # What a script's module holds: no package (Click names the program after argv[0]).
        main.__dict__.update(__file__=self.launcher, __cached__=None, __builtins__=__builtins__)
        sys.modules["__main__"] = main
        return main


def _fresh_stdio() -> None:
    """sys.stdin, stdout and stderr on descriptors 0 to 2, made as the interpreter makes them."""
    for number, name in enumerate(("stdin", "stdout", "stderr")):
        like: Any = getattr(sys, f"__{name}__")
        unbuffered = like.write_through  # -u or PYTHONUNBUFFERED; stdin stays buffered
        raw_only = unbuffered and number > 0
        mode, buffering = ("wb" if number else "rb"), (0 if raw_only else -1)
        buffer: Any = open(number, mode, buffering=buffering, closefd=False)  # noqa: SIM115
        (buffer if raw_only else buffer.raw).name = f"<{name}>"
        stream = io.TextIOWrapper(
            buffer,
            encoding=like.encoding,
            errors=like.errors,
            newline="\n",
            line_buffering=not unbuffered and (number == 2 or os.isatty(number)),
            write_through=unbuffered,
        )
        stream.mode = "w" if number else "r"  # type: ignore[misc]  # the interpreter sets it
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _child_main(helper: _Helper, request: _Request) -> NoReturn:
    """Set the child up, run the launcher's code, and end as the interpreter would."""
    try:
        main = helper.become(request)
    except BaseException:  # noqa: BLE001 - the request's stderr says it, the child ends
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        os._exit(127)
    interrupted = False
    try:
        exec(helper.code, main.__dict__)  # noqa: S102 - the launcher's own code, as it runs it
        status = 0
    except SystemExit as stop:
        status = _exit_status(stop.code)
    except BaseException as error:  # noqa: BLE001 - reported as the interpreter reports it
        sys.excepthook(type(error), error, error.__traceback__)
        interrupted, status = isinstance(error, KeyboardInterrupt), 1
    _end(status, interrupted)


def _exit_status(code: object) -> int:
    """The status that ``sys.exit(code)`` gives a process (the interpreter's rule)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    with contextlib.suppress(Exception):
        sys.stderr.write(f"{code}\n")
    return 1


def _end(status: int, interrupted: bool) -> NoReturn:
    """What the interpreter's exit does that anyone can see, then ``os._exit``.

    The interpreter waits for the threads that are not daemons, runs the atexit handlers,
    flushes stdout and stderr (a failed stdout flush makes the status 120) and then tears
    every module down. The teardown is skipped: nothing of it shows outside the process
    (the fast path skips it too, fastpath.main), and across the helper's ~400 modules it
    would cost each child about 35 ms, three times what most commands take once imported.
    """
    import atexit

    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None or stream.closed:
            continue
        try:
            stream.flush()
        except Exception as error:  # noqa: BLE001 - reported as the interpreter reports it
            status = 120  # either stream; only stdout's error is printed ("Exception ignored")
            if stream is sys.stdout:
                unraisable: Any = types.SimpleNamespace(
                    exc_type=type(error), exc_value=error, exc_traceback=error.__traceback__,
                    err_msg=None, object=stream,
                )  # fmt: skip
                sys.unraisablehook(unraisable)
    if interrupted:  # as the interpreter: a KeyboardInterrupt ends the process by SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(status)


if __name__ == "__main__":
    _helper = _Helper(sys.argv[1], socket.socket(fileno=int(sys.argv[2])))
    _child_main(_helper, _helper.serve())
