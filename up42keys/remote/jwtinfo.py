"""Reading a token's header and claims with PyJWT, without verifying the signature.

Only UP42 holds the key that signed the token; the tool reads the claims to
learn the expiry and to show them (``inspect``), and trusts UP42's answer.
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
    """The token's ``exp`` claim, or None where it has none; an error for a non-finite one."""
    import math

    exp = claims(token).get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        return None
    if not math.isfinite(exp):
        raise Up42UnavailableError(
            f"the token's exp claim is not a finite number ({exp!r}); that is no usable token, "
            "try again later or report it to UP42"
        )
    return int(exp)


def claims(token: str) -> dict[str, Any]:
    import jwt

    try:
        return dict(jwt.decode(token, options={"verify_signature": False}))
    except jwt.PyJWTError as error:
        raise Up42UnavailableError(f"the token is not a readable JWT ({error})") from None
