"""The first hour of a new user (issue 20): each papercut found, held by a test.

In-process through the real error boundary (``run``), and on a real pseudo-terminal
where what counts is what a terminal shows (colour, progress).
"""

from __future__ import annotations

import ast
import json
import re
import uuid

import pytest

from tests.conftest import API_KEY, PROXY_VARIABLES, run_in_process
from tests.fakeup42 import Fault, closed_port_url
from tests.helpers import add_profile
from tests.terminal import Terminal
from up42keys import settings

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def prod(run, server, project_id) -> str:
    add_profile(run, server, "prod", project_id, "--protected", check=True)
    return "prod"


def add_unreachable(run, name: str = "down") -> None:
    outcome = run(
        *("add", name, "--project-id", str(uuid.uuid4()), "--api-url", closed_port_url()),
        *("--api-key-stdin", "--no-verify"),
        input=API_KEY + "\n",
    )
    assert outcome.exit_code == 0, outcome.stderr


def test_use_of_an_unreachable_profile_says_nothing_was_switched(run, prod, monkeypatch):
    monkeypatch.setenv(settings.RETRY_DELAY_ENV, "0")
    add_unreachable(run)
    outcome = run("use", "down")
    assert outcome.exit_code == 5
    assert "nothing was switched" in outcome.stderr
    assert "'up42keys use down --no-verify'" in outcome.stderr
    assert run("current").stdout == "prod\n"


def test_use_no_verify_switches_without_a_token(run, server, prod):
    add_unreachable(run)
    mints = server.mints
    outcome = run("use", "down", "--no-verify")
    assert outcome.exit_code == 0, outcome.stderr
    assert "Switched to profile 'down' (no token asked for)." in outcome.stderr
    assert run("current").stdout == "down\n"
    assert server.mints == mints


def test_use_of_the_active_profile_and_protect_of_a_protected_one_claim_no_change(run, prod):
    used = run("use", "prod", "--yes")
    assert used.exit_code == 0, used.stderr
    assert "already the active profile; nothing changed" in used.stderr
    assert "Switched" not in used.stderr
    again = run("protect", "prod")
    assert "is protected already; nothing changed" in again.stderr
    off = run("protect", "prod", "--off", "--yes")  # the change policy: consent, or --yes
    assert off.stderr == "Profile 'prod' is no longer protected.\n"
    twice = run("protect", "prod", "--off")
    assert twice.exit_code == 0
    assert twice.stderr == "Profile 'prod' is not protected already; nothing changed.\n"


def test_list_shows_protection(run, server, prod):
    add_profile(run, server, "dev", str(uuid.uuid4()), "--no-verify", check=True)
    lines = run("list").stdout.splitlines()
    assert lines[0].split()[-1] == "PROTECTED"
    assert next(line for line in lines if " prod " in line).endswith("yes")
    assert not next(line for line in lines if " dev " in line).endswith("yes")


def test_status_shows_what_applies_here_and_why_and_every_profile(
    run, server, prod, tmp_path, monkeypatch
):
    add_profile(run, server, "dev", str(uuid.uuid4()), "--no-verify", check=True)
    shown = run("status")
    assert shown.exit_code == 0, shown.stderr
    here, _, *lines = shown.stdout.splitlines()
    assert here == "Here: prod (the active profile)"
    assert next(line for line in lines if " prod " in line).startswith("*")
    assert next(line for line in lines if " prod " in line).endswith("yes")
    monkeypatch.chdir(tmp_path)
    assert run("pin", "dev").exit_code == 0
    data = json.loads(run("status", "--json").stdout)
    assert data["here"] == {
        "profile": "dev",
        "source": "directory",
        "path": str(tmp_path / ".up42keys-profile"),
    }
    by_name = {row["name"]: row for row in data["profiles"]}
    assert by_name["prod"]["protected"] is True
    assert by_name["dev"]["used_here"] is True
    assert by_name["prod"]["active"] is True
    assert by_name["prod"]["token_expires_at"] is not None


def test_status_without_any_profile_is_exit_3_and_says_why(run):
    shown = run("status")
    assert shown.exit_code == 3
    assert shown.stdout.startswith("Here: no profile applies (")


