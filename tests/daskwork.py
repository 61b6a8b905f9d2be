"""The tasks the Dask test runs on its workers.

A module of its own, importing neither pytest nor the tests' fixtures: those
load keyring, and the test checks that a worker never loads it.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from typing import Any

import httpx
import numpy as np
import rasterio
from rasterio.windows import Window

import up42keys
from up42keys.integrations import dask as up42dask

GDAL_OPTIONS = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "CPL_VSIL_CURL_USE_HEAD": "NO"}


def read_tile(href: str, row: int, column: int, block: int, pause: float) -> np.ndarray:
    """One tile of the COG, then a pause: the reads of all tasks outlive several tokens."""
    with rasterio.Env(**GDAL_OPTIONS), rasterio.open(href) as dataset:
        tile = dataset.read(1, window=Window(column, row, block, block))
    time.sleep(pause)
    return tile


def read_whole(url: str) -> np.ndarray:
    with rasterio.Env(**GDAL_OPTIONS), rasterio.open(url) as dataset:
        return dataset.read(1)


def report(api_url: str) -> dict[str, Any]:
    """What the worker holds: its token, and whether the keyring was ever loaded."""
    directory = up42dask._WORKER.directory
    assert directory is not None
    header = os.path.join(directory, "gdal-headers")
    with httpx.Client(auth=up42keys.Up42Auth()) as client:
        status = client.get(api_url).status_code
    return {
        "pid": os.getpid(),
        "token": up42keys.get_token(),
        "whoami": status,
        "keyring_loaded": "keyring" in sys.modules,
        "directory": directory,
        "directory_mode": stat.S_IMODE(os.stat(directory).st_mode),
        "header_mode": stat.S_IMODE(os.stat(header).st_mode),
    }
