"""The command line: parse arguments, call the core, print.

No logic of its own lives here beyond presentation; the one error boundary
is ``main``, which turns every error into one line on stderr and its
documented exit code. ``json``, ``datetime`` and ``doctor`` are imported by the
commands that use them, so that ``list`` starts faster.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.shell_completion import CompletionItem

from up42keys import (
    __version__,
    complete,
    errors,
    jwtinfo,
    keychain,
    manager,
    output,
    paths,
    settings,
    shell,
    state,
    store,
    targets,
    tokens,
    transfer,
)
from up42keys.errors import (
    EXIT_ERROR,
    EXIT_OK,
    CancelledError,
    ProfileNotFoundError,
    Up42KeysError,
    UsageError,
)

if TYPE_CHECKING:
    from click.shell_completion import ShellComplete

    from up42keys import doctor  # imported by the command: list need not pay for it

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}
PROG_NAME = "up42keys"


def complete_profiles(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Profile names from the profile file alone: completion never opens the keyring."""
    try:
        names = sorted(store.load())
    except Up42KeysError:
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def profile_argument(required: bool = True, name: str = "name") -> Callable[[F], F]:
    return click.argument(name, required=required, shell_complete=complete_profiles)


def dash_item(ctx: click.Context) -> CompletionItem:
    """``use``'s NAME ``-``: the previous profile; with ``--shell``, undoing this shell's choice."""
    meaning = complete.SHELL_DASH_HELP if ctx.params.get("this_shell") else complete.DASH_HELP
    return CompletionItem(complete.DASH, help=meaning)


