"""What UP42's data in GDAL, httpx and Dask costs, as ratios to a baseline of the same run.

Run it with the interpreter up42keys is installed in, with the test extra
(``.venv/bin/python benchmarks/reach.py``). It starts the tests' fake UP42
with its COG (tests/fakeassets.py) on 127.0.0.1, adds a profile in a private
home, and prints, never asserting (the machine is shared; see README):

* a GDAL read of the COG (Debian's ``gdal_translate``) through
  ``up42keys exec --gdal`` against the same read with a static header file
  (target <= 1.1x), and the same pair in-process with rasterio: a read inside
  ``up42keys.gdal.env`` against one with a static path-specific header;
* ``Up42Auth``'s per-request cost in httpx against a static ``Authorization``
  header (target <= 1.05x);
* the time a renewed token takes to reach both workers of a LocalCluster
  (target < 1 s).
"""

from __future__ import annotations

import ctypes
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import (
    API_KEY,
    add_profile,
    installed_command,
    load_average,
    private_environment,
    run_once,
)

from tests.fakeassets import FakeAssets
from tests.fakeup42 import API_PATH, FakeUp42

ROUNDS = 15
REQUESTS = 200
PUSHES = 10
GDAL_OPTIONS = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "CPL_VSIL_CURL_USE_HEAD": "NO"}


def interleaved(rounds: int, **cases: Callable[[], float]) -> dict[str, float]:
    """The median time of each case, run in interleaved rounds so that load hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            times[name].append(case())
    return {name: statistics.median(values) for name, values in times.items()}


def show(title: str, medians: dict[str, float], baseline: str, target: str) -> None:
    print(f"\n{title} (target {target})")
    for name, value in medians.items():
        ratio = value / medians[baseline]
        print(f"  {name:<44} {value * 1000:9.2f} ms  {ratio:5.2f}x")


def gdal_cli(command: str, environment: dict[str, str], root: Path, href: str, token: str) -> None:
    header = root / "static-headers"
    header.write_text(f"Authorization: Bearer {token}\n")
    out = str(root / "copy.tif")
    read = ["gdal_translate", "-q", f"/vsicurl/{href}", out]
    static = dict(environment, GDAL_HTTP_HEADER_FILE=str(header))
    medians = interleaved(
        ROUNDS,
        static=lambda: run_once(read, static, root),
        exec_gdal=lambda: run_once(
            [command, "exec", "bench", "--gdal", "--", *read], environment, root
        ),
    )
    show(
        "gdal_translate of the COG: exec --gdal vs a static header file",
        medians,
        "static",
        "<= 1.1x",
    )


def gdal_in_process(href: str, token: str, root: Path) -> None:
    import rasterio

    import up42keys.gdal
    from up42keys.integrations import gdal

    header = root / "static-headers"
    header.write_text(f"Authorization: Bearer {token}\n")
    [library] = gdal.loaded_libraries()
    prefix = gdal.vsicurl_prefix(href)

    clear_cache = ctypes.CDLL(library.path).VSICurlClearCache

    def read() -> float:
        clear_cache()  # every read goes to the server, as a first read does
        start = time.perf_counter()
        with rasterio.Env(**GDAL_OPTIONS), rasterio.open(href) as dataset:
            dataset.read(1)
        return time.perf_counter() - start

    def static() -> float:
        with gdal.scoped_header_file([library], prefix, str(header)):
            return read()

    def scoped() -> float:
        with up42keys.gdal.env("bench"):
            return read()

    def renewing() -> float:
        return read()

    with up42keys.gdal.env("bench"):  # the block's set-up out of the timing: reads alone
        medians = interleaved(ROUNDS, static=static, env_block_per_read=scoped, inside_env=renewing)
    show(
        "rasterio read of the COG: up42keys.gdal.env vs a static header",
        medians,
        "static",
        "<= 1.1x",
    )


def httpx_overhead(url: str, token: str) -> None:
    import httpx

    import up42keys

    def batch(client: httpx.Client) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            for _ in range(REQUESTS):
                client.get(url).raise_for_status()
            return (time.perf_counter() - start) / REQUESTS

        return run

    with (
        httpx.Client(headers={"Authorization": f"Bearer {token}"}) as static,
        httpx.Client(auth=up42keys.Up42Auth("bench")) as auth,
    ):
        medians = interleaved(ROUNDS, static_header=batch(static), up42auth=batch(auth))
    show("httpx GET per request: Up42Auth vs a static header", medians, "static_header", "<= 1.05x")


def dask_push(root: Path) -> None:
    from distributed import Client, LocalCluster

    import up42keys.dask

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None, local_directory=str(root)
        ) as cluster,
        Client(cluster) as client,
    ):
        shared = up42keys.dask.share(client, "bench")
        try:
            times = []
            for _ in range(PUSHES):
                shared.push(shared.keeper.record)
                times.append(shared.push_seconds)
        finally:
            shared.stop()
    median = statistics.median(times)
    print("\nA renewed token reaching both workers of a LocalCluster (target < 1 s)")
    print(f"  median of {PUSHES} pushes {median * 1000:9.2f} ms  (max {max(times) * 1000:.2f} ms)")


def main() -> int:
    command = str(installed_command())
    server = FakeUp42().start()
    project_id = str(uuid.uuid4())
    server.add_project(project_id, API_KEY)
    server.token_ttl = 3600
    with tempfile.TemporaryDirectory(prefix="up42keys-reach-") as directory:
        root = Path(directory)
        (root / "home").mkdir()
        assets = FakeAssets.install(server, root)
        environment = dict(private_environment(root / "home"), **GDAL_OPTIONS)
        environment.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        add_profile(command, project_id, server.url, environment, root)
        os.environ.clear()
        os.environ.update(environment)  # the in-process parts use the same home and keyring
        token = server.mint_jwt(project_id, 3600)
        print(f"load average: {load_average()}")
        gdal_cli(command, environment, root, assets.href, token)
        gdal_in_process(assets.href, token, root)
        httpx_overhead(server.url + API_PATH, token)
        dask_push(root / "dask")
        assets.stop()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
