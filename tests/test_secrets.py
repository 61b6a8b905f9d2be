"""The API key lives in the keyring alone; commands that need no secret never open it;
tokens are printed only by the commands whose job that is."""

from __future__ import annotations

import base64
import logging
import traceback
import urllib.parse
import uuid
from pathlib import Path

import click
import keyring
import keyring.core
import pytest

from tests.conftest import API_KEY
from tests.fakeup42 import Fault, closed_port_url
from tests.helpers import add_profile, files_under, imported_modules
from up42keys import cli, kinds, paths
from up42keys.errors import Up42KeysError

WRONG_KEY = "wrong-api-key-" + "0bad" * 6


def secret_forms(project_id: str, *keys: str) -> list[bytes]:
    """Each key as it could leak: plain, base64, in an HTTP Basic header, URL-encoded."""
    forms = []
    for key in keys:
        forms += [
            key.encode(),
            base64.b64encode(key.encode()),
            base64.b64encode(f"{project_id}:{key}".encode()),
            urllib.parse.quote(key).encode(),
        ]
    return forms


def assert_no_secret(text: str | bytes, forms: list[bytes], where: str) -> None:
    data = text.encode() if isinstance(text, str) else text
    for form in forms:
        assert form not in data, f"a secret leaked into {where}"


def test_no_option_takes_a_secret_as_its_value():
    for name, command in cli.cli.commands.items():
        for parameter in command.params:
            if isinstance(parameter, click.Option) and not parameter.is_flag:
                assert not any(
                    word in (parameter.name or "") for word in ("key", "secret", "password")
                ), (name, parameter.name)


@pytest.mark.parametrize(
    "args",
    [
        ["--api-key", API_KEY],
        [f"--api-key={API_KEY}"],
        ["--api-key-stdin", API_KEY],
        [f"--api-key-stdin={API_KEY}"],
        [API_KEY],
    ],
)
def test_a_key_given_as_an_argument_is_refused_and_not_repeated(run, memory_keyring, args):
    outcome = run("add", "prod", "--project-id", str(uuid.uuid4()), *args, input="")
    assert outcome.exit_code == 2
    assert_no_secret(outcome.stderr + outcome.stdout, [API_KEY.encode()], "the usage error")
    assert memory_keyring.entries == {}
    assert not Path(paths.profiles_file()).exists()


def test_a_session_with_failures_leaks_no_key(forked, server, project_id):
    """Every command, the failing ones too: the key is in no output and no file of ours."""
    forms = secret_forms(project_id, API_KEY, WRONG_KEY)
    common = ["--api-url", server.url, "--api-key-stdin"]
    dead = closed_port_url()
    steps: list[tuple[list[str], str, int]] = [
        (["add", "prod", "--project-id", project_id, *common], API_KEY, 0),
        (["add", "prod", "--project-id", project_id, *common, "--force"], WRONG_KEY, 4),
        (["add", "dead", "--project-id", project_id, "--api-url", dead, "--api-key-stdin"],
         API_KEY, 5),
        (["add", "dead", "--project-id", project_id, "--api-url", dead, "--api-key-stdin",
          "--no-verify"], API_KEY, 0),
        (["token", "dead"], "", 5),
        (["token"], "", 0),
        (["token", "--json"], "", 0),
        (["list", "--json"], "", 0),
        (["inspect"], "", 0),
        (["use", "dead"], "", 5),
        (["token", "--refresh"], "", 4),  # the server answers 401 (below)
        (["rename", "dead", "gone"], "", 0),
        (["remove", "gone"], "", 0),
    ]  # fmt: skip
    for args, stdin, code in steps:
        if args == ["token", "--refresh"]:
            server.inject(Fault(401, json_body={"error": {"code": 401, "message": "no"}}))
        result = forked(*args, input=stdin + "\n")
        assert result.returncode == code, (args, result.stderr)
        assert_no_secret(result.stdout + result.stderr, forms, f"the output of {args}")
    for path in files_under(paths.config_dir(), paths.cache_dir()):
        assert_no_secret(Path(path).read_bytes(), forms, path)
    for request in server.requests:
        assert_no_secret(request.path + request.body, forms, "a URL or form body")


def mint_failures(server, project_id):
    """Profiles and server states under which a mint fails, one after another."""
    yield (
        "rejected",
        kinds.ProjectProfile("p", project_id, server.url),
        [Fault(401, json_body={"error": {"code": 401, "message": "Invalid credentials"}})],
    )
    yield (
        "unavailable",
        kinds.ProjectProfile("p", project_id, server.url),
        [Fault(503, text_body="<html>down</html>", content_type="text/html")] * 3,
    )
    yield (
        "not a token",
        kinds.ProjectProfile("p", project_id, server.url),
        [Fault(200, json_body={"data": {"accessToken": "opaque"}})],
    )
    yield "refused", kinds.ProjectProfile("p", project_id, closed_port_url()), []


