"""Profile operations: add, remove, rename, use, protect, and the rows ``list`` shows.

Each change is whole or not at all: it runs under the profile's token lock
and the store's lock, writes the keyring before the profile file and undoes
the keyring write if the file cannot be written, and keeps the plain-text
state (active pointer, token records, current-token file) in line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from typing import NamedTuple

from up42keys import cache, keychain, locks, selection, store, tokens
from up42keys.errors import ProfileNotFoundError, UsageError
from up42keys.store import Profile


def project_profile(
    name: str, project_id: str, api_url: str, *, protected: bool = False
) -> Profile:
    """A validated project profile; nothing is stored yet."""
    store.check_name(name)
    return Profile(
        name=name,
        kind="project",
        project_id=store.check_project_id(project_id),
        api_url=store.normalize_url(api_url),
        protected=protected,
    )


def refuse_existing(name: str, force: bool, profiles: dict[str, Profile] | None = None) -> None:
    """Fail early, before asking for a secret, when ``add`` would replace a profile."""
    if not force and name in (store.load() if profiles is None else profiles):
        raise UsageError(f"profile {name!r} exists; add --force to replace it")


def check_can_add(name: str, force: bool) -> None:
    """Fail before a secret is asked for or sent to UP42 where ``add`` could not finish.

    That is: it would replace a profile without ``force``, or there is no keyring to keep
    the secret in (then nothing at all is written).
    """
    refuse_existing(name, force)
    keychain.require()


@contextlib.contextmanager
def _changing(*names: str) -> Iterator[dict[str, Profile]]:
    """Hold the token locks of ``names`` (in a fixed order) and the store's lock."""
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
    minted = tokens.mint_profile(profile, secret) if verify else None
    with _changing(profile.name) as profiles:
        existing = profiles.get(profile.name)
        refuse_existing(profile.name, force, profiles)
        if existing is not None and existing.protected:
            profile = replace(profile, protected=True)
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
        active = selection.read_active()
        if active is None or active not in profiles:
            store.set_active(profile.name)
            active = profile.name
        # The old profile's tokens (an account's refresh token too) never outlive it.
        forget_tokens(profile.name)
        record = tokens.store_minted(profile, minted) if minted is not None else None
        if record is None and active == profile.name:
            cache.remove_current_token()
    return Added(profile, active == profile.name, record)


def forget_tokens(name: str) -> None:
    """Drop every cached token of a profile: a changed profile must never get an old token."""
    cache.remove(name)
    cache.remove(name + cache.REFRESH_SUFFIX)


def remove(name: str) -> None:
    """Remove a profile, its keyring entry and its cached tokens."""
    store.check_name(name)
    with _changing(name) as profiles:
        store.pick(profiles, name)
        keychain.delete_secret(name)
        del profiles[name]
        store.save(profiles)
        forget_tokens(name)
        if selection.read_active() == name:
            store.set_active(None)
            cache.remove_current_token()


def rename(old: str, new: str) -> None:
    """Rename a profile; its keyring entry, cached tokens and the active pointer follow."""
    store.check_name(old)
    store.check_name(new)
    with _changing(old, new) as profiles:
        store.pick(profiles, old)
        if new in profiles:
            raise UsageError(f"profile {new!r} exists; remove it first or pick another name")
        secret = keychain.find_secret(old)
        if secret is not None:
            keychain.set_secret(new, secret)
        profiles[new] = profiles.pop(old).renamed(new)
        try:
            store.save(profiles)
        except BaseException:
            if secret is not None:
                keychain.delete_secret(new)
            raise
        cache.move(old, new)
        cache.move(old + cache.REFRESH_SUFFIX, new + cache.REFRESH_SUFFIX)
        if selection.read_active() == old:
            store.set_active(new)
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
            store.set_active(name)
            cache.write_current_token(record.token)
    return record


def set_protected(name: str, protected: bool) -> Profile:
    """Mark a profile as production (or not): the prompt shows it and ``use`` asks first."""
    store.check_name(name)
    with store.locked():
        profiles = store.load()
        profiles[name] = replace(store.pick(profiles, name), protected=protected)
        store.save(profiles)
        return profiles[name]


class Row(NamedTuple):
    """What ``list`` shows of a profile, without opening the keyring."""

    profile: Profile
    active: bool
    token_expires_at: int | None


def rows() -> list[Row]:
    profiles = store.load()
    active = selection.read_active()
    result = []
    for name in sorted(profiles):
        profile = profiles[name]
        record = cache.read(name)
        expires_at = record.expires_at if record and record.cache_key == profile.cache_key else None
        result.append(Row(profile, name == active, expires_at))
    return result
