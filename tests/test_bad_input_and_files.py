"""Bad input is a usage error that writes nothing; a corrupt profile file is never written
over; a corrupt, truncated or foreign token record is replaced by a new token."""

from __future__ import annotations

import errno
import os
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import API_KEY, run_in_process, run_installed
from tests.helpers import (
    add_profile,
    claims,
    fail_writes_to,
    files_under,
    give_installed_command_the_key,
    imported_modules,
)
from up42keys import cache, paths

GOOD_ID = "12345678-1234-1234-1234-123456789abc"

BAD_NAMES = [
    ("a/b", "only letters"),
    ("..", "cannot start with '-' or '.'"),
    ("../etc", "cannot start with '-' or '.'"),
    ("a b", "only letters"),
    ("a\\b", "only letters"),
    ("prød", "only letters"),
    ("-x", "cannot start with '-' or '.'"),
    (".hidden", "cannot start with '-' or '.'"),
    ("", "cannot be empty"),
    ("x" * 65, "at most 64 characters"),
]


def assert_usage_error(outcome, reason: str) -> None:
    assert outcome.exit_code == 2, outcome.stderr
    assert outcome.stderr.startswith("up42keys: error: ")
    assert reason in outcome.stderr
    assert len(outcome.stderr.splitlines()) == 1


@pytest.fixture
def nothing_written(server, memory_keyring):
    """After the test: no file of ours, no keyring entry, no request to UP42."""
    yield
    assert files_under(paths.config_dir(), paths.cache_dir()) == []
    assert memory_keyring.entries == {}
    assert server.requests == []


@pytest.mark.parametrize(("name", "reason"), BAD_NAMES)
@pytest.mark.parametrize(
    "command",
    [
        ["add", "--project-id", GOOD_ID, "--api-key-stdin", "--no-verify", "--", "{}"],
        ["add", "--project-id", GOOD_ID, "--api-key-stdin", "--", "{}"],
        ["use", "--", "{}"],
        ["remove", "--", "{}"],
        ["rename", "--", "{}", "ok"],
        ["rename", "--", "ok", "{}"],
        ["token", "--", "{}"],
        ["inspect", "--", "{}"],
        ["protect", "--", "{}"],
        ["env", "--", "{}"],
    ],
)
def test_bad_profile_names_are_refused(run, nothing_written, command, name, reason):
    args = [name if part == "{}" else part for part in command]
    outcome = run(*args, input=API_KEY + "\n")
    assert_usage_error(outcome, reason)
    assert "invalid profile name" in outcome.stderr


@pytest.mark.parametrize(("name", "reason"), BAD_NAMES[:3])
def test_bad_name_from_the_environment_is_refused(run, nothing_written, monkeypatch, name, reason):
    monkeypatch.setenv("UP42KEYS_PROFILE", name)
    for command in (["token"], ["inspect"]):
        assert_usage_error(run(*command), reason)


@pytest.mark.parametrize(
    "project_id",
    [
        "nope",
        "",
        "12345678123412341234123456789abc",
        "{12345678-1234-1234-1234-123456789abc}",
        "12345678-1234-1234-1234-123456789abcd",
        "1234567g-1234-1234-1234-123456789abc",
        " 12345678-1234-1234-1234-123456789abc",
    ],
)
def test_project_ids_that_are_not_uuids_are_refused(run, nothing_written, server, project_id):
    outcome = run(
        "add", "prod", "--project-id", project_id, "--api-url", server.url, "--api-key-stdin",
        input=API_KEY + "\n",
    )  # fmt: skip
    assert_usage_error(outcome, "must be a UUID")


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "is empty"),
        ("\n", "is empty"),
        ("   \n", "is empty"),
        ("\t \t\n", "is empty"),
        ("ab\x1b[31mcd\n", "control characters"),
    ],
)
def test_empty_or_blank_keys_are_refused(run, nothing_written, server, key, reason):
    outcome = run(
        "add", "prod", "--project-id", GOOD_ID, "--api-url", server.url, "--api-key-stdin",
        input=key,
    )  # fmt: skip
    assert_usage_error(outcome, reason)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://api.up42.com", "http(s) URL"),
        ("api.up42.com", "http(s) URL"),
        ("http://", "http(s) URL"),
        ("file:///etc/passwd", "http(s) URL"),
        ("javascript:alert(1)", "http(s) URL"),
        ("", "http(s) URL"),
        ("https://api.up42.com/?debug=1", "no query"),
    ],
)
def test_urls_that_are_not_http_are_refused(run, nothing_written, url, reason):
    outcome = run(
        "add", "prod", "--project-id", GOOD_ID, "--api-url", url, "--api-key-stdin",
        input=API_KEY + "\n",
    )  # fmt: skip
    assert_usage_error(outcome, reason)


