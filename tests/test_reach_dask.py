"""up42keys.dask.share on a real LocalCluster of worker processes (issue 19)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from distributed import Client, LocalCluster, wait

import up42keys.dask
from tests import daskwork
from tests.conftest import API_KEY, files_containing
from tests.fakeassets import BLOCK, PIXELS
from tests.helpers import add_profile
from tests.reachkit import ORDER, PAUSE, assets, check_reads, tile_of
from tests.test_reach_gdal import storage_url

__all__ = ["assets"]  # a fixture, used by name


@pytest.fixture
def cluster(assets, tmp_path: Path):
    """One worker process now; the test adds the second after sharing (a "future" worker)."""
    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            local_directory=str(tmp_path / "dask"),
        ) as local,
        Client(local) as client,
    ):
        yield local, client


def test_workers_read_across_token_lifetimes_with_the_token_and_never_the_secret(
    run, server, project_id, assets, cluster, tmp_path
):
    local, client = cluster
    add_profile(run, server, "prod", project_id, "--no-verify", check=True)
    shared = up42keys.dask.share(client, "prod")
    try:
        local.scale(2)
        client.wait_for_workers(2)
        download = storage_url(server, project_id)
        started = time.monotonic()
        futures = [
            client.submit(
                daskwork.read_tile, assets.href, row, column, BLOCK, 2 * PAUSE, pure=False
            )
            for row, column in ORDER
        ]
        whole = client.submit(daskwork.read_whole, download, pure=False)
        wait([*futures, whole])
        assert server.api_rejections == 0, server.rejected  # before any result: why one failed
        for (row, column), future in zip(ORDER, futures, strict=True):
            assert np.array_equal(future.result(), tile_of(row, column))
        assert np.array_equal(whole.result(), PIXELS)
        assert time.monotonic() - started > 3 * server.token_ttl
        reports = {
            worker: client.submit(
                daskwork.report, server.api_url, workers=[worker], pure=False
            ).result()
            for worker in client.scheduler_info()["workers"]
        }
    finally:
        shared.stop()
    check_reads(server, assets)
    assert len(reports) == 2
    workers = {report["pid"] for report in reports.values()}
    assert len(workers) == 2
    assert os.getpid() not in workers
    assert shared.push_seconds < 5
    for report in reports.values():
        assert report["whoami"] == 200
        assert report["token"] in server.api_tokens
        assert report["keyring_loaded"] is False
        assert report["directory_mode"] == 0o700
        assert report["header_mode"] == 0o600
        pid = report["pid"]
        assert API_KEY.encode() not in Path(f"/proc/{pid}/environ").read_bytes()
        assert API_KEY.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
        assert files_containing(API_KEY, Path(report["directory"])) == []
    assert files_containing(API_KEY, tmp_path / "dask") == []
    assert server.mints >= 3  # every renewal was minted in this process, never on a worker
