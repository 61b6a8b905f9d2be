"""Account sign-in: UP42's OpenID Connect password grant, and its renewal by refresh token.

UP42 signs accounts in at ``{auth_url}/realms/public/protocol/openid-connect/token``
and answers with an access token that lives five minutes and a refresh token
that lives half an hour. Renewing with the refresh token keeps the password
out of the network and the keyring closed for as long as the refresh token
lives; only when there is none (or UP42 refuses it) is the password sent.
The refresh token is a secret too: it lives only in a 0600 record in the
token cache (``AccountProfile.refresh_record_name``), which callers write
under the profile's lock. What an account profile is, and its defaults, is
``up42keys.targets``' business.
"""

from __future__ import annotations

from collections.abc import Callable

from up42keys import cache, client
from up42keys.targets import AccountProfile

TOKEN_PATH = "/realms/public/protocol/openid-connect/token"  # noqa: S105 - a URL path
# A refresh token is only tried while it has this many seconds left, so that
# it does not expire on its way to UP42.
REFRESH_MARGIN = 30.0


def _request(
    profile: AccountProfile, form: dict[str, str], rejected_fix: str | None = None
) -> client.MintedToken:
    url = f"{profile.auth_url}{TOKEN_PATH}"
    response = client.post_token_request(
        url, {**form, "client_id": profile.sign_in_client}, rejected_fix=rejected_fix
    )
    return client.token_from_response(url, response)


def sign_in(profile: AccountProfile, password: str) -> client.MintedToken:
    """The password grant: the only request that carries the password.

    Both grants sign in as the profile's client ID (``targets.DEFAULT_CLIENT_ID``,
    ``up42-api`` as in UP42's public docs, unless the profile names another; up42-py
    2.x-4.x sends ``up42-sdk``), and a token serves only the client it was minted for.
    """
    form = {
        "grant_type": "password",
        "username": profile.username or "",
        "password": password,
        "scope": "openid",
    }
    return _request(profile, form, profile.rejected_fix())


def mint(profile: AccountProfile, password: Callable[[], str]) -> client.MintedToken:
    """Renew with the cached refresh token while it lives, else sign in with the password.

    ``password`` is called only when the password grant is needed, so a
    renewal never opens the keyring. A refresh token that UP42 refuses is
    dropped and the password grant is tried once; its refusal is final.
    Callers hold the profile's lock.
    """
    from up42keys import coredumps

    coredumps.forbid()
    name = profile.refresh_record_name
    refresh = cache.fresh_record(name, REFRESH_MARGIN, profile.cache_key)
    if refresh is not None:
        try:
            return _request(
                profile, {"grant_type": "refresh_token", "refresh_token": refresh.token}
            )
        except client.RejectedError:
            cache.remove(name)
    return sign_in(profile, password())


def keep_refresh_token(profile: AccountProfile, minted: client.MintedToken) -> None:
    """Cache the refresh token that came with a token, or drop the old one when none came.

    Callers hold the profile's lock. A refresh token that is not JWT-shaped
    could not be read back (the record format checks that), so it is not kept.
    """
    name = profile.refresh_record_name
    token, expires_at = minted.refresh_token, minted.refresh_expires_at
    if token is None or expires_at is None or not cache.looks_like_jwt(token):
        cache.remove(name)
        return
    cache.write(name, cache.TokenRecord(token, expires_at, profile.cache_key))