@pytest.mark.parametrize(
    ("variables", "reason"),
    [
        ({"UP42_PROJECT_ID": "nope", "UP42_PROJECT_API_KEY": API_KEY}, "UP42_PROJECT_ID"),
        (
            {
                "UP42_PROJECT_ID": GOOD_ID,
                "UP42_PROJECT_API_KEY": API_KEY,
                "UP42_API_URL": "ftp://x",
            },
            "UP42_API_URL",
        ),
        ({"UP42KEYS_MIN_TTL": "soon"}, "UP42KEYS_MIN_TTL"),
        ({"UP42KEYS_MIN_TTL": "-1"}, "UP42KEYS_MIN_TTL"),
    ],
)
def test_bad_environment_is_refused(run, nothing_written, monkeypatch, variables, reason):
    for variable, value in variables.items():
        monkeypatch.setenv(variable, value)
    assert_usage_error(run("token"), reason)


def test_names_and_keys_are_refused_by_the_command_as_a_process(forked, server):
    for args, stdin, reason in [
        (["add", "--project-id", GOOD_ID, "--api-key-stdin", "--", "-x"], "k\n", "start with"),
        (["add", "a/b", "--project-id", GOOD_ID, "--api-key-stdin"], "k\n", "only letters"),
        (["add", "ok", "--project-id", GOOD_ID, "--api-key-stdin"], "  \n", "is empty"),
        (["token", "../x"], "", "cannot start"),
    ]:
        result = forked(*args, input=stdin)
        assert result.returncode == 2, (args, result.stderr)
        assert reason in result.stderr
        assert len(result.stderr.splitlines()) == 1
    assert files_under(paths.config_dir(), paths.cache_dir()) == []
    assert server.requests == []


# -- a corrupt profile file ------------------------------------------------------------------

VALID_PROFILE = (
    f'version = 1\n\n[profiles.prod]\nkind = "project"\napi_url = "http://127.0.0.1:9"\n'
    f'project_id = "{GOOD_ID}"\n'
)