@pytest.mark.parametrize(
    ("arguments", "environment", "coloured"),
    [
        (["list"], {}, False),
        (["--color", "always", "list"], {}, True),
        (["--color", "always", "list"], {"NO_COLOR": "1"}, True),
        (["--color", "never", "list"], {}, False),
    ],
)
def test_colour_only_when_asked_or_on_a_terminal(
    run, prod, monkeypatch, arguments, environment, coloured
):
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    outcome = run(*arguments)
    assert bool(ANSI.search(outcome.stdout)) is coloured
    assert ANSI.sub("", outcome.stdout) == run("list").stdout


@pytest.mark.parametrize(("no_color", "coloured"), [("", True), ("1", False)])
def test_errors_are_red_on_a_terminal_unless_no_color(no_color, coloured):
    terminal = Terminal(["use", "ghost"], env={"NO_COLOR": no_color})
    code, _ = terminal.finish()
    assert code == 3
    assert "ghost" in terminal.shown
    assert bool(ANSI.search(terminal.shown)) is coloured


def test_a_slow_answer_shows_progress_on_a_terminal_only(server, project_id, up42keys):
    add_profile(run_in_process, server, "prod", project_id, "--no-verify", check=True)
    server.inject(Fault(hang=1.6))
    terminal = Terminal(["token"])
    terminal.expect("(attempt 1 of 3)...")
    code, stdout = terminal.finish()
    assert code == 0, terminal.shown
    assert "waiting for" in terminal.shown
    assert stdout.count(".") == 2  # a JWT
    server.inject(Fault(hang=1.6))
    piped = up42keys("token", "--refresh")
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == ""


def test_retries_say_attempt_n_of_m_and_a_slow_body_is_no_no_answer(server, project_id, up42keys):
    add_profile(run_in_process, server, "prod", project_id, "--no-verify", check=True)
    server.inject(*[Fault(trickle=0.4)] * 3)
    terminal = Terminal(["token"], env={"UP42KEYS_TIMEOUT": "1", "UP42KEYS_RETRY_DELAY": "0"})
    code, _ = terminal.finish(timeout=60)
    assert code == 5, terminal.shown
    assert "(attempt 2 of 3)" in terminal.shown
    assert "(attempt 3 of 3)" in terminal.shown
    assert "began to answer (HTTP 200) but had not finished within 1 s" in terminal.shown
    assert "no answer" not in terminal.shown


def test_connection_failure_names_the_proxy_not_the_timeout(run, prod, monkeypatch):
    monkeypatch.setenv(settings.RETRY_DELAY_ENV, "0")
    for variable in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(variable)
    outcome = run("token", "--refresh")
    assert outcome.exit_code == 5
    assert "check the proxy that http_proxy names (or unset http_proxy)" in outcome.stderr
    assert settings.TIMEOUT_ENV not in outcome.stderr


def test_connection_refused_without_a_proxy_does_not_ask_for_more_time(run, monkeypatch):
    monkeypatch.setenv(settings.RETRY_DELAY_ENV, "0")
    for variable in PROXY_VARIABLES:
        monkeypatch.delenv(variable)
        monkeypatch.delenv(variable.lower())
    add_unreachable(run)
    outcome = run("token", "down")
    assert outcome.exit_code == 5
    assert "that this machine reaches it" in outcome.stderr
    assert settings.TIMEOUT_ENV not in outcome.stderr


def test_every_command_has_a_whole_summary_and_examples(run):
    from up42keys.cli import cli
    from up42keys.cli.examples import SUMMARY_LIMIT

    for name, command in cli.commands.items():
        summary = command.get_short_help_str(SUMMARY_LIMIT)
        assert not summary.endswith("..."), name
        shown = run(name, "--help").stdout
        assert re.search(r"Examples:\n\s+(eval \"\$\()?up42keys ", shown), name
    listing = run("--help").stdout
    assert "..." not in listing.split("Commands:")[1]
    for name in cli.commands:
        assert re.search(rf"^  {re.escape(name)}\s+\S", listing, re.MULTILINE), name


