"""Odd input and odd answers: each is one line and its documented exit code, never a traceback
(issue 11, findings 4, 5 and 6's URLs).

One table drives both the in-process CLI (``run``) and, for a few rows, the
installed command (``up42keys``), since start-up and the fast path are part of
what a user meets.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import API_KEY, PASSWORD
from tests.fakeup42 import Fault
from tests.helpers import add_profile
from up42keys import paths
from up42keys.remote import client

GOOD_ID = "12345678-1234-1234-1234-123456789abc"
USERINFO_URL = "https://PROJ:KEY-s3cr3t@api.up42.com"


def raw_jwt(claims_json: str) -> str:
    """A JWT-shaped token whose claims are exactly ``claims_json`` (NaN and Infinity included)."""

    def segment(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    header = segment('{"alg": "HS512", "typ": "JWT"}')
    return f"{header}.{segment(claims_json)}.c2lnbmF0dXJl"


def token_answer(claims_json: str, extra: str = "") -> Fault:
    return Fault(text_body='{"data": {"accessToken": "' + raw_jwt(claims_json) + '"}' + extra + "}")


@dataclass
class Case:
    """Arguments, stdin, environment, what the server answers, and the expected exit and words."""

    args: tuple[str, ...]
    exit_code: int
    words: str
    input: str | bytes | None = None
    env: dict[str, str] = field(default_factory=dict)
    answers: tuple[Fault, ...] = ()
    needs_profile: bool = False
    # Words the message must never contain (a password in a URL).
    never: tuple[str, ...] = ()


def add_args(url: str) -> tuple[str, ...]:
    return ("add", "prod", "--project-id", GOOD_ID, "--api-url", url, "--api-key-stdin")


def env_credentials(url: str) -> dict[str, str]:
    return {"UP42_PROJECT_ID": GOOD_ID, "UP42_PROJECT_API_KEY": API_KEY, "UP42_API_URL": url}


now = int(time.time())
CASES = {
    "exp NaN": Case(
        ("token",), 5, "not a finite number", needs_profile=True,
        answers=(token_answer('{"sub": "x", "exp": NaN}'),),
    ),
    "exp Infinity": Case(
        ("token",), 5, "not a finite number", needs_profile=True,
        answers=(token_answer('{"sub": "x", "exp": Infinity}'),),
    ),
    "expires_in 1e999": Case(
        ("token",), 5, "not a finite number", needs_profile=True,
        answers=(token_answer(f'{{"sub": "x", "exp": {now + 300}}}', ', "expires_in": 1e999'),),
    ),
    "expired on arrival": Case(
        ("token",), 5, "clock", needs_profile=True,
        answers=(token_answer(f'{{"sub": "x", "exp": {now - 600}}}'),),
    ),
    "an IPv6 URL without its bracket": Case(
        add_args("http://[::1"), 2, "not a valid URL", input=API_KEY + "\n"
    ),
    "a port that is not a number": Case(
        add_args("http://127.0.0.1:abc"), 2, "not a valid URL", input=API_KEY + "\n"
    ),
    "port 99999": Case(
        add_args("http://127.0.0.1:99999"), 2, "not a valid URL", input=API_KEY + "\n"
    ),
    "a 100 KB URL": Case(
        add_args("http://" + "a" * 100_000 + ".example"), 2, "give one of at most 2048",
        input=API_KEY + "\n",
    ),
    "a malformed UP42_API_URL": Case(
        ("token",), 2, "UP42_API_URL", env=env_credentials("http://[::1")
    ),
    "UP42_API_URL with a port 99999": Case(
        ("env",), 2, "UP42_API_URL", env=env_credentials("http://127.0.0.1:99999")
    ),
    "UP42KEYS_TIMEOUT=1e18": Case(
        ("token",), 2, "at most 300 seconds", needs_profile=True,
        env={"UP42KEYS_TIMEOUT": "1e18"},
    ),
    "a key that is not UTF-8": Case(
        ("add", "prod", "--project-id", GOOD_ID, "--api-key-stdin", "--no-verify"), 2,
        "not UTF-8", input=b"\xff\xfe-key\n",
    ),
    "user info in --api-url": Case(
        add_args(USERINFO_URL), 2, "user name or password", input=API_KEY + "\n",
        never=("KEY-s3cr3t", "PROJ"),
    ),
    "user info in --auth-url": Case(
        ("add", "acct", "--account", "--username", "jane@example.com", "--auth-url",
         USERINFO_URL, "--password-stdin"), 2, "user name or password",
        input=PASSWORD + "\n", never=("KEY-s3cr3t", "PROJ"),
    ),
    "user info in UP42_API_URL": Case(
        ("token",), 2, "user name or password", env=env_credentials(USERINFO_URL),
        never=("KEY-s3cr3t", "PROJ"),
    ),
}  # fmt: skip

# The rows also run through the installed command: start-up and the fast path included.
THROUGH_THE_COMMAND = [
    "exp NaN",
    "expires_in 1e999",
    "an IPv6 URL without its bracket",
    "a malformed UP42_API_URL",
    "UP42KEYS_TIMEOUT=1e18",
    "user info in UP42_API_URL",
]


def check_one_line(exit_code: int, stderr: str, case: Case) -> None:
    assert exit_code == case.exit_code, stderr
    assert "Traceback" not in stderr
    assert stderr.startswith("up42keys: error: "), stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert case.words in stderr, stderr
    assert len(stderr) < 1000, "an error repeats a long input in full"
    for secret in case.never:
        assert secret not in stderr


@pytest.mark.parametrize("name", list(CASES))
def test_odd_input_in_process(run, server, project_id, monkeypatch, name):
    case = CASES[name]
    if case.needs_profile:
        assert add_profile(run, server, "prod", project_id, "--no-verify").exit_code == 0
    for variable, value in case.env.items():
        monkeypatch.setenv(variable, value)
    server.inject(*case.answers)
    outcome = run(*case.args, input=case.input)
    check_one_line(outcome.exit_code, outcome.stderr, case)
    assert not Path(paths.current_token_file()).exists()


@pytest.mark.parametrize("name", THROUGH_THE_COMMAND)
def test_odd_input_through_the_installed_command(up42keys, server, project_id, name):
    from tests.helpers import add_profile

    case = CASES[name]
    if case.needs_profile:
        add_profile(up42keys, server, "prod", project_id, "--no-verify", check=True)
    server.inject(*case.answers)
    assert not isinstance(case.input, bytes), "bytes go through the test below"
    result = up42keys(*case.args, input=case.input, env=case.env)
    check_one_line(result.returncode, result.stderr, case)


def test_a_non_utf8_key_through_the_installed_command_is_exit_2(up42keys):
    """The bytes themselves: ``up42keys`` (the fixture) would send text, encoded as UTF-8."""
    import subprocess

    from tests.conftest import installed_command

    result = subprocess.run(
        [installed_command(), *CASES["a key that is not UTF-8"].args],
        input=b"\xff\xfe-key\n",
        capture_output=True,
        timeout=60,
        check=False,
    )
    check_one_line(result.returncode, result.stderr.decode(), CASES["a key that is not UTF-8"])


def test_a_deeply_nested_profile_file_is_a_corrupt_file(run, up42keys):
    profiles = Path(paths.profiles_file())
    profiles.parent.mkdir(parents=True)
    content = "x = " + "[" * 100_000 + "]" * 100_000 + "\n"
    profiles.write_text(content)
    for exit_code, stderr in [
        ((outcome := run("list")).exit_code, outcome.stderr),
        ((result := up42keys("list")).returncode, result.stderr),
    ]:
        assert exit_code == 1, stderr
        assert stderr.startswith(f"up42keys: error: {profiles} is not valid TOML"), stderr
        assert "nested too deeply" in stderr
        assert len(stderr.splitlines()) == 1
    assert profiles.read_text() == content


def test_a_lifetime_over_a_day_is_capped(run, server, project_id):
    assert add_profile(run, server, "prod", project_id, "--no-verify").exit_code == 0
    server.token_ttl = 30 * 86400
    before = time.time()
    outcome = run("token", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    expires_at = json.loads(outcome.stdout)["expires_at"]
    assert (
        before + client.MAX_TOKEN_SECONDS - 5
        <= expires_at
        <= time.time() + client.MAX_TOKEN_SECONDS
    )


def test_a_huge_expires_in_is_capped_too(run, server, project_id):
    assert add_profile(run, server, "prod", project_id, "--no-verify").exit_code == 0
    server.expires_in = 10**12
    outcome = run("token", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    assert json.loads(outcome.stdout)["expires_at"] <= time.time() + client.MAX_TOKEN_SECONDS


def test_expired_on_arrival_names_the_skew_the_date_header_shows(run, server, project_id):
    assert add_profile(run, server, "prod", project_id, "--no-verify").exit_code == 0
    server.token_ttl = 300
    server.clock_offset = -3600.0  # UP42 an hour behind: its token is 55 minutes old here
    server.inject(token_answer(f'{{"sub": "x", "exp": {int(time.time()) - 3300}}}'))
    outcome = run("token")
    assert outcome.exit_code == 5
    assert "clock" in outcome.stderr
    assert "UP42's clock is 360" in outcome.stderr, outcome.stderr
    assert "s behind this machine's" in outcome.stderr
    assert not Path(paths.token_record("prod")).exists()