CORRUPT_FILES = {
    "not TOML": (b"this is = not [toml\n", "not valid TOML"),
    "truncated": (VALID_PROFILE.encode()[:60], "not valid TOML"),
    "not UTF-8": (b"\xff\xfe\x00[profiles]\x00", "not valid TOML"),
    "binary": (bytes(range(256)), "not valid TOML"),
    "profiles not a table": (b"profiles = 3\n", "'profiles' is not a table"),
    "a profile not a table": (b"[profiles]\nprod = 3\n", "not a table"),
    "unknown version": (b"version = 2\n", "format version 2"),
    "kind of wrong type": (
        VALID_PROFILE.replace('kind = "project"', "kind = 5").encode(),
        "has kind 5",
    ),
    "api_url of wrong type": (
        VALID_PROFILE.replace('api_url = "http://127.0.0.1:9"', "api_url = 1").encode(),
        "has a setting that is not text",
    ),
    "project_id of wrong type": (
        VALID_PROFILE.replace(f'"{GOOD_ID}"', "7").encode(),
        "not text",
    ),
    "project_id missing": (
        VALID_PROFILE.replace(f'project_id = "{GOOD_ID}"\n', "").encode(),
        "lacks its project_id",
    ),
    "protected not a boolean": (
        (VALID_PROFILE + 'protected = "yes"\n').encode(),
        "must be true or false",
    ),
    "invalid name": (
        VALID_PROFILE.replace("[profiles.prod]", '[profiles."a/b"]').encode(),
        "not a valid profile name",
    ),
    "has_secret not a boolean": (
        (VALID_PROFILE + 'has_secret = "no"\n').encode(),
        "'has_secret' of 'prod' must be true or false",
    ),
    "client_id with a space": (
        (
            b'version = 1\n\n[profiles.prod]\nkind = "account"\napi_url = "http://127.0.0.1:9"\n'
            b'username = "jane@example.com"\nauth_url = "http://127.0.0.1:9"\n'
            b'client_id = "up42 api"\n'
        ),
        "the client ID has up to 64 letters",
    ),
    "a setting of another kind": (
        (VALID_PROFILE + 'client_id = "up42-api"\n').encode(),
        "a project profile takes no client_id",
    ),
}

COMMANDS_ON_A_CORRUPT_FILE = [
    ["list"],
    ["list", "--json"],
    ["token", "prod"],
    ["inspect", "prod"],
    ["use", "prod"],
    ["remove", "prod"],
    ["rename", "prod", "other"],
    ["protect", "prod"],
    ["protect", "prod", "--off"],
    ["add", "dev", "--project-id", GOOD_ID, "--api-key-stdin", "--no-verify"],
    ["add", "prod", "--project-id", GOOD_ID, "--api-key-stdin", "--no-verify", "--force"],
    ["add", "dev", "--project-id", GOOD_ID, "--api-key-stdin"],
    ["edit", "prod", "--api-url", "http://127.0.0.1:9", "--no-verify"],
    ["set-secret", "prod", "--api-key-stdin", "--no-verify"],
    ["export"],
]


@pytest.mark.parametrize("case", list(CORRUPT_FILES))
def test_corrupt_profile_file_is_named_and_never_written_over(run, memory_keyring, case):
    content, problem = CORRUPT_FILES[case]
    profiles = Path(paths.profiles_file())
    profiles.parent.mkdir(parents=True)
    profiles.write_bytes(content)
    Path(paths.active_file()).write_text("prod\n")
    memory_keyring.entries[("up42keys", "prod")] = API_KEY
    for args in COMMANDS_ON_A_CORRUPT_FILE:
        outcome = run(*args, input=API_KEY + "\n")
        assert outcome.exit_code == 1, (args, outcome.stderr)
        assert outcome.stderr.startswith(f"up42keys: error: {profiles}"), outcome.stderr
        assert problem in outcome.stderr, outcome.stderr
        assert len(outcome.stderr.splitlines()) == 1
        assert profiles.read_bytes() == content
        assert Path(paths.active_file()).read_text() == "prod\n"
    assert memory_keyring.entries == {("up42keys", "prod"): API_KEY}
    # Writers may have taken their locks; they wrote nothing else.
    written = files_under(paths.config_dir(), paths.cache_dir())
    assert sorted(path for path in written if not path.endswith(".lock")) == sorted(
        [str(profiles), paths.active_file()]
    )


def test_unreadable_profile_file_is_named_and_left_alone(run, memory_keyring):
    profiles = Path(paths.profiles_file())
    profiles.mkdir(parents=True)  # a directory where the file belongs: no one can read it
    for args in COMMANDS_ON_A_CORRUPT_FILE:
        outcome = run(*args, input=API_KEY + "\n")
        assert outcome.exit_code == 1, (args, outcome.stderr)
        assert f"cannot read {profiles} (Is a directory)" in outcome.stderr
        assert len(outcome.stderr.splitlines()) == 1
    assert profiles.is_dir()
    assert list(profiles.iterdir()) == []
    assert memory_keyring.entries == {}


