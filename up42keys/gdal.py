"""GDAL and rasterio on a profile: ``with up42keys.gdal.env("prod"): rasterio.open(href)``.

See ``up42keys.integrations.gdal`` for how the token is kept to UP42's origin.
"""

from up42keys.errors import GdalScopingError
from up42keys.integrations.gdal import SCOPED_SINCE, env

__all__ = ["SCOPED_SINCE", "GdalScopingError", "env"]
