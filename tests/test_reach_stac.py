"""pystac-client on a profile, and its assets read with rasterio in up42keys.gdal.env (issue 19)."""

from __future__ import annotations

import time

import numpy as np
import rasterio
from rasterio.windows import Window

import up42keys.gdal
import up42keys.stac
from tests.fakeassets import ASSET_ID, BLOCK, COLLECTION
from tests.fakeup42 import STAC_PATH
from tests.helpers import add_profile
from tests.reachkit import GDAL_OPTIONS, LIFETIMES, ORDER, PAUSE, assets, check_reads, tile_of
from tests.test_reach_gdal import storage_url

__all__ = ["assets"]  # a fixture, used by name


def test_search_then_read_the_assets_across_token_lifetimes(run, server, project_id, assets):
    add_profile(run, server, "prod", project_id, "--no-verify", check=True)
    catalog = up42keys.stac.open(server.url + STAC_PATH, "prod")
    items = list(catalog.search(collections=[COLLECTION], max_items=10).items())
    assert [item.id for item in items] == [ASSET_ID]
    href = items[0].assets["image"].href
    assert href == assets.href
    download = storage_url(server, project_id)
    started = time.monotonic()
    with up42keys.gdal.env("prod"), rasterio.Env(**GDAL_OPTIONS):
        with rasterio.open(href) as dataset:
            for row, column in ORDER:
                window = Window(column, row, BLOCK, BLOCK)
                assert np.array_equal(dataset.read(1, window=window), tile_of(row, column))
                time.sleep(PAUSE)
        with rasterio.open(download) as dataset:
            assert dataset.read(1).shape == (dataset.height, dataset.width)
    # The same client, three lifetimes later: its token was renewed, not sent stale.
    assert [item.id for item in catalog.search(collections=[COLLECTION]).items()] == [ASSET_ID]
    assert time.monotonic() - started > LIFETIMES * server.token_ttl
    check_reads(server, assets)
    stac_tokens = {
        request.headers.get("Authorization")
        for request in server.api_requests
        if request.path.startswith(STAC_PATH)
    }
    assert None not in stac_tokens
    assert len(stac_tokens) >= 2