def test_corrupt_profile_file_is_named_by_the_command_as_a_process(forked):
    profiles = Path(paths.profiles_file())
    profiles.parent.mkdir(parents=True)
    profiles.write_bytes(b"\xff\xfe not TOML")
    for args in (["list"], ["use", "prod"], ["remove", "prod"]):
        result = forked(*args)
        assert result.returncode == 1
        assert result.stderr.startswith(f"up42keys: error: {profiles} is not valid TOML")
        assert len(result.stderr.splitlines()) == 1
    assert profiles.read_bytes() == b"\xff\xfe not TOML"


def test_an_unusable_cache_directory_is_one_line_not_a_traceback(
    run, server, project_id, tmp_path, monkeypatch
):
    assert add_profile(run, server, "prod", project_id, "--no-verify").exit_code == 0
    in_the_way = tmp_path / "not-a-directory"
    in_the_way.write_text("")
    monkeypatch.setenv("UP42KEYS_CACHE_DIR", str(in_the_way))
    outcome = run("token")
    assert outcome.exit_code == 1
    assert str(in_the_way) in outcome.stderr
    assert len(outcome.stderr.splitlines()) == 1
    assert "Traceback" not in outcome.stderr


# -- corrupt, truncated and foreign token records --------------------------------------------


@pytest.fixture
def cached(run, server, project_id) -> cache.TokenRecord:
    """Profile prod, for the command as a process and in-process, with a token cached."""
    assert add_profile(run, server, "prod", project_id).exit_code == 0
    give_installed_command_the_key("prod")
    record = cache.read("prod")
    assert record is not None
    return record


def foreign(server, record: cache.TokenRecord, **changes: str) -> bytes:
    """A fresh, well-formed record minted for another project or URL."""
    other = changes.get("project_id", str(uuid.uuid4()))
    url = changes.get("api_url", server.url)
    token = server.mint_jwt(other, 300)
    return f"{int(time.time()) + 300}\nproject {other} {url}\n{token}\n".encode()


RECORD_DAMAGE = {
    "empty": lambda server, record: b"",
    "expiry only": lambda server, record: f"{record.expires_at}\n".encode(),
    "truncated in the token": lambda server, record: record.serialize().encode()[:-40],
    "no final newline": lambda server, record: record.serialize().encode()[:-1],
    "binary": lambda server, record: b"\x00\xff\xfe\x00" * 20,
    "expiry not a number": lambda server, record: (
        record.serialize().replace(str(record.expires_at), "soon").encode()
    ),
    "token not a JWT": lambda server, record: (
        record.serialize().replace(record.token, "opaque-token").encode()
    ),
    "an extra line": lambda server, record: (record.serialize() + "more\n").encode(),
    "another project": foreign,
    "another URL": lambda server, record: foreign(
        server, record, project_id=record.cache_key.split()[1], api_url="http://127.0.0.1:9"
    ),
}


@pytest.mark.parametrize("path", ["fast", "full"])
@pytest.mark.parametrize("damage", list(RECORD_DAMAGE))
def test_damaged_or_foreign_record_is_replaced_by_a_new_token(
    run, forked, server, project_id, cached, path, damage
):
    Path(paths.token_record("prod")).write_bytes(RECORD_DAMAGE[damage](server, cached))
    mints = server.mints
    if path == "fast":
        result = forked("token")
        code, token = result.returncode, result.stdout
    else:
        outcome = run("token", "--min-ttl", "30")
        code, token = outcome.exit_code, outcome.stdout
    assert code == 0
    assert claims(token)["sub"] == project_id
    assert server.mints == mints + 1
    record = cache.read("prod")
    assert record is not None
    assert record.token == token.strip()
    assert record.cache_key == cached.cache_key


