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


def choose_with_fzf(
    fzf: str, entries: list[tuple[str, str]], active: str | None, *, colour: bool
) -> str | None:
    """The name chosen in fzf, or None when nothing was (an empty query that matched nothing).

    Each line shows a name and its description; only the name is searched. fzf starts
    on the active profile where it can move there (0.36 and later), and draws without
    colour when ``colour`` is off (NO_COLOR, ``--color never``). fzf draws on the
    terminal itself (``/dev/tty``) and prints the choice on its stdout, which is a pipe
    here; so this works inside ``$(…)`` too.
    """
    names = [name for name, _ in entries]
    header = f"active: {active}" if active else "no profile is active"
    arguments = [
        *(fzf, "--no-sort", "--no-multi", "--height=40%", "--reverse"),
        *("--prompt=up42keys use> ", f"--header={header}", "--delimiter=\t", "--nth=1"),
    ]
    if active in names and moves_to_a_line(fzf):
        # Typing a query goes back to the first match, as fzf does by itself without this.
        arguments += [f"--bind=load:pos({names.index(active) + 1})", "--bind=change:first"]
    if not colour:
        arguments.append("--no-color")
    completed = subprocess.run(
        arguments,
        input="".join(f"{name}\t{description}\n" for name, description in entries),
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if completed.returncode == FZF_INTERRUPTED:
        raise CancelledError("no profile chosen (interrupted); nothing was changed")
    if completed.returncode != FZF_CHOSE:
        return None
    chosen = completed.stdout.partition("\t")[0].strip()
    return chosen if chosen in names else None


# fzf's 'load' event and 'pos' action, which start the list on a line, came in 0.36.
FIRST_WITH_POS = (0, 36)


def moves_to_a_line(fzf: str) -> bool:
    """Whether this fzf can start on a given line: asked, since older ones refuse the option."""
    answer = subprocess.run([fzf, "--version"], capture_output=True, text=True, check=False)
    digits = answer.stdout.split(" ")[0].split(".")[:2]
    try:
        return tuple(int(part) for part in digits) >= FIRST_WITH_POS
    except ValueError:
        return False
