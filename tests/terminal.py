"""The installed command on a real pseudo-terminal, driven as a person at the keyboard would.

The command leads a new session whose controlling terminal is the pty (``setsid --ctty``),
with stdin and stderr on it, so that prompts, ``isatty`` and programs that open ``/dev/tty``
(fzf) behave as they do for a user; stdout is a pipe, as inside ``$(…)``.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

from tests.conftest import installed_command
from tests.shellkit import require, shell_env

CTRL_C = "\x03"
# The command's return code when Ctrl-C at a (non-raw) terminal ended it: up42keys keeps
# SIGINT's default action, so the signal ends it, which shells show as exit 130.
ENDED_BY_CTRL_C = -signal.SIGINT
ENTER = "\r"
CURSOR_QUERY = "\x1b[6n"
CURSOR_AT_TOP = "\x1b[1;1R"


class Terminal:
    """One run of ``up42keys ARGS`` on a pty: ``expect`` what it shows, ``type`` keys."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None):
        import pty

        self._leader, follower = pty.openpty()
        # A terminal of 24 rows and 80 columns: a pty starts at 0 x 0, where fzf draws nothing.
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.shown = ""
        # SIGINT at its default: a shell starts background jobs with it ignored, and that
        # disposition would be inherited, so a typed Ctrl-C would end nothing.
        default_sigint = [require("env"), "--default-signal=INT"]
        self.process = subprocess.Popen(
            [*default_sigint, require("setsid"), "--ctty", installed_command(), *args],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=follower,
            # Without colour unless the test asks for it (NO_COLOR=""): lines read as typed.
            env=shell_env(TERM="xterm", **{"NO_COLOR": "1", **(env or {})}),
            cwd=cwd,
        )
        os.close(follower)

    def _read(self, seconds: float) -> bool:
        """Add what the terminal shows within ``seconds``; False once nothing more will come
        (the command's side is closed: reading gives EIO) or nothing came in that time."""
        ready, _, _ = select.select([self._leader], [], [], seconds)
        if not ready:
            return False
        try:
            chunk = os.read(self._leader, 65536).decode(errors="replace")
        except OSError:  # the command has ended and closed its side
            time.sleep(seconds)
            return False
        # A terminal answers "where is the cursor?" (fzf asks before it draws).
        for _ in range(chunk.count(CURSOR_QUERY)):
            self.type(CURSOR_AT_TOP)
        self.shown += chunk
        return bool(chunk)

    def expect(self, text: str, timeout: float = 30) -> None:
        """Wait until the terminal has shown ``text``."""
        deadline = time.monotonic() + timeout
        while text not in self.shown:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the terminal showed {self.shown!r}")
            self._read(0.1)

    def expect_prompt(self, timeout: float = 30) -> None:
        """Wait until the terminal shows a prompt: what it has shown ends with ':'."""
        deadline = time.monotonic() + timeout
        while not self.shown.rstrip().endswith(":"):
            if time.monotonic() > deadline:
                raise AssertionError(f"no prompt appeared; the terminal showed {self.shown!r}")
            self._read(0.1)

    def type(self, keys: str) -> None:
        os.write(self._leader, keys.encode())

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        """The exit code and stdout, once the command has ended, with all it showed.

        The terminal is read while the command runs (it would block once the pty's buffers
        are full), and then until its side is closed: the kernel hands what a command wrote
        to the pty over in its own time, and a last read at the exit could miss a prompt.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                stdout, _ = self.process.communicate(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    raise
                self._read(0)
        while self._read(0.05):
            pass
        os.close(self._leader)
        return self.process.returncode, stdout.decode()
