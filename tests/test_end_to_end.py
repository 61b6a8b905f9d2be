"""The installed ``up42keys`` as a subprocess against the fake UP42, as a user runs it."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from tests.conftest import API_KEY
from tests.helpers import claims
from up42keys import paths


def test_quickstart_session(up42keys, server, project_id, isolated_home):
    dev_id = str(uuid.uuid4())
    server.add_project(dev_id, API_KEY)
    common = ["--api-url", server.url, "--api-key-stdin"]

    added = up42keys("add", "prod", "--project-id", project_id, *common, input=API_KEY + "\n")
    assert added.returncode == 0, added.stderr
    assert (
        up42keys("add", "dev", "--project-id", dev_id, *common, input=API_KEY + "\n").returncode
        == 0
    )

    listing = up42keys("list")
    assert listing.returncode == 0
    assert ["*", "prod"] in [line.split()[:2] for line in listing.stdout.splitlines()]

    switched = up42keys("use", "dev")
    assert switched.returncode == 0, switched.stderr
    assert up42keys("current").stdout == "dev\n"
    token = up42keys("token")
    assert token.returncode == 0
    assert claims(token.stdout)["sub"] == dev_id
    assert token.stdout.count("\n") == 1
    assert token.stderr == ""
    assert Path(paths.current_token_file()).read_text() == token.stdout

    inspected = up42keys("inspect", "prod")
    assert inspected.returncode == 0
    assert project_id in inspected.stdout
    assert token.stdout.strip() not in inspected.stdout

    assert up42keys("rename", "dev", "staging").returncode == 0
    assert up42keys("current").stdout == "staging\n"
    assert claims(up42keys("token").stdout)["sub"] == dev_id
    assert up42keys("remove", "staging").returncode == 0
    assert up42keys("current").returncode == 3
    assert json.loads(up42keys("list", "--json").stdout)[0]["name"] == "prod"

    # The key lives in the keyring backend's store only, never in a file of ours.
    for root in (paths.config_dir(), paths.cache_dir()):
        for directory, _, names in os.walk(root):
            for name in names:
                assert API_KEY.encode() not in Path(directory, name).read_bytes()


def test_errors_are_one_line_with_exit_codes(up42keys, server, project_id):
    cases = [
        (["use", "nope"], 3),
        (["add", "x", "--project-id", "nope", "--api-key-stdin"], 2),
        (["token", "--bogus"], 2),
        (["current"], 3),
    ]
    for args, code in cases:
        result = up42keys(*args, input="k\n")
        assert result.returncode == code, (args, result.stderr)
        assert result.stderr.startswith("up42keys: error: ")
        assert len(result.stderr.splitlines()) == 1, result.stderr


def test_key_prompt_refuses_without_terminal(up42keys, server, project_id):
    result = up42keys("add", "prod", "--project-id", project_id, "--api-url", server.url, input="")
    assert result.returncode == 2
    assert "--api-key-stdin" in result.stderr
