"""Account sign-in: UP42's OpenID Connect password grant, and its renewal by refresh token.

UP42 signs accounts in at ``{auth_url}/realms/public/protocol/openid-connect/token``
and answers with an access token that lives five minutes and a refresh token
that lives half an hour. The two grants are plain requests here; when to renew
rather than sign in, and where the refresh token is kept, is the account
kind's business (``up42keys.kinds.account``).
"""

from __future__ import annotations

from up42keys.remote import client

TOKEN_PATH = "/realms/public/protocol/openid-connect/token"  # noqa: S105 - a URL path


def _request(
    auth_url: str, client_id: str, form: dict[str, str], rejected_fix: str | None = None
) -> client.MintedToken:
    url = f"{auth_url}{TOKEN_PATH}"
    response = client.post_token_request(
        url, {**form, "client_id": client_id}, rejected_fix=rejected_fix
    )
    return client.token_from_response(url, response)


def sign_in(
    auth_url: str, client_id: str, username: str, password: str, rejected_fix: str
) -> client.MintedToken:
    """The password grant: the only request that carries the password."""
    form = {"grant_type": "password", "username": username, "password": password}
    return _request(auth_url, client_id, {**form, "scope": "openid"}, rejected_fix)


def renew(auth_url: str, client_id: str, refresh_token: str) -> client.MintedToken:
    """The refresh-token grant; a refusal is a ``client.RejectedError``."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return _request(auth_url, client_id, form)
