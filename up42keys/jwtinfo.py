"""Reading a token's header and claims with PyJWT, without verifying the signature.

Only UP42 holds the key that signed the token; the tool reads the claims to
learn the expiry and to show them (``inspect``), and trusts UP42's answer.
The expiry alone is read without PyJWT: a mint needs it whenever UP42 leaves
out ``expires_in``, and importing PyJWT (which loads cryptography) would cost
every such mint about 30 ms; ``inspect`` shows everything through PyJWT.
"""

from __future__ import annotations

from typing import Any

from up42keys.errors import Up42UnavailableError


def header(token: str) -> dict[str, Any]:
    import jwt

    try:
        return dict(jwt.get_unverified_header(token))
    except jwt.PyJWTError as error:
        raise Up42UnavailableError(f"the token is not a readable JWT ({error})") from None


def expiry(token: str) -> int | None:
    """The ``exp`` claim of a token that has the shape of a JWT, or None where it has none."""
    import base64
    import json

    payload = token.split(".")[1]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError as error:  # also binascii.Error, UnicodeDecodeError, JSONDecodeError
        raise Up42UnavailableError(f"the token is not a readable JWT ({error})") from None
    exp = decoded.get("exp") if isinstance(decoded, dict) else None
    return int(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None


def claims(token: str) -> dict[str, Any]:
    import jwt

    try:
        return dict(jwt.decode(token, options={"verify_signature": False}))
    except jwt.PyJWTError as error:
        raise Up42UnavailableError(f"the token is not a readable JWT ({error})") from None
