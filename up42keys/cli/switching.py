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
def use(name: str | None, this_shell: bool, yes: bool) -> None:
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
    switching.use(name, min_ttl=settings.min_ttl(), globally=not this_shell)
    if this_shell:
        click.echo(name)
        click.echo(f"Switched this shell to profile {name!r}.", err=True)
    else:
        click.echo(f"Switched to profile {name!r}.", err=True)


@cli.command()
@profile_argument()
@click.option("--off", is_flag=True, help="Clear the mark instead.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before clearing the mark.")
def protect(name: str, off: bool, yes: bool) -> None:
    """Mark NAME as protected (production): the prompt shows it, 'use' asks first.

    --off clears the mark only after a confirmation on a terminal, or with --yes.
    """
    agreed = off and consent(profile_file.get(name), policy.UNPROTECT, yes=yes)
    switching.set_protected(name, not off, consent=agreed)
    state = "no longer protected" if off else "protected"
    click.echo(f"Profile {name!r} is {state}.", err=True)


@cli.command()
@profile_argument(required=False)
@click.option("--off", is_flag=True, help="Remove this directory's file instead.")
def pin(name: str | None, off: bool) -> None:
    """Make this directory and those below it use profile NAME (a .up42keys-profile file).

    The file holds the name alone; commands run here use NAME unless a NAME
    argument, UP42KEYS_PROFILE or the environment credentials say otherwise.
    'use' is not involved, so a protected NAME is not asked about (the prompt shows it).
    """
    if off:
        if name is not None:
            raise UsageError("'pin --off' takes no NAME", "run 'up42keys pin --off'")
        path, held = switching.unpin()
        if held is None:
            click.echo(f"No {paths.PIN_FILE} here ({path}); nothing was removed.", err=True)
        else:
            chose = f"it chose profile {held!r}" if held else "it named no profile"
            click.echo(f"Removed {path} ({chose}).", err=True)
        still = state.find_pin()
        if still is not None:
            click.echo(f"{still[1]} still applies here (profile {still[0]!r}).", err=True)
        return
    if name is None:
        raise UsageError("give the profile to pin", "run 'up42keys pin NAME' (see 'up42keys list')")
    path = switching.pin(name)
    click.echo(f"Pinned profile {name!r} to this directory ({path}).", err=True)
    here = switching.used_here()
    if here is None or here.source != selection.FROM_DIRECTORY:
        winner = ENVIRONMENT_REASON if here is None else f"{selection.PROFILE_ENV}={here.name}"
        click.echo(f"Note: {winner} wins over the directory's profile in this shell.", err=True)


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

        click.echo(
            json.dumps({"profile": target.label, "source": target.source, "path": target.path})
        )
    elif explain:
        click.echo(f"{target.label} ({reason(target)})")
    else:
        click.echo(target.label)
