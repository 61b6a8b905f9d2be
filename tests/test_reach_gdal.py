"""GDAL and rasterio on a profile: ``up42keys.gdal.env`` and ``exec --gdal`` (issue 19).

Real GDAL twice over: rasterio's wheel (GDAL 3.10, in-process and in a child)
and Debian's gdal-bin (3.6.2, whose tools ``exec --gdal`` serves through the
``/vsicurl?header_file=`` form), against the fake UP42's COG on 127.0.0.1.
"""

from __future__ import annotations

import ctypes.util
import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

import up42keys.gdal
from tests.conftest import installed_command, require_os_feature
from tests.fakeassets import ASSET_ID, BLOCK, PIXELS
from tests.helpers import add_profile, claims
from tests.reachkit import GDAL_OPTIONS, ORDER, PAUSE, assets, check_reads, tile_of
from up42keys.integrations import gdal

__all__ = ["assets"]  # a fixture, used by name

SYSTEM_GDAL = ctypes.util.find_library("gdal")  # Debian's libgdal, from gdal-bin


def storage_url(server, project_id: str) -> str:
    """The pre-signed URL UP42 gives for the asset (on the storage host)."""
    token = server.mint_jwt(project_id, 60)
    answer = httpx.post(
        f"{server.url}/v2/assets/{ASSET_ID}/download-url",
        headers={"Authorization": f"Bearer {token}"},
    )
    answer.raise_for_status()
    return str(answer.json()["url"])


def test_env_gives_rasterio_a_fresh_token_for_the_api_origin_only(run, server, project_id, assets):
    add_profile(run, server, "prod", project_id, "--no-verify", check=True)
    download = storage_url(server, project_id)
    started = time.monotonic()
    with up42keys.gdal.env("prod") as prefix, rasterio.Env(**GDAL_OPTIONS):
        assert prefix == f"/vsicurl/{server.url}/"
        with rasterio.open(assets.href) as dataset:
            for row, column in ORDER:
                window = Window(column, row, BLOCK, BLOCK)
                assert np.array_equal(dataset.read(1, window=window), tile_of(row, column))
                time.sleep(PAUSE)
        with rasterio.open(download) as dataset:  # the same process reads another origin
            assert np.array_equal(dataset.read(1), PIXELS)
    assert time.monotonic() - started > 3 * server.token_ttl
    check_reads(server, assets)


def test_env_restores_gdals_configuration_exactly(run, server, project_id, assets):
    add_profile(run, server, "prod", project_id, "--no-verify", check=True)
    [library] = gdal.loaded_libraries()
    prefix = gdal.vsicurl_prefix(server.url)
    other = "/vsicurl/http://127.0.0.1:1/"
    library.set(other, gdal.HEADER_OPTION, "/users/own/headers")
    assert library.get(prefix, gdal.HEADER_OPTION) is None
    with up42keys.gdal.env("prod"):
        inside = library.get(prefix + "v2/assets/x", gdal.HEADER_OPTION)
        assert inside is not None
        assert Path(inside).read_text().startswith("Authorization: Bearer ey")
        assert library.get("/vsicurl/http://127.0.0.1:2/x", gdal.HEADER_OPTION) is None
        with up42keys.gdal.env("prod"):  # nested: the inner block restores the outer's file
            assert library.get(prefix, gdal.HEADER_OPTION) != inside
        assert library.get(prefix, gdal.HEADER_OPTION) == inside
    assert library.get(prefix, gdal.HEADER_OPTION) is None
    assert library.get(other, gdal.HEADER_OPTION) == "/users/own/headers"
    with rasterio.Env(GDAL_HTTP_HEADER_FILE="/a/global/file"):  # a global value stays global
        with up42keys.gdal.env("prod"):
            assert library.get(prefix, gdal.HEADER_OPTION) not in (None, "/a/global/file")
        assert library.get(prefix, gdal.HEADER_OPTION) is None
    assert not Path(inside).exists()
    library.set(other, gdal.HEADER_OPTION, None)