def complete_use_name(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Profile names, after a ``-`` where nothing is typed yet (the fast path answers the same)."""
    names = complete_profiles(ctx, param, incomplete)
    return [dash_item(ctx), *names] if not incomplete else names


class UseCommand(click.Command):
    """``use``, whose NAME may be ``-``: Click completes a word ``-`` as an option, so add it."""

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        items = super().shell_complete(ctx, incomplete)
        if incomplete == complete.DASH and ctx.params.get("name") is None:
            return [dash_item(ctx), *items]
        return items


def min_ttl_option(value: str | None) -> float:
    return settings.min_ttl() if value is None else settings.parse_seconds(value, "--min-ttl")


def read_secret(what: str, from_stdin: bool, stdin_flag: str, *, keep_spaces: bool = False) -> str:
    """A secret from one line of stdin, or from a hidden prompt; never from argv."""
    from up42keys import coredumps

    coredumps.forbid()
    if from_stdin:
        try:
            line = sys.stdin.readline()
        except UnicodeDecodeError:
            raise UsageError(f"the {what} is not UTF-8 text", "paste it again") from None
        return targets.check_secret(line, what, keep_spaces=keep_spaces)
    if not sys.stdin.isatty():
        raise UsageError(
            f"no terminal to ask for the {what}", f"pass it as one line on stdin with {stdin_flag}"
        )
    typed = click.prompt(what[0].upper() + what[1:], hide_input=True, err=True)
    return targets.check_secret(typed, what, keep_spaces=keep_spaces)


def describe_expiry(expires_at: int | None, now: float | None = None) -> str:
    if expires_at is None:
        return "none"
    left = expires_at - (time.time() if now is None else now)
    if left <= 0:
        return "expired"
    return f"valid for {human_duration(left)}"


def human_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds} s"


def local_time(epoch: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(epoch).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


@click.group(context_settings=CONTEXT_SETTINGS, invoke_without_command=True)
@click.version_option(__version__, "-V", "--version", prog_name="up42keys")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Named UP42 profiles, API keys and passwords in the OS keyring, fresh tokens.

    Exit codes: 0 ok, 1 other error, 2 usage or bad input, 3 no such profile
    or none active, 4 UP42 rejected the credentials, 5 UP42 unreachable or no
    token in its answer, 6 no usable OS keyring, 130 interrupted (Ctrl-C).
    """
    # Plain 'up42keys' asks for help: it gets it on stdout, and exit 0.
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


AUTH_URL_HELP = "Sign in here instead of the region's host."
API_URL_HELP = f"The UP42 API [default: {targets.DEFAULT_API_URL}, or the account region's]."
CLIENT_ID_HELP = (
    f"The OpenID client the account signs in as (with --account)"
    f" [default: {targets.DEFAULT_CLIENT_ID}]."
)
REGION_CHOICE = click.Choice(list(targets.REGIONS))


@cli.command()
@click.argument("name")
@click.option("--project-id", metavar="UUID", help="The UP42 project's ID (a project profile).")
@click.option(
    "--account", is_flag=True, help="An account profile: sign in with email and password."
)
@click.option("--username", metavar="EMAIL", help="The account's email (with --account).")
@click.option(
    "--region",
    type=REGION_CHOICE,
    help=f"The account's UP42 region (with --account) [default: {targets.DEFAULT_REGION}].",
)
@click.option("--auth-url", metavar="URL", help=AUTH_URL_HELP)
@click.option("--api-url", metavar="URL", help=API_URL_HELP)
@click.option("--client-id", metavar="ID", help=CLIENT_ID_HELP)
@click.option(
    "--from-sdk-config",
    metavar="FILE",
    help="Take username and password from up42-py's JSON config file (with --account).",
)
@click.option("--api-key-stdin", is_flag=True, help="Read the API key as one line from stdin.")
@click.option("--password-stdin", is_flag=True, help="Read the password as one line from stdin.")
@click.option("--no-verify", is_flag=True, help="Store without minting a token first.")
@click.option("--force", is_flag=True, help="Replace an existing profile of that name.")
@click.option("--protected", is_flag=True, help="Mark it as production (see 'protect').")
def add(
    name: str,
    project_id: str | None,
    account: bool,
    username: str | None,
    region: str | None,
    auth_url: str | None,
    api_url: str | None,
    client_id: str | None,
    from_sdk_config: str | None,
    api_key_stdin: bool,
    password_stdin: bool,
    no_verify: bool,
    force: bool,
    protected: bool,
) -> None:
    """Add profile NAME; its API key or password goes to the OS keyring, never to a file.

    A project profile (--project-id) mints with the project's API key; an
    account profile (--account --username EMAIL) signs in with the account's
    password. The secret is asked for at a hidden prompt, or read from stdin
    with --api-key-stdin or --password-stdin; --from-sdk-config FILE takes an
    account's username and password from up42-py's config file instead (the
    file is left as it is). Unless --no-verify, UP42 must accept it first;
    when it does not, nothing is stored.
    """
    profile: targets.Profile
    sdk_password = None
    if account:
        refuse_flags("--account", ("--project-id", project_id), ("--api-key-stdin", api_key_stdin))
        if from_sdk_config is not None:
            refuse_flags("--from-sdk-config", ("--password-stdin", password_stdin))
            username, sdk_password = username_and_password_from(from_sdk_config, username)
        if not username:
            raise UsageError("--account needs --username EMAIL, the account's email")
        profile = targets.account_profile(
            name,
            username,
            region=region,
            auth_url=auth_url,
            api_url=api_url,
            client_id=client_id,
            protected=protected,
        )
    else:
        if project_id is None:
            raise UsageError(
                "give --project-id UUID for a project profile, "
                "or --account --username EMAIL for an account profile"
            )
        refuse_flags(
            "--project-id",
            ("--username", username),
            ("--region", region),
            ("--auth-url", auth_url),
            ("--client-id", client_id),
            ("--from-sdk-config", from_sdk_config),
            ("--password-stdin", password_stdin),
        )
        profile = targets.project_profile(name, project_id, api_url, protected=protected)
    manager.check_can_add(name, force)
    # The other kind's stdin flag was refused above.
    secret = sdk_password or read_profile_secret(profile, api_key_stdin or password_stdin)
    added = manager.add(profile, secret, verify=not no_verify, force=force)
    state = "verified" if added.record else "not verified"
    active = ", active" if added.active else ""
    protection = ", protected" if added.profile.protected else ""
    click.echo(f"Added profile {name!r} ({state}{active}{protection}).", err=True)
    if from_sdk_config is not None:
        click.echo(
            f"{from_sdk_config} still holds the password in plain text; up42keys leaves it as it"
            f" is. Delete it with: rm -- {transfer.shell_quoted(os.path.abspath(from_sdk_config))}",
            err=True,
        )


def username_and_password_from(config_file: str, username: str | None) -> tuple[str, str]:
    """up42-py's config file's username (which --username may repeat) and password."""
    sdk_username, password = transfer.read_sdk_config(config_file)
    if username is not None and username != sdk_username:
        raise UsageError(
            f"--username {username} differs from the username in {config_file}",
            "leave --username out, or give the same one",
        )
    return sdk_username, password


def read_profile_secret(profile: targets.Profile, from_stdin: bool) -> str:
    """The secret that the profile's kind asks for, by the rules of ``read_secret``."""
    return read_secret(
        profile.asks_for, from_stdin, profile.stdin_flag, keep_spaces=profile.keeps_spaces
    )


def verified(record: object) -> str:
    return "verified" if record is not None else "not verified"


@cli.command()
@profile_argument()
@click.option("--api-url", metavar="URL", help="The UP42 API.")
@click.option("--auth-url", metavar="URL", help=AUTH_URL_HELP + " (account)")
@click.option(
    "--region",
    type=REGION_CHOICE,
    help="The account's region; URLs that were the old region's hosts follow it.",
)
@click.option("--username", metavar="EMAIL", help="The account's email (account).")
@click.option("--client-id", metavar="ID", help="The OpenID client it signs in as (account).")
@click.option("--no-verify", is_flag=True, help="Change it without minting a token first.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before editing a protected profile.")
def edit(
    name: str,
    api_url: str | None,
    auth_url: str | None,
    region: str | None,
    username: str | None,
    client_id: str | None,
    no_verify: bool,
    yes: bool,
) -> None:
    """Change what is not secret in profile NAME; its stored secret stays.

    Unless --no-verify, UP42 must give a token for the new settings (with the
    stored secret) first; when it does not, nothing changes. The old tokens are
    dropped. A protected profile is changed only after a confirmation on a
    terminal, or with --yes; without either nothing changes (exit 2).
    """
    profile = store.get(name)
    given = {
        option: value
        for option, value in (
            ("api_url", api_url),
            ("auth_url", auth_url),
            ("region", region),
            ("username", username),
            ("client_id", client_id),
        )
        if value is not None
    }
    if not given:
        raise UsageError(
            f"nothing to change in profile {name!r}",
            "give --api-url, --auth-url, --region, --username or --client-id",
        )
    for option in given:
        if option not in profile.editable:
            raise UsageError(
                f"--{option.replace('_', '-')} does not go with a {profile.kind} profile"
            )
    edited = profile.edited(**given)
    if edited == profile:
        click.echo(f"Profile {name!r} already has these settings; nothing changed.", err=True)
        return
    if profile.protected and not yes:
        words = [f"--{option.replace('_', '-')}={value}" for option, value in given.items()]
        confirm_change_of_protected(name, "edit", [*words, *(["--no-verify"] if no_verify else [])])
    record = manager.edit(profile, edited, verify=not no_verify)
    click.echo(f"Edited profile {name!r} ({verified(record)}).", err=True)


@cli.command("set-secret")
@profile_argument()
@click.option("--api-key-stdin", is_flag=True, help="Read the API key as one line from stdin.")
@click.option("--password-stdin", is_flag=True, help="Read the password as one line from stdin.")
@click.option("--no-verify", is_flag=True, help="Store it without minting a token first.")
def set_secret(name: str, api_key_stdin: bool, password_stdin: bool, no_verify: bool) -> None:
    """Store a new API key or password for NAME (it was rotated); every other setting stays.

    Asked for at a hidden prompt, or read from stdin with --api-key-stdin (a
    project profile) or --password-stdin (an account). Unless --no-verify, UP42
    must accept it first; when it does not, nothing changes. Also what stores
    the secret of an imported profile.
    """
    profile = store.get(name)
    given = {"--api-key-stdin": api_key_stdin, "--password-stdin": password_stdin}
    other_flag = next(flag for flag in given if flag != profile.stdin_flag)
    if given[other_flag]:
        raise UsageError(
            f"{other_flag} does not go with a {profile.kind} profile", f"use {profile.stdin_flag}"
        )
    keychain.require()
    secret = read_profile_secret(profile, api_key_stdin or password_stdin)
    record = manager.set_secret(profile, secret, verify=not no_verify)
    click.echo(f"Stored the {profile.asks_for} of profile {name!r} ({verified(record)}).", err=True)


@cli.command("export")
@click.argument("names", nargs=-1, metavar="[NAME]...", shell_complete=complete_profiles)
def export_command(names: tuple[str, ...]) -> None:
    """Print the profiles' definitions (all without NAME) as TOML, without secrets.

    'up42keys import FILE' adds them elsewhere; each then needs its secret
    ('up42keys set-secret NAME').
    """
    profiles = store.load()
    chosen = [store.pick(profiles, targets.check_name(name)) for name in dict.fromkeys(names)]
    if not names:
        chosen = [profiles[name] for name in sorted(profiles)]
    if not chosen:
        raise ProfileNotFoundError(
            "no profiles to export", "add one with 'up42keys add' or 'up42keys import FILE'"
        )
    click.echo(transfer.export_toml(chosen), nl=False)


@cli.command("import")
@click.argument("file", metavar="FILE|-")
@click.option("--force", is_flag=True, help="Replace existing profiles of those names.")
def import_command(file: str, force: bool) -> None:
    """Add the profiles that FILE ('-': stdin) defines, as 'export' prints them.

    No secret is imported, and a file that holds one is refused (exit 2):
    store each profile's secret with 'up42keys set-secret NAME'. An existing
    name is refused unless --force; nothing is imported unless all are.
    """
    if file == "-":
        text, where = sys.stdin.read(), "stdin"
    else:
        try:
            with open(file, encoding="utf-8") as stream:
                text, where = stream.read(), file
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or "not UTF-8 text"
            raise UsageError(
                f"cannot read {file} ({reason})", "give a file 'export' wrote"
            ) from None
    for profile in manager.import_profiles(transfer.parse_import(text, where), force=force):
        secret = (
            "its secret kept"
            if profile.has_secret
            else f"no secret yet: store it with '{profile.set_secret_command()}'"
        )
        click.echo(f"Imported profile {profile.name!r} ({secret}).", err=True)


def refuse_flags(kind_flag: str, *flags: tuple[str, object]) -> None:
    """Options that belong to the other kind of profile are a usage error, not ignored."""
    for flag, value in flags:
        if value:
            raise UsageError(f"{flag} does not go with {kind_flag}")


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def list_profiles(as_json: bool) -> None:
    """List the profiles, their kind, the active one and their cached tokens' state."""
    rows = manager.rows()
    if as_json:
        import json

        click.echo(json.dumps([row_json(row) for row in rows], indent=2))
        return
    if not rows:
        click.echo(
            "No profiles yet; add one with 'up42keys add NAME --project-id ID' "
            "or 'up42keys add NAME --account --username EMAIL'.",
            err=True,
        )
        return
    now = time.time()
    table = [
        (
            "*" if row.active else ">" if row.used_here else " ",
            row.profile.name,
            row.profile.kind,
            row.profile.identity,
            "" if row.profile.api_url == row.profile.default_api_url else row.profile.api_url,
            describe_expiry(row.token_expires_at, now) if row.profile.has_secret else "no secret",
        )
        for row in rows
    ]
    header = (" ", "NAME", "KIND", "PROJECT/ACCOUNT", "API", "TOKEN")
    widths = [max(len(line[column]) for line in [header, *table]) for column in range(len(header))]
    for line in [header, *table]:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
    here = manager.used_here()
    if any(row.used_here and not row.active for row in rows) and here is not None:
        click.echo(f"> {here.name}: used here ({reason(here)}), not the active profile", err=True)


def row_json(row: manager.Row) -> dict[str, Any]:
    profile = row.profile
    return {
        "name": profile.name,
        "kind": profile.kind,
        "project_id": profile.project_id,
        "username": profile.username,
        "region": profile.region,
        "api_url": profile.api_url,
        "client_id": profile.client_id,
        "active": row.active,
        "used_here": row.used_here,
        "protected": profile.protected,
        "has_secret": profile.has_secret,
        "token_expires_at": row.token_expires_at,
    }


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
        name = manager.previous()
    profile = store.get(name)
    if profile.protected and not yes:
        confirm_protected(name)
    manager.use(name, min_ttl=settings.min_ttl(), globally=not this_shell)
    if this_shell:
        click.echo(name)
        click.echo(f"Switched this shell to profile {name!r}.", err=True)
    else:
        click.echo(f"Switched to profile {name!r}.", err=True)


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
    names = sorted(store.load())
    if not names:
        raise tokens.no_active_profile()
    active = state.read_active()
    from up42keys import picker  # subprocess and shutil: only the picker pays for them

    fzf = picker.fzf_path()
    chosen = picker.choose_with_fzf(fzf, names, active) if fzf else choose_from_menu(names, active)
    if chosen is None:
        raise Up42KeysError("no profile chosen; nothing was changed")
    return chosen


def choose_from_menu(names: list[str], active: str | None) -> str | None:
    """A numbered menu on stderr (stdout may be captured by the shell function)."""
    for number, name in enumerate(names, 1):
        mark = "*" if name == active else " "
        click.echo(f"{mark} {number:>2}) {name}", err=True)
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
        click.echo(f"No profile {answer!r} in the list; give its number or name.", err=True)


def confirm_protected(name: str) -> None:
    """Ask before switching to production, where someone can answer; a script has decided."""
    if not sys.stdin.isatty():
        click.echo(f"Note: profile {name!r} is protected.", err=True)
        return
    if not click.confirm(f"Profile {name!r} is protected. Use it?", err=True):
        raise Up42KeysError(f"not switched to protected profile {name!r}")


def confirm_change_of_protected(name: str, verb: str, options: list[str] | None = None) -> None:
    """Ask before changing production; without a terminal, only an explicit --yes will do.

    Unlike ``use``, a script that removes or edits production may have got the name
    wrong, and the change cannot be undone. ``options`` are the command's own, which
    the fix repeats so that it does what was asked.
    """
    if not sys.stdin.isatty():
        import shlex

        command = shlex.join(["up42keys", verb, name, *(options or []), "--yes"])
        raise UsageError(
            f"profile {name!r} is protected",
            f"to {verb} it without a terminal, run '{command}'",
        )
    if not click.confirm(f"Profile {name!r} is protected. {verb.capitalize()} it?", err=True):
        raise Up42KeysError(f"profile {name!r} is protected and was not changed")


@cli.command()
@profile_argument()
@click.option("--off", is_flag=True, help="Clear the mark instead.")
def protect(name: str, off: bool) -> None:
    """Mark NAME as protected (production): the prompt shows it, 'use' asks first."""
    manager.set_protected(name, not off)
    state = "no longer protected" if off else "protected"
    click.echo(f"Profile {name!r} is {state}.", err=True)


@cli.command()
@profile_argument(required=False)
@click.option("--refresh", is_flag=True, help="Mint a new token even if the cached one is valid.")
@click.option(
    "--min-ttl",
    metavar="SECONDS",
    help=f"Renew when fewer seconds are left [default: {settings.MIN_TTL_ENV} or 60].",
)
@click.option("--json", "as_json", is_flag=True, help="Print profile, project, token and expiry.")
def token(name: str | None, refresh: bool, min_ttl: str | None, as_json: bool) -> None:
    """Print a valid token of NAME (default: the profile 'current' prints)."""
    label, record = tokens.get_token_record(name, min_ttl=min_ttl_option(min_ttl), refresh=refresh)
    if as_json:
        import json

        click.echo(
            json.dumps(
                {
                    "profile": label,
                    "project_id": tokens.project_id_of(record),
                    "token": record.token,
                    "expires_at": record.expires_at,
                }
            )
        )
    else:
        click.echo(record.token)


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


ENVIRONMENT_REASON = f"{targets.PROJECT_ID_ENV} and {targets.PROJECT_KEY_ENV}"


def reason(target: targets.ProfileName | targets.EnvironmentCredentials) -> str:
    """Why commands here use ``target``, as ``current --explain`` and ``list`` say it."""
    if target.source == targets.FROM_DIRECTORY:
        return f"from {target.path}"
    return {
        targets.FROM_SHELL: targets.PROFILE_ENV,
        targets.FROM_ENVIRONMENT: ENVIRONMENT_REASON,
        targets.FROM_ACTIVE: "the active profile",
    }[target.source]


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
        path, held = manager.unpin()
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
    path = manager.pin(name)
    click.echo(f"Pinned profile {name!r} to this directory ({path}).", err=True)
    here = manager.used_here()
    if here is None or here.source != targets.FROM_DIRECTORY:
        winner = ENVIRONMENT_REASON if here is None else f"{targets.PROFILE_ENV}={here.name}"
        click.echo(f"Note: {winner} wins over the directory's profile in this shell.", err=True)


@cli.command()
@profile_argument()
@click.option("--yes", "-y", is_flag=True, help="Do not ask before removing a protected profile.")
def remove(name: str, yes: bool) -> None:
    """Remove profile NAME, its keyring entry and its cached tokens.

    A protected profile is removed only after a confirmation on a terminal,
    or with --yes; without a terminal and --yes nothing is removed (exit 2).
    """
    if store.get(name).protected and not yes:
        confirm_change_of_protected(name, "remove")
    manager.remove(name)
    click.echo(f"Removed profile {name!r}.", err=True)


@cli.command()
@profile_argument(name="old")
@click.argument("new")
def rename(old: str, new: str) -> None:
    """Rename profile OLD to NEW; its key, tokens and active state follow."""
    manager.rename(old, new)
    click.echo(f"Renamed profile {old!r} to {new!r}.", err=True)


@cli.command()
@profile_argument(required=False)
def inspect(name: str | None) -> None:
    """Show the decoded header and claims of NAME's token, not the token itself."""
    import json

    label, record = tokens.get_token_record(name, min_ttl=0)
    header = jwtinfo.header(record.token)
    claims = jwtinfo.claims(record.token)
    left = record.seconds_left()
    click.echo(f"profile: {label}")
    click.echo("header:\n" + json.dumps(header, indent=2, sort_keys=True))
    click.echo("claims:\n" + json.dumps(claims, indent=2, sort_keys=True))
    click.echo(f"expires: {local_time(record.expires_at)} (in {human_duration(left)})")


@cli.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as a JSON object.")
@click.option("--offline", is_flag=True, help="Check nothing that needs the network.")
@click.option(
    "--fix",
    is_flag=True,
    help="First finish an interrupted change and remove what killed processes left.",
)
def doctor_command(as_json: bool, offline: bool, fix: bool) -> int:
    """Check the keyring, files, profiles and clock, and say how to fix each problem.

    Each profile's check mints one token (not cached); --offline skips them.
    Exit 0 when all is well, 1 when a problem was found.
    """
    from up42keys import doctor, transition

    fixed = transition.repair() if fix else []
    checks = doctor.run(offline=offline)
    problems = [check for check in checks if check.status == "problem"]
    if as_json:
        import json

        report = {"ok": not problems, "fixed": fixed, "checks": [check_json(c) for c in checks]}
        click.echo(json.dumps(report, indent=2))
    else:
        for line in fixed:
            click.echo(f"{'fixed':<8} {line}")
        for check in checks:
            advice = f" -> fix: {check.fix}" if check.fix else ""
            click.echo(f"{check.status:<8} {check.name}: {check.detail}{advice}")
        click.echo(f"{len(problems)} problem(s) found." if problems else "All is well.")
    return EXIT_ERROR if problems else EXIT_OK


def check_json(check: doctor.Check) -> dict[str, Any]:
    return {
        "name": check.name,
        "status": check.status,
        "detail": check.detail,
        "fix": check.fix,
        "data": check.data,
    }


SHELL_CHOICE = click.Choice(shell.SHELLS)


@cli.command()
@click.argument("shell_name", metavar="bash|zsh|fish", type=SHELL_CHOICE)
def completion(shell_name: str) -> None:
    """Print the TAB-completion script for a shell (see README for where it goes)."""
    from click.shell_completion import BashComplete, ZshComplete

    completers: dict[str, type[ShellComplete]] = {
        "bash": BashComplete,
        "zsh": ZshComplete,
        "fish": whole_description_fish_complete(),
    }
    script = completers[shell_name](cli, {}, PROG_NAME, complete.COMPLETE_VAR).source()
    click.echo(script, nl=not script.endswith("\n"))


def whole_description_fish_complete() -> type[ShellComplete]:
    """Click's fish completion, but splitting each answer at its first comma only.

    Click's fish script splits ``type,value<TAB>description`` at every comma, so a
    description was cut at its first comma.
    """
    from click.shell_completion import FishComplete

    class WholeDescriptionFishComplete(FishComplete):
        source_template = FishComplete.source_template.replace(
            'string split "," $completion', 'string split -m 1 "," $completion'
        )

    return WholeDescriptionFishComplete


@cli.command("shell-init")
@click.argument("shell_name", metavar="bash|zsh|fish", type=SHELL_CHOICE)
def shell_init(shell_name: str) -> None:
    """Print the prompt function and 'use --shell' support for a shell.

    bash and zsh: eval "$(up42keys shell-init bash)"; fish: up42keys shell-init fish | source
    """
    click.echo(shell.init_code(shell_name), nl=False)


def target_environment(name: str | None) -> dict[str, str]:
    """The variables that hand the target's token and project to another program."""
    label, record = tokens.get_token_record(name, min_ttl=settings.min_ttl())
    return shell.environment(label, tokens.project_id_of(record), record.token, record.expires_at)


@cli.command()
@profile_argument(required=False)
@click.option(
    "--shell",
    "shell_name",
    type=SHELL_CHOICE,
    help="Print fish syntax for fish [default: POSIX, for bash, zsh and sh].",
)
def env(name: str | None, shell_name: str | None) -> None:
    """Print UP42_TOKEN, UP42_PROJECT_ID and UP42KEYS_PROFILE as lines to eval.

    eval "$(up42keys env prod)"; fish: up42keys env prod --shell fish | source
    """
    click.echo(shell.env_lines(target_environment(name), shell_name), nl=False)


class ExecCommand(click.Command):
    """A command whose arguments after the first ``--`` are another program's, untouched.

    Click drops a ``--`` and would then read the program as NAME; splitting
    first keeps NAME optional and its completion working.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            split = args.index("--")
            args, ctx.meta[EXEC_ARGV] = args[:split], args[split + 1 :]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [*super().collect_usage_pieces(ctx), "-- CMD [ARGS]..."]


EXEC_ARGV = "up42keys.exec.argv"


@cli.command(
    "exec",
    cls=ExecCommand,
    context_settings={"allow_extra_args": True},
)
@profile_argument(required=False)
@click.option(
    "--gdal",
    is_flag=True,
    help="Also give GDAL (gdalinfo, rasterio, rio...) the token, for the API origin only.",
)
@click.pass_context
def exec_command(ctx: click.Context, name: str | None, gdal: bool) -> int:
    """Run a command with NAME's UP42_TOKEN, UP42_PROJECT_ID and UP42KEYS_PROFILE set.

    up42keys exec [NAME] -- CMD [ARGS...]. UP42_TOKEN_FILE names a file that holds
    a valid token for as long as CMD runs. Exits with CMD's exit code (128+N when
    a signal N killed it); signals sent to up42keys reach CMD.
    """
    argv = ctx.meta.get(EXEC_ARGV)
    if ctx.args or not argv:
        raise UsageError("give the command after '--': up42keys exec [NAME] -- CMD [ARGS...]")
    from up42keys import execute

    return execute.run_with_token(name, argv, warn, gdal=gdal)


def warn(message: str) -> None:
    click.echo(f"up42keys: warning: {message}", err=True)


DEBUG_ENV = "UP42KEYS_DEBUG"


def fail(error: Up42KeysError) -> int:
    """Print the error as its one line (after its traceback with ``UP42KEYS_DEBUG=1``)."""
    if os.environ.get(DEBUG_ENV) == "1":
        import traceback

        click.echo(traceback.format_exc().rstrip("\n"), err=True)
    click.echo(f"up42keys: error: {errors.render(error)}", err=True)
    return error.exit_code


def click_error(message: str, exit_code: int) -> Up42KeysError:
    """One of Click's errors as one of ours, so that it is printed the same way."""
    error = Up42KeysError(message)
    error.exit_code = exit_code
    return error


