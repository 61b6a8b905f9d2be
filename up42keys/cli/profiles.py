"""Defining profiles: ``add``, ``edit``, ``set-secret``, ``export``, ``import``, ``list``,
``remove``, ``rename`` and ``inspect``.

The options that give a kind's settings are made from the kinds' declarations
(``cli.options``); which of them go with which kind is read from there too.
"""

from __future__ import annotations

import os
from typing import Any

import click

from up42keys import kinds, rules, state
from up42keys.cli.app import cli, profile_argument
from up42keys.cli.completion import complete_profiles
from up42keys.cli.consent import consent
from up42keys.cli.options import (
    STDIN_FLAGS,
    editable_settings,
    kind_options,
    parameter,
    setting_option,
    stdin_options,
    together,
)
from up42keys.cli.prompts import read_profile_secret
from up42keys.cli.render import (
    human_duration,
    local_time,
    one_of,
    reason,
    row_json,
    verified,
)
from up42keys.cli.table import print_table
from up42keys.cli.terminal import echo
from up42keys.errors import ProfileNotFoundError, UsageError
from up42keys.ops import lifecycle, policy, switching, tokens, transfer
from up42keys.remote import jwtinfo
from up42keys.store import keychain, profile_file

KIND_OPTIONS = kind_options()
FROM_SDK_CONFIG = "--from-sdk-config"
# Every option of add that goes with some kinds only, in the order --help lists them.
ADD_FLAGS = (*KIND_OPTIONS, FROM_SDK_CONFIG, *STDIN_FLAGS)
EDITABLE = editable_settings()


@cli.command()
@click.argument("name")
@together(KIND_OPTIONS.values())
@click.option(
    FROM_SDK_CONFIG,
    metavar="FILE",
    type=click.Path(),
    help="Take username and password from up42-py's JSON config file (with --account).",
)
@stdin_options
@click.option("--no-verify", is_flag=True, help="Store without minting a token first.")
@click.option("--force", is_flag=True, help="Replace an existing profile of that name.")
@click.option("--protected", is_flag=True, help="Mark it as production (see 'protect').")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before replacing a protected profile.")
def add(name: str, no_verify: bool, force: bool, protected: bool, yes: bool, **given: Any) -> None:
    """Add profile NAME; its API key or password goes to the OS keyring, never to a file.

    A project profile (--project-id) mints with the project's API key; an
    account profile (--account --username EMAIL) signs in with the account's
    password. The secret is asked for at a hidden prompt, or read from stdin
    with --api-key-stdin or --password-stdin; --from-sdk-config FILE takes an
    account's username and password from up42-py's config file instead (the
    file is left as it is). Unless --no-verify, UP42 must accept it first;
    when it does not, nothing is stored. A protected profile is replaced (--force)
    only after a confirmation on a terminal, or with --yes, and stays protected.
    """
    profile: kinds.Profile
    sdk_password = None
    from_sdk_config: str | None = given["from_sdk_config"]
    username: str | None = given["username"]
    if given["account"]:
        refuse_other_kinds(kinds.AccountProfile, given, FROM_SDK_CONFIG)
        if from_sdk_config is not None:
            stdin_flag = kinds.AccountProfile.stdin_flag
            refuse_flags(FROM_SDK_CONFIG, (stdin_flag, given[parameter(stdin_flag)]))
            username, sdk_password = username_and_password_from(from_sdk_config, username)
        if not username:
            raise UsageError("--account needs --username EMAIL, the account's email")
        profile = kinds.account_profile(
            name,
            username,
            region=given["region"],
            auth_url=given["auth_url"],
            api_url=given["api_url"],
            client_id=given["client_id"],
            protected=protected,
        )
    else:
        if from_sdk_config is not None and given["project_id"] is None:
            command = rules.shell_command(["up42keys", "add", name, "--account", FROM_SDK_CONFIG])
            raise UsageError(
                f"{FROM_SDK_CONFIG} gives an account's username and password",
                f"add --account: {command} FILE",
            )
        if given["project_id"] is None:
            raise UsageError(
                "give --project-id UUID for a project profile, "
                "or --account --username EMAIL for an account profile"
            )
        refuse_other_kinds(kinds.ProjectProfile, given)
        profile = kinds.project_profile(
            name, given["project_id"], given["api_url"], protected=protected
        )
    lifecycle.check_can_add(name, force)
    agreed = consent(profile_file.load().get(name), policy.REPLACE, yes=yes)
    # The other kind's stdin flag was refused above.
    secret = sdk_password or read_profile_secret(profile, given[parameter(profile.stdin_flag)])
    added = lifecycle.add(profile, secret, verify=not no_verify, force=force, consent=agreed)
    state = "verified" if added.record else "not verified"
    active = ", active" if added.active else ""
    protection = ", protected" if added.profile.protected else ""
    echo(f"Added profile {name!r} ({state}{active}{protection}).", err=True)
    if from_sdk_config is not None:
        echo(
            f"{from_sdk_config} still holds the password in plain text; up42keys leaves it as it"
            f" is. Delete it with: rm -- {rules.shell_quote(os.path.abspath(from_sdk_config))}",
            err=True,
        )


