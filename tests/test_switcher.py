"""The switcher's interactive side, as people coming from kubectx or gh use it.

Each test drives the command as a process: installed, on a real pseudo-terminal
(tests/terminal.py) for prompts and the picker, or in real fish for completion
descriptions; in a fork-server child (``forked``) where no terminal is involved.
"""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import API_KEY, REPOSITORY
from tests.shellkit import add_prod_and_dev, require, run_shell
from tests.terminal import CTRL_C, ENDED_BY_CTRL_C, ENTER, Terminal
from up42keys import cli

# A PATH on which no fzf can be found: the picker falls back to its numbered menu.
NO_FZF = {"PATH": "/nonexistent"}


@pytest.fixture
def profiles(server, project_id):
    return add_prod_and_dev(server, project_id)


def test_plain_up42keys_prints_its_help_with_exit_0(forked, run):
    result = forked()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: up42keys [OPTIONS]")
    assert "Commands:" in result.stdout
    assert result.stderr == ""
    assert run().exit_code == 0


@pytest.mark.shells
def test_fish_shows_each_command_description_whole():
    """Click's fish script cut every description at its first comma."""
    script = f"source {REPOSITORY}/completions/up42keys.fish\ncomplete -C 'up42keys '\n"
    result = run_shell("fish", script)
    assert result.returncode == 0, result.stderr
    shown = dict(line.split("\t", 1) for line in result.stdout.splitlines())
    expected = {name: command.get_short_help_str() for name, command in cli.cli.commands.items()}
    assert shown == expected
    assert any("," in description for description in shown.values())


def test_key_prompt_says_api_key(forked, server, project_id):
    terminal = Terminal(["add", "typed", "--project-id", project_id, "--api-url", server.url])
    terminal.expect("API key: ")
    terminal.type(API_KEY + ENTER)
    code, _ = terminal.finish()
    assert code == 0, terminal.shown
    assert "Api key" not in terminal.shown
    assert forked("token", "typed").returncode == 0


def test_ctrl_c_at_the_key_prompt_ends_by_sigint_and_stores_nothing(forked, server, project_id):
    terminal = Terminal(["add", "typed", "--project-id", project_id, "--api-url", server.url])
    terminal.expect("API key: ")
    terminal.type(CTRL_C)
    code, _ = terminal.finish()
    assert code == ENDED_BY_CTRL_C, terminal.shown
    assert "Traceback" not in terminal.shown
    assert forked("list", "--json").stdout.strip() == "[]"


def test_use_without_name_picks_in_fzf_sorted_by_name(forked, profiles):
    require("fzf")
    terminal = Terminal(["use"])
    terminal.expect("up42keys use>")
    terminal.expect("prod")
    # Name order, not the order of use: dev is listed first although prod is active.
    assert terminal.shown.index("dev") < terminal.shown.rindex("prod")
    terminal.type("dev")
    terminal.type(ENTER)
    code, _ = terminal.finish()
    assert code == 0, terminal.shown
    assert forked("current").stdout == "dev\n"


def test_ctrl_c_in_fzf_changes_nothing(forked, profiles):
    require("fzf")
    terminal = Terminal(["use"])
    terminal.expect("up42keys use>")
    terminal.type(CTRL_C)
    code, _ = terminal.finish()
    assert code == 130, terminal.shown
    assert forked("current").stdout == "prod\n"


def test_menu_without_fzf_picks_by_number_and_asks_for_protected(forked, profiles):
    assert forked("use", "dev").returncode == 0
    assert forked("protect", "prod").returncode == 0
    terminal = Terminal(["use"], env=NO_FZF)
    terminal.expect("Use profile (number or name, Enter for none):")
    assert "*  1) dev" in terminal.shown
    assert "   2) prod" in terminal.shown
    terminal.type("7" + ENTER)
    terminal.expect("No profile '7' in the list")
    terminal.type("2" + ENTER)
    terminal.expect("Profile 'prod' is protected. Use it?")
    terminal.type("y" + ENTER)
    code, _ = terminal.finish()
    assert code == 0, terminal.shown
    assert forked("current").stdout == "prod\n"


