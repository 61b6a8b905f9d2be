"""Every fix command an error prints works when run exactly as printed, and repairs the state.

Each case brings the installed command into an error state, takes the command
quoted in its one-line error (``up42keys: error: MESSAGE; FIX``), splits it
with shlex and runs it as printed: ``up42keys`` from PATH, the installed copy.
A fix that asks for a secret asks at a hidden prompt (as for a user who pastes
it); the test answers it through a real pseudo-terminal, the way a user types
it. Then a token must come from the fake UP42 again, for the same project or
account, at the same URLs. HTTPS goes to a dead local proxy, so a fix that lost
``--api-url`` (and so pointed at api.up42.com) fails here instead of leaving
the machine.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import API_KEY, PASSWORD, run_forked, run_in_process
from tests.fakeup42 import FakeUp42, closed_port_url
from tests.helpers import USERNAME, add_profile, claims
from tests.shellkit import shell_env
from tests.terminal import ENTER, Terminal
from up42keys import cache, paths

NEW_KEY = "rotated-api-key-" + "k3y" * 5
NEW_PASSWORD = "rotated-password-" + "pw" * 5
FIX = re.compile(r"'(up42keys [^']*)'")


def offline() -> dict[str, str]:
    """HTTPS only through a dead local proxy."""
    return {"HTTPS_PROXY": closed_port_url(), "NO_PROXY": "127.0.0.1,localhost"}


def offline_run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_forked(*args, input=input, env=shell_env(**offline()))


def run_at_terminal(argv: list[str], answer: str | None) -> tuple[int, str]:
    """Run the printed ``up42keys …`` on a pseudo-terminal; type ``answer`` at its hidden prompt."""
    assert argv[0] == "up42keys", argv
    terminal = Terminal(argv[1:], env=offline())
    if answer is not None:
        terminal.expect_prompt()
        terminal.type(answer + ENTER)
    code, stdout = terminal.finish(timeout=60)
    return code, terminal.shown + stdout


def printed_fix(stderr: str) -> str:
    """The command in the error's fix: the last quoted ``up42keys …`` of its one line."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("up42keys: error: "), stderr
    commands = FIX.findall(lines[0].partition("; ")[2])
    assert commands, f"no command in the fix: {stderr}"
    return commands[-1]


@dataclass
class Case:
    """An error state: how to reach it, the exit code, and what the fix asks for."""

    name: str
    break_it: Callable[[FakeUp42, dict[str, str]], None]
    command: list[str]
    exit_code: int
    secret: str | None
    subject: str  # "project" or "account": whose token the repaired state mints
    # What the failing command reads on stdin; ``{project}`` and ``{url}`` in ``command`` are
    # the project's ID and the fake's URL.
    stdin: str | None = None


def add_project_profile(server: FakeUp42, ids: dict[str, str], *flags: str) -> None:
    add_profile(run_in_process, server, "prod", ids["project"], *flags, check=True)


def add_account_profile(server: FakeUp42, ids: dict[str, str]) -> None:
    add_profile(
        run_forked, server, "me", USERNAME, "--region", "sa", "--api-url", server.url,
        check=True,
    )  # fmt: skip


def reject_project_key(server: FakeUp42, ids: dict[str, str]) -> None:
    add_project_profile(server, ids, "--protected")
    server.add_project(ids["project"], NEW_KEY)  # the key was rotated at UP42


def reject_account_password(server: FakeUp42, ids: dict[str, str]) -> None:
    add_account_profile(server, ids)
    server.add_account(USERNAME, NEW_PASSWORD)
    server.refresh_tokens.clear()  # UP42 ended the session, so the password is needed


def forget_key(name: str) -> None:
    from keyrings.alt.file import PlaintextKeyring

    PlaintextKeyring().delete_password("up42keys", name)
    for record in (name, name + "~refresh"):
        cache.remove(record)


def lose_project_key(server: FakeUp42, ids: dict[str, str]) -> None:
    add_project_profile(server, ids)
    server.add_project(ids["project"], NEW_KEY)
    forget_key("prod")


def lose_account_password(server: FakeUp42, ids: dict[str, str]) -> None:
    add_account_profile(server, ids)
    server.add_account(USERNAME, NEW_PASSWORD)
    forget_key("me")


def import_without_secret(server: FakeUp42, ids: dict[str, str]) -> None:
    """A team's shared definition, imported: the profile exists, its key does not yet."""
    shared = f'[profiles.prod]\nproject_id = "{ids["project"]}"\napi_url = "{server.url}"\n'
    assert run_forked("import", "-", input=shared).returncode == 0
    assert run_forked("use", "prod").returncode == 6


