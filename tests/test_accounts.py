"""Account profiles in-process: the password grant, renewal with the refresh token, validation."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

from tests.conftest import API_KEY, PASSWORD, MemoryKeyring
from tests.fakeup42 import ACCOUNT_PATH, FakeUp42
from tests.helpers import USERNAME, add_profile, claims
from up42keys import cache, paths

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


@pytest.fixture
def account(server: FakeUp42) -> str:
    """An account the fake server knows, with PASSWORD as its password."""
    server.add_account(USERNAME, PASSWORD)
    return USERNAME


def form(request) -> dict[str, str]:
    return {key: values[0] for key, values in urllib.parse.parse_qs(request.body).items()}


def account_grants(server: FakeUp42) -> list[str]:
    """The grant type of every sign-in request, accepted or not, in order."""
    return [form(request)["grant_type"] for request in server.requests]


def refresh_record(name: str) -> cache.TokenRecord:
    record = cache.read(name + cache.REFRESH_SUFFIX)
    assert record is not None
    return record


def forbid_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_args: object) -> None:
        raise AssertionError("the keyring was opened")

    monkeypatch.setattr(MemoryKeyring, "get_password", forbidden)


def test_add_signs_in_with_password_grant_and_stores_password_in_keyring(
    run, server, account, memory_keyring
):
    outcome = add_profile(run, server, "me", USERNAME)
    assert outcome.exit_code == 0, outcome.stderr
    assert "verified, active" in outcome.stderr
    assert memory_keyring.entries[("up42keys", "me")] == PASSWORD
    assert server.grants == {"password": 1}
    request = server.requests[-1]
    assert request.path == ACCOUNT_PATH
    assert form(request) == {
        "grant_type": "password",
        "username": USERNAME,
        "password": PASSWORD,
        "client_id": "up42-api",
        "scope": "openid",
    }
    stored = tomllib.loads(Path(paths.profiles_file()).read_text())["profiles"]["me"]
    assert stored == {
        "kind": "account",
        "username": USERNAME,
        "region": "eu",
        "auth_url": server.url,
        "api_url": "https://api.up42.com",
    }
    record = cache.read("me")
    assert record is not None
    assert record.cache_key.startswith(f"account {USERNAME} ")
    assert claims(record.token)["sub"] == USERNAME
    assert Path(paths.current_token_file()).read_text() == record.token + "\n"
    refresh = refresh_record("me")
    assert server.refresh_tokens[refresh.token] == USERNAME
    assert refresh.cache_key == record.cache_key
    assert abs(refresh.expires_at - (time.time() + server.refresh_ttl)) < 5
    mode = os.stat(paths.token_record("me" + cache.REFRESH_SUFFIX)).st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_expired_token_renews_with_refresh_grant_without_password_or_keyring(
    run, server, account, monkeypatch
):
    server.token_ttl = 30  # under the 60 s minimum: every 'token' renews
    add_profile(run, server, "me", USERNAME)
    first = cache.read("me")
    first_refresh = refresh_record("me").token
    forbid_keyring(monkeypatch)
    renewed = run("token")
    assert renewed.exit_code == 0, renewed.stderr
    assert server.grants == {"password": 1, "refresh_token": 1}
    assert form(server.requests[-1]) == {
        "grant_type": "refresh_token",
        "refresh_token": first_refresh,
        "client_id": "up42-api",
    }
    assert first is not None
    assert renewed.stdout.strip() != first.token
    # UP42 hands out a new refresh token with each renewal; the next one uses it.
    assert refresh_record("me").token != first_refresh
    assert run("token").exit_code == 0
    assert server.grants == {"password": 1, "refresh_token": 2}
    assert all(PASSWORD not in request.body for request in server.requests[1:])


def test_expired_refresh_token_signs_in_with_password(run, server, account):
    add_profile(run, server, "me", USERNAME)
    stale = refresh_record("me")
    cache.write("me" + cache.REFRESH_SUFFIX, cache.TokenRecord(stale.token, 1, stale.cache_key))
    assert run("token", "--refresh").exit_code == 0
    assert account_grants(server) == ["password", "password"]
    assert refresh_record("me").token != stale.token


def test_rejected_refresh_token_falls_back_to_password_once(run, server, account):
    add_profile(run, server, "me", USERNAME)
    server.refresh_tokens.clear()  # UP42 ended the session
    outcome = run("token", "--refresh")
    assert outcome.exit_code == 0, outcome.stderr
    assert account_grants(server) == ["password", "refresh_token", "password"]
    assert server.refresh_tokens[refresh_record("me").token] == USERNAME


def test_changed_password_is_exit_4_after_one_sign_in(run, server, account):
    add_profile(run, server, "me", USERNAME)
    server.refresh_tokens.clear()
    server.accounts[USERNAME] = "changed-on-the-website"
    outcome = run("token", "--refresh")
    assert outcome.exit_code == 4
    assert len(outcome.stderr.strip().splitlines()) == 1
    assert f"check the password of {USERNAME} and store it with 'up42keys set-secret me'" in (
        outcome.stderr
    )
    assert account_grants(server) == ["password", "refresh_token", "password"]
    assert cache.read("me" + cache.REFRESH_SUFFIX) is None


def test_wrong_password_at_add_is_exit_4_and_stores_nothing(run, server, account, memory_keyring):
    outcome = add_profile(run, server, "me", USERNAME, secret="not-the-password")
    assert outcome.exit_code == 4
    assert "rejected" in outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1
    assert memory_keyring.entries == {}
    assert not Path(paths.profiles_file()).exists()
    assert not Path(paths.active_file()).exists()
    assert not Path(paths.tokens_dir()).exists()


def test_no_file_holds_the_password_and_no_output_the_refresh_token(
    run, server, account, project_id, isolated_home
):
    server.token_ttl = 30
    outputs = [add_profile(run, server, "me", USERNAME)]
    run("add", "prj", "--project-id", project_id, "--api-url", server.url, "--api-key-stdin",
        input=API_KEY + "\n")  # fmt: skip
    for args in (
        ["token"],
        ["token", "me", "--json"],
        ["token", "--refresh"],
        ["list"],
        ["list", "--json"],
        ["inspect", "me"],
        ["use", "me"],
        ["rename", "me", "you"],
        ["token", "you"],
    ):
        outputs.append(run(*args))
        assert outputs[-1].exit_code == 0, (args, outputs[-1].stderr)
    assert server.grants["refresh_token"] >= 4
    refresh_tokens = list(server.refresh_tokens)
    for outcome in outputs:
        for secret in (PASSWORD, *refresh_tokens):
            assert secret not in outcome.stdout + outcome.stderr
    holders = []
    for directory, _, names in os.walk(isolated_home):
        for name in names:
            content = Path(directory, name).read_text()
            assert PASSWORD not in content, name
            if any(token in content for token in refresh_tokens):
                holders.append(Path(directory, name))
    assert holders == [Path(paths.token_record("you" + cache.REFRESH_SUFFIX))]


def test_list_and_token_json_show_the_account(run, server, account, project_id):
    add_profile(run, server, "me", USERNAME)
    run("add", "prj", "--project-id", project_id, "--api-url", server.url, "--api-key-stdin",
        input=API_KEY + "\n")  # fmt: skip
    lines = run("list").stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "PROJECT/ACCOUNT", "API", "TOKEN", "PROTECTED"]
    me = next(line for line in lines if " me " in line)
    assert me.split()[:5] == ["*", "me", "account", USERNAME, "(eu)"]
    assert "https://api.up42.com" not in me
    assert "valid for 4 min" in me
    data = {entry["name"]: entry for entry in json.loads(run("list", "--json").stdout)}
    assert data["me"]["kind"] == "account"
    assert data["me"]["username"] == USERNAME
    assert data["me"]["region"] == "eu"
    assert data["me"]["project_id"] is None
    assert data["prj"]["kind"] == "project"
    assert data["prj"]["username"] is None
    assert data["prj"]["region"] is None
    token = json.loads(run("token", "--json").stdout)
    assert token["profile"] == "me"
    assert token["project_id"] is None
    assert claims(token["token"])["sub"] == USERNAME


def test_region_sets_sign_in_and_api_hosts(run, server):
    outcome = run(
        "add", "sa", "--account", "--username", USERNAME, "--region", "sa", "--password-stdin",
        "--no-verify", input=PASSWORD + "\n",
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.stderr
    assert "not verified" in outcome.stderr
    run(
        "add", "proxied", "--account", "--username", USERNAME, "--api-url", server.url + "/",
        "--password-stdin", "--no-verify", input=PASSWORD + "\n",
    )  # fmt: skip
    assert server.requests == []
    stored = tomllib.loads(Path(paths.profiles_file()).read_text())["profiles"]
    assert stored["sa"]["region"] == "sa"
    assert stored["sa"]["auth_url"] == "https://auth.sa.up42.com"
    assert stored["sa"]["api_url"] == "https://api.sa.up42.com"
    assert stored["proxied"]["auth_url"] == "https://auth.up42.com"
    assert stored["proxied"]["api_url"] == server.url
    lines = run("list").stdout.splitlines()
    sa = next(line for line in lines if " sa " in line)
    assert sa.split()[:5] == ["*", "sa", "account", USERNAME, "(sa)"]
    assert "https://api.sa.up42.com" not in sa
    assert server.url in next(line for line in lines if " proxied " in line)


U = USERNAME
ID = str(uuid.uuid4())


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["me", "--account", "--username", U, "--project-id", ID], "--project-id does not go"),
        (["me", "--account"], "--account needs --username"),
        (["me", "--username", U], "give --project-id UUID"),
        (["me", "--project-id", ID, "--username", U], "--username does not go with --project-id"),
        (["me", "--project-id", ID, "--region", "sa"], "--region does not go"),
        (["me", "--project-id", ID, "--auth-url", "http://x"], "--auth-url does not go"),
        (["me", "--project-id", ID, "--password-stdin"], "--password-stdin does not go"),
        (["me", "--account", "--username", U, "--api-key-stdin"], "--api-key-stdin does not go"),
        (["me", "--account", "--username", "jane"], "the account's email"),
        (["me", "--account", "--username", "jane doe@example.com"], "the account's email"),
        (["me", "--account", "--username", "@example.com"], "the account's email"),
        (["me", "--account", "--username", U, "--region", "us"], "Invalid value for '--region'"),
        (["me", "--account", "--username", U, "--auth-url", "ftp://x"], "sign-in URL"),
        (["me", "--account", "--username", U, "--api-url", "api.up42.com"], "API URL"),
        (["a/b", "--account", "--username", U], "invalid profile name"),
    ],
)
def test_bad_account_input_is_usage_error_and_writes_nothing(run, memory_keyring, args, reason):
    outcome = run("add", *args, input=PASSWORD + "\n")
    assert outcome.exit_code == 2, outcome.stderr
    assert reason in outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1
    assert not Path(paths.profiles_file()).exists()
    assert memory_keyring.entries == {}


def test_password_is_kept_as_typed_and_blank_is_refused(run, server, memory_keyring):
    spaced = "  two words  "
    server.add_account(USERNAME, spaced)
    outcome = add_profile(run, server, "me", USERNAME, secret=spaced)
    assert outcome.exit_code == 0, outcome.stderr
    assert memory_keyring.entries[("up42keys", "me")] == spaced
    blank = add_profile(run, server, "other", USERNAME, secret="   ")
    assert blank.exit_code == 2
    assert "the password is empty" in blank.stderr


def test_prompt_needs_a_terminal(run, server, account):
    outcome = run("add", "me", "--account", "--username", USERNAME, input="")
    assert outcome.exit_code == 2
    assert "--password-stdin" in outcome.stderr


def test_rename_and_remove_carry_the_refresh_token(run, server, account, monkeypatch):
    server.token_ttl = 30
    add_profile(run, server, "me", USERNAME)
    assert run("rename", "me", "you").exit_code == 0
    assert cache.read("me" + cache.REFRESH_SUFFIX) is None
    with monkeypatch.context() as patch:
        forbid_keyring(patch)
        assert run("token").exit_code == 0
    assert server.grants == {"password": 1, "refresh_token": 1}
    assert run("remove", "you").exit_code == 0
    assert os.listdir(paths.tokens_dir()) == []


def test_replacing_an_account_with_a_project_drops_its_refresh_token(
    run, server, account, project_id
):
    add_profile(run, server, "me", USERNAME)
    outcome = run(
        "add", "me", "--project-id", project_id, "--api-url", server.url, "--api-key-stdin",
        "--force", input=API_KEY + "\n",
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.stderr
    assert cache.read("me" + cache.REFRESH_SUFFIX) is None
    token = run("token").stdout.strip()
    assert claims(token)["sub"] == project_id


def test_account_without_sign_in_url_in_profile_file_is_refused(run):
    Path(paths.config_dir()).mkdir(parents=True)
    Path(paths.profiles_file()).write_text(
        f'[profiles.me]\nkind = "account"\napi_url = "https://api.up42.com"\nusername = "{U}"\n'
    )
    outcome = run("list")
    assert outcome.exit_code == 1
    assert "lacks its auth_url" in outcome.stderr