@pytest.mark.parametrize(("answer", "code"), [(ENTER, 1), (CTRL_C, ENDED_BY_CTRL_C)])
def test_menu_empty_answer_or_ctrl_c_changes_nothing(forked, profiles, answer, code):
    terminal = Terminal(["use"], env=NO_FZF)
    terminal.expect("Enter for none):")
    terminal.type(answer)
    exit_code, _ = terminal.finish()
    assert exit_code == code, terminal.shown
    assert "Traceback" not in terminal.shown
    assert forked("current").stdout == "prod\n"


def test_use_without_name_and_without_terminal_is_exit_2(forked, profiles):
    result = forked("use")
    assert result.returncode == 2
    assert "up42keys use NAME" in result.stderr
    assert forked("current").stdout == "prod\n"


@pytest.mark.parametrize("command", [["token"], ["use"], ["remove"], ["inspect"]])
def test_mistyped_name_suggests_the_closest(forked, profiles, command):
    result = forked(*command, "prdo")
    assert result.returncode == 3
    assert "no profile named 'prdo'; did you mean 'prod'?" in result.stderr


def test_unlike_name_points_to_list(forked, profiles):
    result = forked("token", "zzzzzz")
    assert result.returncode == 3
    assert "see 'up42keys list'" in result.stderr
    assert str(uuid.UUID(int=0)) not in result.stderr


def manual_block(after: str, language: str) -> str:
    """The first ``language`` code block of the manual's shell page after the line ``after``."""
    text = (REPOSITORY / "docs" / "shell.md").read_text()
    start = text.index(f"```{language}\n", text.index(after)) + len(language) + 4
    return text[start : text.index("```", start)]


@pytest.mark.shells
def test_the_manuals_bash_prompts_keep_their_parentheses_on_a_protected_profile(profiles):
    """Both of the manual's bash prompts, rendered by bash (``${PS1@P}``), as prod and as dev."""
    lines = manual_block("bash, in `~/.bashrc`:", "bash").splitlines()
    setup, with_subshell, without_subshell = lines[0], lines[1], "\n".join(lines[3:5])
    script = f"{setup}\ncd /\n"
    for variant in (with_subshell, without_subshell):
        for name, protect in (("prod", "protect prod"), ("dev", "protect prod --off")):
            script += (
                f"up42keys {protect} 2>/dev/null; up42keys use --yes {name} 2>/dev/null\n"
                f"{variant}\n"
                'eval "${PROMPT_COMMAND:-:}"\n'
                'printf "%s\\n" "${PS1@P}"\n'
            )
        script += "unset PROMPT_COMMAND\n"
    result = run_shell("bash", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "(prod[protected]) /# ",
        "(dev) /# ",
        "(up42:prod[protected]) /# ",
        "(up42:dev) /# ",
    ]


def test_remove_of_a_protected_profile_asks_on_a_terminal(forked, profiles):
    assert forked("protect", "prod").returncode == 0
    terminal = Terminal(["remove", "prod"])
    terminal.expect("Profile 'prod' is protected. Remove it? [y/N]:")
    terminal.type("n" + ENTER)
    code, _ = terminal.finish()
    assert code == 1, terminal.shown
    assert "prod" in forked("list").stdout
    terminal = Terminal(["remove", "prod"])
    terminal.expect("Remove it?")
    terminal.type("y" + ENTER)
    code, _ = terminal.finish()
    assert code == 0, terminal.shown
    assert "prod" not in forked("list").stdout


def test_remove_of_a_protected_profile_without_terminal_needs_yes(forked, profiles):
    assert forked("protect", "prod").returncode == 0
    refused = forked("remove", "prod")
    assert refused.returncode == 2
    assert "prod" in forked("list").stdout
    fix = refused.stderr.split("run '", 1)[1].split("'", 1)[0]
    assert fix == "up42keys remove prod --yes"
    assert forked(*fix.split()[1:]).returncode == 0
    assert "prod" not in forked("list").stdout
    assert forked("remove", "dev").returncode == 0  # not protected: no question
