"""Per-directory profiles: the nearest .up42keys-profile chooses, in the prompt as in commands.

The commands run in-process in the directory (``monkeypatch.chdir``), on the installed
command's files and keyring, and ``exec`` runs in a process (a fork-server child); the
order they follow is NAME, UP42KEYS_PROFILE, the environment credentials, the file, the
active profile.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import API_KEY, installed_command
from tests.helpers import add_profile, claims, run_python
from tests.shellkit import ALL_SHELLS, POSIX_SHELLS, add_prod_and_dev, load, require, run_shell
from up42keys import paths


@pytest.fixture
def profiles(server, project_id):
    return add_prod_and_dev(server, project_id)


def pin_in(directory: Path, name: str) -> None:
    """``up42keys pin NAME`` run in ``directory``: the file, trusted (docs/trust-model.md)."""
    pinned = subprocess.run(
        [installed_command(), "pin", name],
        cwd=directory,
        env={**os.environ, "PWD": str(directory)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert pinned.returncode == 0, pinned.stderr


@pytest.fixture
def project_tree(tmp_path: Path, profiles) -> Path:
    """tmp/project pins dev (with 'pin'); tmp/project/src/deep is below it; tmp/elsewhere is not."""
    project = tmp_path / "project"
    (project / "src" / "deep").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    pin_in(project, "dev")
    return tmp_path


def pin_missing_profile(in_process, directory: Path, name: str) -> None:
    """A trusted file naming ``name``, a profile that no longer exists (renamed to dev)."""
    assert in_process("rename", "dev", name).returncode == 0
    pin_in(directory, name)
    assert in_process("rename", name, "dev").returncode == 0


@pytest.mark.shells
@pytest.mark.parametrize("shell_name", ALL_SHELLS)
def test_prompt_follows_the_nearest_pin_file(profiles, project_tree, shell_name):
    script = load(shell_name) + "\n".join(
        [
            f"cd {project_tree / 'project' / 'src' / 'deep'}",
            "__up42keys_ps1; echo '|'",
            "UP42KEYS_PROFILE=prod __up42keys_ps1; echo '|'",
            f"cd {project_tree / 'elsewhere'}",
            "__up42keys_ps1; echo '|'",
            f"cd {project_tree / 'project'}",
            "__up42keys_ps1; echo '|'",
            "",
        ]
    )
    result = run_shell(shell_name, script)
    assert result.returncode == 0, result.stderr
    # dev was added without a token (hence "!"); prod is active with a fresh one.
    assert result.stdout.split("|\n")[:-1] == ["up42:dev!", "up42:prod", "up42:prod", "up42:dev!"]


@pytest.mark.shells
@pytest.mark.parametrize("shell_name", POSIX_SHELLS)
def test_prompt_with_a_pin_file_forks_nothing(profiles, project_tree, tmp_path, shell_name):
    strace = require("strace")
    start, end = tmp_path / "render-start", tmp_path / "render-end"
    start.touch()
    end.touch()
    script = (
        load(shell_name)
        + f"cd {project_tree / 'project' / 'src' / 'deep'}\n"
        + f": <{start}\n"
        + "__up42keys_ps1; echo '|'\n"
        + f"cd {project_tree / 'elsewhere'}\n"
        + "__up42keys_ps1; echo '|'\n"
        + f": <{end}\n"
    )
    trace = tmp_path / "trace"
    traced = (strace, "-f", "-qq", "-o", str(trace), "-e", "trace=process,openat,open")
    result = run_shell(shell_name, script, prefix=traced)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("|\n")[:-1] == ["up42:dev!", "up42:prod"]
    lines = trace.read_text().splitlines()
    opened = [index for index, line in enumerate(lines) if "render-" in line]
    assert len(opened) == 2, opened
    process_calls = re.compile(r"\b(fork|vfork|clone|clone3|execve)\(")
    assert [line for line in lines[opened[0] : opened[1]] if process_calls.search(line)] == []


# -- commands: pin, the order, current --explain/--json, list ----------------------------------


def token_subject(result) -> str:
    assert result.returncode == 0, result.stderr
    return claims(result.stdout)["sub"]


def test_pin_writes_one_line_and_every_command_below_follows_it(
    in_process, forked, profiles, project_tree, monkeypatch
):
    project = project_tree / "project"
    (project / paths.PIN_FILE).unlink()
    mode_before = stat.S_IMODE(project.stat().st_mode)
    monkeypatch.chdir(project)
    pinned = in_process("pin", "dev")
    assert pinned.returncode == 0, pinned.stderr
    assert (project / paths.PIN_FILE).read_text() == "dev\n"
    assert str(project / paths.PIN_FILE) in pinned.stderr
    # The user's directory keeps its mode: the file is theirs, not our private state.
    assert stat.S_IMODE(project.stat().st_mode) == mode_before
    monkeypatch.chdir(project / "src" / "deep")
    assert in_process("current").stdout == "dev\n"
    assert token_subject(in_process("token")) == profiles["dev"]
    exported = in_process("env")
    assert f"export UP42_PROJECT_ID='{profiles['dev']}'" in exported.stdout
    ran = forked("exec", "--", "sh", "-c", 'echo "$UP42KEYS_PROFILE $UP42_PROJECT_ID"')
    assert ran.stdout == f"dev {profiles['dev']}\n", ran.stderr
    assert "profile: dev" in in_process("inspect").stdout
    # The argument still wins, and the global active profile is untouched.
    assert token_subject(in_process("token", "prod")) == profiles["prod"]
    monkeypatch.chdir(project_tree / "elsewhere")
    assert in_process("current").stdout == "prod\n"


def test_the_order_and_current_explain_and_json(in_process, profiles, project_tree, monkeypatch):
    deep = project_tree / "project" / "src" / "deep"
    pin_path = str(project_tree / "project" / paths.PIN_FILE)
    monkeypatch.chdir(deep)

    def explained(**env: str) -> tuple[str, dict[str, str | None]]:
        text = in_process("current", "--explain", env=env)
        as_json = in_process("current", "--json", env=env)
        assert (text.returncode, as_json.returncode) == (0, 0), text.stderr + as_json.stderr
        return text.stdout, json.loads(as_json.stdout)

    assert explained() == (
        f"dev (from {pin_path})\n",
        {"profile": "dev", "source": "directory", "path": pin_path},
    )
    assert explained(UP42KEYS_PROFILE="prod") == (
        "prod (UP42KEYS_PROFILE)\n",
        {"profile": "prod", "source": "UP42KEYS_PROFILE", "path": None},
    )
    credentials = {"UP42_PROJECT_ID": profiles["prod"], "UP42_PROJECT_API_KEY": API_KEY}
    assert explained(**credentials) == (
        "(environment) (UP42_PROJECT_ID and UP42_PROJECT_API_KEY)\n",
        {"profile": "(environment)", "source": "environment", "path": None},
    )
    monkeypatch.chdir(project_tree / "elsewhere")
    assert explained() == (
        "prod (the active profile)\n",
        {"profile": "prod", "source": "active", "path": None},
    )


def test_the_nearest_file_wins(in_process, profiles, project_tree, monkeypatch):
    pin_in(project_tree / "project" / "src", "prod")
    monkeypatch.chdir(project_tree / "project" / "src" / "deep")
    assert in_process("current").stdout == "prod\n"
    monkeypatch.chdir(project_tree / "project")
    assert in_process("current").stdout == "dev\n"


def test_a_ci_job_in_a_pinned_repository_keeps_its_environment_credentials(
    in_process, server, profiles, project_tree, monkeypatch
):
    ci_project = str(uuid.uuid4())
    server.add_project(ci_project, API_KEY)
    monkeypatch.chdir(project_tree / "project")
    env = {
        "UP42_PROJECT_ID": ci_project,
        "UP42_PROJECT_API_KEY": API_KEY,
        "UP42_API_URL": server.url,
    }
    assert token_subject(in_process("token", env=env)) == ci_project
    assert in_process("current", env=env).stdout == "(environment)\n"


@pytest.mark.parametrize("command", [["current"], ["current", "--explain"], ["token"], ["env"]])
def test_a_file_naming_a_missing_profile_is_exit_3_naming_the_file(
    in_process, profiles, project_tree, monkeypatch, command
):
    pin_file = project_tree / "project" / paths.PIN_FILE
    pin_missing_profile(in_process, project_tree / "project", "deb")
    monkeypatch.chdir(project_tree / "project" / "src")
    result = in_process(*command)
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert f"{pin_file} names profile 'deb'" in result.stderr
    assert "did you mean 'dev'?" in result.stderr


def test_the_fix_for_a_missing_profile_in_a_file_works_as_printed(
    in_process, profiles, project_tree, monkeypatch
):
    pin_missing_profile(in_process, project_tree / "project", "ghost")
    monkeypatch.chdir(project_tree / "project" / "src")
    error = in_process("current").stderr
    fix = error.split("pin the one meant: ", 1)[1].split(" (or drop", 1)[0]
    assert fix.endswith("up42keys pin NAME")
    assert run_shell("sh", fix.replace("NAME", "prod")).returncode == 0
    assert (project_tree / "project" / paths.PIN_FILE).read_text() == "prod\n"
    assert in_process("current").stdout == "prod\n"


def test_profile_variable_naming_a_missing_profile_is_exit_3(in_process, profiles):
    """It used to print the name with exit 0, as if commands could use it."""
    result = in_process("current", env={"UP42KEYS_PROFILE": "prdo"})
    assert result.returncode == 3, result.stdout
    assert result.stdout == ""
    assert "UP42KEYS_PROFILE names profile 'prdo'" in result.stderr
    assert "did you mean 'prod'?" in result.stderr


def test_profile_variable_naming_a_missing_profile_is_exit_3_in_process(
    run, server, project_id, monkeypatch
):
    add_profile(run, server, "prod", project_id, check=True)
    monkeypatch.setenv("UP42KEYS_PROFILE", "ghost")
    result = run("current")
    assert (result.exit_code, result.stdout) == (3, "")
    assert "ghost" in result.stderr


def test_pin_refuses_a_missing_profile_and_writes_nothing(
    in_process, profiles, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    result = in_process("pin", "prdo")
    assert result.returncode == 3
    assert "did you mean 'prod'?" in result.stderr
    assert not (tmp_path / paths.PIN_FILE).exists()
    bad = in_process("pin", "../x")
    assert bad.returncode == 2
    assert not (tmp_path / paths.PIN_FILE).exists()
    assert in_process("pin").returncode == 2
    assert in_process("pin", "dev", "--off").returncode == 2


def test_pin_off_removes_this_directory_file_and_says_so(
    in_process, profiles, project_tree, monkeypatch
):
    project = project_tree / "project"
    monkeypatch.chdir(project / "src")
    missing = in_process("pin", "--off")
    assert missing.returncode == 0
    assert "nothing was removed" in missing.stderr
    # The file above still applies, and is left alone; the message says so.
    assert f"{project / paths.PIN_FILE} still applies here (profile 'dev')" in missing.stderr
    assert (project / paths.PIN_FILE).exists()
    monkeypatch.chdir(project)
    removed = in_process("pin", "--off")
    assert removed.returncode == 0
    assert f"Removed {project / paths.PIN_FILE} (it chose profile 'dev')" in removed.stderr
    assert not (project / paths.PIN_FILE).exists()
    assert in_process("current").stdout == "prod\n"
    # An empty file names nothing (the active profile applies); removing it says so.
    (project / paths.PIN_FILE).write_text("")
    assert in_process("current", "--explain").stdout == "prod (the active profile)\n"
    assert "(it named no profile)" in in_process("pin", "--off").stderr


def test_pin_notes_a_variable_that_wins_over_it(in_process, profiles, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = in_process("pin", "dev", env={"UP42KEYS_PROFILE": "prod"})
    assert result.returncode == 0
    assert "UP42KEYS_PROFILE=prod wins over the directory's profile" in result.stderr


def test_list_marks_the_profile_used_here(in_process, profiles, project_tree, monkeypatch):
    monkeypatch.chdir(project_tree / "project")
    listed = in_process("list")
    assert listed.returncode == 0, listed.stderr
    marks = {line.split()[1]: line[0] for line in listed.stdout.splitlines()[1:]}
    assert marks == {"dev": ">", "prod": "*"}
    assert f"dev: used here (from {project_tree / 'project' / paths.PIN_FILE})" in listed.stderr
    rows = {row["name"]: row for row in json.loads(in_process("list", "--json").stdout)}
    assert (rows["dev"]["used_here"], rows["dev"]["active"]) == (True, False)
    assert (rows["prod"]["used_here"], rows["prod"]["active"]) == (False, True)
    # Where the active profile is the one used, '*' says it all: no '>' and no note.
    monkeypatch.chdir(project_tree / "elsewhere")
    plain = in_process("list")
    assert ">" not in plain.stdout
    assert plain.stderr == ""
    shell_choice = in_process("list", env={"UP42KEYS_PROFILE": "dev"})
    assert "dev: used here (UP42KEYS_PROFILE)" in shell_choice.stderr


def test_python_api_follows_the_directory_file(server, profiles, project_tree, monkeypatch):
    monkeypatch.chdir(project_tree / "project" / "src")
    script = (
        "import httpx, up42keys\n"
        "print(up42keys.get_token())\n"
        f"print(httpx.get({server.api_url!r}, auth=up42keys.Up42Auth()).status_code)\n"
    )
    result = run_python(script)
    assert result.returncode == 0, result.stderr
    token, status = result.stdout.split()
    assert claims(token)["sub"] == profiles["dev"]
    assert status == "200"
    bearer = server.api_requests[-1].headers["Authorization"].split()[1]
    assert claims(bearer)["sub"] == profiles["dev"]


@pytest.mark.shells
@pytest.mark.parametrize("shell_name", ALL_SHELLS)
def test_prompt_shows_a_protected_profile_a_directory_chose(
    in_process, profiles, project_tree, shell_name
):
    """A pin you trust can choose production; the prompt says so, and no command asks."""
    assert in_process("protect", "dev").returncode == 0
    script = load(shell_name) + f"cd {project_tree / 'project'}\n__up42keys_ps1\n"
    result = run_shell(shell_name, script)
    assert result.stdout == "up42:dev![protected]", result.stderr
