"""Profile operations: add, edit, set-secret, import, remove, rename, use, protect, pin, and
``list``'s rows.

Each change is whole or not at all, even when the process is killed: it says
what the state is to be (a ``journal.Change``) inside ``journal.changing``
(the locks, in the order up42keys.state documents) and ``journal.apply``
writes it in the crash-safe order; an error before the profile file is written
puts the keyring back.
"""

from __future__ import annotations

from typing import NamedTuple

from up42keys import cache, state
from up42keys.errors import CredentialsRejectedError, Up42KeysError, UsageError
from up42keys.kinds import Profile
from up42keys.ops import policy, switching, tokens
from up42keys.rules import check_name
from up42keys.store import journal, keychain, profile_file


def refuse_existing(name: str, force: bool, profiles: dict[str, Profile] | None = None) -> None:
    """Fail early, before asking for a secret, when ``add`` would replace a profile."""
    if not force and name in (profile_file.load() if profiles is None else profiles):
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


def add(
    profile: Profile, secret: str, *, verify: bool, force: bool, consent: bool = False
) -> Added:
    """Store a profile and its secret; with ``verify``, only once UP42 has accepted them.

    A replaced profile's protection stays, and a protected one is replaced only with
    ``consent`` (``policy``).
    """
    check_can_add(profile.name, force)
    policy.keep_secret_out(profile, secret)
    try:
        minted = profile.mint_with(secret) if verify else None
    except CredentialsRejectedError as error:  # its fix was set-secret, of nothing stored
        raise CredentialsRejectedError(error.message, profile.add_again_fix()) from None
    with journal.changing(profile.name) as profiles:
        existing = profiles.get(profile.name)
        refuse_existing(profile.name, force, profiles)
        policy.admit(existing, policy.REPLACE, consent=consent)
        profile = policy.with_new_secret(existing, profile)
        active = state.read_active()
        if active is None or active not in profiles:
            active = profile.name
        change = journal.Change(
            {**profiles, profile.name: profile},
            active,
            secrets={profile.name: secret},
            # The old profile's tokens (an account's refresh token too) never outlive it.
            forget=existing.record_names if existing is not None else (),
        )
        journal.apply(profiles, change)
        record = tokens.store_minted(profile, minted) if minted is not None else None
    return Added(profile, active == profile.name, record)


def edit(
    profile: Profile, edited: Profile, *, verify: bool, consent: bool = False
) -> tuple[Profile, cache.TokenRecord | None]:
    """Replace ``profile``'s settings with ``edited``'s; with ``verify``, once UP42 accepts them.

    The mint uses the stored secret, read before any lock is taken (a keyring prompt
    must not hold up other processes). Its old tokens, and an account's refresh
    token, are dropped: they were minted for the old settings. Settings that send the
    secret elsewhere keep it only when verified there; unverified, it is dropped
    (``policy.replacement``). Returns the profile as stored, and the new token.
    """
    minted = edited.mint_with(profile.secret()) if verify else None
    with journal.changing(profile.name) as profiles:
        _refuse_changed_meanwhile(profile, profiles)
        policy.admit(profile, policy.EDIT, consent=consent)
        outcome = policy.replacement(profile, edited, verified=minted is not None)
        change = journal.Change(
            {**profiles, profile.name: outcome.profile},
            state.read_active(),
            forget=profile.record_names,
            drop_keys=(profile.name,) if outcome.drops_secret else (),
        )
        journal.apply(profiles, change)
        stored = outcome.profile
        return stored, tokens.store_minted(stored, minted) if minted is not None else None


def set_secret(profile: Profile, secret: str, *, verify: bool) -> cache.TokenRecord | None:
    """Store a new secret for ``profile`` and keep every other setting; verified first.

    A change like ``add``'s: the new key is staged before it counts, and an imported
    profile's ``has_secret`` mark is cleared in the same change. The old key's tokens go.
    """
    keychain.require()
    policy.keep_secret_out(profile, secret)
    minted = profile.mint_with(secret) if verify else None
    with journal.changing(profile.name) as profiles:
        _refuse_changed_meanwhile(profile, profiles)
        updated = profile if profile.has_secret else profile.replace(has_secret=True)
        change = journal.Change(
            {**profiles, profile.name: updated},
            state.read_active(),
            secrets={profile.name: secret},
            forget=profile.record_names,
        )
        journal.apply(profiles, change)
        return tokens.store_minted(updated, minted) if minted is not None else None


