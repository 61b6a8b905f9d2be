"""A profile's life after ``add``: edit, set-secret, export/import, up42-py's config, client ID.

Each test drives the CLI in-process on the installed command's files and keyring (the
``in_process`` fixture) against the fake UP42 on 127.0.0.1, and the installed command on a
real pseudo-terminal (tests/terminal.py) where it asks something.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import API_KEY, PASSWORD
from tests.fakeup42 import closed_port_url
from tests.helpers import USERNAME, add_profile, claims
from tests.terminal import ENTER, Terminal
from up42keys import cache, kinds, paths, rules

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

NEW_KEY = "rotated-api-key-" + "n3w" * 5
NEW_PASSWORD = "rotated-password-" + "nw" * 5


def stored_secret(name: str) -> str | None:
    """What the installed command's keyring (keyrings.alt's file) holds for ``name``."""
    from keyrings.alt.file import PlaintextKeyring

    return PlaintextKeyring().get_password("up42keys", name)


def profiles_toml() -> dict[str, dict[str, object]]:
    return tomllib.loads(Path(paths.profiles_file()).read_text())["profiles"]


def one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The single ``up42keys: error:`` line of a failed command, once its exit code is ``code``."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("up42keys: error: "), result.stderr
    return lines[0]


@pytest.fixture
def account(in_process, server):
    server.add_account(USERNAME, PASSWORD)
    add_profile(in_process, server, "me", USERNAME, "--api-url", server.url, check=True)
    return "me"


# -- edit ---------------------------------------------------------------------------------------


def test_edit_moves_a_profile_to_another_api_verified_with_the_stored_key(
    in_process, server, other_server, project_id
):
    add_profile(in_process, server, "prod", project_id, check=True)
    old_token = in_process("token", "prod").stdout.strip()
    other_server.add_project(project_id, API_KEY)

    result = in_process("edit", "prod", "--api-url", other_server.url)
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stderr
    assert other_server.mints == 1
    assert profiles_toml()["prod"]["api_url"] == other_server.url
    assert stored_secret("prod") == API_KEY
    # The old token is gone: the next token is the one the new API minted.
    token = in_process("token", "prod").stdout.strip()
    assert token != old_token
    assert other_server.mints == 1
    assert claims(token)["sub"] == project_id
    assert in_process("current").stdout == "prod\n"
    assert Path(paths.current_token_file()).read_text().strip() == token


def test_edit_refused_by_up42_changes_nothing(in_process, server, other_server, project_id):
    add_profile(in_process, server, "prod", project_id, check=True)
    token = in_process("token", "prod").stdout
    before = Path(paths.profiles_file()).read_text()
    one_line_error(in_process("edit", "prod", "--api-url", other_server.url), 4)
    assert Path(paths.profiles_file()).read_text() == before
    assert in_process("token", "prod").stdout == token  # its token was kept too
    assert server.mints == 1


def test_edit_no_verify_contacts_nobody(in_process, server, project_id):
    add_profile(in_process, server, "prod", project_id, check=True)
    dead = closed_port_url()
    result = in_process("edit", "prod", "--api-url", dead, "--no-verify")
    assert result.returncode == 0, result.stderr
    assert "not verified" in result.stderr
    assert profiles_toml()["prod"]["api_url"] == dead
    assert cache.read("prod") is None
    assert not Path(paths.current_token_file()).exists()
    # Unverified at another host, the key is not kept for it (tests/test_policy.py).
    assert "store one with 'up42keys set-secret prod'" in result.stderr
    one_line_error(in_process("token", "prod"), 6)


def test_edit_of_an_account_drops_its_refresh_token_and_keeps_custom_urls(
    in_process, server, account
):
    assert in_process("token", "me").returncode == 0
    assert cache.read("me~refresh") is not None
    result = in_process("edit", "me", "--region", "sa", "--no-verify")
    assert result.returncode == 0, result.stderr
    assert cache.read("me") is None
    assert cache.read("me~refresh") is None
    table = profiles_toml()["me"]
    # Both URLs were custom (the fake's), so they stay; only the region changes.
    assert table["region"] == "sa"
    assert table["auth_url"] == table["api_url"] == server.url


def test_edit_region_moves_the_hosts_that_were_the_old_regions(in_process, server):
    server.add_account(USERNAME, PASSWORD)
    assert (
        in_process(
            "add", "me", "--account", "--username", USERNAME, "--no-verify", "--password-stdin",
            input=PASSWORD + "\n",
        ).returncode
        == 0
    )  # fmt: skip
    assert profiles_toml()["me"]["auth_url"] == rules.REGIONS["eu"][0]
    assert in_process("edit", "me", "--region", "sa", "--no-verify").returncode == 0
    table = profiles_toml()["me"]
    assert (table["auth_url"], table["api_url"]) == rules.REGIONS["sa"]


def test_edit_username_signs_in_as_the_new_account(in_process, server, account):
    server.add_account("team@example.com", PASSWORD)
    result = in_process("edit", "me", "--username", "team@example.com")
    assert result.returncode == 0, result.stderr
    assert claims(in_process("token", "me").stdout)["sub"] == "team@example.com"


EDIT_BAD_INPUT = [
    (["edit", "prod"], 2, "nothing to change"),
    (["edit", "prod", "--username", USERNAME], 2, "--username does not go with a project"),
    (["edit", "prod", "--auth-url", "http://127.0.0.1:1"], 2, "--auth-url does not go with"),
    (["edit", "prod", "--region", "sa"], 2, "--region does not go with a project profile"),
    (["edit", "prod", "--client-id", "up42-sdk"], 2, "--client-id does not go with"),
    (["edit", "prod", "--api-url", "ftp://x"], 2, "must be an http(s) URL"),
    (["edit", "prod", "--api-url", ""], 2, "must be an http(s) URL"),
    (["edit", "me", "--username", "not-an-email"], 2, "the username must be the account's email"),
    (["edit", "me", "--client-id", "a b"], 2, "the client ID has up to 64"),
    (["edit", "me", "--region", "us"], 2, "Invalid value for '--region'"),
    (["edit", "ghost", "--api-url", "http://127.0.0.1:1"], 3, "no profile named 'ghost'"),
    (["edit", "-x"], 2, "No such option"),
]


@pytest.mark.parametrize(("args", "code", "message"), EDIT_BAD_INPUT)
def test_edit_bad_input_is_one_line_and_changes_nothing(
    in_process, server, project_id, account, args, code, message
):
    add_profile(in_process, server, "prod", project_id, check=True)
    before = Path(paths.profiles_file()).read_text()
    assert message in one_line_error(in_process(*args), code)
    assert Path(paths.profiles_file()).read_text() == before


@pytest.mark.parametrize(
    ("name", "fix"),
    [
        ("prod", "give --api-url"),
        ("me", "give --username, --region, --auth-url, --api-url or --client-id"),
    ],
)
def test_edit_with_nothing_to_change_names_only_what_the_profiles_kind_can_change(
    in_process, server, project_id, account, name, fix
):
    add_profile(in_process, server, "prod", project_id, check=True)
    error = one_line_error(in_process("edit", name), 2)
    assert error == f"up42keys: error: nothing to change in profile {name!r}; {fix}"


def test_edit_of_a_protected_profile_asks_on_a_terminal(
    in_process, server, other_server, project_id
):
    add_profile(in_process, server, "prod", project_id, "--protected", check=True)
    other_server.add_project(project_id, API_KEY)
    before = Path(paths.profiles_file()).read_text()
    terminal = Terminal(["edit", "prod", "--api-url", other_server.url])
    terminal.expect("Profile 'prod' is protected. Edit it? [y/N]:")
    terminal.type("n" + ENTER)
    code, _ = terminal.finish()
    assert code == 1, terminal.shown
    assert Path(paths.profiles_file()).read_text() == before
    terminal = Terminal(["edit", "prod", "--api-url", other_server.url])
    terminal.expect("Edit it?")
    terminal.type("y" + ENTER)
    code, _ = terminal.finish()
    assert code == 0, terminal.shown
    assert profiles_toml()["prod"] == {
        "kind": "project",
        "api_url": other_server.url,
        "project_id": project_id,
        "protected": True,
    }


def test_edit_of_a_protected_profile_without_terminal_needs_yes(
    in_process, server, other_server, project_id
):
    add_profile(in_process, server, "prod", project_id, "--protected", check=True)
    other_server.add_project(project_id, API_KEY)
    before = Path(paths.profiles_file()).read_text()
    refused = one_line_error(in_process("edit", "prod", "--api-url", other_server.url), 2)
    assert Path(paths.profiles_file()).read_text() == before
    fix = refused.split("run '", 1)[1].split("'", 1)[0]
    assert fix == f"up42keys edit prod --api-url={other_server.url} --yes"
    result = in_process(*fix.split()[1:])
    assert result.returncode == 0, result.stderr
    assert profiles_toml()["prod"]["api_url"] == other_server.url


# -- set-secret ---------------------------------------------------------------------------------


def test_set_secret_stores_a_rotated_key_and_keeps_everything_else(in_process, server, project_id):
    add_profile(in_process, server, "prod", project_id, "--protected", check=True)
    before = Path(paths.profiles_file()).read_text()
    server.add_project(project_id, NEW_KEY)  # rotated at UP42
    one_line_error(in_process("token", "prod", "--refresh"), 4)

    result = in_process("set-secret", "prod", "--api-key-stdin", input=NEW_KEY + "\n")
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stderr
    assert stored_secret("prod") == NEW_KEY
    assert Path(paths.profiles_file()).read_text() == before
    assert claims(in_process("token", "prod").stdout)["sub"] == project_id


def test_set_secret_that_up42_refuses_keeps_the_old_one(in_process, server, project_id):
    add_profile(in_process, server, "prod", project_id, check=True)
    one_line_error(in_process("set-secret", "prod", "--api-key-stdin", input="wrong-key\n"), 4)
    assert stored_secret("prod") == API_KEY
    assert in_process("token", "prod", "--refresh").returncode == 0


def test_set_secret_asks_for_a_password_at_a_hidden_prompt(in_process, server, account):
    server.add_account(USERNAME, NEW_PASSWORD)
    server.refresh_tokens.clear()
    terminal = Terminal(["set-secret", "me"])
    terminal.expect("Password: ")
    terminal.type(NEW_PASSWORD + ENTER)
    code, _ = terminal.finish()
    assert code == 0, terminal.shown
    assert NEW_PASSWORD not in terminal.shown
    assert stored_secret("me") == NEW_PASSWORD
    assert cache.read("me~refresh") is not None  # the verifying sign-in's, not the old one's
    assert claims(in_process("token", "me", "--refresh").stdout)["sub"] == USERNAME


SET_SECRET_BAD_INPUT = [
    (["set-secret", "prod", "--password-stdin"], "x\n", 2, "--password-stdin does not go with"),
    (["set-secret", "me", "--api-key-stdin"], "x\n", 2, "--api-key-stdin does not go with"),
    (["set-secret", "prod"], "", 2, "no terminal to ask for the API key"),
    (["set-secret", "prod", "--api-key-stdin"], "\n", 2, "the API key is empty"),
    (["set-secret", "me", "--password-stdin"], "a\x01b\n", 2, "contains control characters"),
    (["set-secret", "ghost", "--api-key-stdin"], "x\n", 3, "no profile named 'ghost'"),
    (["set-secret"], "", 2, "Missing argument 'NAME'"),
]


@pytest.mark.parametrize(("args", "stdin", "code", "message"), SET_SECRET_BAD_INPUT)
def test_set_secret_bad_input_is_one_line_and_changes_nothing(
    in_process, server, project_id, account, args, stdin, code, message
):
    add_profile(in_process, server, "prod", project_id, check=True)
    assert message in one_line_error(in_process(*args, input=stdin), code)
    assert (stored_secret("prod"), stored_secret("me")) == (API_KEY, PASSWORD)


# -- export and import --------------------------------------------------------------------------


def two_profiles(in_process, server, project_id):
    server.add_account(USERNAME, PASSWORD)
    add_profile(in_process, server, "prod", project_id, "--protected", check=True)
    add_profile(
        in_process, server, "me", USERNAME, "--region", "sa", "--client-id", "up42-sdk", check=True
    )


def test_export_prints_the_definitions_as_profiles_toml_holds_them(in_process, server, project_id):
    two_profiles(in_process, server, project_id)
    exported = in_process("export")
    assert exported.returncode == 0, exported.stderr
    assert API_KEY not in exported.stdout
    assert PASSWORD not in exported.stdout
    document = tomllib.loads(exported.stdout)
    assert document == {"version": 1, "profiles": profiles_toml()}
    assert document["profiles"]["me"]["client_id"] == "up42-sdk"
    only = tomllib.loads(in_process("export", "me").stdout)["profiles"]
    assert list(only) == ["me"]


def test_imported_profiles_have_no_secret_until_set_secret_stores_it(
    in_process, server, project_id, tmp_path
):
    two_profiles(in_process, server, project_id)
    shared = tmp_path / "team.toml"
    shared.write_text(in_process("export").stdout)
    definitions = profiles_toml()
    for name in ("prod", "me"):
        assert in_process("remove", name, "--yes").returncode == 0

    result = in_process("import", str(shared))
    assert result.returncode == 0, result.stderr
    assert "store it with 'up42keys set-secret prod'" in result.stderr
    assert profiles_toml() == {
        name: {**table, "has_secret": False} for name, table in definitions.items()
    }
    assert stored_secret("prod") is None
    rows = {row["name"]: row for row in json.loads(in_process("list", "--json").stdout)}
    assert [rows[name]["has_secret"] for name in ("me", "prod")] == [False, False]
    listing = in_process("list").stdout.splitlines()
    assert all(" no secret" in line for line in listing[1:]), listing

    for command in (["token", "prod"], ["use", "prod", "--yes"]):
        error = one_line_error(in_process(*command), 6)
        assert error.endswith("store it with 'up42keys set-secret prod'"), error
    stored = in_process("set-secret", "prod", "--api-key-stdin", input=API_KEY + "\n")
    assert stored.returncode == 0, stored.stderr
    assert "has_secret" not in profiles_toml()["prod"]
    assert in_process("use", "prod", "--yes").returncode == 0
    assert claims(in_process("token").stdout)["sub"] == project_id


def test_import_from_stdin(in_process, project_id):
    document = f'[profiles.prod]\nkind = "project"\nproject_id = "{project_id}"\n'
    result = in_process("import", "-", input=document)
    assert result.returncode == 0, result.stderr
    assert profiles_toml() == {
        "prod": {
            "kind": "project",
            "api_url": rules.DEFAULT_API_URL,
            "project_id": project_id,
            "has_secret": False,
        }
    }


def test_import_refuses_an_existing_name_unless_force(in_process, server, project_id):
    add_profile(in_process, server, "prod", project_id, check=True)
    token = in_process("token", "prod").stdout
    before = Path(paths.profiles_file()).read_text()
    other = str(uuid.uuid4())
    document = (
        f'[profiles.prod]\nproject_id = "{project_id}"\napi_url = "{server.url}"\n'
        f'protected = true\n[profiles.new]\nproject_id = "{other}"\n'
    )
    error = one_line_error(in_process("import", "-", input=document), 2)
    assert "profile 'prod' exists; add --force" in error
    assert Path(paths.profiles_file()).read_text() == before  # not even 'new'

    assert in_process("import", "-", "--force", input=document).returncode == 0
    # Same project: its key is kept; its old token is not (the definition changed).
    assert profiles_toml()["prod"]["protected"] is True
    assert "has_secret" not in profiles_toml()["prod"]
    assert profiles_toml()["new"]["has_secret"] is False
    assert in_process("token", "prod").stdout != token
    # Another project under the same name: the old key would be sent for it, so it goes. The
    # file leaves 'protected' out: the profile stays protected, so the change needs --yes.
    document = f'[profiles.prod]\nproject_id = "{other}"\napi_url = "{server.url}"\n'
    one_line_error(in_process("import", "-", "--force", input=document), 2)
    assert in_process("import", "-", "--force", "--yes", input=document).returncode == 0
    assert profiles_toml()["prod"]["protected"] is True
    assert stored_secret("prod") is None
    assert profiles_toml()["prod"]["has_secret"] is False
    one_line_error(in_process("token", "prod"), 6)


IMPORT_BAD_INPUT = [
    ('[profiles.a]\nproject_id = "{id}"\napi_key = "k"\n', "holds 'api_key', which looks like"),
    ('[profiles.a]\nkind = "account"\nusername = "j@x.io"\npassword = "p"\n', "holds 'password'"),
    ('token = "t"\n[profiles.a]\nproject_id = "{id}"\n', "the file holds 'token'"),
    ('[profiles.a]\nproject_id = "{id}"\nrefresh_token = "t"\n', "holds 'refresh_token'"),
    ("[profiles.a\n", "is not valid TOML"),
    ("version = 1\n", "defines no profiles"),
    ('version = 2\n[profiles.a]\nproject_id = "{id}"\n', "has format version 2"),
    ('color = "red"\n[profiles.a]\nproject_id = "{id}"\n', "has unknown keys 'color'"),
    ('[profiles.a]\nproject_id = "{id}"\nurl = "x"\n', "unknown settings 'url'"),
    ('[profiles.a]\nproject_id = "not-a-uuid"\n', "the project ID must be a UUID"),
    ('[profiles.a]\nproject_id = "{id}"\napi_url = "ftp://x"\n', "must be an http(s) URL"),
    ('[profiles.a]\nproject_id = "{id}"\nusername = "j@x.io"\n', "takes no username"),
    ('[profiles.a]\nkind = "account"\n', "needs username"),
    ('[profiles.a]\nkind = "account"\nusername = "j@x.io"\nregion = "us"\n', "region must be"),
    ('[profiles.a]\nkind = "account"\nusername = "j@x.io"\nclient_id = ""\n', "the client ID"),
    ('[profiles.a]\nkind = "robot"\nproject_id = "{id}"\n', "has kind 'robot'"),
    (
        '[profiles.a]\nproject_id = "{id}"\nprotected = "yes"\n',
        "'protected' of 'a' must be true or false",
    ),
    ('[profiles.".bad"]\nproject_id = "{id}"\n', "'.bad' is not a valid profile name"),
    ('profiles = "a"\n', "defines no profiles"),
    ("[profiles]\na = 1\n", "profile 'a' is not a table"),
]


@pytest.mark.parametrize(("document", "message"), IMPORT_BAD_INPUT)
def test_import_bad_input_is_one_line_exit_2_and_imports_nothing(
    in_process, project_id, document, message
):
    error = one_line_error(in_process("import", "-", input=document.replace("{id}", project_id)), 2)
    assert message in error
    assert not Path(paths.profiles_file()).exists()


def test_import_of_a_file_that_cannot_be_read_is_exit_2(in_process, tmp_path):
    for where in (tmp_path / "missing.toml", tmp_path):
        assert "cannot read" in one_line_error(in_process("import", str(where)), 2)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe")
    assert "not UTF-8 text" in one_line_error(in_process("import", str(binary)), 2)


def test_export_of_unknown_or_no_profiles_is_exit_3(in_process, server, project_id):
    assert "no profiles to export" in one_line_error(in_process("export"), 3)
    add_profile(in_process, server, "prod", project_id, check=True)
    assert "did you mean 'prod'?" in one_line_error(in_process("export", "prdo"), 3)


# -- up42-py's config file ----------------------------------------------------------------------


def sdk_config(directory: Path, **fields: str) -> Path:
    """up42-py's config file, as its ``up42.authenticate(cfg_file=...)`` documents it."""
    path = directory / "up42 'config'.json"
    path.write_text(json.dumps(fields))
    return path


