"""pystac-client on a profile: ``up42keys.stac.open(url, "prod").search(...)``.

See ``up42keys.integrations.stac``.
"""

from up42keys.integrations.stac import open

__all__ = ["open"]
