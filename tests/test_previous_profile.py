"""``use -``: back to the profile that was active before, globally; ``rename`` and ``remove``
keep the record right, and the shell functions pass ``use -`` through to the command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shellkit import ALL_SHELLS, add_prod_and_dev, load, run_shell
from tests.terminal import ENTER, Terminal
from up42keys import paths


@pytest.fixture
def profiles(server, project_id):
    """prod (active) and dev, added by the installed command; ``use`` has not run yet."""
    return add_prod_and_dev(server, project_id)


def current(in_process) -> str:
    result = in_process("current")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_use_dash_without_a_previous_profile_is_exit_3_with_a_fix(in_process, profiles):
    result = in_process("use", "-")
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("up42keys: error: no previous profile to switch back to; ")
    assert "up42keys use NAME" in result.stderr
    assert "Traceback" not in result.stderr
    assert current(in_process) == "prod"


def test_two_use_dash_in_a_row_toggle(in_process, profiles):
    assert in_process("use", "dev").returncode == 0
    assert Path(paths.previous_file()).read_text() == "prod\n"
    back = in_process("use", "-")
    assert back.returncode == 0, back.stderr
    assert back.stderr == "Switched to profile 'prod'.\n"
    assert current(in_process) == "prod"
    assert Path(paths.previous_file()).read_text() == "dev\n"
    assert in_process("use", "-").returncode == 0
    assert current(in_process) == "dev"
    # use -, like use NAME, leaves a fresh token in current-token.
    assert (
        Path(paths.current_token_file()).read_text().strip() == in_process("token").stdout.strip()
    )


def test_using_the_active_profile_again_keeps_the_previous_one(in_process, profiles):
    assert in_process("use", "dev").returncode == 0
    assert in_process("use", "dev").returncode == 0
    assert in_process("use", "-").returncode == 0
    assert current(in_process) == "prod"


def test_rename_carries_the_previous_profile_along(in_process, profiles):
    assert in_process("use", "dev").returncode == 0
    assert in_process("rename", "prod", "production").returncode == 0
    assert in_process("use", "-").returncode == 0
    assert current(in_process) == "production"
    # And the other way round: the active one renamed is what 'use -' comes back to.
    assert in_process("rename", "production", "live").returncode == 0
    assert in_process("use", "-").returncode == 0
    assert current(in_process) == "dev"
    assert in_process("use", "-").returncode == 0
    assert current(in_process) == "live"


def test_remove_clears_the_previous_profile(in_process, profiles):
    assert in_process("use", "dev").returncode == 0
    assert in_process("remove", "prod").returncode == 0
    assert not Path(paths.previous_file()).exists()
    result = in_process("use", "-")
    assert result.returncode == 3
    assert "no previous profile" in result.stderr
    assert current(in_process) == "dev"


def test_use_dash_asks_before_a_protected_previous_profile(in_process, profiles):
    assert in_process("protect", "prod").returncode == 0
    assert in_process("use", "dev").returncode == 0
    terminal = Terminal(["use", "-"])
    terminal.expect("Profile 'prod' is protected. Use it?")
    terminal.type("n" + ENTER)
    code, _ = terminal.finish()
    assert code == 1, terminal.shown
    assert current(in_process) == "dev"


def test_use_shell_dash_without_the_shell_function_says_how_to_load_it(in_process, profiles):
    result = in_process("use", "--shell", "-")
    assert result.returncode == 2
    assert "shell-init" in result.stderr


@pytest.mark.shells
@pytest.mark.parametrize("shell_name", ALL_SHELLS)
def test_shell_functions_pass_use_dash_through_and_keep_use_shell_dash(
    in_process, profiles, shell_name
):
    """Through the function: 'use -' switches globally, 'use --shell -' drops the shell's choice."""
    assert in_process("use", "dev").returncode == 0
    show_global = (
        "echo global=(up42keys current)"
        if shell_name == "fish"
        else 'echo "global=$(up42keys current)"'
    )
    script = load(shell_name) + "\n".join(
        [
            "up42keys use -",
            show_global,
            "up42keys use --shell dev",
            'echo "shell=$UP42KEYS_PROFILE"',
            "up42keys use --shell -",
            'echo "dropped=$UP42KEYS_PROFILE"',
            "up42keys use -",
            show_global,
            "",
        ]
    )
    result = run_shell(shell_name, script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["global=prod", "shell=dev", "dropped=", "global=dev"]
    assert "Switched to profile 'prod'." in result.stderr
    assert (
        "no longer picks its own profile; here it uses prod (the active profile)" in result.stderr
    )
    assert current(in_process) == "dev"


@pytest.mark.shells
@pytest.mark.parametrize("shell_name", ALL_SHELLS)
def test_use_shell_dash_in_a_pinned_directory_names_the_pin(
    in_process, profiles, shell_name, tmp_path
):
    """Dropping the shell's choice where a directory pins dev: the pin applies, and it says so."""
    pinned = in_process("pin", "dev", cwd=tmp_path)
    assert pinned.returncode == 0, pinned.stderr
    script = load(shell_name) + "up42keys use --shell prod\nup42keys use --shell -\n"
    result = run_shell(shell_name, script, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "follows the active profile" not in result.stderr
    assert f"here it uses dev (from {tmp_path / '.up42keys-profile'})" in result.stderr
