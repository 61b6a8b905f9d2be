"""Choosing a profile interactively, for ``use`` without a NAME on a terminal.

fzf is used where it is on PATH, as kubectx and its kin do; the names are
given in name order and fzf is told not to re-sort them (``--no-sort``):
a list ordered by recent use would let muscle memory pick production. The
numbered menu that stands in for fzf is presentation and lives in the CLI.
"""

from __future__ import annotations

import shutil
import subprocess

from up42keys.errors import CancelledError

FZF = "fzf"
# fzf's exit codes: 0 a choice, 1 no match, 130 Ctrl-C or Esc (see 'man fzf').
FZF_CHOSE = 0
FZF_INTERRUPTED = 130


def fzf_path() -> str | None:
    return shutil.which(FZF)


def choose_with_fzf(fzf: str, names: list[str], active: str | None) -> str | None:
    """The name chosen in fzf, or None when nothing was (an empty query that matched nothing).

    fzf draws on the terminal itself (``/dev/tty``) and prints the choice on its
    stdout, which is a pipe here; so this works inside ``$(…)`` too.
    """
    header = f"active: {active}" if active else "no profile is active"
    completed = subprocess.run(
        [fzf, "--no-sort", "--no-multi", "--height=40%", "--reverse", "--prompt=up42keys use> ",
         f"--header={header}"],
        input="".join(name + "\n" for name in names),
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )  # fmt: skip
    if completed.returncode == FZF_INTERRUPTED:
        raise CancelledError("no profile chosen (interrupted); nothing was changed")
    if completed.returncode != FZF_CHOSE:
        return None
    chosen = completed.stdout.strip()
    return chosen if chosen in names else None