def usage_message(error: click.UsageError) -> str:
    """Click's message, without repeating stray arguments: a pasted API key may be among them."""
    message = error.format_message()
    if message.startswith("Got unexpected extra argument"):
        return message.split(" (", 1)[0] + " (not repeated here, in case it is a secret)"
    return message


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0911 - one exit per kind of error
    """Run the command line; the one place where errors become a line on stderr and an exit code."""
    try:
        result = cli.main(
            args=argv,
            prog_name=PROG_NAME,
            complete_var=complete.COMPLETE_VAR,
            standalone_mode=False,
        )
    except KeyboardInterrupt:
        # Where SIGINT is Python's (``python -m up42keys``, a program calling main); the
        # ``up42keys`` command lets the signal end the process (up42keys/__init__.py).
        return fail(CancelledError("interrupted; nothing was changed"))
    except Up42KeysError as error:
        return fail(error)
    except click.UsageError as error:
        command = error.ctx.command_path if error.ctx else "up42keys"
        return fail(UsageError(f"{usage_message(error)} (see '{command} --help')"))
    except click.ClickException as error:
        return fail(click_error(error.format_message(), error.exit_code))
    except click.Abort as error:
        # Click turns Ctrl-C at a prompt, or inside a command, into Abort.
        if isinstance(error.__cause__ or error.__context__, KeyboardInterrupt):
            return fail(CancelledError("interrupted; nothing was changed"))
        return fail(click_error("aborted", EXIT_ERROR))
    except BrokenPipeError:
        return output.discard_stdout()
    except OSError as error:
        # A full disk, a read-only or misplaced directory: the system's reason, not a traceback.
        where = f" ({error.filename})" if error.filename else ""
        problem = f"{error.strerror or error}{where}"
        return fail(Up42KeysError(problem, "check that path and the disk"))
    return result if isinstance(result, int) else 0
