"""up42keys.sdk against the installed up42-py, on the fake UP42 at 127.0.0.1.

The SDK must never reach a real host: its version check (a request to PyPI
when ``up42`` is imported) is off, every proxy variable points at a dead
local port (so a request that slipped past the fake goes nowhere), the
in-process resolver answers loopback names only (conftest), and the SDK's
URLs are pointed at the fake. up42-py has no supported way to change its
hosts (``up42.host`` builds them from the region), so that last part patches
its internals, here in the test and never in the product.
"""

from __future__ import annotations

import copy
import gzip
import importlib.metadata
import textwrap
import time
from types import ModuleType

import pytest

import up42keys
from tests.conftest import API_KEY, PASSWORD
from tests.fakeup42 import STAC_PATH, USERINFO_PATH, FakeUp42, Fault, closed_port_url
from tests.helpers import add_profile, run_python
from tests.test_python_api import outlived_three_tokens
from up42keys import inputs

USERNAME = "jane@example.com"
PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def offline_environment() -> dict[str, str]:
    """The SDK's version check off, and every proxy a dead port except for 127.0.0.1."""
    dead = closed_port_url()
    return {
        "UP42_DISABLE_VERSION_CHECK": "true",
        **dict.fromkeys(PROXY_VARIABLES, dead),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


@pytest.fixture
def up42(server: FakeUp42, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The installed up42-py, offline, its hosts on the fake, its workspace restored after."""
    for name, value in offline_environment().items():
        monkeypatch.setenv(name, value)
    import up42 as sdk
    from up42 import base, host

    monkeypatch.setattr(host, "endpoint", lambda path: server.url + path)
    monkeypatch.setattr(host, "token_endpoint", lambda: server.url + "/sdk-must-not-sign-in")
    monkeypatch.setattr(host, "user_info_endpoint", lambda: server.url + USERINFO_PATH)
    monkeypatch.setattr(host, "REGION", host.REGION)
    for attribute in ("_id", "_session", "_auth"):
        monkeypatch.setattr(base.workspace, attribute, None)
    return sdk


@pytest.fixture
def account(run, server: FakeUp42) -> str:
    """An account profile ``me`` on the fake, signed in once by ``add`` (a password grant)."""
    server.add_account(USERNAME, PASSWORD)
    add_profile(run, server, "me", USERNAME, "--api-url", server.url, check=True)
    assert server.grants == {"password": 1}
    return "me"


def test_sdk_runs_on_the_profile_with_up42keys_tokens(server, up42, account) -> None:
    workspace_id = up42keys.sdk.authenticate("me")
    assert workspace_id == server.workspaces[USERNAME]
    assert up42.base.workspace.id == workspace_id
    assert isinstance(up42.base.workspace.auth, up42keys.Up42Auth)
    response = up42.base.workspace.session.get(server.api_url)
    assert response.status_code == 200
    assert list(up42.Order.all()) == []
    # Everything the fake accepted was up42keys' cached token, sent as the SDK sends it.
    token = up42keys.get_token("me")
    assert set(server.api_tokens) == {token}
    assert response.request.headers["User-Agent"].startswith("up42-py/")
    assert server.clients == {"up42-api": 1}
    assert server.grants == {"password": 1}
    assert [r.path for r in server.requests] == ["/realms/public/protocol/openid-connect/token"]


def test_sdk_session_outlives_tokens_through_the_refresh_grant(
    run, server, up42, account, monkeypatch
) -> None:
    server.token_ttl = 3
    assert run("token", "--refresh").exit_code == 0  # the five-minute token from add goes
    monkeypatch.setenv("UP42KEYS_MIN_TTL", "1")
    up42keys.sdk.authenticate()  # the active profile: add made "me" active
    session = up42.base.workspace.session
    statuses = []
    deadline = time.monotonic() + 30
    while not outlived_three_tokens(server):
        assert time.monotonic() < deadline, "tokens were not renewed"
        statuses.append(session.get(server.api_url).status_code)
        time.sleep(0.05)
    assert set(statuses) == {200}
    assert server.api_rejections == 0
    assert server.grants["password"] == 1
    assert server.grants["refresh_token"] >= 2
    assert "up42-sdk" not in server.clients


def test_stac_client_works_and_shares_the_auth(server, up42, account) -> None:
    up42keys.sdk.authenticate("me")
    auth = up42.base.workspace.auth
    assert copy.deepcopy(auth) is auth
    client = up42.stac_client()
    assert list(client.get_collections()) == []
    stac = [r for r in server.api_requests if r.path.startswith(STAC_PATH)]
    assert len(stac) >= 2
    assert {r.headers.get("Authorization") for r in stac} == {f"Bearer {up42keys.get_token('me')}"}
    assert "up42-sdk" not in server.clients


def test_sdk_region_is_the_profiles(run, server, up42, account) -> None:
    add_profile(
        run, server, "me-sa", USERNAME, "--api-url", server.url, "--region", "sa", check=True
    )
    up42keys.sdk.authenticate("me-sa")
    assert up42.host.REGION == "sa"
    up42keys.sdk.authenticate("me")
    assert up42.host.REGION == "eu"


def test_a_project_profile_says_to_add_an_account(server, up42, profile) -> None:
    with pytest.raises(up42keys.UsageError) as raised:
        up42keys.sdk.authenticate("prod")
    message = raised.value.message
    assert "\n" not in message
    assert "up42keys add NAME --account --username EMAIL" in message
    assert up42.base.workspace._session is None


def test_environment_credentials_are_a_project_too(server, up42, project_id, monkeypatch) -> None:
    monkeypatch.setenv("UP42_PROJECT_ID", project_id)
    monkeypatch.setenv("UP42_PROJECT_API_KEY", API_KEY)
    monkeypatch.setenv("UP42_API_URL", server.url)
    with pytest.raises(up42keys.UsageError, match="UP42_PROJECT_ID is a project; add an account"):
        up42keys.sdk.authenticate()
    assert server.mints == 0


def fake_version(monkeypatch: pytest.MonkeyPatch, version: str | None) -> None:
    """Make importlib.metadata report ``version`` for up42-py (None: not installed)."""
    real = importlib.metadata.version

    def version_of(name: str) -> str:
        if name != "up42-py":
            return real(name)
        if version is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return version

    monkeypatch.setattr(importlib.metadata, "version", version_of)


def test_no_sdk_installed_says_how_to_install_it(server, account, monkeypatch) -> None:
    fake_version(monkeypatch, None)
    with pytest.raises(up42keys.Up42KeysError) as raised:
        up42keys.sdk.authenticate("me")
    assert raised.value.message == (
        "up42-py (UP42's SDK) is not installed; install it with pip install 'up42-py>=3.0,<5'"
    )


@pytest.mark.parametrize("version", ["2.6.0", "5.0.0", "5.0.0rc1"])
def test_an_unsupported_sdk_names_the_supported_range(
    server, up42, account, monkeypatch, version: str
) -> None:
    fake_version(monkeypatch, version)
    with pytest.raises(up42keys.UsageError, match=r"supports up42-py >=3\.0, <5, not "):
        up42keys.sdk.authenticate("me")
    assert up42.base.workspace._session is None


def test_a_failed_userinfo_changes_nothing_in_the_sdk(server, up42, account, monkeypatch) -> None:
    from up42keys.integrations import up42py

    monkeypatch.setattr(up42py, "USERINFO_PATH", "/v2/no-such-path")
    before = {name: getattr(up42.host, name) for name in up42py.HOST_NAMES}
    with pytest.raises(up42keys.Up42UnavailableError, match="did not give the workspace ID"):
        up42keys.sdk.authenticate("me")
    assert up42.base.workspace._session is None
    assert {name: getattr(up42.host, name) for name in up42py.HOST_NAMES} == before


HOSTILE_USERINFO = {
    "nested too deeply": Fault(raw_body=b"[" * 100_000 + b"]" * 100_000),
    "more than 1 MiB": Fault(json_body={"sub": "w", "pad": "x" * (2 * inputs.MIB)}),
    "gzip bomb": Fault(
        raw_body=gzip.compress(b'{"sub": "' + b"x" * (64 * inputs.MIB) + b'"}'),
        headers={"Content-Encoding": "gzip"},
    ),
    "not UTF-8": Fault(raw_body=b'{"sub": "\xff"}'),
}


@pytest.mark.parametrize("case", HOSTILE_USERINFO)
def test_a_hostile_userinfo_answer_is_one_error(server, up42, account, case) -> None:
    """The userinfo answer goes through the one reader, as every server answer does: one
    Up42UnavailableError, never a RecursionError or the whole body in memory."""
    server.userinfo_faults.append(HOSTILE_USERINFO[case])
    with pytest.raises(up42keys.Up42UnavailableError) as raised:
        up42keys.sdk.authenticate("me")
    assert len(str(raised.value).splitlines()) == 1
    expected = {"gzip bomb": "more than 1 MiB", "not UTF-8": "not UTF-8"}.get(case, case)
    assert expected in str(raised.value)
    assert up42.base.workspace._session is None


def test_sdk_in_a_user_process(server, up42keys, isolated_home) -> None:
    """As a notebook runs it: the installed up42keys and up42-py, in a process of their own."""
    server.add_account(USERNAME, PASSWORD)
    add_profile(up42keys, server, "me", USERNAME, "--api-url", server.url, check=True)
    script = textwrap.dedent(
        f"""
        import json, socket
        real = socket.getaddrinfo
        def loopback_only(host, *args, **kwargs):
            assert host in ("127.0.0.1", "localhost"), host
            return real(host, *args, **kwargs)
        socket.getaddrinfo = loopback_only

        import up42
        from up42 import host  # the test's part: the SDK's hosts on the fake
        host.endpoint = lambda path: {server.url!r} + path
        host.user_info_endpoint = lambda: {server.url!r} + {USERINFO_PATH!r}
        host.token_endpoint = lambda: {server.url!r} + "/sdk-must-not-sign-in"

        import up42keys.sdk
        workspace_id = up42keys.sdk.authenticate("me")
        response = up42.base.workspace.session.get({server.api_url!r})
        collections = list(up42.stac_client().get_collections())
        print(json.dumps([workspace_id, response.status_code, len(collections)]))
        """
    )
    done = run_python(script, offline_environment())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f'["{server.workspaces[USERNAME]}", 200, 0]'
    assert server.clients == {"up42-api": 1}
    assert server.grants == {"password": 1}


@pytest.mark.parametrize(
    ("client_id", "status"), [("up42-api", 200), ("up42-sdk", 200), ("x", 401)]
)
def test_the_fake_takes_the_client_ids_up42_takes(server, client_id: str, status: int) -> None:
    """UP42's docs sign in as up42-api, up42-py 2.x-4.x as up42-sdk: the fake takes both."""
    import httpx

    server.add_account(USERNAME, PASSWORD)
    form = {"grant_type": "password", "username": USERNAME, "password": PASSWORD}
    form |= {"scope": "openid", "client_id": client_id}
    response = httpx.post(server.url + "/realms/public/protocol/openid-connect/token", data=form)
    assert response.status_code == status
    assert server.clients == ({client_id: 1} if status == 200 else {})
