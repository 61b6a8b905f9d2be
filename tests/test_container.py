"""The usual CI container: a non-root user whose HOME is missing or cannot be written (issue 18).

With the environment's credentials, ``token``, ``env``, ``exec``, ``get_token()`` and
``Up42Auth`` work (tokens go to a private directory in ``$TMPDIR``), ``doctor`` reports
the directory it cannot write with its fix, and the Python API raises only
``Up42KeysError``. Run for real as the user ``nobody`` (``setpriv``), not faked with
mocks: this machine's tests run as root, which may write anywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    API_KEY,
    DEAD_PROXY,
    PROXY_VARIABLES,
    installed_command,
    require_os_feature,
)

NOBODY = 65534
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
API_CALL = """
import httpx, up42keys, sys
token = up42keys.get_token()
with httpx.Client(auth=up42keys.Up42Auth()) as http:
    answer = http.get(sys.argv[1] + "/v2/whoami")
print(token.count("."), answer.status_code, answer.json()["data"]["projectId"])
"""
CAUGHT = """
import up42keys
try:
    up42keys.get_token()
except up42keys.Up42KeysError as error:
    print("caught", type(error).__name__, error)
"""


def nobody_can_run_python() -> bool:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    probe = subprocess.run([*AS_NOBODY, sys.executable, "-c", "import up42keys"], check=False)
    return probe.returncode == 0


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A directory every user may write in, as /tmp (tmp_path is root's own, 0700)."""
    require_os_feature(
        nobody_can_run_python(),
        "running the venv as uid 65534 needs root, setpriv and a venv every user can reach "
        "(scripts/test makes its path searchable)",
    )
    directory = Path(tempfile.mkdtemp(prefix="up42keys-container-", dir="/tmp"))
    directory.chmod(0o1777)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def homes(scratch: Path) -> dict[str, Path]:
    read_only = scratch / "read-only-home"
    read_only.mkdir()
    read_only.chmod(0o755)  # root's: nobody may read it, not write it
    unreadable = scratch / "unreadable-home"
    unreadable.mkdir()
    unreadable.chmod(0o700)  # root's own: nobody may not even look inside (as /root)
    # Missing, in a directory it cannot be made in (as /nonexistent, nobody's HOME).
    return {
        "missing": read_only / "no-such-home",
        "read-only": read_only,
        "unreadable": unreadable,
    }


def as_nobody(
    args: list[str], home: Path, scratch: Path, server_url: str, project_id: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TMPDIR": str(scratch),
        "UP42_PROJECT_ID": project_id,
        "UP42_PROJECT_API_KEY": API_KEY,
        "UP42_API_URL": server_url,
        "NO_PROXY": "127.0.0.1",
        **{variable: DEAD_PROXY for variable in PROXY_VARIABLES},
        **extra,
    }
    return subprocess.run(
        [*AS_NOBODY, *args],
        env=env,
        # Not the repository: ``python -c`` would import the source tree, not the installed copy.
        cwd=scratch,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("home_kind", ["missing", "read-only", "unreadable"])
def test_commands_work_as_a_user_without_a_writable_home(scratch, server, project_id, home_kind):
    home = homes(scratch)[home_kind]
    command = installed_command()
    results = {}
    for name, args in {
        "token": [command, "token"],
        "env": [command, "env"],
        "exec": [command, "exec", "--", "sh", "-c", 'test -s "$UP42_TOKEN_FILE" && echo ran'],
    }.items():
        results[name] = result = as_nobody(args, home, scratch, server.url, project_id)
        assert result.returncode == 0, f"{name}: {result.stderr}"
        assert "Traceback" not in result.stderr
    assert results["token"].stdout.count(".") == 2
    assert "UP42_TOKEN=" in results["env"].stdout
    assert results["exec"].stdout.strip() == "ran"
    # One mint served all three: the token was cached, privately, in $TMPDIR.
    assert server.mints == 1
    cache = scratch / f"up42keys-{NOBODY}"
    assert cache.stat().st_uid == NOBODY
    assert cache.stat().st_mode & 0o777 == 0o700
    assert not home.exists() or list(home.iterdir()) == []  # root looks: nothing was made

    doctor = as_nobody([command, "doctor"], home, scratch, server.url, project_id)
    assert doctor.returncode != 0, doctor.stdout
    assert "All is well" not in doctor.stdout
    assert f"{home}/.cache/up42keys cannot be written" in doctor.stdout, doctor.stdout
    assert f"tokens are cached in {cache}" in doctor.stdout
    assert "UP42KEYS_CACHE_DIR" in doctor.stdout


def test_the_python_api_works_as_a_user_without_a_writable_home(scratch, server, project_id):
    home = homes(scratch)["missing"]
    result = as_nobody(
        [sys.executable, "-c", API_CALL, server.url], home, scratch, server.url, project_id
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "200", project_id]
    assert server.mints == 1


def test_the_python_api_raises_only_its_own_errors(scratch, server, project_id):
    """Where no directory can be written at all, an Up42KeysError, not a PermissionError."""
    home = homes(scratch)["read-only"]
    result = as_nobody(
        [sys.executable, "-c", CAUGHT], home, scratch, server.url, project_id,
        UP42KEYS_CACHE_DIR=str(home / "cache"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("caught Up42KeysError cannot keep the token: "), result.stdout
    assert "Permission denied" in result.stdout
    assert "UP42KEYS_CACHE_DIR" in result.stdout
