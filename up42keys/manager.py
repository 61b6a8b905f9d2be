"""Profile operations: add, edit, set-secret, import, remove, rename, use, protect, pin, and
``list``'s rows.

Each change is whole or not at all: it runs under the profile's token lock
and the store's lock (in the order up42keys.state documents), writes the
keyring before the profile file and undoes the keyring write if the file
cannot be written, and keeps the plain-text state (active pointer, token
records, current-token file) in line.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from up42keys import cache, keychain, locks, paths, selection, state, store, targets, tokens
from up42keys.errors import ProfileNotFoundError, Up42KeysError, UsageError
from up42keys.targets import Profile, check_name

if TYPE_CHECKING:
    from up42keys import client


def refuse_existing(name: str, force: bool, profiles: dict[str, Profile] | None = None) -> None:
    """Fail early, before asking for a secret, when ``add`` would replace a profile."""
    if not force and name in (store.load() if profiles is None else profiles):
        raise UsageError(f"profile {name!r} exists", "add --force to replace it")


def check_can_add(name: str, force: bool) -> None:
    """Fail before a secret is asked for or sent to UP42 where ``add`` could not finish.

    That is: it would replace a profile without ``force``, or there is no keyring to keep
    the secret in (then nothing at all is written).
    """
    refuse_existing(name, force)
    keychain.require()


@contextlib.contextmanager
def _changing(*names: str) -> Iterator[dict[str, Profile]]:
    """Hold the token locks of ``names`` (in sorted order), then the store's lock."""
    with contextlib.ExitStack() as stack:
        for name in sorted(set(names)):
            stack.enter_context(locks.profile_lock(name))
        stack.enter_context(store.locked())
        yield store.load()


# Records as NamedTuples, not frozen dataclasses: 0.1 ms to create rather than 0.7,
# paid by every start of the full path, ``list`` among them.
class Added(NamedTuple):
    profile: Profile
    active: bool
    record: cache.TokenRecord | None


def add(profile: Profile, secret: str, *, verify: bool, force: bool) -> Added:
    """Store a profile and its secret; with ``verify``, only once UP42 has accepted them."""
    check_can_add(profile.name, force)
    minted = profile.mint_with(secret) if verify else None
    with _changing(profile.name) as profiles:
        existing = profiles.get(profile.name)
        refuse_existing(profile.name, force, profiles)
        if existing is not None and existing.protected:
            profile = profile.replace(protected=True)
        previous_secret = keychain.find_secret(profile.name) if existing is not None else None
        keychain.set_secret(profile.name, secret)
        profiles[profile.name] = profile
        try:
            store.save(profiles)
        except BaseException:
            if previous_secret is None:
                keychain.delete_secret(profile.name)
            else:
                keychain.set_secret(profile.name, previous_secret)
            raise
        active = state.read_active()
        if active is None or active not in profiles:
            state.write_active(profile.name)
            active = profile.name
        # The old profile's tokens (an account's refresh token too) never outlive it.
        forget_tokens(profile, *([existing] if existing is not None else []))
        record = tokens.store_minted(profile, minted) if minted is not None else None
        if record is None and active == profile.name:
            state.remove_current_token()
    return Added(profile, active == profile.name, record)


def forget_tokens(*changed: Profile) -> None:
    """Drop every cached token of these profiles: a changed profile never gets an old token."""
    for profile in changed:
        for record_name in profile.record_names:
            cache.remove(record_name)


def edit(profile: Profile, edited: Profile, *, verify: bool) -> cache.TokenRecord | None:
    """Replace ``profile``'s settings with ``edited``'s; with ``verify``, once UP42 accepts them.

    The mint uses the stored secret, read before any lock is taken (a keyring prompt
    must not hold up other processes). Its old tokens, and an account's refresh
    token, are dropped: they were minted for the old settings.
    """
    minted = edited.mint_with(profile.secret()) if verify else None
    with _changing(profile.name) as profiles:
        _refuse_changed_meanwhile(profile, profiles)
        profiles[profile.name] = edited
        store.save(profiles)
        return _replace_tokens(edited, profile, minted)


def set_secret(profile: Profile, secret: str, *, verify: bool) -> cache.TokenRecord | None:
    """Store a new secret for ``profile`` and keep every other setting; verified first.

    The keyring is written before the profile file (which changes only when the
    profile had no secret yet), and restored when the file cannot be written.
    """
    keychain.require()
    minted = profile.mint_with(secret) if verify else None
    with _changing(profile.name) as profiles:
        _refuse_changed_meanwhile(profile, profiles)
        previous_secret = keychain.find_secret(profile.name)
        keychain.set_secret(profile.name, secret)
        if not profile.has_secret:
            profiles[profile.name] = profile.replace(has_secret=True)
            try:
                store.save(profiles)
            except BaseException:
                if previous_secret is None:
                    keychain.delete_secret(profile.name)
                else:
                    keychain.set_secret(profile.name, previous_secret)
                raise
        return _replace_tokens(profiles[profile.name], profile, minted)


def _refuse_changed_meanwhile(profile: Profile, profiles: dict[str, Profile]) -> None:
    if profiles.get(profile.name) != profile:
        raise Up42KeysError(
            f"profile {profile.name!r} was changed by another command meanwhile; nothing was done",
            "run the command again",
        )


def _replace_tokens(
    profile: Profile, old: Profile, minted: client.MintedToken | None
) -> cache.TokenRecord | None:
    """Drop ``old``'s tokens; cache ``minted``, or clear current-token when it was old's."""
    forget_tokens(old)
    record = tokens.store_minted(profile, minted) if minted is not None else None
    if record is None and state.read_active() == profile.name:
        state.remove_current_token()
    return record