def test_gdal_3_6_ignores_path_specific_options_and_is_refused(monkeypatch):
    """Debian's GDAL 3.6.2 has the calls but does not apply them to /vsicurl/: refuse it."""
    require_os_feature(SYSTEM_GDAL is not None, "Debian's libgdal (gdal-bin) is missing")
    probe = textwrap.dedent(
        f"""
        import json
        from up42keys.integrations.gdal import Library
        library = Library({SYSTEM_GDAL!r})
        print(json.dumps([library.version_text, library.scopes]))
        """
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    version, scopes = json.loads(found.stdout)
    assert version.startswith("3.6.")
    assert scopes is False
    old = gdal.Library.__new__(gdal.Library)
    old.path, old.version_text, old.version = SYSTEM_GDAL, version, (3, 6, 2)
    old._get = old._set = None
    monkeypatch.setattr(gdal, "loaded_libraries", lambda: [old])
    with (
        pytest.warns(RuntimeWarning, match=r"needs GDAL 3\.8"),
        pytest.raises(up42keys.gdal.GdalScopingError, match=r"needs GDAL 3\.8 or later"),
    ):
        gdal.scoping_libraries()


# -- exec --gdal: the installed command, real GDAL tools and rasterio in the child -------------


@pytest.fixture
def exec_profile(up42keys, server, project_id, assets) -> str:
    add_profile(up42keys, server, "prod", project_id, "--no-verify", check=True)
    return "prod"


def test_exec_gdal_gdallocationinfo_reads_across_token_lifetimes(
    up42keys, server, project_id, assets, exec_profile, tmp_path
):
    require_os_feature(shutil.which("gdallocationinfo") is not None, "gdal-bin is missing")

    child = subprocess.Popen(
        [
            installed_command(),
            "exec",
            exec_profile,
            "--gdal",
            "--",
            "gdallocationinfo",
            "-valonly",
            f"/vsicurl/{assets.href}",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None
    for row, column in ORDER:  # one point per tile, fed slowly to one running process
        child.stdin.write(f"{column + 5} {row + 7}\n")
        child.stdin.flush()
        time.sleep(PAUSE)
    output, errors = child.communicate(timeout=30)
    assert child.returncode == 0, errors
    values = [int(line) for line in output.split()]
    assert values == [int(PIXELS[row + 7, column + 5]) for row, column in ORDER]
    download = storage_url(server, project_id)  # the same tools read the storage host too
    translate(up42keys, exec_profile, download, tmp_path / "copy.tif")
    check_reads(server, assets)


def translate(up42keys, profile: str, url: str, copy: Path) -> None:
    """``exec --gdal -- gdal_translate`` of ``url`` to ``copy``, every pixel checked."""
    result = up42keys(
        "exec", profile, "--gdal", "--", "gdal_translate", "-q", f"/vsicurl/{url}", str(copy)
    )
    assert result.returncode == 0, result.stderr
    with rasterio.open(copy) as dataset:
        assert np.array_equal(dataset.read(1), PIXELS)


def test_exec_gdal_translate_copies_every_pixel(up42keys, server, assets, exec_profile, tmp_path):
    require_os_feature(shutil.which("gdal_translate") is not None, "gdal-bin is missing")
    translate(up42keys, exec_profile, assets.href, tmp_path / "copy.tif")
    assert server.api_rejections == 0


RASTERIO_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    import numpy as np, rasterio
    from rasterio.windows import Window
    href, download, order, pause, block, out = sys.argv[1:]
    tiles = {}
    with rasterio.open(href) as dataset:
        for row, column in json.loads(order):
            tiles[f"{row},{column}"] = dataset.read(1, window=Window(column, row, int(block),
                                                                    int(block))).tolist()
            time.sleep(float(pause))
    with rasterio.open(download) as dataset:
        whole = dataset.read(1).tolist()
    with open(out, "w") as stream:
        json.dump({"tiles": tiles, "whole": whole, "token": os.environ["UP42_TOKEN"],
                   "expires_at": int(os.environ["UP42_TOKEN_EXPIRES_AT"])}, stream)
    """
)


def test_exec_gdal_rasterio_script_reads_across_token_lifetimes(
    up42keys, server, project_id, assets, exec_profile, tmp_path
):
    out = tmp_path / "read.json"
    download = storage_url(server, project_id)
    result = up42keys(
        "exec",
        exec_profile,
        "--gdal",
        "--",
        sys.executable,
        "-c",
        RASTERIO_SCRIPT,
        assets.href,
        download,
        json.dumps(ORDER),
        str(PAUSE),
        str(BLOCK),
        str(out),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    for row, column in ORDER:
        assert np.array_equal(np.array(report["tiles"][f"{row},{column}"]), tile_of(row, column))
    assert np.array_equal(np.array(report["whole"]), PIXELS)
    assert report["expires_at"] == claims(report["token"])["exp"]
    check_reads(server, assets)


def test_exec_gdal_rio_info(up42keys, server, assets, exec_profile):
    result = up42keys(
        "exec",
        exec_profile,
        "--gdal",
        "--",
        str(Path(sys.executable).parent / "rio"),
        "info",
        assets.href,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["width"] == PIXELS.shape[1]
    assert server.api_rejections == 0
    assert assets.asset_tokens


def test_exec_gdal_keeps_the_users_gdal_configuration(up42keys, server, exec_profile, tmp_path):
    own = tmp_path / "own-gdalrc"
    own.write_text("[configoptions]\nGDAL_CACHEMAX=64\n")
    script = 'cat "$GDAL_CONFIG_FILE"; stat -c %a "$(dirname "$UP42_TOKEN_FILE")/gdal-headers"'
    result = up42keys(
        "exec", exec_profile, "--gdal", "--", "sh", "-c", script, env={"GDAL_CONFIG_FILE": str(own)}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[configoptions]\nGDAL_CACHEMAX=64\n[credentials]\n")
    assert f"path=/vsicurl/{server.url}/\n" in result.stdout
    assert result.stdout.splitlines()[-1] == "600"


def test_exec_gdal_warns_when_the_gdal_on_path_cannot_scope_an_unnamed_path(up42keys, exec_profile):
    require_os_feature(shutil.which("gdalinfo") is not None, "gdal-bin is missing")
    result = up42keys("exec", exec_profile, "--gdal", "--", "gdalinfo", "--version")
    assert result.returncode == 0, result.stderr
    version = result.stdout.split()[1].rstrip(",")
    if gdal._version_tuple(version) < gdal.SCOPED_SINCE:  # Debian 12's 3.6.2
        assert f"up42keys: warning: GDAL {version} on PATH" in result.stderr
        assert "needs GDAL 3.8" in result.stderr
    else:
        assert "warning" not in result.stderr
