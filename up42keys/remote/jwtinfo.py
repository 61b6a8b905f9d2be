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
    try:
        finite = math.isfinite(exp)
    except OverflowError:  # an integer no float holds (10**400): as good as infinity
        finite = False
    if not finite:
        exp = exp if isinstance(exp, float) else f"an integer of {len(str(exp))} digits"
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


# Claims that name a project where a token carries one: the subject, the audience, and
# a claim of the project's own. Only a UUID in them is a project ID (a subject such as
# ``up42-api`` names a client, not a project).
PROJECT_CLAIMS = ("sub", "aud", "project_id", "projectId", "project")


def other_project(token: str, project_id: str) -> tuple[str, str] | None:
    """The claim and its value where the token's claims name a project other than
    ``project_id``; None where they name it, or none.

    A token minted for one project and cached for another would act on the wrong
    project under the right profile's name; this refuses it before it is cached.
    An audience may be a list: it names this project when any of its entries does.
    """
    from up42keys import rules

    try:
        found = claims(token)
    except Up42UnavailableError:  # no readable claims: none names another project
        return None
    for name in PROJECT_CLAIMS:
        value = found.get(name)
        values = value if isinstance(value, list) else [value]
        projects = [str(item).lower() for item in values if isinstance(item, str)]
        projects = [item for item in projects if rules.is_uuid(item)]
        if projects and project_id.lower() not in projects:
            return name, projects[0]
    return None
