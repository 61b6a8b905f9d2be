"""Every command once, through the installed command, against the fake UP42.

The set that scripts/test runs again with the lowest dependency versions pyproject allows
(.ci/floors.txt) and on each other supported Python: small, and touching every command.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import API_KEY
from tests.helpers import USERNAME, add_profile, claims

pytestmark = pytest.mark.smoke


def test_every_command_once(up42keys, server, project_id, tmp_path, monkeypatch):
    def ok(*args: str, input: str | None = None) -> str:
        result = up42keys(*args, input=input)
        assert result.returncode == 0, (args, result.stderr)
        return result.stdout

    add_profile(up42keys, server, "prod", project_id, check=True)
    server.add_account(USERNAME, "pw-" + API_KEY)
    add_profile(up42keys, server, "me", USERNAME, secret="pw-" + API_KEY, check=True)
    assert [row["name"] for row in json.loads(ok("list", "--json"))] == ["me", "prod"]
    assert claims(ok("token", "prod"))["sub"] == project_id
    ok("use", "prod")
    assert ok("current") == "prod\n"
    assert f"UP42_PROJECT_ID='{project_id}'" in ok("env", "prod")
    assert ok("exec", "prod", "--", "sh", "-c", 'test -n "$UP42_TOKEN" && echo ran') == "ran\n"
    assert f'"sub": "{project_id}"' in ok("inspect", "prod")
    ok("edit", "me", "--client-id", "up42-sdk", "--no-verify")
    ok("set-secret", "prod", "--api-key-stdin", input=API_KEY + "\n")
    exported = tmp_path / "profiles.toml"
    exported.write_text(ok("export", "prod"))
    ok("import", str(exported), "--force")
    monkeypatch.chdir(tmp_path)
    ok("pin", "prod")
    ok("pin", "--off")
    ok("protect", "prod")
    ok("protect", "prod", "--off", "--yes")
    ok("rename", "me", "you")
    ok("remove", "you")
    for shell in ("bash", "zsh", "fish"):
        assert ok("completion", shell)
        assert ok("shell-init", shell)
    assert json.loads(ok("doctor", "--offline", "--json"))
    assert ok("--version").startswith("up42keys")
