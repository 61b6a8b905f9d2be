"""``doctor``: what stands between this machine and a token, and how to fix each thing.

It changes nothing: the keyring probe deletes the entry it writes, and the
token that each profile's check mints is thrown away rather than cached (the
check is that UP42 answers and accepts the credentials now). Every finding is
a ``Check``; a problem always carries its fix. The command line prints them.
``doctor --fix`` repairs first what it safely can (``journal.repair``):
what a killed process left, which the next change would repair too.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from up42keys import __version__, environment, files, kinds, paths, rules, state
from up42keys.errors import KeyringError, Up42KeysError
from up42keys.ops import tokens
from up42keys.store import journal, keychain, leftovers, profile_file

Status = Literal["ok", "problem", "skipped"]

# Beyond this, tokens can be handed out after UP42 considers them expired (a clock behind)
# or be renewed needlessly (a clock ahead); it is half the default minimum TTL.
MAX_CLOCK_SKEW = 30.0


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, how it stands, and for a problem, how to fix it."""

    name: str
    status: Status
    detail: str
    fix: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def problem(name: str, error: Up42KeysError, fallback: str, **data: Any) -> Check:
    """A check failed with one of our errors: its message is the detail, its fix the fix.

    ``fallback`` is the fix for the few errors that are a diagnosis alone.
    """
    return Check(name, "problem", error.message, error.fix or fallback, data)


def run(*, offline: bool) -> list[Check]:
    """Every check, in the order a user would fix things."""
    checks = [version_check()]
    profiles, profile_checks = profile_store_checks()
    environment, environment_checks = environment_target()
    checks.append(keyring_check(needed=bool(profiles) or environment is None))
    checks.extend(writable_checks())
    checks.extend(permission_checks())
    checks.extend(profile_checks)
    checks.extend(leftover_checks())
    checks.extend(environment_checks)
    skews: list[tuple[str, float]] = []
    targets: list[tokens.Target] = [profiles[name] for name in sorted(profiles)]
    if environment is not None:
        targets.append(environment)
    for target in targets:
        check, skew = target_check(target, offline=offline)
        checks.append(check)
        if skew is not None:
            skews.append((check.data["url"], skew))
    checks.append(clock_check(skews, offline=offline, targets=len(targets)))
    return checks


def version_check() -> Check:
    from importlib import metadata

    python = ".".join(str(part) for part in sys.version_info[:3])
    keyring_version = metadata.version("keyring")
    return Check(
        "version",
        "ok",
        f"up42keys {__version__} (Python {python}, keyring {keyring_version})",
        data={"up42keys": __version__, "python": python, "keyring": keyring_version},
    )


def keyring_check(*, needed: bool) -> Check:
    """The backend keyring chose, and whether a test entry survives a write, read and delete."""
    backend = None
    try:
        backend = keychain.backend_name()
        keychain.probe()
    except KeyringError as error:
        found = problem("keyring", error, keychain.REPAIR_HELP, backend=backend, works=False)
        detail = f"{backend}: {found.detail}" if backend else found.detail
        if not needed:
            detail += "; none is needed: no profiles, environment credentials in use"
            return Check("keyring", "skipped", detail, data=found.data)
        # Its usual advice, "check it with 'up42keys doctor'", is this very command.
        fix = keychain.REPAIR_HELP if found.fix == keychain.DOCTOR_HELP else found.fix
        return Check("keyring", "problem", detail, fix, found.data)
    return Check(
        "keyring",
        "ok",
        f"{backend} works (a test entry was written, read back and deleted)",
        data={"backend": backend, "works": True},
    )


def writable_checks() -> list[Check]:
    """The config and cache directories must be writable: a CI container's HOME often is not.

    Tokens then go to a private fallback directory (``paths.fallback_cache_dir``), and
    profiles cannot be added: both are problems with one fix.
    """
    fix = (
        f"make HOME writable, or set {paths.CACHE_DIR_ENV} and {paths.CONFIG_DIR_ENV} "
        "to directories this user can write"
    )
    checks = []
    config = paths.config_dir()
    if not paths.can_write(config):
        detail = f"{config} cannot be written by this user: profiles cannot be added"
        checks.append(Check("config-writable", "problem", detail, fix, {"path": config}))
    preferred = os.environ.get(paths.CACHE_DIR_ENV) or paths.default_cache_dir()
    if not paths.can_write(preferred):
        detail = f"{preferred} cannot be written by this user"
        if paths.cache_dir() != preferred:
            detail += f": tokens are cached in {paths.cache_dir()} instead"
        checks.append(Check("cache-writable", "problem", detail, fix, {"path": preferred}))
    return checks


