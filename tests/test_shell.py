"""shell-init, the prompt, per-shell switching, env and protect, in real bash, zsh and fish."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import API_KEY, installed_command, run_in_process
from tests.helpers import claims
from tests.shellkit import ALL_SHELLS, POSIX_SHELLS, add_prod_and_dev, load, require, run_shell
from tests.terminal import Terminal
from up42keys import paths
from up42keys.ops import shell

pytestmark = pytest.mark.shells


def subject(token: str) -> str:
    return str(claims(token.strip())["sub"])


@pytest.fixture
def profiles(server, project_id):
    return add_prod_and_dev(server, project_id, "--protected")


def write_record(name: str, expires_at: int) -> None:
    Path(paths.tokens_dir()).mkdir(parents=True, exist_ok=True)
    Path(paths.token_record(name)).write_text(f"{expires_at}\nproject x y\na.b.c\n")


# -- the prompt --------------------------------------------------------------------------


@pytest.mark.parametrize("shell_name", ALL_SHELLS)
def test_prompt_shows_profile_state_and_protection(profiles, shell_name):
    write_record("stale", int(time.time()) - 5)
    write_record("fresh", int(time.time()) + 300)
    script = load(shell_name) + "\n".join(
        [
            "__up42keys_ps1; echo '|'",  # prod: active, fresh token, protected
            "UP42KEYS_PROFILE=dev __up42keys_ps1; echo '|'",  # never minted
            "UP42KEYS_PROFILE=stale __up42keys_ps1; echo '|'",
            "UP42KEYS_PROFILE=fresh __up42keys_ps1 ' (%s)'; echo '|'",
            "UP42KEYS_PROFILE=../etc __up42keys_ps1; echo '|'",
            "UP42KEYS_PS1_FORMAT='<%s>' UP42KEYS_PROFILE=fresh __up42keys_ps1; echo '|'",
            "UP42KEYS_PS1_PROTECTED_FORMAT='PROD:%s' __up42keys_ps1; echo '|'",
            "UP42KEYS_PS1_EXPIRED='?' UP42KEYS_PROFILE=dev __up42keys_ps1; echo '|'",
            "UP42KEYS_CONFIG_DIR=/nonexistent __up42keys_ps1; echo '|'",
        ]
    )
    result = run_shell(shell_name, script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("|\n")[:-1] == [
        "up42:prod[protected]",
        "up42:dev!",
        "up42:stale!",
        " (fresh)",
        "",
        "<fresh>",
        "PROD:prod",
        "up42:dev?",
        "",
    ]


@pytest.mark.parametrize("shell_name", ALL_SHELLS)
def test_prompt_names_the_environment_credentials_that_commands_use(
    profiles, server, tmp_path, shell_name
):
    """UP42_PROJECT_ID with UP42_PROJECT_API_KEY comes before a pin file and the active profile
    in commands; the prompt said prod meanwhile. Now it names what ``current`` names."""
    pinned = run_in_process("pin", "dev", cwd=tmp_path, env={"PWD": str(tmp_path)})
    assert pinned.returncode == 0, pinned.stderr
    key = {"UP42_PROJECT_API_KEY": API_KEY, "UP42_API_URL": server.url}
    cases = [  # the variables, and what the prompt must then show
        ({"UP42_PROJECT_ID": profiles["prod"], **key}, "up42:(environment)"),
        ({"UP42_PROJECT_ID": profiles["prod"], "UP42_PROJECT_API_KEY": " "}, "up42:dev!"),
        ({"UP42_PROJECT_ID": " ", **key}, "up42:dev!"),
        ({"UP42_PROJECT_ID": profiles["prod"], **key, "UP42KEYS_PROFILE": "dev"}, "up42:dev!"),
    ]
    script = load(shell_name) + f"cd {shlex.quote(str(tmp_path))}\n"
    for variables, _ in cases:
        assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in variables.items())
        script += f"{assignments} __up42keys_ps1; echo '|'\n"
    result = run_shell(shell_name, script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("|\n")[:-1] == [shown for _, shown in cases]
    for variables, shown in cases:
        current = run_in_process("current", cwd=tmp_path, env=variables)
        assert current.returncode == 0, current.stderr
        assert "up42:" + current.stdout.strip() == shown.rstrip("!"), variables


@pytest.mark.parametrize("shell_name", ALL_SHELLS)
def test_prompt_follows_use_protect_and_remove(forked, profiles, shell_name):
    steps = [
        ("use dev", "up42:dev"),
        ("protect dev", "up42:dev[protected]"),
        ("protect dev --off --yes", "up42:dev"),
        ("remove dev", ""),
    ]
    script = load(shell_name)
    for command, _ in steps:
        script += f"up42keys {command} 2>/dev/null; __up42keys_ps1; echo '|'\n"
    result = run_shell(shell_name, script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("|\n")[:-1] == [shown for _, shown in steps]


@pytest.mark.parametrize("shell_name", POSIX_SHELLS)
def test_prompt_honours_directory_overrides_at_render_time(tmp_path, shell_name):
    config, cache = tmp_path / "elsewhere-config", tmp_path / "elsewhere-cache"
    (config / "protected").mkdir(parents=True)
    (cache / "tokens").mkdir(parents=True)
    (config / "active").write_text("moved\n")
    (cache / "tokens" / "moved").write_text(f"{int(time.time()) + 99}\nk\nt\n")
    script = (
        load(shell_name)
        + "__up42keys_ps1; echo '|'\n"
        + f"UP42KEYS_CONFIG_DIR={config} UP42KEYS_CACHE_DIR={cache} __up42keys_ps1; echo '|'\n"
    )
    result = run_shell(shell_name, script)
    assert result.stdout.split("|\n")[:-1] == ["", "up42:moved"], result.stderr


@pytest.mark.parametrize("shell_name", POSIX_SHELLS)
def test_prompt_forks_nothing(profiles, tmp_path, shell_name):
    """Render the prompt under strace, between two marker files, and count process calls."""
    strace = require("strace")
    start, end = tmp_path / "render-start", tmp_path / "render-end"
    start.touch()
    end.touch()
    write_record("stale", int(time.time()) - 5)
    script = (
        load(shell_name)
        + f": <{start}\n"
        + "__up42keys_ps1; echo '|'\n"
        + "UP42KEYS_PROFILE=dev __up42keys_ps1 ' (%s)'; echo '|'\n"
        + "UP42KEYS_PROFILE=stale __up42keys_ps1; echo '|'\n"
        + '__up42keys_ps1 -v rendered; echo "$rendered|"\n'
        + f": <{end}\n"
    )
    trace = tmp_path / "trace"
    traced = (strace, "-f", "-qq", "-o", str(trace), "-e", "trace=process,openat,open")
    result = run_shell(shell_name, script, prefix=traced)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("|\n")[:-1] == [
        "up42:prod[protected]",
        " (dev!)",
        "up42:stale!",
        "up42:prod[protected]",
    ]
    lines = trace.read_text().splitlines()
    opened = [index for index, line in enumerate(lines) if "render-" in line]
    assert len(opened) == 2, opened
    process_calls = re.compile(r"\b(fork|vfork|clone|clone3|execve)\(")
    # The init ran `up42keys shell-init` before the render: strace saw that fork and exec.
    assert any(process_calls.search(line) for line in lines[: opened[0]])
    during = [line for line in lines[opened[0] : opened[1]] if process_calls.search(line)]
    assert during == []


@pytest.mark.parametrize("shell_name", ALL_SHELLS)
def test_init_code_parses(shell_name):
    code = subprocess.run(
        [installed_command(), "shell-init", shell_name], capture_output=True, text=True, check=True
    ).stdout
    result = subprocess.run(
        [require(shell_name), "-n"], input=code, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert paths.default_config_dir() in code


# -- use --shell ---------------------------------------------------------------------------


@pytest.mark.parametrize("shell_name", ALL_SHELLS)
def test_use_shell_switches_this_shell_only(forked, profiles, shell_name):
    script = load(shell_name) + "\n".join(
        [
            "up42keys use --shell dev",
            "echo this=$UP42KEYS_PROFILE",
            "up42keys current",
            "up42keys token",
            "sh -c 'echo child=$UP42KEYS_PROFILE'",
            "up42keys use --shell nope; echo status=$?",
            "echo still=$UP42KEYS_PROFILE",
            "up42keys use --shell -",
            'echo "after=$UP42KEYS_PROFILE"',  # quoted: fish drops a word with an unset variable
            "up42keys current",
        ]
    )
    if shell_name == "fish":
        script = script.replace("$?", "$status")
    result = run_shell(shell_name, script)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["this=dev", "dev"]
    assert subject(lines[2]) == profiles["dev"]
    assert lines[3:] == ["child=dev", "status=3", "still=dev", "after=", "prod"]
    assert "Switched this shell to profile 'dev'." in result.stderr
    # Nothing global changed: other shells still use prod, and dev's token was minted.
    assert forked("current").stdout == "prod\n"
    assert Path(paths.active_file()).read_text() == "prod\n"
    assert subject(Path(paths.current_token_file()).read_text()) == profiles["prod"]


@pytest.mark.parametrize("shell_name", POSIX_SHELLS)
def test_plain_use_stays_global_and_other_commands_pass_through(forked, profiles, shell_name):
    script = load(shell_name) + "up42keys use dev && up42keys current && up42keys list --json\n"
    result = run_shell(shell_name, script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("dev\n")
    assert [row["name"] for row in json.loads(result.stdout[4:])] == ["dev", "prod"]
    assert forked("current").stdout == "dev\n"


def test_use_shell_without_the_function_says_how_to_load_it(forked, profiles):
    result = forked("use", "--shell", "dev")
    assert result.returncode == 2
    assert "shell-init" in result.stderr
    assert result.stdout == ""
    assert forked("current").stdout == "prod\n"


# -- protected profiles ----------------------------------------------------------------------


def run_on_terminal(args: list[str], answer: str) -> tuple[int, str]:
    """Run the installed command on a pseudo-terminal and type ``answer``."""
    terminal = Terminal(args)
    terminal.type(answer)
    code, stdout = terminal.finish(timeout=60)
    return code, terminal.shown + stdout


def test_use_of_protected_profile_asks_on_a_terminal(forked, profiles):
    assert forked("use", "dev").returncode == 0
    code, shown = run_on_terminal(["use", "prod"], "n\n")
    assert code == 1
    assert "Profile 'prod' is protected. Use it?" in shown
    assert forked("current").stdout == "dev\n"
    code, shown = run_on_terminal(["use", "prod"], "y\n")
    assert code == 0, shown
    assert forked("current").stdout == "prod\n"
    assert forked("use", "dev").returncode == 0
    code, shown = run_on_terminal(["use", "prod", "--yes"], "")
    assert code == 0, shown
    assert "protected" not in shown
    assert forked("current").stdout == "prod\n"


def test_use_of_protected_profile_without_terminal_proceeds_with_a_note(forked, profiles):
    assert forked("use", "dev").returncode == 0
    result = forked("use", "prod")
    assert result.returncode == 0
    assert "Note: profile 'prod' is protected." in result.stderr
    assert forked("current").stdout == "prod\n"


def test_protect_sets_and_clears_the_mark(forked, profiles):
    assert Path(paths.protected_marker("prod")).exists()
    assert forked("protect", "dev").returncode == 0
    rows = {row["name"]: row["protected"] for row in json.loads(forked("list", "--json").stdout)}
    assert rows == {"dev": True, "prod": True}
    assert forked("protect", "prod", "--off", "--yes").returncode == 0
    assert not Path(paths.protected_marker("prod")).exists()
    assert Path(paths.protected_marker("dev")).exists()
    assert forked("protect", "nope").returncode == 3


# -- env -----------------------------------------------------------------------------------

HOSTILE = [
    "it's",
    "'; touch pwned; '",
    "$(touch pwned)",
    "`touch pwned`",
    '"; touch pwned; "',
    "back\\slash\\'",
    "line\nbreak",
    "$HOME ${PATH} %s * ? [a] ~ ! # &&",
    "\\'\\\\'",
    "tab\tand unicode \u00e9\u2603",
    "-n",
]


@pytest.mark.parametrize("shell_name", [*ALL_SHELLS, "sh"])
def test_env_lines_survive_hostile_values(tmp_path, shell_name):
    variables = {f"UP42_T{index}": value for index, value in enumerate(HOSTILE)}
    code = shell.env_lines(variables, "fish" if shell_name == "fish" else None)
    dump = f"{sys.executable} -c 'import json, os; print(json.dumps(dict(os.environ)))'"
    source = "source" if shell_name == "fish" else "."
    script_file = tmp_path / "env.txt"
    script_file.write_text(code)
    result = run_shell(shell_name, f"{source} {script_file}\n{dump}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert {name: seen.get(name) for name in variables} == variables
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("shell_name", ALL_SHELLS)
def test_env_hands_the_token_to_a_shell(profiles, shell_name):
    if shell_name == "fish":
        load_env = "up42keys env dev --shell fish | source\n"
    else:
        load_env = 'eval "$(up42keys env dev)"\n'
    script = load_env + "echo $UP42KEYS_PROFILE $UP42_PROJECT_ID\necho $UP42_TOKEN\n"
    result = run_shell(shell_name, script)
    assert result.returncode == 0, result.stderr
    first, token = result.stdout.splitlines()
    assert first == f"dev {profiles['dev']}"
    assert subject(token) == profiles["dev"]


def test_env_prints_posix_by_default_and_fish_on_request(forked, profiles):
    posix = forked("env").stdout.splitlines()
    assert [line.split("=")[0] for line in posix] == [
        "export UP42_TOKEN",
        "export UP42_PROJECT_ID",
        "export UP42KEYS_PROFILE",
        "export UP42_TOKEN_EXPIRES_AT",
    ]
    assert posix[2] == "export UP42KEYS_PROFILE='prod'"
    token = posix[0].split("=", 1)[1].strip("'")
    assert posix[3] == f"export UP42_TOKEN_EXPIRES_AT='{claims(token)['exp']}'"
    fish = forked("env", "--shell", "fish").stdout.splitlines()
    assert fish[1] == f"set -gx UP42_PROJECT_ID '{profiles['prod']}'"


def test_env_for_environment_credentials_pins_no_profile(forked, project_id, server):
    result = forked(
        "env",
        env={
            "UP42_PROJECT_ID": project_id,
            "UP42_PROJECT_API_KEY": API_KEY,
            "UP42_API_URL": server.url,
        },
    )
    assert result.returncode == 0, result.stderr
    names = [line.split("=")[0] for line in result.stdout.splitlines()]
    assert names == ["export UP42_TOKEN", "export UP42_PROJECT_ID", "export UP42_TOKEN_EXPIRES_AT"]
