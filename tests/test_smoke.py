"""Every command once, through the installed command, against the fake UP42.

scripts/test runs the whole suite on one Python and this module (with a few others) on every
other supported Python, in venvs of their own: a command that breaks on one version only
fails here. A new command must be added to COMMANDS_RUN, or the first test fails.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.conftest import API_KEY, PASSWORD, run_installed
from tests.fakeup42 import FakeUp42
from tests.helpers import add_profile, claims, in_directory
from up42keys.cli import cli

pytestmark = pytest.mark.smoke

COMMANDS_RUN = {
    "add",
    "completion",
    "current",
    "doctor",
    "edit",
    "env",
    "exec",
    "export",
    "import",
    "inspect",
    "list",
    "pin",
    "protect",
    "remove",
    "rename",
    "set-secret",
    "shell-init",
    "status",
    "token",
    "use",
}


def test_the_smoke_set_runs_every_command() -> None:
    assert set(cli.commands) == COMMANDS_RUN


def test_every_command_once(up42keys, server: FakeUp42, tmp_path: Path) -> None:
    prod, dev = str(uuid.uuid4()), str(uuid.uuid4())
    server.add_project(prod, API_KEY)
    server.add_project(dev, API_KEY)
    server.add_account("jane@example.com", PASSWORD)

    assert up42keys("--version").stdout.startswith("up42keys, version ")
    add_profile(up42keys, server, "prod", prod, check=True)
    add_profile(up42keys, server, "dev", dev, check=True)
    add_profile(up42keys, server, "me", "jane@example.com", check=True)

    listed = json.loads(up42keys("list", "--json").stdout)
    assert [row["name"] for row in listed] == ["dev", "me", "prod"]
    assert [row["name"] for row in listed if row["active"]] == ["prod"]

    used = up42keys("use", "dev")
    assert used.returncode == 0, used.stderr
    assert up42keys("current").stdout == "dev\n"
    token = up42keys("token").stdout.strip()
    assert claims(token)["sub"] == dev
    assert claims(up42keys("token", "me").stdout)["sub"]

    printed_env = up42keys("env", "prod").stdout
    assert f"export UP42_PROJECT_ID='{prod}'" in printed_env
    ran = up42keys("exec", "prod", "--", "sh", "-c", 'printf %s "$UP42_PROJECT_ID"')
    assert (ran.returncode, ran.stdout) == (0, prod)
    assert '"sub"' in up42keys("inspect", "prod").stdout

    project = tmp_path / "project"
    project.mkdir()
    pinned = in_directory(project, "pin", "prod", run=run_installed)
    assert pinned.returncode == 0, pinned.stderr
    assert (project / ".up42keys-profile").read_text().strip() == "prod"
    assert in_directory(project, "current", run=run_installed).stdout == "prod\n"

    assert up42keys("protect", "prod").returncode == 0
    assert json.loads(up42keys("list", "--json").stdout)[2]["protected"] is True
    status = json.loads(in_directory(project, "status", "--json", run=run_installed).stdout)
    assert status["here"]["profile"] == "prod", status
    edited = up42keys("edit", "me", "--client-id", "up42-sdk")
    assert edited.returncode == 0, edited.stderr
    rotated = up42keys("set-secret", "dev", "--api-key-stdin", input=API_KEY + "\n")
    assert rotated.returncode == 0, rotated.stderr

    exported = up42keys("export", "dev")
    assert f'project_id = "{dev}"' in exported.stdout
    assert API_KEY not in exported.stdout
    assert up42keys("remove", "dev").returncode == 0
    imported = up42keys("import", "-", input=exported.stdout)
    assert imported.returncode == 0, imported.stderr
    assert up42keys("rename", "dev", "staging").returncode == 0
    names = [row["name"] for row in json.loads(up42keys("list", "--json").stdout)]
    assert names == ["me", "prod", "staging"]

    assert "complete" in up42keys("completion", "bash").stdout
    assert "__up42keys_ps1" in up42keys("shell-init", "zsh").stdout
    doctor = up42keys("doctor", "--offline", "--json")
    checks = {check["name"]: check["status"] for check in json.loads(doctor.stdout)["checks"]}
    assert checks["profiles"] == "ok", doctor.stdout
    assert in_directory(project, "pin", "--off", run=run_installed).returncode == 0
    assert not (project / ".up42keys-profile").exists()
