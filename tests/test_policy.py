"""One policy for every change of a profile (up42keys.ops.policy), held by every command.

The commands run in-process on the installed command's files, and installed on a real
pseudo-terminal where they ask.

- A protected profile's change (edit, remove, rename, add --force, import --force,
  protect --off) asks on a terminal, or needs --yes; without either nothing changes (exit 2),
  and the fix printed is the command as given with --yes.
- A replacement never drops the protection.
- A stored secret is sent only to the host it was stored for: a new API or sign-in URL keeps
  it only after a verification there; otherwise it is deleted in the same change.
- doctor reports a key left under a profile without a secret, and doctor --fix deletes it.
"""

from __future__ import annotations

import shlex
import uuid
from pathlib import Path

import pytest

from tests.conftest import API_KEY, PASSWORD
from tests.helpers import USERNAME, add_profile, carrying, claims
from tests.terminal import ENTER, Terminal
from tests.test_lifecycle import one_line_error, profiles_toml, stored_secret
from up42keys import paths


def printed_yes_fix(stderr: str) -> list[str]:
    fix = stderr.split("run '", 1)[1].split("'", 1)[0]
    words = shlex.split(fix)
    assert words[0] == "up42keys", fix
    assert words[-1] == "--yes", fix
    return words[1:]


def shared(name: str, table: str) -> str:
    return f"[profiles.{name}]\n{table}"


# -- a protected profile's change asks, or needs --yes ------------------------------------------


def changes_of_prod(project_id: str, url: str) -> list[tuple[list[str], str]]:
    """Each change of a protected 'prod', with the stdin it needs."""
    table = f'project_id = "{project_id}"\napi_url = "{url}"\n'
    add = ["add", "prod", "--project-id", project_id, "--api-url", url]
    return [
        (["rename", "prod", "live"], ""),
        (["remove", "prod"], ""),
        (["protect", "prod", "--off"], ""),
        ([*add, "--api-key-stdin", "--force"], API_KEY + "\n"),
        (["import", "-", "--force"], shared("prod", table)),
    ]


@pytest.mark.parametrize("which", range(5), ids=["rename", "remove", "unprotect", "add", "import"])
def test_a_protected_profiles_change_without_a_terminal_needs_yes(
    in_process, server, project_id, which
):
    add_profile(in_process, server, "prod", project_id, "--protected", check=True)
    before = Path(paths.profiles_file()).read_text()
    args, stdin = changes_of_prod(project_id, server.url)[which]
    refused = one_line_error(in_process(*args, input=stdin), 2)
    assert "profile 'prod' is protected" in refused
    assert Path(paths.profiles_file()).read_text() == before
    assert stored_secret("prod") == API_KEY
    again = in_process(*printed_yes_fix(refused), input=stdin)
    assert again.returncode == 0, again.stderr


def test_rename_of_a_protected_profile_asks_on_a_terminal(in_process, server, project_id):
    add_profile(in_process, server, "prod", project_id, "--protected", check=True)
    terminal = Terminal(["rename", "prod", "live"])
    terminal.expect("Profile 'prod' is protected. Rename it? [y/N]:")
    terminal.type("n" + ENTER)
    code, _ = terminal.finish()
    assert code == 1, terminal.shown
    assert list(profiles_toml()) == ["prod"]
    terminal = Terminal(["rename", "prod", "live"])
    terminal.expect("Rename it?")
    terminal.type("y" + ENTER)
    code, _ = terminal.finish()
    assert code == 0, terminal.shown
    assert profiles_toml()["live"]["protected"] is True


@pytest.mark.parametrize("command", ["add", "import"])
def test_a_replacement_keeps_the_protection(in_process, server, project_id, command):
    add_profile(in_process, server, "prod", project_id, "--protected", check=True)
    if command == "add":
        result = add_profile(in_process, server, "prod", project_id, "--force", "--yes")
    else:
        table = f'project_id = "{project_id}"\napi_url = "{server.url}"\n'
        result = in_process("import", "-", "--force", "--yes", input=shared("prod", table))
    assert result.returncode == 0, result.stderr
    assert profiles_toml()["prod"]["protected"] is True


# -- a stored secret goes only to the host it was stored for ------------------------------------


def test_import_force_to_another_api_drops_the_key_and_never_sends_it_there(
    in_process, server, other_server, project_id
):
    """The reported case: protected 'prod' re-pointed by a shared file to another host."""
    add_profile(in_process, server, "prod", project_id, "--protected", check=True)
    other_server.add_project(project_id, API_KEY)  # it would accept it: must not get it
    table = f'project_id = "{project_id}"\napi_url = "{other_server.url}"\n'
    result = in_process("import", "-", "--force", "--yes", input=shared("prod", table))
    assert result.returncode == 0, result.stderr
    assert "store it with 'up42keys set-secret prod'" in result.stderr
    assert profiles_toml()["prod"]["protected"] is True
    assert profiles_toml()["prod"]["has_secret"] is False
    assert stored_secret("prod") is None
    one_line_error(in_process("token", "prod", "--refresh"), 6)
    figure = carrying(other_server, API_KEY)
    print(f"\nimport --force to another api_url: {figure} requests carrying the key there")
    assert figure == 0