def permission_checks() -> list[Check]:
    """Every directory of ours must be 0700 and every file 0600, and all of them the user's."""
    if sys.platform == "win32":
        return [Check("permissions", "skipped", "Windows guards files with ACLs, not modes")]
    roots = [("config", paths.config_dir()), ("cache", paths.cache_dir())]
    runtime = paths.runtime_dir()
    if not runtime.startswith(paths.cache_dir() + os.sep):
        roots.append(("runtime", runtime))
    checks = []
    for what, root in roots:
        found = list(_mode_problems(root))
        if found:
            checks.extend(found)
            continue
        state = "private (0700/0600)" if os.path.isdir(root) else "not created yet"
        checks.append(Check(what, "ok", f"{root}: {state}", data={"path": root}))
    return checks


def fix_permissions() -> list[str]:
    """``doctor --fix``: give our files and directories their private modes, as it advises.

    Each is opened without following a symlink (``O_NOFOLLOW``) and changed through its
    descriptor (``fchmod``), so a link planted in our directories changes nothing else;
    what cannot be opened so stays reported.
    """
    fixed = []
    flags = os.O_RDONLY | files.NO_FOLLOW | getattr(os, "O_NONBLOCK", 0)
    for check in permission_checks():
        if check.name != "permissions" or check.status != "problem":
            continue
        try:
            descriptor = os.open(check.data["path"], flags)
        except OSError:
            continue
        try:
            os.fchmod(descriptor, int(check.data["wanted"], 8))
        finally:
            os.close(descriptor)
        fixed.append(f"{check.data['path']}: mode {check.data['mode']} -> {check.data['wanted']}")
    return fixed


def _mode_problems(root: str) -> Iterator[Check]:
    for directory, _, names in os.walk(root):
        candidates = [(directory, 0o700)]
        candidates += [(os.path.join(directory, name), 0o600) for name in sorted(names)]
        for path, wanted in candidates:
            try:
                status = os.stat(path)
            except FileNotFoundError:  # removed meanwhile (a temporary file, a lock)
                continue
            mode = status.st_mode & 0o777
            if status.st_uid != os.getuid():
                yield Check(
                    "owner",
                    "problem",
                    f"{path} belongs to user ID {status.st_uid}, not to you",
                    f"chown {os.getuid()} {rules.shell_quote(path)}",
                    {"path": path, "uid": status.st_uid},
                )
            if mode != wanted:
                yield Check(
                    "permissions",
                    "problem",
                    f"{path} has mode {mode:04o}, not {wanted:04o}",
                    f"{FIX_COMMAND} (it does chmod {wanted:o} {rules.shell_quote(path)})",
                    {"path": path, "mode": f"{mode:04o}", "wanted": f"{wanted:04o}"},
                )


def profile_store_checks() -> tuple[dict[str, kinds.Profile], list[Check]]:
    """The profiles (none where the file is unreadable), and what is wrong with the store."""
    where = paths.profiles_file()
    try:
        loaded = profile_file.load()
    except Up42KeysError as error:
        return {}, [problem("profiles", error, f"repair or move away {where}", path=where)]
    active = state.read_active()
    data = {"path": where, "count": len(loaded), "active": active}
    if active is not None and active not in loaded:
        return loaded, [
            Check(
                "profiles",
                "problem",
                f"the active profile {active!r} does not exist",
                "choose one with 'up42keys use NAME' (see 'up42keys list')",
                data,
            )
        ]
    summary = f"{len(loaded)} in {where}" + (f", {active!r} active" if active else "")
    return loaded, [Check("profiles", "ok", summary, data=data)]


