"""What the command line asks on a terminal: a secret, a confirmation, a profile to use.

Each refuses to wait where no one can answer, and names the flag that answers instead.
"""

from __future__ import annotations

import sys

import click

from up42keys import inputs, kinds, rules, state
from up42keys.cli.terminal import colour_on, echo
from up42keys.errors import Up42KeysError, UsageError
from up42keys.ops import tokens
from up42keys.store import profile_file


def read_secret(what: str, from_stdin: bool, stdin_flag: str, *, keep_spaces: bool = False) -> str:
    """A secret from one line of stdin, or from a hidden prompt; never from argv."""
    from up42keys.store import coredumps

    coredumps.forbid()
    if from_stdin:
        line = inputs.read_line(sys.stdin.buffer, what=f"the {what}", limit=inputs.SECRET_LIMIT)
        return rules.check_secret(line, what, keep_spaces=keep_spaces)
    if not sys.stdin.isatty():
        raise UsageError(
            f"no terminal to ask for the {what}", f"pass it as one line on stdin with {stdin_flag}"
        )
    while True:
        typed = click.prompt(
            what[0].upper() + what[1:], hide_input=True, err=True, default="", show_default=False
        )
        if typed.strip():
            return rules.check_secret(typed, what, keep_spaces=keep_spaces)
        # Click would ask again without a word; the input is hidden, so say what it got.
        echo(f"The {what} was empty; paste it and press Enter (Ctrl-C to stop).", err=True)


def read_profile_secret(profile: kinds.Profile, from_stdin: bool) -> str:
    """The secret that the profile's kind asks for, by the rules of ``read_secret``."""
    return read_secret(
        profile.asks_for, from_stdin, profile.stdin_flag, keep_spaces=profile.keeps_spaces
    )


def pick_profile() -> str:
    """The profile the user picks on the terminal: in fzf where it is on PATH, else from a menu.

    Both list the names sorted, never by recent use. Ctrl-C (or Esc in fzf) is exit 130 and
    an empty answer exit 1; either way nothing has changed.
    """
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError(
            "no profile named, and no terminal to choose one on",
            "run 'up42keys use NAME' (see 'up42keys list')",
        )
    profiles = profile_file.load()
    if not profiles:
        raise tokens.no_active_profile()
    entries = [(name, describe(profiles[name])) for name in sorted(profiles)]
    active = state.read_active()
    # subprocess and shutil: only the picker pays for them.
    from up42keys.cli.picker import choose_with_fzf, fzf_path

    fzf = fzf_path()
    chosen = (
        choose_with_fzf(fzf, entries, active, colour=colour_on(err=True))
        if fzf
        else choose_from_menu(entries, active)
    )
    if chosen is None:
        raise Up42KeysError("no profile chosen; nothing was changed")
    return chosen


def describe(profile: kinds.Profile) -> str:
    """A profile as the picker shows it beside its name: kind, project or account, protection."""
    return f"{profile.kind}  {profile.identity}" + ("  protected" if profile.protected else "")


def choose_from_menu(entries: list[tuple[str, str]], active: str | None) -> str | None:
    """A numbered menu on stderr (stdout may be captured by the shell function)."""
    names = [name for name, _ in entries]
    for number, (name, description) in enumerate(entries, 1):
        mark = "*" if name == active else " "
        echo(f"{mark} {number:>2}) {name}  ({description})", err=True)
    while True:
        answer = click.prompt(
            "Use profile (number or name, Enter for none)",
            default="",
            show_default=False,
            err=True,
        ).strip()
        if not answer:
            return None
        if answer in names:
            return answer
        if answer.isdigit() and 1 <= int(answer) <= len(names):
            return names[int(answer) - 1]
        echo(f"No profile {answer!r} in the list; give its number or name.", err=True)


def confirm_protected(name: str) -> None:
    """Ask before switching to production, where someone can answer; a script has decided."""
    if not sys.stdin.isatty():
        echo(f"Note: profile {name!r} is protected.", err=True)
        return
    if not click.confirm(f"Profile {name!r} is protected. Use it?", err=True):
        raise Up42KeysError(f"not switched to protected profile {name!r}")


def confirm_change_of_protected(name: str, verb: str, command: list[str] | None = None) -> None:
    """Ask before changing production; without a terminal, only an explicit --yes will do.

    Unlike ``use``, a script that removes or edits production may have got the name
    wrong, and the change cannot be undone. ``command`` is the command as given (by
    default ``up42keys VERB NAME``), which the fix repeats so that it does what was asked.
    """
    if not sys.stdin.isatty():
        words = [*(command or ["up42keys", verb, name]), "--yes"]
        raise UsageError(
            f"profile {name!r} is protected",
            f"to {verb} it without a terminal, run '{rules.shell_command(words)}'",
        )
    if not click.confirm(f"Profile {name!r} is protected. {verb.capitalize()} it?", err=True):
        raise Up42KeysError(f"profile {name!r} is protected and was not changed")
