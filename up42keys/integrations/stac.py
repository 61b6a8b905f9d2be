"""pystac-client on a profile: a STAC API behind UP42's bearer token.

pystac-client's documented hook for auth is ``request_modifier``, called with
each ``requests.Request`` before it is sent. ``Up42Auth`` is such a callable:
it renews the token as it goes and sets it only on requests to the profile's
API origin, so the origin rule lives in one place (``up42keys.integrations.httpauth``).
"""

from __future__ import annotations

from typing import Any


def open(url: str, profile: str | None = None, **options: Any) -> Any:
    """``pystac_client.Client.open(url, ...)`` with ``profile``'s token on UP42's origin only.

    ``profile=None`` means what the command line would use; ``options`` go to
    ``Client.open`` as they are (``headers``, ``parameters``...). Open the
    assets it finds in ``up42keys.gdal.env(profile)``.
    """
    from pystac_client import Client

    from up42keys.integrations.httpauth import Up42Auth

    return Client.open(url, request_modifier=Up42Auth(profile), **options)
