"""The commands in-process, through the real error boundary, against the fake UP42."""

from __future__ import annotations

import json
import os
import stat
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import API_KEY, MemoryKeyring
from tests.helpers import add_profile, claims
from up42keys import paths
from up42keys.store import keychain


def test_add_verifies_stores_key_in_keyring_and_caches_token(
    run, server, project_id, memory_keyring
):
    outcome = add_profile(run, server, "prod", project_id)
    assert outcome.exit_code == 0, outcome.stderr
    assert memory_keyring.entries[("up42keys", "prod")] == API_KEY
    assert server.mints == 1
    assert Path(paths.active_file()).read_text() == "prod\n"
    record = Path(paths.token_record("prod")).read_text().splitlines()
    assert claims(record[2])["sub"] == project_id
    assert Path(paths.current_token_file()).read_text() == record[2] + "\n"


def test_mint_request_has_basic_auth_form_body_and_no_secret_in_url(run, server, project_id):
    add_profile(run, server, "prod", project_id)
    request = server.requests[-1]
    assert request.path == "/oauth/token"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.body == "grant_type=client_credentials"
    assert request.headers["Authorization"].startswith("Basic ")
    assert API_KEY not in request.path


def test_rejected_key_stores_nothing(run, server, project_id, memory_keyring):
    outcome = add_profile(run, server, "prod", project_id, secret="wrong-key")
    assert outcome.exit_code == 4
    assert "rejected" in outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1
    assert memory_keyring.entries == {}
    assert not Path(paths.profiles_file()).exists()
    assert not Path(paths.active_file()).exists()


def test_existing_name_is_refused_without_force(run, server, project_id):
    assert add_profile(run, server, "prod", project_id).exit_code == 0
    again = add_profile(run, server, "prod", project_id)
    assert again.exit_code == 2
    assert "--force" in again.stderr
    assert add_profile(run, server, "prod", project_id, "--force").exit_code == 0


def test_force_readd_with_other_project_never_serves_old_token(run, server, project_id):
    add_profile(run, server, "prod", project_id)
    old = run("token").stdout.strip()
    other = str(uuid.uuid4())
    server.add_project(other, API_KEY)
    assert add_profile(run, server, "prod", other, "--force", "--no-verify").exit_code == 0
    new = run("token").stdout.strip()
    assert new != old
    assert claims(new)["sub"] == other


def test_first_profile_becomes_active_and_use_switches(run, server, project_id):
    other = str(uuid.uuid4())
    server.add_project(other, API_KEY)
    add_profile(run, server, "prod", project_id)
    add_profile(run, server, "dev", other, "--no-verify")
    assert run("current").stdout == "prod\n"
    outcome = run("use", "dev")
    assert outcome.exit_code == 0, outcome.stderr
    assert run("current").stdout == "dev\n"
    token = Path(paths.current_token_file()).read_text().strip()
    assert claims(token)["sub"] == other


def test_use_that_cannot_mint_changes_nothing(run, server, project_id, memory_keyring):
    add_profile(run, server, "prod", project_id)
    add_profile(run, server, "broken", str(uuid.uuid4()), "--no-verify")
    before = Path(paths.current_token_file()).read_bytes()
    outcome = run("use", "broken")
    assert outcome.exit_code == 4
    assert run("current").stdout == "prod\n"
    assert Path(paths.current_token_file()).read_bytes() == before


def test_token_uses_cache_then_mints_when_under_min_ttl(run, server, project_id):
    add_profile(run, server, "prod", project_id)
    first = run("token")
    assert first.exit_code == 0
    assert server.mints == 1
    assert run("token", "prod").stdout == first.stdout
    assert server.mints == 1
    renewed = run("token", "--min-ttl", "400")
    assert server.mints == 2
    assert renewed.stdout != first.stdout
    run("token", "--refresh")
    assert server.mints == 3


def test_token_json(run, server, project_id):
    add_profile(run, server, "prod", project_id)
    data = json.loads(run("token", "--json").stdout)
    assert data["profile"] == "prod"
    assert data["project_id"] == project_id
    assert data["expires_at"] > time.time() + 200
    assert claims(data["token"])["sub"] == project_id


@pytest.mark.parametrize(
    ("expires_in", "omit_exp", "lifetime"),
    [(120, False, 120), (None, False, 200), (None, True, 300)],
    ids=["expires_in", "exp-claim", "default-300s"],
)
def test_expiry_from_expires_in_or_exp_or_default(
    run, server, project_id, expires_in, omit_exp, lifetime
):
    server.token_ttl = 200
    server.expires_in = expires_in
    server.omit_exp = omit_exp
    add_profile(run, server, "prod", project_id)
    expires_at = json.loads(run("token", "--json", "--min-ttl", "0").stdout)["expires_at"]
    assert abs(expires_at - (time.time() + lifetime)) < 5


def test_top_level_access_token_is_accepted(run, server, project_id):
    server.top_level_token = True
    assert add_profile(run, server, "prod", project_id).exit_code == 0
    assert run("token").exit_code == 0