def refuse_other_kinds(kind: type[kinds.ProfileKind], given: dict[str, Any], *own: str) -> None:
    """``add``'s options that the kind does not declare (nor ``own``) are refused, in order."""
    declared = {kind.kind_flag, kind.stdin_flag, *own, *(s.flag for s in kind.SETTINGS)}
    others = [flag for flag in ADD_FLAGS if flag not in declared]
    refuse_flags(kind.kind_flag, *((flag, given[parameter(flag)]) for flag in others))


def refuse_flags(kind_flag: str, *flags: tuple[str, object]) -> None:
    """Options that belong to the other kind of profile are a usage error, not ignored."""
    for flag, value in flags:
        if value:
            raise UsageError(f"{flag} does not go with {kind_flag}")


def username_and_password_from(config_file: str, username: str | None) -> tuple[str, str]:
    """up42-py's config file's username (which --username may repeat) and password."""
    sdk_username, password = transfer.read_sdk_config(config_file)
    if username is not None and username != sdk_username:
        raise UsageError(
            f"--username {username} differs from the username in {config_file}",
            "leave --username out, or give the same one",
        )
    return sdk_username, password


@cli.command()
@profile_argument()
@together(setting_option(s, s.edit_help or s.help) for s in EDITABLE)
@click.option("--no-verify", is_flag=True, help="Change it without minting a token first.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before editing a protected profile.")
def edit(name: str, no_verify: bool, yes: bool, **settings: str | None) -> None:
    """Change what is not secret in profile NAME; its stored secret stays.

    Unless --no-verify, UP42 must give a token for the new settings (with the
    stored secret) first; when it does not, nothing changes. The old tokens are
    dropped. A protected profile is changed only after a confirmation on a
    terminal, or with --yes; without either nothing changes (exit 2). A new
    API or sign-in URL keeps the secret only when verified there; with
    --no-verify the secret is deleted and 'set-secret' stores one for it.
    """
    profile = profile_file.get(name)
    flag_of = {setting.field: setting.flag for setting in EDITABLE}
    given = {field: value for field, value in settings.items() if value is not None}
    if not given:
        own = [flag_of[field] for field in profile.editable()]
        raise UsageError(
            f"nothing to change in profile {name!r}",
            f"give {one_of(own)}",
        )
    for field in given:
        if field not in profile.editable():
            raise UsageError(f"{flag_of[field]} does not go with a {profile.kind} profile")
    edited = profile.edited(**given)
    if edited == profile:
        echo(f"Profile {name!r} already has these settings; nothing changed.", err=True)
        return
    agreed = consent(profile, policy.EDIT, yes=yes)
    stored, record = lifecycle.edit(profile, edited, verify=not no_verify, consent=agreed)
    echo(f"Edited profile {name!r} ({verified(record)}).", err=True)
    if profile.has_secret and not stored.has_secret:
        echo(
            f"Its {profile.asks_for} was for the old settings and was deleted; "
            f"store one with '{stored.set_secret_command()}'.",
            err=True,
        )


@cli.command("set-secret")
@profile_argument()
@stdin_options
@click.option("--no-verify", is_flag=True, help="Store it without minting a token first.")
def set_secret(name: str, no_verify: bool, **stdin: bool) -> None:
    """Store a new API key or password for NAME (it was rotated); every other setting stays.

    Asked for at a hidden prompt, or read from stdin with --api-key-stdin (a
    project profile) or --password-stdin (an account). Unless --no-verify, UP42
    must accept it first; when it does not, nothing changes. Also what stores
    the secret of an imported profile.
    """
    profile = profile_file.get(name)
    for flag in STDIN_FLAGS:
        if flag != profile.stdin_flag and stdin[parameter(flag)]:
            raise UsageError(
                f"{flag} does not go with a {profile.kind} profile", f"use {profile.stdin_flag}"
            )
    keychain.require()
    secret = read_profile_secret(profile, stdin[parameter(profile.stdin_flag)])
    record = lifecycle.set_secret(profile, secret, verify=not no_verify)
    echo(f"Stored the {profile.asks_for} of profile {name!r} ({verified(record)}).", err=True)


@cli.command("export")
@click.argument("names", nargs=-1, metavar="[NAME]...", shell_complete=complete_profiles)
def export_command(names: tuple[str, ...]) -> None:
    """Print the profiles' definitions (all without NAME) as TOML, without secrets.

    'up42keys import FILE' adds them elsewhere; each then needs its secret
    ('up42keys set-secret NAME').
    """
    profiles = profile_file.load()
    chosen = [profile_file.pick(profiles, rules.check_name(name)) for name in dict.fromkeys(names)]
    if not names:
        chosen = [profiles[name] for name in sorted(profiles)]
    if not chosen:
        raise ProfileNotFoundError(
            "no profiles to export", "add one with 'up42keys add' or 'up42keys import FILE'"
        )
    echo(transfer.export_toml(chosen), nl=False)


