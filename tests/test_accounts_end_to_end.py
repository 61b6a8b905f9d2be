"""Account profiles with the installed ``up42keys`` as a subprocess, against the fake UP42."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
from pathlib import Path

from tests.conftest import PASSWORD, installed_command
from tests.fakeup42 import FakeUp42
from tests.helpers import USERNAME, add_profile
from up42keys import cache, paths


def expire(record_name: str) -> None:
    """Rewrite a cached record as expired, as if its time had passed."""
    record = cache.read(record_name)
    assert record is not None
    cache.write(record_name, cache.TokenRecord(record.token, 1, record.cache_key))


def grant_types(server: FakeUp42) -> list[str]:
    return [urllib.parse.parse_qs(request.body)["grant_type"][0] for request in server.requests]


def test_account_session(up42keys, server):
    server.add_account(USERNAME, PASSWORD)
    results = [add_profile(up42keys, server, "me", USERNAME)]
    assert results[-1].returncode == 0, results[-1].stderr
    assert grant_types(server) == ["password"]

    results.append(up42keys("token"))
    first = results[-1].stdout
    assert results[-1].returncode == 0
    assert grant_types(server) == ["password"]  # from the cache

    expire("me")
    results.append(up42keys("token"))
    assert results[-1].returncode == 0, results[-1].stderr
    assert results[-1].stdout != first
    assert grant_types(server) == ["password", "refresh_token"]
    assert all(PASSWORD not in request.body for request in server.requests[1:])

    expire("me")
    expire("me" + cache.REFRESH_SUFFIX)
    results.append(up42keys("token", "--json"))
    assert json.loads(results[-1].stdout)["project_id"] is None
    assert grant_types(server) == ["password", "refresh_token", "password"]

    results.append(up42keys("list", "--json"))
    listed = json.loads(results[-1].stdout)[0]
    assert (listed["kind"], listed["username"], listed["region"]) == ("account", USERNAME, "eu")
    results.append(up42keys("list"))
    assert results[-1].stdout.splitlines()[1].split()[:5] == [
        "*", "me", "account", USERNAME, "(eu)"
    ]  # fmt: skip
    results.append(up42keys("inspect"))
    assert f'"sub": "{USERNAME}"' in results[-1].stdout

    for result in results:
        for secret in (PASSWORD, *server.refresh_tokens):
            assert secret not in result.stdout + result.stderr
    # The password lives in the keyring backend's store only, never in a file of ours.
    for root in (paths.config_dir(), paths.cache_dir()):
        for directory, _, names in os.walk(root):
            for name in names:
                assert PASSWORD.encode() not in Path(directory, name).read_bytes()


def test_wrong_password_is_exit_4_and_stores_nothing(up42keys, server):
    server.add_account(USERNAME, PASSWORD)
    result = add_profile(up42keys, server, "me", USERNAME, secret="wrong-password")
    assert result.returncode == 4
    assert result.stderr.startswith("up42keys: error: ")
    assert len(result.stderr.splitlines()) == 1
    assert "wrong-password" not in result.stderr
    assert not Path(paths.profiles_file()).exists()
    assert not Path(paths.tokens_dir()).exists()
    assert up42keys("list", "--json").stdout.strip() == "[]"


def test_parallel_renewals_make_one_refresh_grant(up42keys, server):
    server.add_account(USERNAME, PASSWORD)
    assert add_profile(up42keys, server, "me", USERNAME).returncode == 0
    expire("me")
    processes = [
        subprocess.Popen(
            [installed_command(), "token"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0, 0]
    assert len({stdout for stdout, _ in outputs}) == 1
    assert grant_types(server) == ["password", "refresh_token"]
