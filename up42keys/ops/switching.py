"""Switching: which profile is active, which one a directory pins, which ones are protected.

``use`` and ``protect`` are changes like the others (``journal.Change``); a pin is a
file in the user's directory, which the journal writes too.
"""

from __future__ import annotations

import os

from up42keys import cache, paths, rules, selection, state
from up42keys.errors import (
    CredentialsRejectedError,
    ProfileNotFoundError,
    Up42UnavailableError,
    UsageError,
)
from up42keys.kinds import Profile
from up42keys.ops import policy, tokens
from up42keys.rules import check_name
from up42keys.store import journal, profile_file


def use(
    name: str, *, min_ttl: float, globally: bool = True, verify: bool = True
) -> cache.TokenRecord | None:
    """Make ``name`` active (unless only this shell switches), with a fresh token first.

    Atomic: when no token can be had, the error leaves the active profile and
    the current-token file exactly as they were, and says so. Without ``verify``
    no token is asked for (offline), and None is returned.
    """
    journal.finish_pending()
    profile = profile_file.get(name)
    try:
        record = tokens.get_record(profile, min_ttl=min_ttl) if verify else None
    except (CredentialsRejectedError, Up42UnavailableError) as error:
        error.message = f"{error.message}; nothing was switched"
        if isinstance(error, Up42UnavailableError):
            offline = rules.shell_command(["up42keys", "use", name, "--no-verify"])
            error.fix = f"{error.fix or 'try again later'}, or switch without a token: '{offline}'"
        raise
    if globally:
        with journal.changing(name) as profiles:
            if name not in profiles:
                raise ProfileNotFoundError(f"profile {name!r} was removed meanwhile")
            journal.apply(profiles, journal.Change(profiles, name))
    return record


def previous() -> str:
    """The profile that was active before the last switch, for ``use -``."""
    name = state.read_previous()
    # Not listed: a rename killed right after its save had not carried it along yet.
    if name is None or name not in profile_file.load():
        raise ProfileNotFoundError(
            "no previous profile to switch back to",
            "switch with 'up42keys use NAME' (see 'up42keys list'); 'use -' then switches back",
        )
    return name


def pin(name: str) -> str:
    """Make this directory (and those below) use profile ``name``; the file's path.

    Only an existing profile is pinned: the file names one of the user's own profiles.
    """
    profile_file.get(name)
    return journal.pin(_here(), name)


def trust_pin() -> tuple[str, str]:
    """Trust the pin file that applies here (the nearest): its path and the name it chooses.

    Only a file that the reading rule accepts can be trusted, and only for the name it
    holds now: a later change of the file is untrusted again.
    """
    pinned = state.find_pin()
    if pinned is None:
        raise UsageError(
            f"no {paths.PIN_FILE} applies here, so there is nothing to trust",
            "pin a profile to this directory with 'up42keys pin NAME'",
        )
    name, path, problem = pinned
    if problem not in (None, state.UNTRUSTED):
        raise UsageError(
            f"{selection.shown(path)} cannot be trusted: it {problem}",
            "replace it with 'up42keys pin NAME' in its directory",
        )
    profile_file.get(name)
    journal.trust_pin(path, name)
    return path, name


def unpin() -> tuple[str, str | None]:
    """Remove this directory's file: its path and the name it held (None: there was none)."""
    here = _here()
    return os.path.join(here, paths.PIN_FILE), journal.unpin(here)


def _here() -> str:
    # os.getcwd raises for a directory that is gone; the error boundary reports it.
    return state.working_directory() or os.getcwd()


def used_here() -> selection.ProfileName | None:
    """The profile commands here use (``UP42KEYS_PROFILE``, a directory's file, the active one).

    None when none is, or the environment credentials are used; a malformed
    ``UP42_PROJECT_ID`` is for the commands that use it to report.
    """
    try:
        target = selection.resolve(None)
    except UsageError:
        return None
    return target if isinstance(target, selection.ProfileName) else None


def set_protected(name: str, protected: bool, *, consent: bool = False) -> Profile:
    """Mark a profile as production (or not): the prompt shows it and ``use`` asks first.

    Taking the mark away is a change of a protected profile (``policy``): it needs consent.
    """
    check_name(name)
    with journal.changing(name) as profiles:
        profile = profile_file.pick(profiles, name)
        if not protected:
            policy.admit(profile, policy.UNPROTECT, consent=consent)
        changed = profile.replace(protected=protected)
        journal.apply(profiles, journal.Change({**profiles, name: changed}, state.read_active()))
        return changed