def nothing_stored(server: FakeUp42, ids: dict[str, str]) -> None:
    """``add`` itself fails: UP42 rejects the secret it was given, and nothing is stored."""


def no_active_profile(server: FakeUp42, ids: dict[str, str]) -> None:
    add_project_profile(server, ids)
    os.unlink(paths.active_file())


CASES = [
    Case("rejected project key", reject_project_key, ["token", "--refresh"], 4, NEW_KEY, "project"),
    Case("rejected account password", reject_account_password, ["token", "--refresh"], 4,
         NEW_PASSWORD, "account"),
    Case("missing project key", lose_project_key, ["token", "--refresh"], 6, NEW_KEY, "project"),
    Case("missing account password", lose_account_password, ["token", "--refresh"], 6,
         NEW_PASSWORD, "account"),
    Case("no active profile", no_active_profile, ["token"], 3, None, "project"),
    Case("imported without its key", import_without_secret, ["token", "prod"], 6, API_KEY,
         "project"),
    Case("rejected key in add", nothing_stored,
         ["add", "prod", "--project-id", "{project}", "--api-url", "{url}", "--api-key-stdin"],
         4, API_KEY, "project", stdin="wrong-key-" + "w" * 10 + "\n"),
    Case("rejected password in add", nothing_stored,
         ["add", "me", "--account", "--username", USERNAME, "--region", "sa", "--auth-url",
          "{url}", "--api-url", "{url}", "--password-stdin"],
         4, PASSWORD, "account", stdin="wrong-password\n"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_printed_fix_repairs_the_state(case, server):
    ids = {"project": str(uuid.uuid4())}
    server.add_project(ids["project"], API_KEY)
    server.add_account(USERNAME, PASSWORD)
    case.break_it(server, ids)
    stored = Path(paths.profiles_file())
    before = stored.read_text() if stored.exists() else None

    broken = offline_run(*[word.format(url=server.url, **ids) for word in case.command],
                       input=case.stdin)  # fmt: skip
    assert broken.returncode == case.exit_code, broken.stderr
    fix = printed_fix(broken.stderr)

    code, transcript = run_at_terminal(shlex.split(fix), case.secret)
    assert code == 0, (fix, transcript)
    if case.secret is not None:
        assert case.secret not in transcript  # typed at a hidden prompt: never echoed
    after = stored.read_text()
    if before is None:  # a rejected add stored nothing: the fix adds it, every option kept
        assert f'api_url = "{server.url}"' in after, after
        assert "has_secret" not in after, after
    else:  # exactly the profile it was, every setting kept: only the secret was stored
        assert after == before.replace("has_secret = false\n", "")

    repaired = offline_run("token", "prod" if "prod" in after else "me", "--refresh")
    assert repaired.returncode == 0, (fix, repaired.stderr)
    expected = ids["project"] if case.subject == "project" else USERNAME
    assert claims(repaired.stdout)["sub"] == expected


def test_an_unknown_profile_points_at_list_which_names_the_profiles(server):
    ids = {"project": str(uuid.uuid4())}
    server.add_project(ids["project"], API_KEY)
    add_project_profile(server, ids)
    unknown = offline_run("token", "ghost")
    assert unknown.returncode == 3
    listing = subprocess.run(
        shlex.split(printed_fix(unknown.stderr)),
        capture_output=True,
        text=True,
        env=shell_env(**offline()),
        check=False,
        timeout=60,
    )
    assert listing.returncode == 0, listing.stderr
    assert [line.split()[1] for line in listing.stdout.splitlines()[1:]] == ["prod"]


def test_each_secret_fix_is_set_secret_which_keeps_every_setting(server):
    """One command stores a secret again, whatever the profile's settings: set-secret NAME."""
    ids = {"project": str(uuid.uuid4())}
    server.add_project(ids["project"], API_KEY)
    server.add_account(USERNAME, PASSWORD)
    reject_project_key(server, ids)
    project_fix = printed_fix(offline_run("token", "--refresh").stderr)
    assert shlex.split(project_fix) == ["up42keys", "set-secret", "prod"]
    reject_account_password(server, ids)
    account_fix = printed_fix(offline_run("token", "me", "--refresh").stderr)
    assert shlex.split(account_fix) == ["up42keys", "set-secret", "me"]
