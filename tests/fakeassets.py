"""UP42's data on the fake UP42: a real Cloud-Optimized GeoTIFF, a storage host and a STAC API.

``FakeAssets.install(fake)`` makes the fake UP42 (tests/fakeup42.py) answer
every ``/v2/assets/...`` path:

- ``GET``/``HEAD /v2/assets/{id}``: the COG, with HTTP Range requests, for a
  bearer token the fake signed only (401 otherwise, counted as the fake's
  ``api_rejections``);
- ``POST /v2/assets/{id}/download-url``: ``{"url": ...}`` on the storage host,
  a second server on another port that needs no auth and records the
  ``Authorization`` header of every request it gets (``storage.authorizations``:
  it must only ever hold None);
- ``/v2/assets/stac/``: a minimal STAC API (landing page, conformance,
  collections, items, search) whose assets' ``href``s point at ``/v2/assets/{id}``.

The COG is made at test time with rasterio (GDAL): seeded noise, so that every
tile is a request of its own and every pixel can be checked (``PIXELS``).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from tests.fakeup42 import STAC_PATH, FakeUp42

ASSET_ID = "3f2c9a1e-5b7d-4e0a-9c1f-2d8e6b4a7c01"
ASSETS_PATH = "/v2/assets/"
COLLECTION = "fake-orders"
GEOJSON = "application/geo+json"
SIZE = 512
BLOCK = 128
# Uncompressed noise: every 128x128 tile is 16 KiB, GDAL's chunk, so each tile read is a request.
PIXELS = np.random.default_rng(19).integers(0, 256, size=(SIZE, SIZE), dtype=np.uint8)


def make_cog(path: Path) -> bytes:
    """Write ``PIXELS`` as a COG with GDAL's COG driver and return its bytes."""
    import rasterio
    from rasterio.transform import from_origin

    profile = {
        "driver": "COG",
        "width": SIZE,
        "height": SIZE,
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:32633",
        "transform": from_origin(500000, 5000000, 10, 10),
        "blocksize": BLOCK,
        "compress": "NONE",
        "overviews": "NONE",
    }
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(PIXELS, 1)
    return path.read_bytes()


def tiles() -> list[tuple[int, int]]:
    """The (row, column) of every tile's top-left pixel, in reading order."""
    return [(row, column) for row in range(0, SIZE, BLOCK) for column in range(0, SIZE, BLOCK)]


