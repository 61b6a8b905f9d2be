"""Account profiles: UP42's account sign-in (an OpenID Connect password grant) and its renewal.

UP42 signs accounts in at ``{auth_url}/realms/public/protocol/openid-connect/token``
and answers with an access token that lives five minutes and a refresh token
that lives half an hour. Renewing with the refresh token keeps the password
out of the network and the keyring closed for as long as the refresh token
lives; only when there is none (or UP42 refuses it) is the password sent.
The refresh token is a secret too: it lives only in a 0600 record in the
token cache (``<name>~refresh``), which callers write under the profile's lock.
"""

from __future__ import annotations

from collections.abc import Callable

from up42keys import cache, client, selection, store
from up42keys.errors import CredentialsRejectedError, UsageError
from up42keys.store import Profile

TOKEN_PATH = "/realms/public/protocol/openid-connect/token"  # noqa: S105 - a URL path
CLIENT_ID = "up42-api"
DEFAULT_REGION = "eu"
# The sign-in host and the API host of each UP42 region.
REGIONS = {
    "eu": ("https://auth.up42.com", selection.DEFAULT_API_URL),
    "sa": ("https://auth.sa.up42.com", "https://api.sa.up42.com"),
}
# A refresh token is only tried while it has this many seconds left, so that
# it does not expire on its way to UP42.
REFRESH_MARGIN = 30.0
MAX_USERNAME_LENGTH = 254


def _region_hosts(profile: Profile) -> tuple[str, str]:
    """The sign-in and API hosts of an account's region (a hand-edited unknown one: eu's)."""
    return REGIONS.get(profile.region or DEFAULT_REGION, REGIONS[DEFAULT_REGION])


def default_api_url(profile: Profile) -> str:
    """The API a profile gets when ``--api-url`` is not given: its region's, or UP42's."""
    return _region_hosts(profile)[1] if profile.kind == "account" else selection.DEFAULT_API_URL


def check_username(username: str) -> str:
    """An account's email: one word with an '@', since it is sent as is and keys the cache."""
    local, at, domain = username.partition("@")
    if (
        not at
        or not local
        or not domain
        or len(username) > MAX_USERNAME_LENGTH
        or any(character.isspace() or ord(character) < 32 for character in username)
    ):
        raise UsageError(
            f"the username must be the account's email, such as jane@example.com, not {username!r}"
        )
    return username


def account_profile(
    name: str,
    username: str,
    *,
    region: str | None = None,
    auth_url: str | None = None,
    api_url: str | None = None,
    protected: bool = False,
) -> Profile:
    """A validated account profile; ``auth_url`` and ``api_url`` default to the region's hosts."""
    store.check_name(name)
    region = region or DEFAULT_REGION
    if region not in REGIONS:
        raise UsageError(f"the region must be one of {', '.join(REGIONS)}, not {region!r}")
    region_auth_url, region_api_url = REGIONS[region]
    return Profile(
        name=name,
        kind="account",
        username=check_username(username),
        region=region,
        # An empty URL given is a bad URL, not a request for the default.
        auth_url=store.normalize_url(
            region_auth_url if auth_url is None else auth_url, "sign-in URL"
        ),
        api_url=store.normalize_url(region_api_url if api_url is None else api_url),
        protected=protected,
    )


def refresh_record_name(profile_name: str) -> str:
    return profile_name + cache.REFRESH_SUFFIX


def _request(profile: Profile, form: dict[str, str]) -> client.MintedToken:
    url = f"{profile.auth_url}{TOKEN_PATH}"
    response = client.post_token_request(url, {**form, "client_id": CLIENT_ID})
    return client.token_from_response(url, response)


def sign_in(profile: Profile, password: str) -> client.MintedToken:
    """The password grant: what UP42's SDK sends, and the only request that carries the password."""
    form = {
        "grant_type": "password",
        "username": profile.username or "",
        "password": password,
        "scope": "openid",
    }
    try:
        return _request(profile, form)
    except CredentialsRejectedError as error:
        raise CredentialsRejectedError(
            f"{error.message}; check the password of {profile.username} and store it with "
            f"'{add_command(profile)}'"
        ) from None


def add_command(profile: Profile) -> str:
    """The ``add`` command that stores this profile again, with a new password."""
    words = ["up42keys", "add", profile.name, "--account", "--username", profile.username or ""]
    region = profile.region or DEFAULT_REGION
    if region != DEFAULT_REGION:
        words += ["--region", region]
    if profile.auth_url != _region_hosts(profile)[0]:
        words += ["--auth-url", profile.auth_url or ""]
    if profile.api_url != default_api_url(profile):
        words += ["--api-url", profile.api_url]
    return " ".join([*words, "--force"])


def mint(profile: Profile, password: Callable[[], str]) -> client.MintedToken:
    """Renew with the cached refresh token while it lives, else sign in with the password.

    ``password`` is called only when the password grant is needed, so a
    renewal never opens the keyring. A refresh token that UP42 refuses is
    dropped and the password grant is tried once; its refusal is final.
    Callers hold the profile's lock.
    """
    from up42keys import coredumps

    coredumps.forbid()
    name = refresh_record_name(profile.name)
    refresh = cache.fresh_record(name, REFRESH_MARGIN, profile.cache_key)
    if refresh is not None:
        try:
            return _request(
                profile, {"grant_type": "refresh_token", "refresh_token": refresh.token}
            )
        except client.RejectedError:
            cache.remove(name)
    return sign_in(profile, password())


def keep_refresh_token(profile: Profile, minted: client.MintedToken) -> None:
    """Cache the refresh token that came with a token, or drop the old one when none came.

    Callers hold the profile's lock. A refresh token that is not JWT-shaped
    could not be read back (the record format checks that), so it is not kept.
    """
    name = refresh_record_name(profile.name)
    token, expires_at = minted.refresh_token, minted.refresh_expires_at
    if token is None or expires_at is None or not cache.looks_like_jwt(token):
        cache.remove(name)
        return
    cache.write(name, cache.TokenRecord(token, expires_at, profile.cache_key))
