"""Running another program with a token in its environment, as ``exec`` does.

up42keys stays the program's parent: it waits, passes signals on and exits
with the program's code (128+N when signal N killed it, as shells report
it). Staying, rather than replacing itself with the program, is what lets it
keep ``UP42_TOKEN_FILE`` fresh for as long as the program runs, and remove
the file when it ends.

Signals: SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 sent to up42keys are always
passed on. SIGINT, SIGQUIT and SIGWINCH are passed on only when up42keys is
not in its terminal's foreground process group: in the foreground, the
terminal has already sent them to the whole group, the program included,
and passing them on would deliver Ctrl-C twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from types import FrameType

from up42keys.errors import CommandNotFoundError, CommandNotRunnableError

FORWARDED_SIGNALS = ("SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH")
TERMINAL_SIGNALS = ("SIGINT", "SIGQUIT", "SIGWINCH")


def run_with_token(
    argument: str | None, argv: list[str], on_error: Callable[[str], None], *, gdal: bool = False
) -> int:
    """``exec``: run ``argv`` with the target's token, project and a token file kept fresh.

    ``UP42_TOKEN`` is the token at the start (``UP42_TOKEN_EXPIRES_AT`` its
    expiry); ``UP42_TOKEN_FILE`` always holds a valid one, for commands that
    outlive it. An inherited ``UP42_PROJECT_API_KEY`` is dropped when the
    target is a profile, so the program never sees one project's ID beside
    another project's key. ``gdal`` also keeps a GDAL header file fresh and
    scopes it to the API origin (``up42keys.integrations.gdal``).
    """
    from up42keys.ops import shell, tokens
    from up42keys.ops.tokenfile import TOKEN_FILE_ENV, TokenFileKeeper

    keeper = TokenFileKeeper(argument, on_error=on_error)
    if gdal:
        from up42keys.integrations import gdal as gdal_setup

        keeper = header_keeper = gdal_setup.HeaderFileKeeper(argument, on_error=on_error)
    with keeper:
        environment = dict(os.environ)
        for variable in keeper.target.foreign_variables:
            environment.pop(variable, None)
        record = keeper.record
        label = keeper.target.label
        project_id = tokens.project_id_of(record)
        environment.update(
            shell.token_variables(label, project_id, record.token, record.expires_at)
        )
        environment[TOKEN_FILE_ENV] = keeper.path
        if gdal:
            argv = gdal_setup.prepare_child(header_keeper, environment, argv, on_error)
        return run(argv, environment)


def run(argv: list[str], environment: dict[str, str]) -> int:
    """Run ``argv`` with exactly ``environment`` and return its exit code, as a shell reports it."""
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