def test_list_and_json_never_open_keyring(run, server, project_id, memory_keyring, monkeypatch):
    add_profile(run, server, "prod", project_id)
    add_profile(run, server, "dev", str(uuid.uuid4()), "--no-verify")

    def forbidden(*_args: object) -> None:
        raise AssertionError("list opened the keyring")

    monkeypatch.setattr(MemoryKeyring, "get_password", forbidden)
    listing = run("list")
    assert listing.exit_code == 0
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "PROJECT/ACCOUNT", "API", "TOKEN", "PROTECTED"]
    prod = next(line for line in lines if " prod " in line)
    assert prod.startswith("*")
    assert prod.split()[1:4] == ["prod", "project", project_id]
    assert "valid for 4 min" in prod
    assert server.url in prod
    assert "none" in next(line for line in lines if " dev " in line)
    data = json.loads(run("list", "--json").stdout)
    assert [entry["name"] for entry in data] == ["dev", "prod"]
    assert data[1]["active"] is True
    assert data[1]["project_id"] == project_id
    assert data[0]["token_expires_at"] is None
    assert data[1]["token_expires_at"] > time.time()


def test_rename_moves_key_cache_and_active(run, server, project_id, memory_keyring):
    add_profile(run, server, "prod", project_id)
    token = run("token").stdout
    assert run("rename", "prod", "production").exit_code == 0
    assert ("up42keys", "prod") not in memory_keyring.entries
    assert memory_keyring.entries[("up42keys", "production")] == API_KEY
    assert run("current").stdout == "production\n"
    assert run("token").stdout == token
    assert server.mints == 1
    assert run("rename", "nope", "x").exit_code == 3


def test_remove_deletes_everything(run, server, project_id, memory_keyring):
    add_profile(run, server, "prod", project_id)
    assert run("remove", "prod").exit_code == 0
    assert memory_keyring.entries == {}
    assert not Path(paths.token_record("prod")).exists()
    assert not Path(paths.current_token_file()).exists()
    assert run("current").exit_code == 3
    assert run("remove", "prod").exit_code == 3


def test_inspect_shows_claims_not_token(run, server, project_id):
    add_profile(run, server, "prod", project_id)
    token = run("token").stdout.strip()
    outcome = run("inspect")
    assert outcome.exit_code == 0
    assert token not in outcome.stdout
    assert f'"sub": "{project_id}"' in outcome.stdout
    assert '"alg": "HS512"' in outcome.stdout
    assert "expires:" in outcome.stdout
    assert "(in 4 min" in outcome.stdout


def test_profile_env_variable_selects_per_shell(run, server, project_id, monkeypatch):
    other = str(uuid.uuid4())
    server.add_project(other, API_KEY)
    add_profile(run, server, "prod", project_id)
    add_profile(run, server, "dev", other)
    monkeypatch.setenv("UP42KEYS_PROFILE", "dev")
    assert run("current").stdout == "dev\n"
    token = run("token").stdout.strip()
    assert claims(token)["sub"] == other


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["add", "a/b", "--project-id", "x"], "invalid profile name"),
        (["add", "..", "--project-id", "x"], "invalid profile name"),
        (["add", "a b", "--project-id", "x"], "invalid profile name"),
        (["add", "-x", "--project-id", "x"], "No such option"),
        (["add", ".x", "--project-id", "x"], "invalid profile name"),
        (["add", "", "--project-id", "x"], "invalid profile name"),
        (["add", "x" * 65, "--project-id", "x"], "invalid profile name"),
        (["add", "ok", "--project-id", "not-a-uuid"], "UUID"),
        (["add", "ok", "--project-id", str(uuid.uuid4()), "--api-url", "ftp://x"], "http(s)"),
        (["use", "../etc"], "invalid profile name"),
        (["token", "--min-ttl", "soon"], "--min-ttl"),
    ],
)
def test_bad_input_is_usage_error_and_writes_nothing(run, args, reason):
    outcome = run(*args, "--api-key-stdin", input="k\n") if args[0] == "add" else run(*args)
    assert outcome.exit_code == 2, outcome.stderr
    assert reason in outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1
    assert not Path(paths.profiles_file()).exists()


def test_blank_key_is_refused(run, server, project_id):
    outcome = add_profile(run, server, "prod", project_id, secret="   ")
    assert outcome.exit_code == 2
    assert "empty" in outcome.stderr


def test_no_active_profile_is_exit_3(run):
    for args in (["token"], ["current"], ["inspect"]):
        outcome = run(*args)
        assert outcome.exit_code == 3
        assert "up42keys add" in outcome.stderr


def test_files_and_dirs_are_private(run, server, project_id):
    add_profile(run, server, "prod", project_id)
    run("token")
    for root in (paths.config_dir(), paths.cache_dir()):
        for directory, _, names in os.walk(root):
            assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700, directory
            for name in names:
                mode = stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode)
                assert mode == 0o600, os.path.join(directory, name)


def test_keyring_holds_the_key_and_no_file_does(run, server, project_id, isolated_home):
    add_profile(run, server, "prod", project_id)
    assert keychain.get_secret("prod") == API_KEY
    for directory, _, names in os.walk(isolated_home):
        for name in names:
            assert API_KEY.encode() not in Path(directory, name).read_bytes()


def test_errors_show_their_traceback_with_up42keys_debug(run, server, project_id, monkeypatch):
    assert add_profile(run, server, "prod", project_id).exit_code == 0
    plain = run("token", "ghost")
    assert plain.stderr == "up42keys: error: no profile named 'ghost'; see 'up42keys list'\n"
    monkeypatch.setenv("UP42KEYS_DEBUG", "1")
    debug = run("token", "ghost")
    assert debug.exit_code == plain.exit_code == 3
    assert debug.stderr.startswith("Traceback (most recent call last):\n")
    assert "ProfileNotFoundError" in debug.stderr
    assert debug.stderr.endswith(plain.stderr)