@cli.command("import")
@click.argument("file", metavar="FILE|-", type=click.Path(allow_dash=True))
@click.option("--force", is_flag=True, help="Replace existing profiles of those names.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before replacing a protected profile.")
def import_command(file: str, force: bool, yes: bool) -> None:
    """Add the profiles that FILE ('-': stdin) defines, as 'export' prints them.

    No secret is imported, and a file that holds one is refused (exit 2):
    store each profile's secret with 'up42keys set-secret NAME'. An existing
    name is refused unless --force; nothing is imported unless all are. A
    replaced profile stays protected, is replaced only after a confirmation on a
    terminal or with --yes, and keeps its secret only for the same project or
    account at the same host.
    """
    text, where = transfer.read_import(file)
    imported = transfer.parse_import(text, where)
    stored = profile_file.load()
    replaced = [stored[p.name] for p in imported if force and p.name in stored]
    guarded = [old for old in replaced if policy.needs_consent(old)]
    # Each protected one is asked about; --yes answers for all.
    agreed = yes or (
        bool(guarded) and all([consent(old, policy.REPLACE, yes=yes) for old in guarded])
    )
    for profile in lifecycle.import_profiles(imported, force=force, consent=agreed):
        secret = (
            "its secret kept"
            if profile.has_secret
            else f"no secret yet: store it with '{profile.set_secret_command()}'"
        )
        echo(f"Imported profile {profile.name!r} ({secret}).", err=True)


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def list_profiles(as_json: bool) -> None:
    """List the profiles, their kind, the active one and their cached tokens' state."""
    rows = lifecycle.rows()
    if as_json:
        import json

        echo(json.dumps([row_json(row) for row in rows], indent=2))
        return
    if not rows:
        echo(
            "No profiles yet; add one with 'up42keys add NAME --project-id ID' "
            "or 'up42keys add NAME --account --username EMAIL'.",
            err=True,
        )
        return
    print_table(rows)
    here = switching.used_here()
    if any(row.used_here and not row.active for row in rows) and here is not None:
        echo(f"> {here.name}: used here ({reason(here)}), not the active profile", err=True)


@cli.command()
@profile_argument()
@click.option("--yes", "-y", is_flag=True, help="Do not ask before removing a protected profile.")
def remove(name: str, yes: bool) -> None:
    """Remove profile NAME, its keyring entry and its cached tokens.

    A protected profile is removed only after a confirmation on a terminal,
    or with --yes; without a terminal and --yes nothing is removed (exit 2).
    """
    agreed = consent(profile_file.get(name), policy.REMOVE, yes=yes)
    was_active = state.read_active() == name
    lifecycle.remove(name, consent=agreed)
    if was_active:
        echo(
            f"Removed profile {name!r}, the active one; no profile is active now"
            " (choose one with 'up42keys use NAME').",
            err=True,
        )
    else:
        echo(f"Removed profile {name!r}.", err=True)


@cli.command()
@profile_argument(name="old")
@click.argument("new")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before renaming a protected profile.")
def rename(old: str, new: str, yes: bool) -> None:
    """Rename profile OLD to NEW; its key, tokens and active state follow.

    A protected profile is renamed only after a confirmation on a terminal, or
    with --yes; without either nothing changes (exit 2).
    """
    rules.check_name(new)  # a bad NEW is a usage error before OLD is looked up
    lifecycle.rename(old, new, consent=consent(profile_file.get(old), policy.RENAME, yes=yes))
    echo(f"Renamed profile {old!r} to {new!r}.", err=True)
    pinned = state.find_pin()
    if pinned is not None and pinned[0] == old:
        where = rules.shell_quote(os.path.dirname(pinned[1]))
        echo(
            f"Note: {pinned[1]} still names {old!r}; follow the rename with: "
            f"cd {where} && up42keys pin {new}",
            err=True,
        )


@cli.command()
@profile_argument(required=False)
def inspect(name: str | None) -> None:
    """Show the decoded header and claims of NAME's token, not the token itself."""
    import json

    label, record = tokens.get_token_record(name, min_ttl=0)
    header = jwtinfo.header(record.token)
    claims = jwtinfo.claims(record.token)
    left = record.seconds_left()
    echo(f"profile: {label}")
    echo("header:\n" + json.dumps(header, indent=2, sort_keys=True))
    echo("claims:\n" + json.dumps(claims, indent=2, sort_keys=True))
    echo(f"expires: {local_time(record.expires_at)} (in {human_duration(left)})")