FIX_COMMAND = "run 'up42keys doctor --fix'"


def leftover_checks() -> list[Check]:
    """What killed processes left: an interrupted change, temporary files, orphan records."""
    found = []
    try:
        pending = journal.pending_change()
    except Up42KeysError as error:
        return [problem("changes", error, f"remove {paths.transition_file()}")]
    if pending is not None:
        found.append(Check("changes", "problem", pending, FIX_COMMAND + " to finish it now"))
    strays = leftovers.stray_files()
    if strays:
        detail = f"{len(strays)} file(s) left by killed processes: {', '.join(strays)}"
        found.append(Check("leftovers", "problem", detail, FIX_COMMAND, {"paths": strays}))
    try:
        profiles = profile_file.load()
    except Up42KeysError:  # the profiles check says what is wrong with the file
        profiles = {}
    orphans = leftovers.orphan_record_names(profiles)
    with contextlib.suppress(Up42KeysError):  # the keyring check says what is wrong with it
        keys = leftovers.orphan_key_names(profiles) if pending is None else []
        if keys:
            detail = "keys of profiles without a secret: " + ", ".join(map(repr, keys))
            fix = FIX_COMMAND + " (each is for a project or host the profile no longer has)"
            found.append(Check("keys", "problem", detail, fix, {"profiles": keys}))
    if orphans:
        detail = "token records of no profile: " + ", ".join(repr(name) for name in orphans)
        fix = FIX_COMMAND + " (they cost a mint if another config directory shares this cache)"
        found.append(Check("records", "problem", detail, fix, {"records": orphans}))
    if found:
        return found
    detail = (
        "no interrupted change, no file of a killed process, no token record or key of no profile"
    )
    return [Check("leftovers", "ok", detail)]


def environment_target() -> tuple[environment.EnvironmentCredentials | None, list[Check]]:
    """The environment credentials where both variables are set, or what is wrong with them."""
    try:
        credentials = environment.environment_credentials()
        if credentials is None:
            return None, []
        return credentials.checked(), []
    except Up42KeysError as error:
        fallback = "set UP42_PROJECT_ID, UP42_PROJECT_API_KEY and UP42_API_URL right"
        return None, [problem(environment.ENVIRONMENT_LABEL, error, fallback)]


def target_check(target: tokens.Target, *, offline: bool) -> tuple[Check, float | None]:
    """One mint: the URL answers and accepts the credentials; and the server's clock skew.

    A profile is checked with its stored secret, even an account that holds a refresh
    token: that is what the next sign-in needs, and the check writes no cache.
    """
    name = target.title
    url = target.token_url
    data: dict[str, Any] = {"url": url}
    if offline:
        return Check(name, "skipped", f"{url} not contacted (--offline)", data=data), None
    try:
        # The stored secret, never a refresh token: what the next sign-in needs.
        minted = target.mint_with(target.secret())
    except Up42KeysError as error:
        fallback = f"check that {url} is UP42's URL and that UP42 is up, then try again"
        return problem(name, error, fallback, **data), None
    return Check(name, "ok", f"{url} answers and accepts the credentials", data=data), (
        minted.clock_skew
    )


def clock_check(skews: list[tuple[str, float]], *, offline: bool, targets: int) -> Check:
    """This computer's clock against the servers' Date headers (the worst one counts)."""
    if not skews:
        reason = "no server answered with a date"
        if offline:
            reason = "--offline"
        elif not targets:
            reason = "no profile or environment credentials to check"
        return Check("clock", "skipped", f"not compared ({reason})")
    url, skew = max(skews, key=lambda pair: abs(pair[1]))
    data = {"url": url, "skew_seconds": round(skew, 1)}
    if abs(skew) <= MAX_CLOCK_SKEW:
        return Check("clock", "ok", f"within {abs(skew):.0f} s of {url}", data=data)
    direction = "behind" if skew > 0 else "ahead of"
    return Check(
        "clock",
        "problem",
        f"this computer's clock is {abs(skew):.0f} s {direction} {url} (its Date header)",
        "set the clock right, best by NTP (on Linux: timedatectl set-ntp true)",
        data,
    )
