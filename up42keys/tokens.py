"""Getting a fresh token for a target: from the cache, or minted under a per-profile lock.

The rule, for every caller (CLI, fast path, Python API): a cached token is
handed out while it has more than ``min_ttl`` seconds left; otherwise the
caller takes the profile's lock, reads the cache again (another process may
have minted meanwhile) and only then mints. So any number of parallel
callers on an expired cache make one request to UP42.
"""

from __future__ import annotations

from up42keys import accounts, cache, client, keychain, locks, selection, store
from up42keys.errors import CredentialsRejectedError, ProfileNotFoundError
from up42keys.selection import EnvironmentCredentials
from up42keys.store import Profile

Target = Profile | EnvironmentCredentials

NO_ACTIVE_PROFILE = (
    "no profile is active; add one with 'up42keys add NAME --project-id ID' "
    "(or --account --username EMAIL) or choose one with 'up42keys use NAME'"
)


def resolve_target(argument: str | None) -> Target:
    """The profile or environment credentials a command acts on, or the error that says why none."""
    target = selection.resolve(argument)
    if isinstance(target, EnvironmentCredentials):
        return checked_environment(target)
    if target is None:
        raise ProfileNotFoundError(NO_ACTIVE_PROFILE)
    return store.get(target)


def checked_environment(credentials: EnvironmentCredentials) -> EnvironmentCredentials:
    """The environment credentials, once their API URL has proved to be an http(s) URL."""
    store.normalize_url(credentials.api_url, selection.API_URL_ENV)
    return credentials


def label(target: Target) -> str:
    return target.name if isinstance(target, Profile) else selection.ENVIRONMENT_LABEL


def record_name(target: Target) -> str:
    return target.name if isinstance(target, Profile) else target.record_name


def project_id_of(record: cache.TokenRecord) -> str | None:
    """The project a record's token serves, from its cache key (account tokens name none)."""
    kind, _, rest = record.cache_key.partition(" ")
    return rest.split(" ")[0] if kind == "project" else None


def get_record(target: Target, *, min_ttl: float, refresh: bool = False) -> cache.TokenRecord:
    """A token with more than ``min_ttl`` seconds left for ``target``; ``refresh`` always mints."""
    name = record_name(target)
    if not refresh:
        record = cache.fresh_record(name, min_ttl, target.cache_key)
        if record is not None:
            return record
    with locks.profile_lock(name):
        if isinstance(target, Profile):
            target = store.get(target.name)
        if not refresh:
            record = cache.fresh_record(name, min_ttl, target.cache_key)
            if record is not None:
                return record
        return store_minted(target, mint(target))


def store_minted(target: Target, minted: client.MintedToken) -> cache.TokenRecord:
    """Cache a minted token (and an account's refresh token); the active profile's token also
    goes to the current-token file.

    Callers hold the target's lock. The profile store's lock, which ``use``
    holds while it switches, keeps the active profile from changing between
    the check and the write: the current-token file never gets the token of
    a profile that is no longer active.
    """
    record = cache.TokenRecord(minted.access_token, minted.expires_at, target.cache_key)
    cache.write(record_name(target), record)
    if isinstance(target, Profile) and target.kind == "account":
        accounts.keep_refresh_token(target, minted)
    if isinstance(target, Profile):
        with store.locked():
            if selection.read_active() == target.name:
                cache.write_current_token(record.token)
    return record


def get_token_record(
    argument: str | None, *, min_ttl: float, refresh: bool = False
) -> tuple[str, cache.TokenRecord]:
    """The label of the target and a fresh token record for it, as ``token`` prints them."""
    if not refresh:
        resolved = selection.resolve(argument)
        record = cache.cached_record(resolved, min_ttl)
        if record is not None and resolved is not None:
            name = resolved if isinstance(resolved, str) else selection.ENVIRONMENT_LABEL
            return name, record
    target = resolve_target(argument)
    return label(target), get_record(target, min_ttl=min_ttl, refresh=refresh)


def mint(target: Target) -> client.MintedToken:
    """Mint a token for the target, with an error that names the fix when UP42 says no."""
    if isinstance(target, EnvironmentCredentials):
        try:
            return client.mint_project_token(target.api_url, target.project_id, target.api_key())
        except CredentialsRejectedError as error:
            raise CredentialsRejectedError(
                f"{error.message}; check UP42_PROJECT_ID and UP42_PROJECT_API_KEY"
            ) from None
    if target.kind == "account":
        # The keyring is opened only when the password grant is needed.
        profile_name = target.name
        return accounts.mint(target, lambda: keychain.get_secret(profile_name))
    return mint_profile(target, keychain.get_secret(target.name))


def mint_profile(profile: Profile, secret: str) -> client.MintedToken:
    """Mint for a profile with its secret (which ``add`` has before anything is stored)."""
    if profile.kind == "account":
        return accounts.sign_in(profile, secret)
    project_id = profile.project_id or ""
    try:
        return client.mint_project_token(profile.api_url, project_id, secret)
    except CredentialsRejectedError as error:
        raise CredentialsRejectedError(
            f"{error.message}; store the right key with "
            f"'up42keys add {profile.name} --project-id {project_id} --force'"
        ) from None
