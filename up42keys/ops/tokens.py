"""Getting a fresh token for a target: from the cache, or minted under a per-profile lock.

The rule, for every caller (CLI, fast path, Python API): a cached token is
handed out while it has more than ``min_ttl`` seconds left; otherwise the
caller takes the profile's lock, reads the cache again (another process may
have minted meanwhile) and only then mints. So any number of parallel
callers on an expired cache make one request to UP42. How a target mints,
and what it is called, the target itself knows (``up42keys.kinds``).
"""

from __future__ import annotations

from collections.abc import Callable

from up42keys import cache, environment, kinds, paths, selection
from up42keys.errors import ProfileNotFoundError, Up42KeysError
from up42keys.ops import policy
from up42keys.remote import client
from up42keys.store import journal, locks, profile_file

Target = kinds.Target

NO_ACTIVE_PROFILE = "no profile is active"
NO_ACTIVE_PROFILE_FIX = (
    "add one with 'up42keys add NAME --project-id ID' "
    "(or --account --username EMAIL) or choose one with 'up42keys use NAME'"
)


def no_active_profile() -> ProfileNotFoundError:
    """The error for "no target": its fix names the command that works here and now.

    With exactly one profile stored, that is ``use`` with its name; with
    several, the names to choose from; with none, the ``add`` forms.
    """
    try:
        names = sorted(profile_file.load())
    except Up42KeysError:  # a broken profile file has its own error, at the next command
        names = []
    if len(names) == 1:
        return ProfileNotFoundError(NO_ACTIVE_PROFILE, f"choose it with 'up42keys use {names[0]}'")
    if names:
        return ProfileNotFoundError(
            NO_ACTIVE_PROFILE,
            f"choose one with 'up42keys use NAME', NAME one of: {', '.join(names)}",
        )
    return ProfileNotFoundError(NO_ACTIVE_PROFILE, NO_ACTIVE_PROFILE_FIX)


def resolve_target(argument: str | None) -> Target:
    """The profile or environment credentials a command acts on, or the error that says why none."""
    journal.settle()
    target = selection.resolve(argument)
    if target is None:
        raise no_active_profile()
    return target.load()


def current_target() -> selection.ProfileName | environment.EnvironmentCredentials:
    """What ``current`` reports: the target commands use here, a profile only once it exists."""
    journal.settle()
    target = selection.resolve(None)
    if target is None:
        raise no_active_profile()
    target.confirm()
    return target


def project_id_of(record: cache.TokenRecord) -> str | None:
    """The project a record's token serves, from its cache key (account tokens name none)."""
    return cache.project_id_of(record.cache_key)


def get_record(
    target: Target,
    *,
    min_ttl: float,
    refresh: bool = False,
    secret: Callable[[], str] | None = None,
) -> cache.TokenRecord:
    """A token with more than ``min_ttl`` seconds left for ``target``; ``refresh`` always mints.

    ``secret``, where given, is what a mint uses instead of the keyring (``Profile.mint``).
    A mint is for ``target`` as it was given: a profile removed or re-pointed meanwhile
    (``policy.same_target``) is a ProfileChangedError, never a mint elsewhere.
    """
    name = target.record_name
    if not refresh:
        record = cache.fresh_record(name, min_ttl, target.cache_key)
        if record is not None:
            return record
    try:
        with locks.token_locks([name]):
            target = policy.same_target(target, profile_file.reloaded(target))
            if not refresh:
                record = cache.fresh_record(name, min_ttl, target.cache_key)
                if record is not None:
                    return record
            return store_minted(target, target.mint(secret))
    except OSError as error:
        # The Python API's callers catch Up42KeysError: a bare PermissionError is none.
        where = f" ({error.filename})" if error.filename else ""
        raise Up42KeysError(
            f"cannot keep the token: {error.strerror or error}{where}",
            f"make that directory writable, or set {paths.CACHE_DIR_ENV} to one that is",
        ) from None


def store_minted(target: Target, minted: client.MintedToken) -> cache.TokenRecord:
    """Cache a minted token (and what came with it); the active profile's token also
    goes to the current-token file.

    Callers hold the target's lock. The profile store's lock, which ``use``
    holds while it switches, keeps the active profile from changing between
    the check and the write: the current-token file never gets the token of
    a profile that is no longer active.
    """
    record = cache.TokenRecord(minted.access_token, minted.expires_at, target.cache_key)
    cache.write(target.record_name, record)
    for record_name, extra in target.keep_extras(minted).items():
        if extra is None:
            cache.remove(record_name)
        else:
            cache.write(record_name, extra)
    journal.publish_token(target.name, record.token)
    return record


def get_token_record(
    argument: str | None, *, min_ttl: float, refresh: bool = False
) -> tuple[str, cache.TokenRecord]:
    """The label of the target and a fresh token record for it, as ``token`` prints them."""
    if not refresh:
        resolved = selection.resolve(argument)
        record = selection.cached_record(resolved, min_ttl)
        if record is not None and resolved is not None:
            return resolved.label, record
    target = resolve_target(argument)
    return target.label, get_record(target, min_ttl=min_ttl, refresh=refresh)
