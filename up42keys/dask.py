"""Dask on a profile: ``up42keys.dask.share(client)`` gives the workers the token, not the secret.

See ``up42keys.integrations.dask``.
"""

from up42keys.integrations.dask import TokenSharing, share

__all__ = ["TokenSharing", "share"]