def test_errors_reprs_tracebacks_and_logs_hold_no_key(server, project_id, caplog, monkeypatch):
    monkeypatch.setattr("up42keys.remote.client.time.sleep", lambda _seconds: None)
    caplog.set_level(logging.DEBUG)
    forms = secret_forms(project_id, API_KEY)
    seen = 0
    for label, profile, faults in mint_failures(server, project_id):
        server.inject(*faults)
        with pytest.raises(Up42KeysError) as caught:
            profile.mint_with(API_KEY)
        error: BaseException | None = caught.value
        assert_no_secret("".join(traceback.format_exception(caught.value)), forms, label)
        while error is not None:  # the whole chain, suppressed context included
            assert_no_secret(repr(error) + str(error), forms, f"{label}: {error!r}")
            error = error.__cause__ or error.__context__
        seen += 1
    assert seen == 4
    assert "oauth/token" in caplog.text  # httpx logged the requests, and nothing secret
    assert_no_secret(caplog.text, forms, "the log")


# -- commands that need no secret never open the keyring --------------------------------------

NO_SECRET_COMMANDS = [
    ["list"],
    ["list", "--json"],
    ["current"],
    ["current", "--explain"],
    ["current", "--json"],
    ["--help"],
    ["token", "--help"],
    ["add", "--help"],
    ["--version"],
]
COMPLETION = {
    "_UP42KEYS_COMPLETE": "bash_complete",
    "COMP_WORDS": "up42keys use ",
    "COMP_CWORD": "2",
}


def imports_keyring(stderr: str) -> bool:
    return any(
        name == "keyring" or name.startswith("keyring.") for name in imported_modules(stderr)
    )


def test_the_installed_command_never_loads_the_keyring_where_no_secret_is_needed(
    up42keys, server, project_id
):
    for name in ("prod", "dev"):
        result = up42keys(
            "add", name, "--project-id", project_id, "--api-url", server.url,
            "--api-key-stdin", "--no-verify", input=API_KEY + "\n",
        )  # fmt: skip
        assert result.returncode == 0
    # Any use of this backend fails; the import report shows whether keyring was even loaded.
    env = {
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONPROFILEIMPORTTIME": "1",
    }
    for args in NO_SECRET_COMMANDS:
        result = up42keys(*args, env=env)
        assert result.returncode == 0, (args, result.stderr[-500:])
        assert not imports_keyring(result.stderr), args
    completion = up42keys(env={**env, **COMPLETION})
    assert completion.returncode == 0
    assert completion.stdout.split() == ["plain,-", "plain,dev", "plain,prod"]
    assert not imports_keyring(completion.stderr)
    # The control: a command that needs the key loads keyring, and fails with this backend.
    needs_key = up42keys("token", "dev", env=env)
    assert needs_key.returncode == 6
    assert imports_keyring(needs_key.stderr)


def test_in_process_commands_without_a_secret_never_touch_the_keyring(
    run, runner, server, project_id, monkeypatch, memory_keyring
):
    assert add_profile(run, server, "prod", project_id).exit_code == 0
    touched: list[str] = []

    def forbidden(name: str):
        def call(*_args: object, **_kwargs: object) -> None:
            touched.append(name)
            raise AssertionError(f"keyring: {name} called")

        return call

    # Every way into keyring: its functions, its backend lookup, and the backend itself.
    for module in (keyring, keyring.core):
        for name in ("get_keyring", "get_password", "set_password", "delete_password"):
            monkeypatch.setattr(module, name, forbidden(name))
    monkeypatch.setattr(keyring.core, "init_backend", forbidden("init_backend"))
    for name in ("get_password", "set_password", "delete_password"):
        monkeypatch.setattr(memory_keyring, name, forbidden(name))
    for args in NO_SECRET_COMMANDS:
        outcome = run(*args)
        assert outcome.exit_code == 0, (args, outcome.stderr)
    assert run("token").exit_code == 0  # from the cache
    completion = runner.invoke(cli.cli, [], prog_name="up42keys", env=COMPLETION)
    assert completion.exit_code == 0
    assert completion.output.split() == ["plain,-", "plain,prod"]
    assert touched == []
    assert run("token", "--refresh").exit_code == 6  # the control: a mint needs the keyring
    assert touched != []


# -- tokens are printed by `token` alone (and by `env`/`exec`) --------------------------------


def test_only_token_prints_a_token(forked, server, project_id):
    seen: set[str] = set()

    def remember_tokens() -> None:
        for name in ("prod", "dev", "staging"):
            record = Path(paths.token_record(name))
            if record.exists():
                seen.add(record.read_text().splitlines()[2])

    other = str(uuid.uuid4())
    server.add_project(other, API_KEY)
    common = ["--api-url", server.url, "--api-key-stdin"]
    printing = forked("add", "prod", "--project-id", project_id, *common, input=API_KEY + "\n")
    outputs = [printing]
    remember_tokens()
    for args in (
        ["add", "dev", "--project-id", other, *common],
        ["use", "dev"],
        ["list"],
        ["list", "--json"],
        ["current"],
        ["inspect"],
        ["inspect", "prod"],
        ["rename", "dev", "staging"],
    ):
        result = forked(*args, input=API_KEY + "\n")
        assert result.returncode == 0, (args, result.stderr)
        outputs.append(result)
        remember_tokens()
    assert len(seen) == 2
    for result in outputs:
        for token in seen:
            signature = token.rsplit(".", 1)[1]
            assert signature not in result.stdout + result.stderr, result.args
    printed = forked("token").stdout.strip()
    assert printed in seen
