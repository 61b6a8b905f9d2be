"""Up42Auth with the real httpx and requests: the token goes to UP42's origin only, a 401 is
retried only where it answered the request the auth sent, and requests runs for hours.

Two fake servers listen on 127.0.0.1: ``server`` is the profile's UP42, ``foreign``
(another port, so another origin) stands for a cloud-storage host that must never
see the token. Both sign tokens with the same key, so a token that reached the
foreign host would be accepted there: only the Authorization header it records
tells whether it came.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import anyio
import httpx
import pytest
import requests

import up42keys
from tests.conftest import API_KEY
from tests.fakeup42 import REDIRECT_PATH, FakeUp42
from tests.helpers import run_python
from tests.test_python_api import _EverythingRevoked, outlived_three_tokens


@pytest.fixture
def foreign() -> Iterator[FakeUp42]:
    fake = FakeUp42().start()
    yield fake
    fake.stop()


def redirect_url(server: FakeUp42, to: str) -> str:
    """A URL on ``server`` that answers 307 to ``to`` (method and body kept)."""
    return f"{server.url}{REDIRECT_PATH}?{urllib.parse.urlencode({'to': to})}"


def authorizations(fake: FakeUp42) -> list[str | None]:
    """The Authorization header of every API request ``fake`` received, in order."""
    return [request.headers.get("Authorization") for request in fake.api_requests]


def origin_hits(server: FakeUp42, method: str, path: str) -> int:
    return sum(1 for r in server.api_requests if r.method == method and r.path == path)


async def async_call(auth: up42keys.Up42Auth, method: str, url: str, body: object = None) -> int:
    async with httpx.AsyncClient(auth=auth, follow_redirects=True) as client:
        return (await client.request(method, url, json=body)).status_code


# -- the origin rule ---------------------------------------------------------------------


def test_httpx_sends_no_token_to_another_origin(server, foreign, profile) -> None:
    auth = up42keys.Up42Auth()
    with httpx.Client(auth=auth) as client:
        assert client.get(foreign.api_url).status_code == 401
        assert client.get(server.api_url).status_code == 200
    assert anyio.run(async_call, auth, "GET", foreign.api_url) == 401
    assert authorizations(foreign) == [None, None]
    assert authorizations(server) == [f"Bearer {server.api_tokens[0]}"]
    assert server.mints == 1


def test_requests_sends_no_token_to_another_origin(server, foreign, profile) -> None:
    auth = up42keys.Up42Auth()
    with requests.Session() as session:
        session.auth = auth
        assert session.get(foreign.api_url).status_code == 401
        assert session.get(server.api_url).status_code == 200
    assert requests.get(foreign.api_url, auth=auth, timeout=10).status_code == 401
    assert requests.get(server.api_url, auth=auth, timeout=10).status_code == 200
    assert authorizations(foreign) == [None, None]
    assert authorizations(server) == [f"Bearer {server.api_tokens[0]}"] * 2
    assert server.mints == 1


def test_also_gives_the_token_to_the_origins_listed(server, foreign, profile) -> None:
    auth = up42keys.Up42Auth(also=[foreign.url + "/any/path?x=1"])
    with httpx.Client(auth=auth) as client:
        assert client.get(foreign.api_url).status_code == 200
    assert requests.get(foreign.api_url, auth=auth, timeout=10).status_code == 200
    assert authorizations(foreign) == [f"Bearer {up42keys.get_token()}"] * 2
    assert server.mints == 1


def test_origins_compare_scheme_host_and_port_with_default_ports(run, project_id) -> None:
    outcome = run(
        "add", "remote", "--project-id", project_id, "--api-url", "https://API.example.test",
        "--api-key-stdin", "--no-verify", input=API_KEY + "\n",
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.stderr
    auth = up42keys.Up42Auth("remote", also="http://storage.example.test:8080")
    covered = [
        "https://api.example.test/v2/assets",
        "https://api.example.test:443/v2/assets",
        "HTTPS://Api.Example.Test/",
        "http://storage.example.test:8080/file",
    ]
    not_covered = [
        "http://api.example.test/v2/assets",
        "https://api.example.test:8443/v2/assets",
        "https://api.example.test.evil.example/",
        "https://evil.example/?https://api.example.test",
        "https://api.example.test@evil.example/",
        "http://storage.example.test/file",
        "ftp://api.example.test/",
        "not a url",
    ]
    assert [auth.covers(url) for url in covered] == [True] * len(covered)
    assert [auth.covers(url) for url in not_covered] == [False] * len(not_covered)


@pytest.mark.parametrize("also", [["storage.example.test"], ["ftp://storage.example.test"], [""]])
def test_also_takes_http_urls_only(profile, also: list[str]) -> None:
    with pytest.raises(up42keys.UsageError, match="also= takes http"):
        up42keys.Up42Auth(also=also)


# -- redirects ---------------------------------------------------------------------------


def test_httpx_redirect_to_another_origin_carries_no_token(server, foreign, profile) -> None:
    auth = up42keys.Up42Auth()
    url = redirect_url(server, foreign.api_url)
    with httpx.Client(auth=auth, follow_redirects=True) as client:
        response = client.get(url)
    assert response.status_code == 401
    assert [r.status_code for r in response.history] == [307]
    assert anyio.run(async_call, auth, "GET", url) == 401
    assert authorizations(foreign) == [None, None]
    assert origin_hits(server, "GET", REDIRECT_PATH) == 2
    assert server.mints == 1


def test_requests_redirect_to_another_origin_carries_no_token(server, foreign, profile) -> None:
    url = redirect_url(server, foreign.api_url)
    with requests.Session() as session:
        session.auth = up42keys.Up42Auth()
        response = session.get(url, timeout=10)
    assert response.status_code == 401
    assert [r.status_code for r in response.history] == [307]
    assert authorizations(foreign) == [None]
    assert origin_hits(server, "GET", REDIRECT_PATH) == 1
    assert server.mints == 1


def test_httpx_post_redirected_to_a_401_reaches_the_origin_once(server, foreign, profile) -> None:
    auth = up42keys.Up42Auth()
    url = redirect_url(server, foreign.api_url)
    with httpx.Client(auth=auth, follow_redirects=True) as client:
        assert client.post(url, json={"order": 1}).status_code == 401
    assert origin_hits(server, "POST", REDIRECT_PATH) == 1
    assert anyio.run(async_call, auth, "POST", url, {"order": 2}) == 401
    assert origin_hits(server, "POST", REDIRECT_PATH) == 2
    assert [(r.method, r.body) for r in foreign.api_requests] == [
        ("POST", '{"order":1}'),
        ("POST", '{"order":2}'),
    ]
    assert authorizations(foreign) == [None, None]
    assert server.mints == 1


def test_requests_post_redirected_to_a_401_reaches_the_origin_once(
    server, foreign, profile
) -> None:
    url = redirect_url(server, foreign.api_url)
    response = requests.post(url, json={"order": 1}, auth=up42keys.Up42Auth(), timeout=10)
    assert response.status_code == 401
    assert origin_hits(server, "POST", REDIRECT_PATH) == 1
    assert [(r.method, r.body) for r in foreign.api_requests] == [("POST", '{"order": 1}')]
    assert authorizations(foreign) == [None]
    assert server.mints == 1


def test_same_origin_redirect_keeps_the_token(server, profile) -> None:
    url = redirect_url(server, server.api_url)
    with httpx.Client(auth=up42keys.Up42Auth(), follow_redirects=True) as client:
        assert client.get(url).status_code == 200
    assert requests.get(url, auth=up42keys.Up42Auth(), timeout=10).status_code == 200
    assert authorizations(server) == [f"Bearer {up42keys.get_token()}"] * 4


def test_a_401_to_the_request_itself_is_retried_with_redirects_on(server, profile) -> None:
    auth = up42keys.Up42Auth()
    url = redirect_url(server, server.api_url)
    with httpx.Client(auth=auth, follow_redirects=True) as client:
        assert client.get(server.api_url).status_code == 200
        server.revoke(server.api_tokens[-1])
        assert client.post(url, json={}).status_code == 200
    assert origin_hits(server, "POST", REDIRECT_PATH) == 2
    server.revoke(server.api_tokens[-1])
    assert requests.post(url, json={}, auth=auth, timeout=10).status_code == 200
    assert origin_hits(server, "POST", REDIRECT_PATH) == 4
    assert server.mints == 3


# -- 401s ----------------------------------------------------------------------------------


def test_several_401s_from_one_endpoint_cost_one_renewal(server, profile, monkeypatch) -> None:
    auth = up42keys.Up42Auth()
    with httpx.Client(auth=auth) as client:
        assert client.get(server.api_url).status_code == 200
        monkeypatch.setattr(server, "revoked", _EverythingRevoked())
        assert [client.get(server.api_url).status_code for _ in range(5)] == [401] * 5
        assert server.mints == 2
        assert requests.get(server.api_url, auth=auth, timeout=10).status_code == 401
        assert anyio.run(async_call, auth, "GET", server.api_url) == 401
        assert server.mints == 2
        # An answer that is not a 401 vouches for the token: its next 401 renews it again.
        monkeypatch.setattr(server, "revoked", set())
        assert client.get(server.api_url).status_code == 200
        server.revoke(server.api_tokens[-1])
        assert client.get(server.api_url).status_code == 200
    assert server.mints == 3


def test_requests_401_renews_once_and_retries_once(server, profile) -> None:
    auth = up42keys.Up42Auth()
    with requests.Session() as session:
        session.auth = auth
        assert session.get(server.api_url, timeout=10).status_code == 200
        server.revoke(server.api_tokens[-1])
        response = session.post(server.api_url, json={"a": 1}, timeout=10)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert response.request.headers["Authorization"] == f"Bearer {server.api_tokens[-1]}"
    assert [r.body for r in server.api_requests[1:]] == ['{"a": 1}', '{"a": 1}']
    assert server.api_rejections == 1
    assert server.mints == 2


def test_requests_streamed_body_is_not_sent_twice(server, profile) -> None:
    def body() -> Iterator[bytes]:
        yield b"streamed"

    auth = up42keys.Up42Auth()
    assert requests.get(server.api_url, auth=auth, timeout=10).status_code == 200
    server.revoke(server.api_tokens[-1])
    assert requests.post(server.api_url, data=body(), auth=auth, timeout=10).status_code == 401
    assert requests.get(server.api_url, auth=auth, timeout=10).status_code == 200
    assert server.api_rejections == 1
    assert server.mints == 2


def test_requests_second_401_reaches_the_caller(server, profile, monkeypatch) -> None:
    auth = up42keys.Up42Auth()
    assert requests.get(server.api_url, auth=auth, timeout=10).status_code == 200
    monkeypatch.setattr(server, "revoked", _EverythingRevoked())
    response = requests.get(server.api_url, auth=auth, timeout=10)
    assert response.status_code == 401
    assert [r.status_code for r in response.history] == [401]
    assert server.api_rejections == 2
    assert server.mints == 2


# -- requests over time and across threads ---------------------------------------------------


def test_requests_session_outlives_several_tokens_without_a_401(server, profile) -> None:
    server.token_ttl = 3
    statuses = []
    deadline = time.monotonic() + 30
    with requests.Session() as session:
        session.auth = up42keys.Up42Auth(min_ttl=1)
        while not (server.api_tokens and outlived_three_tokens(server)):
            assert time.monotonic() < deadline, "tokens were not renewed"
            statuses.append(session.get(server.api_url, timeout=10).status_code)
            time.sleep(0.05)
    assert set(statuses) == {200}
    assert server.api_rejections == 0
    assert server.mints == len(set(server.api_tokens))


def test_requests_threads_make_one_mint(server, profile) -> None:
    auth = up42keys.Up42Auth()
    barrier = threading.Barrier(16)

    def call(_: int) -> int:
        barrier.wait(timeout=30)
        return requests.get(server.api_url, auth=auth, timeout=10).status_code

    with ThreadPoolExecutor(16) as pool:
        assert list(pool.map(call, range(16))) == [200] * 16
    assert server.mints == 1


def test_httpx_users_never_import_requests(server, project_id) -> None:
    script = (
        "import sys, httpx, up42keys\n"
        "auth = up42keys.Up42Auth()\n"
        "with httpx.Client(auth=auth) as client:\n"
        f"    assert client.get({server.api_url!r}).status_code == 200\n"
        "print('requests' in sys.modules)\n"
    )
    environment = {
        "UP42_PROJECT_ID": project_id,
        "UP42_PROJECT_API_KEY": API_KEY,
        "UP42_API_URL": server.url,
    }
    done = run_python(script, environment)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert server.mints == 1
