"""Every network fault ends in its exit code and one line, is retried only when worth it,
and leaves nothing in the cache.

Faults come from the fake server's queue (``server.inject``); pauses are
recorded instead of slept, so Retry-After and backoff are checked exactly.
"""

from __future__ import annotations

import email.utils
import socket
import ssl
import time
from pathlib import Path

import pytest

from tests.conftest import PROXY_VARIABLES, run_in_process
from tests.fakeup42 import Fault, closed_port_url
from tests.helpers import add_profile
from up42keys import paths, settings
from up42keys.remote import client


@pytest.fixture
def prod(run, server, project_id) -> str:
    """An active profile with no token cached yet."""
    outcome = add_profile(run, server, "prod", project_id, "--no-verify")
    assert outcome.exit_code == 0, outcome.stderr
    assert not Path(paths.token_record("prod")).exists()
    return "prod"


@pytest.fixture
def pauses(monkeypatch) -> list[float]:
    """The client's pauses before retries, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(client.time, "sleep", recorded.append)
    return recorded


def one_line_error(stderr: str) -> str:
    assert stderr.startswith("up42keys: error: "), stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert "Traceback" not in stderr
    return stderr


def assert_nothing_cached() -> None:
    assert not Path(paths.token_record("prod")).exists()
    assert not Path(paths.current_token_file()).exists()


def test_503_then_success_is_retried(run, server, prod, pauses):
    server.inject(Fault(503, json_body={"error": {"code": 503, "message": "busy"}}))
    outcome = run("token")
    assert outcome.exit_code == 0, outcome.stderr
    assert len(server.requests) == 2
    assert server.mints == 1
    assert len(pauses) == 1
    assert Path(paths.token_record("prod")).read_text().splitlines()[2] == outcome.stdout.strip()


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault(500, json_body={"error": {"code": 500, "message": "Internal\nerror"}}), "HTTP 500"),
        (Fault(502, text_body="<html>Bad Gateway</html>", content_type="text/html"), "HTTP 502"),
        (Fault(503, json_body={"error": {"code": 503, "message": "down for upkeep"}}), "upkeep"),
        (Fault(504, text_body=""), "HTTP 504"),
        (Fault(429, json_body={"error": {"code": 429, "message": "slow down"}}), "slow down"),
    ],
)
def test_retryable_status_is_tried_three_times_then_exit_5(
    run, server, prod, pauses, fault, expected
):
    server.inject(fault, fault, fault)
    outcome = run("token")
    assert outcome.exit_code == 5
    assert expected in one_line_error(outcome.stderr)
    assert "3 attempts" in outcome.stderr
    assert len(server.requests) == settings.ATTEMPTS
    assert len(pauses) == settings.ATTEMPTS - 1
    assert server.mints == 0
    assert_nothing_cached()


@pytest.mark.parametrize(
    ("retry_after", "timeout", "expected"),
    [
        ("2", None, 2.0),
        ("0", None, 0.0),
        ("3600", None, settings.DEFAULT_TIMEOUT),  # capped at the request timeout
        ("3600", "0.5", 0.5),
        ("3600", "60", settings.MAX_RETRY_PAUSE),  # and never over 20 s
    ],
)
def test_429_retry_after_is_honoured_and_capped(
    run, server, prod, pauses, monkeypatch, retry_after, timeout, expected
):
    if timeout is not None:
        monkeypatch.setenv("UP42KEYS_TIMEOUT", timeout)
    server.inject(Fault(429, json_body={}, headers={"Retry-After": retry_after}))
    outcome = run("token")
    assert outcome.exit_code == 0, outcome.stderr
    assert pauses == [expected]
    assert server.mints == 1


def test_retry_after_as_http_date(run, server, prod, pauses):
    # 15 s ahead (under the 20 s cap): the pause is what is left of them when the answer is
    # read, whole seconds, however long a loaded machine took to get there (up to 10 s).
    moment = email.utils.formatdate(time.time() + 15, usegmt=True)
    server.inject(Fault(503, json_body={}, headers={"Retry-After": moment}))
    assert run("token").exit_code == 0
    assert len(pauses) == 1
    assert 5 <= pauses[0] <= 15


def test_backoff_doubles_with_jitter(run, server, prod, pauses, monkeypatch):
    monkeypatch.setenv("UP42KEYS_RETRY_DELAY", "0.4")
    server.inject(Fault(503, json_body={}), Fault(503, json_body={}))
    assert run("token").exit_code == 0
    first, second = pauses
    assert 0.2 <= first <= 0.4
    assert 0.4 <= second <= 0.8


@pytest.mark.parametrize(
    ("fault", "code", "expected"),
    [
        (
            Fault(401, json_body={"error": {"code": 401, "message": "Invalid credentials"}}),
            4,
            "Invalid credentials",
        ),
        (
            Fault(403, json_body={"error": {"code": 403, "message": "Project disabled"}}),
            4,
            "Project disabled",
        ),
        (
            Fault(400, json_body={"error": "invalid_grant", "error_description": "bad key"}),
            4,
            "bad key",
        ),
        (
            Fault(400, json_body={"error": {"code": 400, "message": "malformed request"}}),
            5,
            "malformed request",
        ),
        (Fault(404, text_body="<html>Not Found</html>", content_type="text/html"), 5, "HTTP 404"),
    ],
)
def test_client_errors_are_never_retried(run, server, prod, pauses, fault, code, expected):
    server.inject(fault)
    outcome = run("token")
    assert outcome.exit_code == code
    assert expected in one_line_error(outcome.stderr)
    assert str(fault.status) in outcome.stderr
    assert len(server.requests) == 1
    assert pauses == []
    assert_nothing_cached()


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            Fault(200, text_body="<html>Sign in to the proxy</html>", content_type="text/html"),
            "text/html",
        ),
        (Fault(200, json_body={"data": {}}), "without a token"),
        (Fault(200, json_body=["not", "an", "object"]), "not a token"),
        (Fault(200, json_body={"data": {"accessToken": ""}}), "without a token"),
        (Fault(200, json_body={"data": {"accessToken": 42}}), "without a token"),
        (Fault(200, json_body={"data": {"accessToken": "opaque-token"}}), "not a JWT"),
        (Fault(200, json_body={"access_token": "a b.c.d"}), "not a JWT"),
        (Fault(200, json_body={"access_token": "abc.def.ghi"}), "not a readable JWT"),
    ],
)
def test_a_200_without_a_token_is_exit_5_and_never_cached(
    run, server, prod, pauses, fault, expected
):
    server.inject(fault)
    outcome = run("token")
    assert outcome.exit_code == 5
    assert expected in one_line_error(outcome.stderr)
    assert outcome.stdout == ""
    assert len(server.requests) == 1
    assert_nothing_cached()


def test_failed_mint_leaves_an_expired_record_as_it_was(run, server, prod, pauses):
    assert run("token").exit_code == 0
    record = Path(paths.token_record("prod"))
    current = Path(paths.current_token_file())
    lines = record.read_text().splitlines()
    record.write_text(f"{int(time.time()) - 10}\n{lines[1]}\n{lines[2]}\n")
    before = (record.read_bytes(), current.read_bytes())
    server.inject(*[Fault(503, json_body={})] * 3)
    assert run("token").exit_code == 5
    server.inject(Fault(200, json_body={"data": {"accessToken": "opaque"}}))
    assert run("token").exit_code == 5
    assert (record.read_bytes(), current.read_bytes()) == before


def test_hung_server_gives_exit_5_within_three_timeouts_and_backoff(forked, server, project_id):
    timeout = 0.3
    env = {"UP42KEYS_TIMEOUT": str(timeout), "UP42KEYS_RETRY_DELAY": "0.05"}
    add_profile(run_in_process, server, "prod", project_id, "--no-verify", check=True)
    hang = 20.0  # far longer than three timeouts, so that no load can blur the two apart
    server.inject(*[Fault(hang=hang)] * 3)
    started = time.monotonic()
    result = forked("token", env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 5
    assert f"no answer from {server.url}/oauth/token within 0.3 s" in one_line_error(result.stderr)
    assert len(server.requests) == 3
    # Three timeouts waited for, and not even one hang (three would be a minute).
    assert 3 * timeout <= elapsed < hang
    assert not Path(paths.token_record("prod")).exists()


def test_closed_port_gives_exit_5_naming_the_url(forked):
    url = closed_port_url()
    added = forked(*add_with_url(url), input="key\n")
    assert added.returncode == 5
    assert f"cannot connect to {url}/oauth/token" in one_line_error(added.stderr)
    assert not Path(paths.profiles_file()).exists()


def test_unresolvable_name_gives_exit_5_naming_the_url(run, monkeypatch, pauses):
    """No real DNS: the resolver is replaced by one that fails as for a name that is not there."""
    looked_up: list[object] = []

    def no_such_name(host: object, *_args: object, **_kwargs: object) -> list[object]:
        looked_up.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    for variable in PROXY_VARIABLES:  # straight to the (replaced) resolver, not to the proxy
        monkeypatch.delenv(variable)
        monkeypatch.delenv(variable.lower())
    url = "https://api.up42.invalid"
    outcome = run(*add_with_url(url), input="key\n")
    assert outcome.exit_code == 5
    assert f"cannot connect to {url}/oauth/token" in one_line_error(outcome.stderr)
    assert "Name or service not known" in outcome.stderr
    assert looked_up == ["api.up42.invalid"] * settings.ATTEMPTS
    assert not Path(paths.profiles_file()).exists()


def add_with_url(url: str) -> list[str]:
    """The arguments of a verified ``add`` against ``url``."""
    return [
        "add", "prod", "--project-id", "12345678-1234-1234-1234-123456789abc",
        "--api-url", url, "--api-key-stdin",
    ]  # fmt: skip


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf"])
def test_timeout_setting_must_be_positive(run, prod, monkeypatch, value):
    monkeypatch.setenv("UP42KEYS_TIMEOUT", value)
    outcome = run("token")
    assert outcome.exit_code == 2
    assert "UP42KEYS_TIMEOUT" in one_line_error(outcome.stderr)


@pytest.fixture
def ca_bundle_loads(monkeypatch) -> list[tuple[object, ...]]:
    """The CA bundles this process loads from here on, from a fresh start (no context kept)."""
    loads: list[tuple[object, ...]] = []
    load = ssl.SSLContext.load_verify_locations

    def recorded(context: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        loads.append(args or tuple(kwargs.values()))
        load(context, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", recorded)
    client._tls_context.cache_clear()
    return loads


def test_mints_load_the_ca_bundle_once_per_process(
    run, server, prod, monkeypatch, tmp_path, ca_bundle_loads
):
    """Each load costs 30 to 50 ms of CPU, and httpx makes a context per proxy variable:
    four for every mint where HTTP_PROXY, HTTPS_PROXY and ALL_PROXY are set (as here)."""
    for mint in range(3):
        monkeypatch.setenv("UP42KEYS_CACHE_DIR", str(tmp_path / f"cache-{mint}"))
        outcome = run("token")
        assert outcome.exit_code == 0, outcome.stderr
    assert server.mints == 3
    assert len(ca_bundle_loads) == 1


def test_mints_trust_the_bundle_ssl_cert_file_names(
    run, prod, monkeypatch, tmp_path, ca_bundle_loads
):
    """As httpx's own default does: certifi's bundle, or SSL_CERT_FILE's, read anew when the
    variable changes in a long-running process."""
    import certifi

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    assert run("token").exit_code == 0
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert run("token", "--refresh").exit_code == 0
    assert [str(load[0]) for load in ca_bundle_loads] == [certifi.where(), str(bundle)]