class StorageHost:
    """A second origin: the pre-signed downloads, no auth; it records every Authorization."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.authorizations: list[str | None] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        storage = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                storage.answer(self)

            do_HEAD = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.authorizations.append(request.headers.get("Authorization"))
            self.paths.append(request.path)
        send_bytes(request, self.payload)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeAssets:
    """The ``/v2/assets/`` paths of the fake UP42 (see the module's docstring)."""

    def __init__(self, fake: FakeUp42, payload: bytes) -> None:
        self.fake = fake
        self.payload = payload
        self.storage = StorageHost(payload)
        # Every token the COG path accepted, in order: renewals show as new tokens.
        self.asset_tokens: list[str] = []
        self._lock = threading.Lock()

    @classmethod
    def install(cls, fake: FakeUp42, directory: Path) -> FakeAssets:
        assets = cls(fake, make_cog(directory / "asset.tif"))
        fake.assets = assets
        return assets

    def stop(self) -> None:
        self.storage.stop()

    @property
    def href(self) -> str:
        return f"{self.fake.url}{ASSETS_PATH}{ASSET_ID}"

    def handles(self, path: str) -> bool:
        return path.startswith(ASSETS_PATH)

    def answer(self, request: BaseHTTPRequestHandler, path: str, query: str) -> None:
        token = self.fake.accepted_bearer(request)
        if token is None:
            send_bytes(request, b'{"error": "unauthorized"}', status=401)
            return
        if path == ASSETS_PATH + ASSET_ID:
            with self._lock:
                self.asset_tokens.append(token)
            send_bytes(request, self.payload)
        elif path == f"{ASSETS_PATH}{ASSET_ID}/download-url" and request.command == "POST":
            send_json(request, {"url": f"{self.storage.url}/bucket/{ASSET_ID}.tif?signature=x"})
        elif path.startswith(STAC_PATH):
            body = self._stac(path[len(STAC_PATH) :].strip("/"), query)
            if body is None:
                send_bytes(request, b'{"error": "no such path"}', status=404)
            else:
                send_json(request, body)
        else:
            send_bytes(request, b'{"error": "no such path"}', status=404)

    def _stac(self, path: str, query: str) -> dict[str, Any] | None:
        root = self.fake.url + STAC_PATH
        conformance = [
            "https://api.stacspec.org/v1.0.0/core",
            "https://api.stacspec.org/v1.0.0/collections",
            "https://api.stacspec.org/v1.0.0/item-search",
            "https://api.stacspec.org/v1.0.0/ogcapi-features",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        ]
        collection = {
            "type": "Collection",
            "stac_version": "1.0.0",
            "id": COLLECTION,
            "description": "The fake UP42's one order",
            "license": "proprietary",
            "extent": {
                "spatial": {"bbox": [[14.9, 45.1, 14.95, 45.15]]},
                "temporal": {"interval": [["2026-01-01T00:00:00Z", None]]},
            },
            "links": [
                {"rel": "self", "href": f"{root}collections/{COLLECTION}"},
                {"rel": "root", "href": root},
                {"rel": "items", "href": f"{root}collections/{COLLECTION}/items"},
            ],
        }
        if path == "":
            return {
                "type": "Catalog",
                "stac_version": "1.0.0",
                "id": "fake-up42-storage",
                "description": "The fake UP42's storage",
                "conformsTo": conformance,
                "links": [
                    {"rel": "self", "href": root, "type": "application/json"},
                    {"rel": "root", "href": root, "type": "application/json"},
                    {"rel": "conformance", "href": root + "conformance"},
                    {"rel": "data", "href": root + "collections", "type": "application/json"},
                    {"rel": "search", "href": root + "search", "type": GEOJSON, "method": "GET"},
                    {"rel": "search", "href": root + "search", "type": GEOJSON, "method": "POST"},
                ],
            }
        if path == "conformance":
            return {"conformsTo": conformance}
        if path == "collections":
            return {"collections": [collection], "links": [{"rel": "root", "href": root}]}
        if path == f"collections/{COLLECTION}":
            return collection
        if path in ("search", f"collections/{COLLECTION}/items"):
            return {"type": "FeatureCollection", "features": [self._item(root)], "links": []}
        return None

    def _item(self, root: str) -> dict[str, Any]:
        return {
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": ASSET_ID,
            "collection": COLLECTION,
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[14.9, 45.1], [14.95, 45.1], [14.95, 45.15], [14.9, 45.1]]],
            },
            "bbox": [14.9, 45.1, 14.95, 45.15],
            "properties": {"datetime": "2026-01-02T10:00:00Z"},
            "assets": {
                "image": {
                    "href": self.href,
                    "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                    "roles": ["data"],
                }
            },
            "links": [
                {"rel": "self", "href": f"{root}collections/{COLLECTION}/items/{ASSET_ID}"},
                {"rel": "collection", "href": f"{root}collections/{COLLECTION}"},
                {"rel": "root", "href": root},
            ],
        }


def send_json(request: BaseHTTPRequestHandler, body: Any) -> None:
    send_bytes(request, json.dumps(body).encode(), content_type="application/json")


def send_bytes(
    request: BaseHTTPRequestHandler,
    payload: bytes,
    *,
    status: int = 200,
    content_type: str = "image/tiff",
) -> None:
    """``payload``, or the part a ``Range: bytes=A-B`` asks for (206); no body to a HEAD."""
    headers = {"Accept-Ranges": "bytes"}
    wanted = request.headers.get("Range", "")
    if status == 200 and wanted.startswith("bytes="):
        first_text, _, last_text = wanted[len("bytes=") :].partition("-")
        first = int(first_text)
        last = min(int(last_text) if last_text else len(payload) - 1, len(payload) - 1)
        headers["Content-Range"] = f"bytes {first}-{last}/{len(payload)}"
        payload, status = payload[first : last + 1], 206
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(payload)))
    for name, value in headers.items():
        request.send_header(name, value)
    request.end_headers()
    if request.command != "HEAD":
        request.wfile.write(payload)