def test_profile_edited_by_hand_never_gets_the_old_projects_token(forked, server, project_id):
    add_profile(run_in_process, server, "prod", project_id, "--no-verify", check=True)
    first = forked("token").stdout
    assert claims(first)["sub"] == project_id
    other = str(uuid.uuid4())
    server.add_project(other, API_KEY)
    profiles = Path(paths.profiles_file())
    profiles.write_text(profiles.read_text().replace(project_id, other))
    for _ in range(2):
        token = forked("token").stdout
        assert claims(token)["sub"] == other
    assert server.mints == 2
    # The full path's read of the edited file put the cached-token fast path back in service.
    fast = run_installed("token", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert fast.stdout == token
    assert "click" not in imported_modules(fast.stderr)


@pytest.mark.parametrize(
    "damage",
    [b"", b"garbage\n", b"\xff\xfe\x00", b"1 2 3\nprod project other http://x\n", None],
)
def test_a_damaged_or_missing_key_index_is_rebuilt(forked, run, server, project_id, damage):
    assert add_profile(run, server, "prod", project_id).exit_code == 0
    give_installed_command_the_key("prod")
    index = Path(paths.key_index_file())
    intact = index.read_bytes()
    if damage is None:
        index.unlink()
    else:
        index.write_bytes(damage)
    token = forked("token")
    assert token.returncode == 0
    assert claims(token.stdout)["sub"] == project_id
    assert server.mints == 1  # the full path found the cached token good
    assert index.read_bytes() == intact


def test_an_old_install_s_index_in_the_config_dir_gives_way_to_one_in_the_cache(
    forked, run, server, project_id
):
    """The key index is derived data: it lives in the cache; the config dir's old one goes."""
    assert add_profile(run, server, "prod", project_id).exit_code == 0
    give_installed_command_the_key("prod")
    index, legacy = Path(paths.key_index_file()), Path(paths.legacy_key_index_file())
    assert index.parent == Path(paths.cache_dir())
    intact = index.read_bytes()
    legacy.write_bytes(intact)  # where earlier versions kept it
    index.unlink()  # and the new one was never written
    token = forked("token")
    assert token.returncode == 0, token.stderr
    assert claims(token.stdout)["sub"] == project_id
    assert server.mints == 1
    assert index.read_bytes() == intact
    assert not legacy.exists()


def test_an_index_that_cannot_be_written_costs_nothing_but_speed(
    run, server, project_id, monkeypatch
):
    fail_writes_to(monkeypatch, paths.key_index_file(), errno.EROFS, "Read-only file system")
    assert add_profile(run, server, "prod", project_id).exit_code == 0
    assert run("token").exit_code == 0
    assert run("list").exit_code == 0
    assert not Path(paths.key_index_file()).exists()
    assert server.mints == 1


def test_two_config_dirs_sharing_a_cache_never_swap_tokens(forked, server, project_id, tmp_path):
    other = str(uuid.uuid4())
    server.add_project(other, API_KEY)
    first = {"UP42KEYS_CONFIG_DIR": str(tmp_path / "first")}
    second = {"UP42KEYS_CONFIG_DIR": str(tmp_path / "second")}
    for env, project in ((first, project_id), (second, other)):
        result = forked(
            "add", "prod", "--project-id", project, "--api-url", server.url,
            "--api-key-stdin", input=API_KEY + "\n", env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    for env, project in ((first, project_id), (second, other), (first, project_id)):
        assert claims(forked("token", env=env).stdout)["sub"] == project


def test_removed_profile_file_means_no_profile_not_a_cached_token(forked, server, project_id):
    add_profile(run_in_process, server, "prod", project_id, "--no-verify", check=True)
    assert forked("token").returncode == 0
    os.unlink(paths.profiles_file())
    result = forked("token")
    assert result.returncode == 3
    assert result.stdout == ""