def strings_but_docstrings(tree: ast.AST) -> list[str]:
    """Every string constant of a module but its docstrings (which pip's users never see)."""
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            docstrings.add(id(body[0].value))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_message_sends_the_user_to_readme():
    from tests.conftest import REPOSITORY

    found = [
        f"{path.name}: {text[:60]}"
        for path in sorted((REPOSITORY / "up42keys").rglob("*.py"))
        for text in strings_but_docstrings(ast.parse(path.read_text()))
        if "README" in text
    ]
    assert found == []


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize(
    ("words", "index"), [("import con", 2), ("add me --account --from-sdk-config con", 5)]
)
def test_import_and_from_sdk_config_complete_file_names(up42keys, shell, words, index):
    """Click answers "file": the completion scripts then let the shell complete file names."""
    answer = up42keys(
        env={
            "_UP42KEYS_COMPLETE": f"{shell}_complete",
            "COMP_WORDS": f"up42keys {words}",
            # fish passes the word being completed, bash and zsh its index.
            "COMP_CWORD": "con" if shell == "fish" else str(index),
        }
    )
    assert answer.returncode == 0, answer.stderr
    kind = answer.stdout.replace(",", "\n").split("\n")[0]
    assert kind == "file", answer.stdout


def test_add_from_sdk_config_without_account_says_it_needs_account(run, tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"username": "jane@example.com", "password": "pw"}')
    outcome = run("add", "me", "--from-sdk-config", str(config))
    assert outcome.exit_code == 2
    assert "--from-sdk-config gives an account's username and password" in outcome.stderr
    assert "up42keys add me --account --from-sdk-config FILE" in outcome.stderr


def test_renaming_a_pinned_profile_offers_pin_new(run, server, prod, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("pin", "prod").exit_code == 0
    renamed = run("rename", "prod", "production", "--yes")  # prod is protected: the policy
    assert renamed.exit_code == 0, renamed.stderr
    assert "up42keys pin production" in renamed.stderr
    failing = run("token")
    assert failing.exit_code == 3
    assert "up42keys pin NAME" in failing.stderr
    assert failing.stderr.index("pin NAME") < failing.stderr.index("pin --off")


def test_removing_the_active_profile_says_none_is_active(run, server, prod):
    add_profile(run, server, "dev", str(uuid.uuid4()), "--no-verify", check=True)
    removed = run("remove", "dev")
    assert removed.stderr == "Removed profile 'dev'.\n"
    removed = run("remove", "prod", "--yes")
    assert "no profile is active now" in removed.stderr


def test_min_ttl_above_the_token_lifetime_warns(run, server, prod):
    quiet = run("token", "--min-ttl", "60")
    assert quiet.exit_code == 0
    assert "warning" not in quiet.stderr
    loud = run("token", "--min-ttl", "600")
    assert loud.exit_code == 0
    assert "less than the 600 s asked for" in loud.stderr
    assert "every call mints anew" in loud.stderr


def test_an_empty_secret_at_the_prompt_says_why_it_asks_again(server, project_id):
    terminal = Terminal(["add", "prod", "--project-id", project_id, "--api-url", server.url])
    terminal.expect_prompt()
    terminal.type("\r")
    terminal.expect("was empty; paste it")
    terminal.expect_prompt()
    terminal.type(API_KEY + "\r")
    code, _ = terminal.finish()
    assert code == 0, terminal.shown


FZF_COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|38;5;[0-9]+|9[0-7])(?:;[0-9;]*)?m")


@pytest.mark.parametrize(("no_color", "coloured"), [("", True), ("1", False)])
def test_fzf_starts_on_the_active_profile_shows_more_than_names_and_obeys_no_color(
    up42keys, server, project_id, no_color, coloured
):
    from tests.shellkit import require

    require("fzf")
    add_profile(run_in_process, server, "prod", project_id, "--protected", check=True)
    add_profile(run_in_process, server, "dev", str(uuid.uuid4()), "--no-verify", check=True)
    terminal = Terminal(["use", "--yes"], env={"NO_COLOR": no_color})
    terminal.expect("up42keys use>")
    terminal.expect("protected")
    assert project_id in terminal.shown
    terminal.type("\r")  # Enter at once: the line fzf starts on
    code, _ = terminal.finish()
    assert code == 0, terminal.shown
    assert up42keys("current").stdout == "prod\n"  # not dev, the first line
    assert bool(FZF_COLOUR.search(terminal.shown)) is coloured
