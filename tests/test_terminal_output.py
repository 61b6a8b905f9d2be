"""Text from outside reaches the terminal only through the one writer, cleaned (issue 18).

A server's message and a directory's path carry a clear-screen, a window title, an OSC 52
clipboard write, a DCS string, their 8-bit (C1) forms and a bidirectional override. The
installed command is run as a user runs it (stdout and stderr pipes), with colour off and
forced on: in every output there is no ESC, BEL or C1 byte but our own colour. JSON keeps
the exact value (json.dumps escapes it), and the AST holds the one-writer rule.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import API_KEY, REPOSITORY, run_forked
from tests.fakeup42 import Fault
from up42keys.cli.terminal import clean

CLEAR_SCREEN = "\x1b[2J\x1b[H"
WINDOW_TITLE = "\x1b]0;owned\x07"
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4K\x1b\\"
DCS = "\x1bP1$r0m\x1b\\"
C1_FORMS = "\x9b2J\x9d0;owned\x9c"
RESET = "\x1bc"
BIDI = "\u202eevil\u202c\u2066x\u2069"
HOSTILE = f"a{CLEAR_SCREEN}b{WINDOW_TITLE}c{CLIPBOARD}d{DCS}e{C1_FORMS}f{RESET}g{BIDI}\rh\x08i"
# What is left of our own colour once it is taken out; nothing else may remain.
OUR_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
COLOUR_MODES = (["--color", "never"], ["--color", "always"])


def stray_controls(text: str) -> list[str]:
    return FORBIDDEN.findall(OUR_COLOUR.sub("", text))


def test_clean_removes_whole_sequences_and_keeps_text():
    assert clean(HOSTILE) == "abcdefgevilxhi"
    assert clean("line one\n\tline two — ünïcode ✓") == "line one\n\tline two — ünïcode ✓"
    assert clean("unended \x1b]0;title and the rest") == "unended "
    assert stray_controls(clean(HOSTILE)) == []


def run_in(
    directory: Path, *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_forked(*args, input=input, env={"UP42KEYS_RETRY_DELAY": "0"}, cwd=directory)


@pytest.fixture
def prod(server, project_id, tmp_path) -> str:
    added = run_in(
        tmp_path,
        *("add", "prod", "--project-id", project_id, "--api-url", server.url),
        *("--api-key-stdin", "--no-verify"),
        input=API_KEY + "\n",
    )
    assert added.returncode == 0, added.stderr
    return "prod"


@pytest.mark.parametrize(
    ("faults", "exit_code"),
    [
        ([Fault(401, json_body={"error": {"code": 401, "message": HOSTILE}})], 4),
        ([Fault(400, json_body={"error": "invalid_grant", "error_description": HOSTILE})], 4),
        ([Fault(503, json_body={"error": {"code": 503, "message": HOSTILE}})] * 3, 5),
    ],
    ids=["401", "400", "503"],
)
@pytest.mark.parametrize("colour", COLOUR_MODES, ids=["never", "always"])
def test_a_servers_message_reaches_no_terminal_raw(
    server, prod, tmp_path, faults, exit_code, colour
):
    server.inject(*faults)
    result = run_in(tmp_path, *colour, "token")
    assert result.returncode == exit_code, result.stderr
    # The text itself is kept (the error's whitespace, \r too, made one space).
    assert "abcdefgevilx hi" in OUR_COLOUR.sub("", result.stderr)
    assert stray_controls(result.stderr) == []
    assert stray_controls(result.stdout) == []


@pytest.fixture
def hostile_directory(tmp_path) -> Path:
    # A path holds any byte but '/' and NUL: a cloned repository can name a directory so.
    directory = tmp_path / f"x{CLEAR_SCREEN}{WINDOW_TITLE}{CLIPBOARD}{BIDI}y"
    directory.mkdir()
    return directory


@pytest.mark.parametrize("colour", COLOUR_MODES, ids=["never", "always"])
def test_a_directorys_path_reaches_no_terminal_raw(server, prod, hostile_directory, colour):
    outputs = []
    pinned = run_in(hostile_directory, *colour, "pin", "prod")
    assert pinned.returncode == 0, pinned.stderr
    outputs.append(pinned)
    explained = run_in(hostile_directory, *colour, "current", "--explain")
    assert explained.returncode == 0
    assert "prod (from " in explained.stdout
    outputs.append(explained)
    # The (trusted) pin now names a profile that is gone: token's error names the file's path.
    # A trusted pin names a profile that exists when trusted; one renamed since is gone.
    assert run_in(hostile_directory, "rename", "prod", "ghost", "--yes").returncode == 0
    assert run_in(hostile_directory, "pin", "ghost").returncode == 0
    assert run_in(hostile_directory, "rename", "ghost", "prod", "--yes").returncode == 0
    missing = run_in(hostile_directory, *colour, "token")
    assert missing.returncode == 3, missing.stderr
    assert "ghost" in missing.stderr
    outputs.append(missing)
    listed = run_in(hostile_directory, *colour, "list")
    outputs.append(listed)
    for result in outputs:
        assert stray_controls(result.stdout) == [], result.args
        assert stray_controls(result.stderr) == [], result.args


def test_json_keeps_the_exact_path_and_tokens_are_unchanged(server, prod, hostile_directory):
    assert run_in(hostile_directory, "pin", "prod").returncode == 0
    answer = run_in(hostile_directory, "current", "--json")
    assert json.loads(answer.stdout)["path"] == str(hostile_directory / ".up42keys-profile")
    assert stray_controls(answer.stdout) == []
    token = run_in(hostile_directory, "token", "--json")
    assert json.loads(token.stdout)["token"] == run_in(hostile_directory, "token").stdout.strip()


WRITERS = {"echo", "secho", "print", "write"}


def direct_writes(path: Path) -> list[str]:
    """Calls in ``path`` that write to a stream without the one writer."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "click":
            found += [f"from click import {a.name}" for a in node.names if a.name in WRITERS]
        if not isinstance(node, ast.Call):
            continue
        called = ast.unparse(node.func)
        if (
            called == "print"
            or called in ("click.echo", "click.secho")
            or (called.startswith(("sys.stdout.", "sys.stderr.")) and called.endswith(".write"))
        ):
            found.append(f"{path.name}:{node.lineno}: {called}")
    return found


def test_only_the_terminal_module_writes_to_the_terminal():
    cli_package = REPOSITORY / "up42keys" / "cli"
    offenders = [
        line
        for path in sorted(cli_package.glob("*.py"))
        if path.name != "terminal.py"
        for line in direct_writes(path)
    ]
    assert offenders == []
    # The check sees a direct write where there is one.
    assert direct_writes(cli_package / "terminal.py")