def import_profiles(imported: list[Profile], *, force: bool) -> list[Profile]:
    """Add profiles without their secrets (``has_secret`` false), all or none.

    A profile replaced (``force``) by one for the same project or account keeps its
    stored secret; one for another is left without: its old secret is deleted, since
    it would be sent for the wrong project or account.
    """
    names = [profile.name for profile in imported]
    with _changing(*names) as profiles:
        existing = sorted(name for name in names if name in profiles)
        if existing and not force:
            named = ", ".join(map(repr, existing))
            raise UsageError(
                f"profile {named} exists" if len(existing) == 1 else f"profiles {named} exist",
                "add --force to replace (a secret is kept where the project or account is)",
            )
        replaced = {name: profiles[name] for name in existing}
        for profile in imported:
            old = replaced.get(profile.name)
            keeps_secret = (
                old is not None
                and old.has_secret
                and (old.kind, old.project_id, old.username)
                == (profile.kind, profile.project_id, profile.username)
            )
            profiles[profile.name] = profile.replace(has_secret=keeps_secret)
        store.save(profiles)
        forget_tokens(*replaced.values())
        for name, old in replaced.items():
            if not profiles[name].has_secret and old.has_secret:
                keychain.delete_secret(name)
        if state.read_active() in replaced:
            state.remove_current_token()
        return [profiles[name] for name in names]


def remove(name: str) -> None:
    """Remove a profile, its keyring entry and its cached tokens."""
    check_name(name)
    with _changing(name) as profiles:
        profile = store.pick(profiles, name)
        keychain.delete_secret(name)
        del profiles[name]
        store.save(profiles)
        forget_tokens(profile)
        if state.read_active() == name:
            state.write_active(None)
            state.remove_current_token()
        if state.read_previous() == name:
            state.write_previous(None)


def rename(old: str, new: str) -> None:
    """Rename a profile; its keyring entry, cached tokens and the active pointer follow."""
    check_name(old)
    check_name(new)
    with _changing(old, new) as profiles:
        profile = store.pick(profiles, old)
        if new in profiles:
            raise UsageError(f"profile {new!r} exists", "remove it first or pick another name")
        secret = keychain.find_secret(old)
        if secret is not None:
            keychain.set_secret(new, secret)
        renamed = profiles[new] = profiles.pop(old).renamed(new)
        try:
            store.save(profiles)
        except BaseException:
            if secret is not None:
                keychain.delete_secret(new)
            raise
        for old_record, new_record in zip(profile.record_names, renamed.record_names, strict=True):
            cache.move(old_record, new_record)
        if state.read_active() == old:
            state.write_active(new)
        if state.read_previous() == old:
            state.write_previous(new)
        if secret is not None:
            keychain.delete_secret(old)


def use(name: str, *, min_ttl: float, globally: bool = True) -> cache.TokenRecord:
    """Make ``name`` active (unless only this shell switches), with a fresh token first.

    Atomic: when no token can be had, the error leaves the active profile and
    the current-token file exactly as they were.
    """
    record = tokens.get_record(store.get(name), min_ttl=min_ttl)
    if globally:
        with store.locked():
            if name not in store.load():
                raise ProfileNotFoundError(f"profile {name!r} was removed meanwhile")
            state.switch_active(name)
            state.write_current_token(record.token)
    return record


def previous() -> str:
    """The profile that was active before the last switch, for ``use -``."""
    name = state.read_previous()
    if name is None:
        raise ProfileNotFoundError(
            "no previous profile to switch back to",
            "switch with 'up42keys use NAME' (see 'up42keys list'); 'use -' then switches back",
        )
    return name


def pin(name: str) -> str:
    """Make this directory (and those below) use profile ``name``; the file's path.

    Only an existing profile is pinned: the file names one of the user's own profiles.
    """
    store.get(name)
    return state.write_pin(_here(), name)


def unpin() -> tuple[str, str | None]:
    """Remove this directory's file: its path and the name it held (None: there was none)."""
    here = _here()
    return os.path.join(here, paths.PIN_FILE), state.remove_pin(here)


def _here() -> str:
    # os.getcwd raises for a directory that is gone; the error boundary reports it.
    return state.working_directory() or os.getcwd()


def used_here() -> targets.ProfileName | None:
    """The profile commands here use (``UP42KEYS_PROFILE``, a directory's file, the active one).

    None when none is, or the environment credentials are used; a malformed
    ``UP42_PROJECT_ID`` is for the commands that use it to report.
    """
    try:
        target = selection.resolve(None)
    except UsageError:
        return None
    return target if isinstance(target, targets.ProfileName) else None


def set_protected(name: str, protected: bool) -> Profile:
    """Mark a profile as production (or not): the prompt shows it and ``use`` asks first."""
    check_name(name)
    with store.locked():
        profiles = store.load()
        profiles[name] = store.pick(profiles, name).replace(protected=protected)
        store.save(profiles)
        return profiles[name]


class Row(NamedTuple):
    """What ``list`` shows of a profile, without opening the keyring."""

    profile: Profile
    active: bool
    token_expires_at: int | None
    # The profile that commands here (this shell, this directory) use.
    used_here: bool = False


def rows() -> list[Row]:
    profiles = store.load()
    active = state.read_active()
    here = used_here()
    result = []
    for name in sorted(profiles):
        profile = profiles[name]
        record = cache.read(profile.record_name)
        expires_at = record.expires_at if record and record.cache_key == profile.cache_key else None
        result.append(
            Row(profile, name == active, expires_at, here is not None and here.name == name)
        )
    return result