def test_add_from_sdk_config_moves_the_password_to_the_keyring(in_process, server, tmp_path):
    server.add_account(USERNAME, PASSWORD)
    config = sdk_config(tmp_path, username=USERNAME, password=PASSWORD)
    result = in_process(
        "add", "me", "--account", "--from-sdk-config", str(config), "--auth-url", server.url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stderr
    assert stored_secret("me") == PASSWORD
    assert profiles_toml()["me"]["username"] == USERNAME
    assert PASSWORD not in Path(paths.profiles_file()).read_text()
    assert config.read_text() == json.dumps({"username": USERNAME, "password": PASSWORD})
    assert "still holds the password in plain text" in result.stderr
    # The printed command deletes exactly that file, however its name is spelled.
    command = result.stderr.split("Delete it with: ", 1)[1].strip()
    assert command.startswith("rm -- '")
    removed = subprocess.run(["bash", "-c", command], cwd="/", capture_output=True, check=False)
    assert removed.returncode == 0, removed.stderr
    assert not config.exists()
    assert claims(in_process("token", "me").stdout)["sub"] == USERNAME


def test_add_from_sdk_config_takes_the_same_username_and_is_verified(in_process, server, tmp_path):
    server.add_account(USERNAME, PASSWORD)
    config = sdk_config(tmp_path, username=USERNAME, password="wrong-password")
    flags = ["--account", "--username", USERNAME, "--from-sdk-config", str(config)]
    one_line_error(in_process("add", "me", *flags, "--auth-url", server.url), 4)
    assert not Path(paths.profiles_file()).exists()
    config.write_text(json.dumps({"username": USERNAME, "password": PASSWORD}))
    assert in_process("add", "me", *flags, "--auth-url", server.url).returncode == 0


SDK_CONFIG_BAD_INPUT = [
    ("{not json", [], "is not JSON"),
    ('["a"]', [], "is not an object"),
    ('{"username": "jane@example.com"}', [], "has no 'password'"),
    ('{"password": "p"}', [], "has no 'username'"),
    ('{"username": "jane@example.com", "password": ""}', [], "has no 'password'"),
    ('{"username": 7, "password": "p"}', [], "has no 'username'"),
    ('{"username": "nobody", "password": "p"}', [], "the username must be the account's email"),
    ('{"username": "jane@example.com", "password": "p"}', ["--username", "other@example.com"],
     "differs from the username in"),
    ('{"username": "jane@example.com", "password": "p"}', ["--password-stdin"],
     "--password-stdin does not go with --from-sdk-config"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "extra", "message"), SDK_CONFIG_BAD_INPUT)
def test_add_from_sdk_config_bad_input_is_one_line_exit_2(
    in_process, tmp_path, content, extra, message
):
    config = tmp_path / "cfg.json"
    config.write_text(content)
    args = ["add", "me", "--account", "--from-sdk-config", str(config), *extra]
    assert message in one_line_error(in_process(*args, input="p\n"), 2)
    assert not Path(paths.profiles_file()).exists()


def test_add_from_sdk_config_that_cannot_be_read_or_with_a_project_is_exit_2(
    in_process, tmp_path, project_id
):
    for where in (tmp_path / "missing.json", tmp_path):
        args = ["add", "me", "--account", "--from-sdk-config", str(where)]
        assert "cannot read" in one_line_error(in_process(*args), 2)
    config = sdk_config(tmp_path, username=USERNAME, password=PASSWORD)
    args = ["add", "p", "--project-id", project_id, "--from-sdk-config", str(config)]
    assert "--from-sdk-config does not go with --project-id" in one_line_error(in_process(*args), 2)


# -- the sign-in client ID ---------------------------------------------------------------------


def test_the_client_id_is_sent_on_the_password_and_the_refresh_grant(in_process, server):
    server.add_account(USERNAME, PASSWORD)
    add_profile(in_process, server, "sdk", USERNAME, "--client-id", "up42-sdk", check=True)
    assert server.clients == {"up42-sdk": 1}
    assert profiles_toml()["sdk"]["client_id"] == "up42-sdk"
    assert in_process("token", "sdk", "--refresh").returncode == 0
    assert server.grants == {"password": 1, "refresh_token": 1}
    assert server.clients == {"up42-sdk": 2}

    add_profile(in_process, server, "api", USERNAME, check=True)
    assert "client_id" not in profiles_toml()["api"]  # the default is not stored
    assert server.clients == {"up42-sdk": 2, "up42-api": 1}


def test_editing_the_client_id_gives_new_tokens(in_process, server, account):
    token = in_process("token", "me").stdout
    assert server.clients == {"up42-api": 1}
    result = in_process("edit", "me", "--client-id", "up42-sdk")
    assert result.returncode == 0, result.stderr
    # A password grant as the new client: the old refresh token was dropped.
    assert server.grants == {"password": 2}
    assert server.clients == {"up42-api": 1, "up42-sdk": 1}
    assert in_process("token", "me").stdout != token
    assert server.grants == {"password": 2}
    # A client UP42 does not know is refused, and the profile stays as it was.
    before = Path(paths.profiles_file()).read_text()
    one_line_error(in_process("edit", "me", "--client-id", "someone-else"), 4)
    assert Path(paths.profiles_file()).read_text() == before


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--client-id", ""], "the client ID has up to 64"),
        (["--client-id", "x" * 65], "the client ID has up to 64"),
        (["--client-id", "up42/api"], "the client ID has up to 64"),
    ],
)
def test_add_bad_client_id_is_exit_2(in_process, flags, message):
    args = ["add", "me", "--account", "--username", USERNAME, "--password-stdin", *flags]
    assert message in one_line_error(in_process(*args, input="p\n"), 2)


def test_add_client_id_with_a_project_profile_is_exit_2(in_process, project_id):
    args = ["add", "p", "--project-id", project_id, "--client-id", "up42-sdk", "--api-key-stdin"]
    assert "--client-id does not go with --project-id" in one_line_error(in_process(*args), 2)


def test_restore_command_names_a_client_id_that_is_not_the_default():
    me = kinds.account_profile("me", USERNAME, client_id="up42-sdk")
    assert me.restore_command() == (
        f"up42keys add me --account --username {USERNAME} --client-id up42-sdk --force"
    )
    default = kinds.account_profile("me", USERNAME)
    assert "--client-id" not in default.restore_command()
    assert me.cache_key == default.cache_key + " up42-sdk"
