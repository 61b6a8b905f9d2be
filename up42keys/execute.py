"""Running another program with a token in its environment, as ``exec`` does.

up42keys stays the program's parent: it waits, passes signals on and exits
with the program's code (128+N when signal N killed it, as shells report
it). Staying, rather than replacing itself with the program, is what lets a
hook run beside it for as long as it runs, such as one that keeps a token
file fresh, and stop when it ends.

Signals: SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 sent to up42keys are always
passed on. SIGINT, SIGQUIT and SIGWINCH are passed on only when up42keys is
not in its terminal's foreground process group: in the foreground, the
terminal has already sent them to the whole group, the program included,
and passing them on would deliver Ctrl-C twice.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from types import FrameType
from typing import Protocol

from up42keys.errors import CommandNotFoundError, CommandNotRunnableError

FORWARDED_SIGNALS = ("SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH")
TERMINAL_SIGNALS = ("SIGINT", "SIGQUIT", "SIGWINCH")


class Hook(Protocol):
    """Something that runs beside the program: started before it, stopped after it."""

    def start(self) -> object: ...

    def stop(self) -> None: ...


def run(argv: list[str], environment: dict[str, str], hooks: Sequence[Hook] = ()) -> int:
    """Run ``argv`` with exactly ``environment`` and return its exit code, as a shell reports it.

    Hooks start in order before the program and stop in reverse order after
    it, also when it cannot be started.
    """
    with contextlib.ExitStack() as stack:
        for hook in hooks:
            hook.start()
            stack.callback(hook.stop)
        return _run_forwarding(argv, environment)


def _run_forwarding(argv: list[str], environment: dict[str, str]) -> int:
    children: list[subprocess.Popen[bytes]] = []
    pending: list[int] = []
    terminal = {getattr(signal, name) for name in TERMINAL_SIGNALS if hasattr(signal, name)}

    def forward(signum: int, _frame: FrameType | None) -> None:
        if signum in terminal and _in_terminal_foreground():
            return
        if children:
            children[0].send_signal(signum)
        else:
            pending.append(signum)

    previous = {}
    for name in FORWARDED_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is not None:
            previous[signum] = signal.signal(signum, forward)
    try:
        children.append(_start(argv, environment))
        for signum in pending:
            children[0].send_signal(signum)
        code = children[0].wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code


def _start(argv: list[str], environment: dict[str, str]) -> subprocess.Popen[bytes]:
    try:
        # close_fds=False: the program gets every descriptor it was handed (``3<file``), as
        # from a shell; our own are close-on-exec anyway.
        return subprocess.Popen(argv, env=environment, close_fds=False)
    except FileNotFoundError:
        raise CommandNotFoundError(f"command not found: {argv[0]}") from None
    except OSError as error:
        raise CommandNotRunnableError(f"cannot run {argv[0]}: {error.strerror}") from None


def _in_terminal_foreground() -> bool:
    """True when our process group is the foreground one of our controlling terminal."""
    try:
        descriptor = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(descriptor) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(descriptor)
