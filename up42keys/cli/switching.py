"""Choosing the profile commands use: ``use``, ``protect``, ``pin`` and ``current``."""

from __future__ import annotations

import os

import click

from up42keys import complete, paths, selection, settings, state
from up42keys.cli.app import cli, profile_argument
from up42keys.cli.completion import UseCommand, complete_use_name
from up42keys.cli.consent import consent
from up42keys.cli.prompts import pick_profile
from up42keys.cli.render import ENVIRONMENT_REASON, reason
from up42keys.cli.terminal import echo
from up42keys.errors import UsageError
from up42keys.ops import policy, shell, switching, tokens
from up42keys.store import profile_file


@cli.command(cls=UseCommand)
@click.argument("name", required=False, shell_complete=complete_use_name)
@click.option(
    "--shell",
    "this_shell",
    is_flag=True,
    help="Switch this shell only (needs the function from 'shell-init'); NAME '-' undoes it.",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask before using a protected profile.")
@click.option("--no-verify", is_flag=True, help="Switch without getting a token (offline).")
def use(name: str | None, this_shell: bool, yes: bool, no_verify: bool) -> None:
    """Make NAME the active profile, with a fresh token for it; NAME '-' is the previous one.

    Two 'use -' in a row toggle. Without NAME, on a terminal, offers the
    profiles to choose from (with fzf where it is installed). A protected
    profile is used only after a confirmation on a terminal (--yes skips it);
    without a terminal the command proceeds, since a script named the
    profile explicitly.
    """
    if this_shell and not os.environ.get(shell.SHELL_FUNCTION_ENV):
        raise UsageError(
            "'use --shell' changes this shell through the up42keys shell function",
            "load it with 'eval \"$(up42keys shell-init bash)\"' (zsh alike, fish: "
            "'up42keys shell-init fish | source'), or run 'export UP42KEYS_PROFILE=NAME'",
        )
    if name is None:
        name = pick_profile()
    elif name == complete.DASH and not this_shell:
        name = switching.previous()
    consent(profile_file.get(name), policy.SWITCH, yes=yes)
    already = not this_shell and name == state.read_active()
    switching.use(name, min_ttl=settings.min_ttl(), globally=not this_shell, verify=not no_verify)
    unverified = " (no token asked for)" if no_verify else ""
    if this_shell:
        echo(name)
        echo(f"Switched this shell to profile {name!r}{unverified}.", err=True)
    elif already:
        echo(f"Profile {name!r} is already the active profile; nothing changed.", err=True)
    else:
        echo(f"Switched to profile {name!r}{unverified}.", err=True)


@cli.command()
@profile_argument()
@click.option("--off", is_flag=True, help="Clear the mark instead.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before clearing the mark.")
def protect(name: str, off: bool, yes: bool) -> None:
    """Mark NAME as protected (production): the prompt shows it, 'use' asks first.

    --off clears the mark only after a confirmation on a terminal, or with --yes.
    """
    profile = profile_file.get(name)
    if profile.protected != off:
        already = "protected" if not off else "not protected"
        echo(f"Profile {name!r} is {already} already; nothing changed.", err=True)
        return
    agreed = off and consent(profile, policy.UNPROTECT, yes=yes)
    switching.set_protected(name, not off, consent=agreed)
    echo(f"Profile {name!r} is {'no longer protected' if off else 'protected'}.", err=True)


@cli.command()
@profile_argument(required=False)
@click.option("--off", is_flag=True, help="Remove this directory's file instead.")
@click.option(
    "--trust", is_flag=True, help="Trust the file that applies here (a repository's) as it is."
)
def pin(name: str | None, off: bool, trust: bool) -> None:
    """Make this directory and those below it use profile NAME (a .up42keys-profile file).

    The file holds the name alone; commands run here use NAME unless a NAME
    argument, UP42KEYS_PROFILE or the environment credentials say otherwise.
    'pin NAME' trusts the file it writes; a file that came otherwise (a cloned
    repository's) is ignored, with a warning, until 'pin --trust' trusts it for
    the name it holds (see docs/trust-model.md).
    """
    if trust:
        if name is not None or off:
            raise UsageError("'pin --trust' takes no NAME nor --off", "run 'up42keys pin --trust'")
        path, trusted = switching.trust_pin()
        shown = selection.shown(path)
        echo(f"Trusted {shown}: commands here use profile {trusted!r}.", err=True)
        return
    if off:
        if name is not None:
            raise UsageError("'pin --off' takes no NAME", "run 'up42keys pin --off'")
        path, held = switching.unpin()
        if held is None:
            shown = selection.shown(path)
            echo(f"No {paths.PIN_FILE} here ({shown}); nothing was removed.", err=True)
        else:
            chose = f"it chose profile {held!r}" if held else "it named no profile"
            echo(f"Removed {selection.shown(path)} ({chose}).", err=True)
        still = state.find_pin()
        if still is not None and still[2] is None:
            shown = selection.shown(still[1])
            echo(f"{shown} still applies here (profile {still[0]!r}).", err=True)
        elif still is not None:
            echo(selection.ignored_pin_warning(*still), err=True)
        return
    if name is None:
        raise UsageError("give the profile to pin", "run 'up42keys pin NAME' (see 'up42keys list')")
    path = switching.pin(name)
    echo(f"Pinned profile {name!r} to this directory ({selection.shown(path)}).", err=True)
    here = switching.used_here()
    if here is None or here.source != selection.FROM_DIRECTORY:
        winner = ENVIRONMENT_REASON if here is None else f"{selection.PROFILE_ENV}={here.name}"
        echo(f"Note: {winner} wins over the directory's profile in this shell.", err=True)


@cli.command()
@click.option("--explain", is_flag=True, help="Say why: which variable, file or state chose it.")
@click.option("--json", "as_json", is_flag=True, help="Print profile, source and path as JSON.")
def current(explain: bool, as_json: bool) -> None:
    """Print the profile commands use here.

    The first of: UP42KEYS_PROFILE, the environment credentials ('(environment)'),
    the nearest .up42keys-profile in this directory or above, the active profile.
    """
    target = tokens.current_target()
    if as_json:
        import json

        echo(json.dumps({"profile": target.label, "source": target.source, "path": target.path}))
    elif explain:
        echo(f"{target.label} ({reason(target)})")
    else:
        echo(target.label)
