"""Run UP42's own SDK (up42-py) on an up42keys account profile.

After ``authenticate("me")`` the SDK works as after ``up42.authenticate(...)``,
but it never signs in by itself and no password goes into its JSON config
file or into code: every request gets its token from the profile's
``Up42Auth``, which renews it through up42keys' cache, lock and refresh
grant. The SDK's internals this relies on are all in ``up42keys.integrations.up42py``.
"""

from __future__ import annotations

from up42keys.errors import UsageError
from up42keys.integrations.httpauth import Up42Auth
from up42keys.ops import tokens

DEFAULT_REGION = "eu"


def authenticate(profile: str | None = None) -> str:
    """Set the installed up42-py up on an account profile; returns the workspace ID.

    ``profile=None`` means what the command line would use. The SDK's region
    is the profile's, and so are its hosts (``api_url`` and ``auth_url``): a
    profile on a staging or test server never sends its token to production.
    Raises ``UsageError`` for a project profile (up42-py
    signs accounts in only) and for an up42-py version the bridge does not
    know, ``Up42KeysError`` when up42-py is not installed.
    """
    from up42keys.integrations import up42py

    target = tokens.resolve_target(profile)
    name = getattr(target, "name", None)
    if name is None or getattr(target, "kind", None) != "account":
        project = f"{name!r} is a project profile" if name else "UP42_PROJECT_ID is a project"
        raise UsageError(
            f"up42-py works with UP42 accounts only, and {project}; add an account profile "
            f"with 'up42keys add NAME --account --username EMAIL' and pass its name"
        )
    up42py.check_version()
    region = getattr(target, "region", None) or DEFAULT_REGION
    auth_url = getattr(target, "auth_url", None) or target.api_url
    return up42py.bind(
        region, target.api_url, auth_url, lambda sdk_urls: Up42Auth(name, also=sdk_urls)
    )