def test_import_force_to_another_sign_in_host_never_sends_the_password_there(
    in_process, server, other_server
):
    server.add_account(USERNAME, PASSWORD)
    other_server.add_account(USERNAME, PASSWORD)
    add_profile(in_process, server, "me", USERNAME, "--api-url", server.url, check=True)
    table = (
        f'kind = "account"\nusername = "{USERNAME}"\nauth_url = "{other_server.url}"\n'
        f'api_url = "{server.url}"\n'
    )
    result = in_process("import", "-", "--force", input=shared("me", table))
    assert result.returncode == 0, result.stderr
    assert stored_secret("me") is None
    one_line_error(in_process("token", "me", "--refresh"), 6)
    figure = carrying(other_server, PASSWORD)
    print(f"\nimport --force to another auth_url: {figure} requests carrying the password there")
    assert figure == 0


def test_edit_to_another_host_unverified_drops_the_key(
    in_process, server, other_server, project_id
):
    add_profile(in_process, server, "prod", project_id, check=True)
    other_server.add_project(project_id, API_KEY)
    result = in_process("edit", "prod", "--api-url", other_server.url, "--no-verify")
    assert result.returncode == 0, result.stderr
    assert "store one with 'up42keys set-secret prod'" in result.stderr
    assert stored_secret("prod") is None
    assert profiles_toml()["prod"]["has_secret"] is False
    one_line_error(in_process("token", "prod", "--refresh"), 6)
    assert carrying(other_server, API_KEY) == 0


def test_edit_to_another_host_verified_keeps_the_key_the_user_sent_there(
    in_process, server, other_server, project_id
):
    add_profile(in_process, server, "prod", project_id, check=True)
    other_server.add_project(project_id, API_KEY)
    result = in_process("edit", "prod", "--api-url", other_server.url)
    assert result.returncode == 0, result.stderr
    assert stored_secret("prod") == API_KEY
    assert "has_secret" not in profiles_toml()["prod"]
    assert claims(in_process("token", "prod", "--refresh").stdout)["sub"] == project_id


def test_import_force_of_the_same_project_and_host_keeps_the_key(in_process, server, project_id):
    add_profile(in_process, server, "prod", project_id, check=True)
    table = f'project_id = "{project_id}"\napi_url = "{server.url}"\n'
    assert in_process("import", "-", "--force", input=shared("prod", table)).returncode == 0
    assert stored_secret("prod") == API_KEY
    assert claims(in_process("token", "prod", "--refresh").stdout)["sub"] == project_id


# -- a key left under a profile without a secret ------------------------------------------------


def test_doctor_reports_a_key_of_a_profile_without_a_secret_and_fix_deletes_it(
    in_process, server, project_id
):
    """What an older up42keys killed in import --force left: the key outlived its profile's."""
    from keyrings.alt.file import PlaintextKeyring

    other = str(uuid.uuid4())
    table = f'project_id = "{other}"\napi_url = "{server.url}"\n'
    assert in_process("import", "-", input=shared("prod", table)).returncode == 0
    PlaintextKeyring().set_password("up42keys", "prod", API_KEY)  # the old project's key

    report = in_process("doctor", "--offline")
    assert report.returncode != 0
    assert "keys of profiles without a secret: 'prod'" in report.stdout + report.stderr
    fixed = in_process("doctor", "--offline", "--fix")
    assert "deleted the key of 'prod'" in fixed.stdout + fixed.stderr
    assert stored_secret("prod") is None
    again = in_process("doctor", "--offline")
    assert "keys of profiles without a secret" not in again.stdout + again.stderr


# -- a secret stays out of the settings ------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "extra", "secret", "option"),
    [
        ("project", ["--api-url", "{url}/gateway/{secret}"], API_KEY, "--api-url"),
        ("account", ["--client-id", "{secret}"], PASSWORD.replace("-", "_"), "--client-id"),
        ("account", ["--api-url", "{url}/{secret}"], PASSWORD, "--api-url"),
    ],
)
def test_add_refuses_a_secret_pasted_into_a_setting(
    in_process, server, project_id, who, extra, secret, option
):
    """Issue 18: a key in --client-id or in a URL's path was stored in profiles.toml."""
    server.add_account(USERNAME, secret)
    args = [value.format(url=server.url, secret=secret) for value in extra]
    result = add_profile(
        in_process, server, "p", project_id if who == "project" else USERNAME, *args, secret=secret
    )
    error = one_line_error(result, 2)
    assert option in error
    assert secret not in result.stderr + result.stdout
    assert "the keyring only" in error
    assert not Path(paths.profiles_file()).exists()
    assert stored_secret("p") is None
    assert carrying(server, secret) == 0
    assert server.requests == []


def test_set_secret_refuses_a_key_found_in_the_profiles_url(in_process, server, project_id):
    path_key = "gw-0123456789abcdef"
    url = f"{server.url}/{path_key}"
    add_profile(in_process, server, "prod", project_id, "--api-url", url, "--no-verify", check=True)
    refused = in_process("set-secret", "prod", "--api-key-stdin", input=path_key + "\n")
    assert "--api-url" in one_line_error(refused, 2)
    assert stored_secret("prod") == API_KEY
    assert profiles_toml()["prod"]["api_url"] == url


def test_a_short_secret_found_in_a_url_by_chance_is_not_refused(in_process, server, project_id):
    """Only secrets of 8 characters or more are looked for: "127.0.0" is in every local URL."""
    added = add_profile(in_process, server, "prod", project_id, "--no-verify", secret="127.0.0")
    assert added.returncode == 0, added.stderr
    assert stored_secret("prod") == "127.0.0"
