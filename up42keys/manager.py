"""Profile operations: add, remove, rename, use, protect, and the rows ``list`` shows.

Each change is whole or not at all, even when the process is killed: it says
what the state is to be (a ``transition.Change``) inside ``transition.changing``
(the locks, in the order up42keys.state documents) and ``transition.apply``
writes it in the crash-safe order; an error before the profile file is written
puts the keyring back.
"""

from __future__ import annotations

from typing import NamedTuple

from up42keys import cache, keychain, state, store, tokens, transition
from up42keys.errors import ProfileNotFoundError, UsageError
from up42keys.targets import Profile, check_name


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
    with transition.changing(profile.name) as profiles:
        existing = profiles.get(profile.name)
        refuse_existing(profile.name, force, profiles)
        if existing is not None and existing.protected:
            profile = profile.replace(protected=True)
        active = state.read_active()
        if active is None or active not in profiles:
            active = profile.name
        change = transition.Change(
            {**profiles, profile.name: profile},
            active,
            secrets={profile.name: secret},
            # The old profile's tokens (an account's refresh token too) never outlive it.
            forget=existing.record_names if existing is not None else (),
        )
        transition.apply(profiles, change)
        record = tokens.store_minted(profile, minted) if minted is not None else None
    return Added(profile, active == profile.name, record)


def remove(name: str) -> None:
    """Remove a profile, its keyring entry and its cached tokens."""
    check_name(name)
    with transition.changing(name) as profiles:
        profile = store.pick(profiles, name)
        active = state.read_active()
        rest = {other: kept for other, kept in profiles.items() if other != name}
        change = transition.Change(
            rest, None if active == name else active, forget=profile.record_names
        )
        transition.apply(profiles, change)


def rename(old: str, new: str) -> None:
    """Rename a profile; its keyring entry, cached tokens and the active pointer follow."""
    check_name(old)
    check_name(new)
    with transition.changing(old, new) as profiles:
        profile = store.pick(profiles, old)
        if new in profiles:
            raise UsageError(f"profile {new!r} exists", "remove it first or pick another name")
        secret = keychain.find_secret(old)
        renamed = profile.renamed(new)
        rest = {name: kept for name, kept in profiles.items() if name != old}
        active = state.read_active()
        change = transition.Change(
            {**rest, new: renamed},
            new if active == old else active,
            secrets={new: secret} if secret is not None else None,
            moves=tuple(zip(profile.record_names, renamed.record_names, strict=True)),
        )
        transition.apply(profiles, change)


def use(name: str, *, min_ttl: float, globally: bool = True) -> cache.TokenRecord:
    """Make ``name`` active (unless only this shell switches), with a fresh token first.

    Atomic: when no token can be had, the error leaves the active profile and
    the current-token file exactly as they were.
    """
    transition.finish_pending()
    record = tokens.get_record(store.get(name), min_ttl=min_ttl)
    if globally:
        with transition.changing(name) as profiles:
            if name not in profiles:
                raise ProfileNotFoundError(f"profile {name!r} was removed meanwhile")
            transition.apply(profiles, transition.Change(profiles, name))
    return record


def set_protected(name: str, protected: bool) -> Profile:
    """Mark a profile as production (or not): the prompt shows it and ``use`` asks first."""
    check_name(name)
    with transition.changing(name) as profiles:
        changed = store.pick(profiles, name).replace(protected=protected)
        transition.apply(
            profiles, transition.Change({**profiles, name: changed}, state.read_active())
        )
        return changed


class Row(NamedTuple):
    """What ``list`` shows of a profile, without opening the keyring."""

    profile: Profile
    active: bool
    token_expires_at: int | None


def rows() -> list[Row]:
    profiles = store.load()
    active = state.read_active()
    result = []
    for name in sorted(profiles):
        profile = profiles[name]
        record = cache.read(profile.record_name)
        expires_at = record.expires_at if record and record.cache_key == profile.cache_key else None
        result.append(Row(profile, name == active, expires_at))
    return result