def _refuse_changed_meanwhile(profile: Profile, profiles: dict[str, Profile]) -> None:
    if profiles.get(profile.name) != profile:
        raise Up42KeysError(
            f"profile {profile.name!r} was changed by another command meanwhile; nothing was done",
            "run the command again",
        )


def import_profiles(
    imported: list[Profile], *, force: bool, consent: bool = False
) -> list[Profile]:
    """Add profiles without their secrets (``has_secret`` false), all or none.

    A profile replaced (``force``) keeps its protection, and its stored secret where the
    new one's secret belongs to the same place (``policy.replacement``); elsewhere the old
    secret is deleted in the same change, since it would be sent to the wrong project,
    account or host. A protected profile is replaced only with ``consent``.
    """
    names = [profile.name for profile in imported]
    with journal.changing(*names) as profiles:
        existing = sorted(name for name in names if name in profiles)
        if existing and not force:
            named = ", ".join(map(repr, existing))
            raise UsageError(
                f"profile {named} exists" if len(existing) == 1 else f"profiles {named} exist",
                "add --force to replace (a secret is kept where the project or account is)",
            )
        after = dict(profiles)
        drop_keys = []
        for profile in imported:
            old = profiles.get(profile.name)
            policy.admit(old, policy.REPLACE, consent=consent)
            outcome = policy.replacement(old, profile.replace(has_secret=False))
            after[profile.name] = outcome.profile
            if outcome.drops_secret:
                drop_keys.append(profile.name)
        forget = tuple(name for old in existing for name in profiles[old].record_names)
        change = journal.Change(
            after, state.read_active(), forget=forget, drop_keys=tuple(drop_keys)
        )
        journal.apply(profiles, change)
        return [after[name] for name in names]


def remove(name: str, *, consent: bool = False) -> None:
    """Remove a profile, its keyring entry and its cached tokens."""
    check_name(name)
    with journal.changing(name) as profiles:
        profile = profile_file.pick(profiles, name)
        policy.admit(profile, policy.REMOVE, consent=consent)
        active = state.read_active()
        rest = {other: kept for other, kept in profiles.items() if other != name}
        change = journal.Change(
            rest, None if active == name else active, forget=profile.record_names
        )
        journal.apply(profiles, change)


def rename(old: str, new: str, *, consent: bool = False) -> None:
    """Rename a profile; its keyring entry, cached tokens and the active pointer follow."""
    check_name(old)
    check_name(new)
    with journal.changing(old, new) as profiles:
        profile = profile_file.pick(profiles, old)
        policy.admit(profile, policy.RENAME, consent=consent)
        if new in profiles:
            raise UsageError(f"profile {new!r} exists", "remove it first or pick another name")
        secret = keychain.find_secret(old)
        renamed = profile.renamed(new)
        rest = {name: kept for name, kept in profiles.items() if name != old}
        active = state.read_active()
        change = journal.Change(
            {**rest, new: renamed},
            new if active == old else active,
            secrets={new: secret} if secret is not None else None,
            moves=tuple(zip(profile.record_names, renamed.record_names, strict=True)),
        )
        journal.apply(profiles, change)


class Row(NamedTuple):
    """What ``list`` shows of a profile, without opening the keyring."""

    profile: Profile
    active: bool
    token_expires_at: int | None
    # The profile that commands here (this shell, this directory) use.
    used_here: bool = False


def rows() -> list[Row]:
    journal.settle()
    profiles = profile_file.load()
    active = state.read_active()
    here = switching.used_here()
    result = []
    for name in sorted(profiles):
        profile = profiles[name]
        record = cache.read(profile.record_name)
        expires_at = record.expires_at if record and record.cache_key == profile.cache_key else None
        result.append(
            Row(profile, name == active, expires_at, here is not None and here.name == name)
        )
    return result
