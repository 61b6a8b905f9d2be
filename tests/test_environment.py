"""Credentials from the environment (CI pipelines), with no keyring at all, as a user runs it."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import files_containing
from tests.fakeup42 import FakeUp42
from tests.helpers import add_profile, claims
from up42keys import paths

ENV_KEY = "env-api-key-" + "c1k3y" * 5
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def subject(token: str) -> object:
    return claims(token.strip())["sub"]


@pytest.fixture
def env_project(server: FakeUp42, monkeypatch: pytest.MonkeyPatch) -> str:
    """A project whose ID, key and URL are in the environment, as a CI job sets them."""
    identifier = str(uuid.uuid4())
    server.add_project(identifier, ENV_KEY)
    monkeypatch.setenv("UP42_PROJECT_ID", identifier)
    monkeypatch.setenv("UP42_PROJECT_API_KEY", ENV_KEY)
    monkeypatch.setenv("UP42_API_URL", server.url + "/")
    return identifier


@pytest.fixture
def other_server() -> Iterator[FakeUp42]:
    fake = FakeUp42().start()
    yield fake
    fake.stop()


def test_token_inspect_current_with_no_keyring_at_all(
    in_process, server, env_project, isolated_home
):
    token = in_process("token", env=NO_KEYRING)
    assert token.returncode == 0, token.stderr
    assert subject(token.stdout) == env_project
    assert token.stderr == ""
    assert server.mints == 1
    assert server.requests[-1].path == "/oauth/token"

    assert in_process("token", env=NO_KEYRING).stdout == token.stdout
    assert server.mints == 1, "the second token must come from the cache"

    current = in_process("current", env=NO_KEYRING)
    assert (current.returncode, current.stdout) == (0, "(environment)\n")

    inspected = in_process("inspect", env=NO_KEYRING)
    assert inspected.returncode == 0, inspected.stderr
    assert inspected.stdout.startswith("profile: (environment)\n")
    assert f'"sub": "{env_project}"' in inspected.stdout
    assert token.stdout.strip() not in inspected.stdout

    data = json.loads(in_process("token", "--json", env=NO_KEYRING).stdout)
    assert (data["profile"], data["project_id"]) == ("(environment)", env_project)

    # The key was never written: not by us, not by a keyring.
    assert files_containing(ENV_KEY, isolated_home) == []
    assert not Path(paths.config_dir()).exists()
    assert [record.name[:5] for record in Path(paths.tokens_dir()).iterdir()] == [".env-"]


def test_cache_is_keyed_by_project_and_url(
    in_process, server, other_server, env_project, monkeypatch
):
    first = in_process("token", env=NO_KEYRING).stdout
    other_server.add_project(env_project, ENV_KEY)
    monkeypatch.setenv("UP42_API_URL", other_server.url)
    elsewhere = in_process("token", env=NO_KEYRING)
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert (server.mints, other_server.mints) == (1, 1)
    assert elsewhere.stdout != first

    monkeypatch.setenv("UP42_API_URL", server.url)
    assert in_process("token", env=NO_KEYRING).stdout == first
    assert (server.mints, other_server.mints) == (1, 1)

    second_project = str(uuid.uuid4())
    server.add_project(second_project, ENV_KEY)
    monkeypatch.setenv("UP42_PROJECT_ID", second_project)
    assert subject(in_process("token", env=NO_KEYRING).stdout) == second_project
    assert server.mints == 2


def test_environment_wins_over_active_profile_but_not_over_a_named_one(
    in_process, server, project_id, env_project, monkeypatch, isolated_home
):
    # Keys of profiles live in keyrings.alt's file backend (conftest), the environment's nowhere.
    with monkeypatch.context() as without:
        for variable in ("UP42_PROJECT_ID", "UP42_PROJECT_API_KEY"):
            without.delenv(variable)
        added = add_profile(in_process, server, "prod", project_id)
        assert added.returncode == 0, added.stderr
        assert in_process("current").stdout == "prod\n"

    assert in_process("current").stdout == "(environment)\n"
    assert subject(in_process("token").stdout) == env_project
    assert subject(in_process("token", "prod").stdout) == project_id
    assert "profile: prod\n" in in_process("inspect", "prod").stdout

    monkeypatch.setenv("UP42KEYS_PROFILE", "prod")
    assert in_process("current").stdout == "prod\n"
    assert subject(in_process("token").stdout) == project_id
    assert files_containing(ENV_KEY, isolated_home) == []


def test_only_one_of_the_two_variables_is_no_credentials(in_process, env_project, monkeypatch):
    monkeypatch.delenv("UP42_PROJECT_API_KEY")
    result = in_process("token", env=NO_KEYRING)
    assert result.returncode == 3
    assert "no profile is active" in result.stderr


def test_bad_environment_credentials_say_which_variable(
    in_process, server, env_project, monkeypatch
):
    monkeypatch.setenv("UP42_PROJECT_API_KEY", "wrong-" + ENV_KEY)
    rejected = in_process("token", env=NO_KEYRING)
    assert rejected.returncode == 4
    assert "UP42_PROJECT_API_KEY" in rejected.stderr
    assert ENV_KEY not in rejected.stderr

    monkeypatch.setenv("UP42_PROJECT_ID", "not-a-uuid")
    malformed = in_process("token", env=NO_KEYRING)
    assert malformed.returncode == 2
    assert "UP42_PROJECT_ID must be a UUID" in malformed.stderr

    monkeypatch.setenv("UP42_PROJECT_ID", env_project)
    monkeypatch.setenv("UP42_API_URL", "ftp://example.invalid")
    bad_url = in_process("token", env=NO_KEYRING)
    assert bad_url.returncode == 2
    assert "UP42_API_URL" in bad_url.stderr


def test_env_and_exec_use_environment_credentials_with_no_keyring(
    in_process, forked, server, env_project, isolated_home
):
    printed = in_process("env", env=NO_KEYRING)
    assert printed.returncode == 0, printed.stderr
    assert f"export UP42_PROJECT_ID='{env_project}'\n" in printed.stdout
    assert "UP42KEYS_PROFILE" not in printed.stdout
    script = (
        "import json, os; print(json.dumps([os.environ[n] for n in "
        "('UP42_TOKEN', 'UP42_PROJECT_ID', 'UP42_PROJECT_API_KEY')]))"
    )
    ran = forked("exec", "--", sys.executable, "-c", script, env=NO_KEYRING)
    assert ran.returncode == 0, ran.stderr
    token, project, key = json.loads(ran.stdout)
    assert subject(token) == env_project
    # The environment's own pair reaches the command unchanged: it is one project's.
    assert (project, key) == (env_project, ENV_KEY)
    assert server.mints == 1
    assert files_containing(ENV_KEY, isolated_home) == []
