"""The Python API (get_token, profiles, Up42Auth) against the fake UP42 with short-lived tokens."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import anyio
import httpx
import pytest

import up42keys
from tests.conftest import API_KEY
from tests.fakeup42 import FakeUp42
from tests.helpers import claims
from up42keys.cache import TokenRecord
from up42keys.ops import tokens


@pytest.fixture
def record_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads that asked the core for a token record, in order."""
    calls: list[str] = []
    real = tokens.get_record

    def counting(*args: object, **kwargs: object) -> TokenRecord:
        calls.append(threading.current_thread().name)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tokens, "get_record", counting)
    return calls


def expiry(token: str) -> int:
    return int(claims(token)["exp"])


def outlived_three_tokens(server: FakeUp42) -> bool:
    """True once the server accepted three different tokens and the first one has expired."""
    seen = server.api_tokens
    return len(set(seen)) >= 3 and time.time() > expiry(seen[0]) + 0.2


# -- import cost -----------------------------------------------------------------------


def test_import_loads_neither_httpx_keyring_jwt_requests_nor_the_sdk() -> None:
    script = (
        "import sys, up42keys\n"
        "from up42keys import get_token, profiles, Profile, UsageError\n"
        "assert callable(get_token) and callable(profiles)\n"
        "heavy = ('httpx', 'keyring', 'jwt', 'requests', 'up42')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "from up42keys import Up42Auth\n"
        "print(Up42Auth.__mro__[1].__module__, Up42Auth.__mro__[1].__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "httpx Auth"]


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = up42keys.no_such_thing  # type: ignore[attr-defined]


# -- get_token and profiles ------------------------------------------------------------


def test_get_token_uses_the_cache_like_the_command(run, server, profile) -> None:
    token = up42keys.get_token()
    assert server.mints == 1
    assert up42keys.get_token("prod") == token
    assert run("token").stdout.strip() == token
    assert server.mints == 1
    renewed = up42keys.get_token(min_ttl=server.token_ttl + 1)
    assert renewed != token
    assert server.mints == 2


def test_get_token_reads_min_ttl_from_the_environment(server, profile, monkeypatch) -> None:
    first = up42keys.get_token()
    monkeypatch.setenv("UP42KEYS_MIN_TTL", str(server.token_ttl + 1))
    assert up42keys.get_token() != first
    assert server.mints == 2


def test_get_token_with_environment_credentials(server, project_id, monkeypatch) -> None:
    monkeypatch.setenv("UP42_PROJECT_ID", project_id)
    monkeypatch.setenv("UP42_PROJECT_API_KEY", API_KEY)
    monkeypatch.setenv("UP42_API_URL", server.url)
    token = up42keys.get_token()
    assert claims(token)["sub"] == project_id


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: up42keys.get_token("nope"), up42keys.ProfileNotFoundError),
        (lambda: up42keys.get_token(min_ttl=-1), up42keys.UsageError),
        (lambda: up42keys.get_token(min_ttl=float("nan")), up42keys.UsageError),
        (lambda: up42keys.get_token("bad/name"), up42keys.UsageError),
        (lambda: up42keys.Up42Auth("nope"), up42keys.ProfileNotFoundError),
        (lambda: up42keys.Up42Auth(min_ttl=-1), up42keys.UsageError),
    ],
)
def test_errors_are_the_command_lines_classes(
    profile, call: Callable[[], object], error: type[Exception]
) -> None:
    with pytest.raises(error) as raised:
        call()
    assert isinstance(raised.value, up42keys.Up42KeysError)


def test_no_active_profile(server) -> None:
    with pytest.raises(up42keys.ProfileNotFoundError, match="no profile is active"):
        up42keys.get_token()


def test_profiles_have_no_secrets(run, server, profile, project_id) -> None:
    assert up42keys.profiles()[0].name == "prod"
    run("rename", "prod", "b-prod")
    run(
        "add", "a-dev", "--project-id", project_id, "--api-url", server.url,
        "--api-key-stdin", "--no-verify", input=API_KEY + "\n",
    )  # fmt: skip
    listed = up42keys.profiles()
    assert [item.name for item in listed] == ["a-dev", "b-prod"]
    assert all(isinstance(item, up42keys.Profile) for item in listed)
    assert listed[0].project_id == project_id
    assert listed[0].api_url == server.url
    assert API_KEY not in repr(listed)


def test_profiles_when_there_are_none() -> None:
    assert up42keys.profiles() == []


# -- Up42Auth: renewal before expiry -----------------------------------------------------


def test_sync_client_outlives_several_tokens_without_a_401(server, profile) -> None:
    server.token_ttl = 3
    statuses = []
    deadline = time.monotonic() + 30
    with httpx.Client(auth=up42keys.Up42Auth(min_ttl=1)) as client:
        while not (server.api_tokens and outlived_three_tokens(server)):
            assert time.monotonic() < deadline, "tokens were not renewed"
            statuses.append(client.get(server.api_url).status_code)
            time.sleep(0.05)
    assert set(statuses) == {200}
    assert server.api_rejections == 0
    assert server.mints == len(set(server.api_tokens))


def test_async_client_outlives_several_tokens_without_a_401(server, profile) -> None:
    server.token_ttl = 3
    statuses = []

    async def main() -> None:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(auth=up42keys.Up42Auth(min_ttl=1)) as client:
            while not (server.api_tokens and outlived_three_tokens(server)):
                assert time.monotonic() < deadline, "tokens were not renewed"
                statuses.append((await client.get(server.api_url)).status_code)
                await anyio.sleep(0.05)

    anyio.run(main)
    assert set(statuses) == {200}
    assert server.api_rejections == 0
    assert server.mints == len(set(server.api_tokens))


def test_auth_pins_the_profile_it_started_with(run, server, profile, project_id) -> None:
    auth = up42keys.Up42Auth()
    run(
        "add", "other", "--project-id", project_id, "--api-url", server.url,
        "--api-key-stdin", input=API_KEY + "\n",
    )  # fmt: skip
    run("use", "other")
    with httpx.Client(auth=auth) as client:
        assert client.get(server.api_url).status_code == 200
    used = server.api_tokens[-1]
    assert used != (run("token", "other").stdout.strip())
    assert used == run("token", "prod").stdout.strip()


# -- Up42Auth: a 401 renews once and retries once ------------------------------------------


def test_sync_401_renews_once_and_retries(server, profile) -> None:
    with httpx.Client(auth=up42keys.Up42Auth()) as client:
        assert client.get(server.api_url).status_code == 200
        server.revoke(server.api_tokens[-1])
        response = client.request("GET", server.api_url, json={"a": 1})
        assert response.status_code == 200
        assert response.request.content == b'{"a":1}'
    assert server.api_rejections == 1
    assert server.mints == 2


def test_a_second_401_reaches_the_caller(server, profile, monkeypatch) -> None:
    with httpx.Client(auth=up42keys.Up42Auth()) as client:
        assert client.get(server.api_url).status_code == 200
        monkeypatch.setattr(server, "revoked", _EverythingRevoked())
        response = client.get(server.api_url)
    assert response.status_code == 401
    assert server.api_rejections == 2
    assert server.mints == 2


class _EverythingRevoked(set[str]):
    def __contains__(self, item: object) -> bool:
        return True


def test_streamed_body_is_not_sent_twice(server, profile) -> None:
    def body() -> Iterator[bytes]:
        yield b"streamed"

    with httpx.Client(auth=up42keys.Up42Auth()) as client:
        assert client.get(server.api_url).status_code == 200
        server.revoke(server.api_tokens[-1])
        refused = client.request("GET", server.api_url, content=body())
        assert refused.status_code == 401
        assert client.get(server.api_url).status_code == 200
    assert server.api_rejections == 1
    assert server.mints == 2


def test_async_401_renews_once_in_a_new_event_loop(server, profile, record_calls) -> None:
    auth = up42keys.Up42Auth()

    async def requests(count: int) -> list[int]:
        async with httpx.AsyncClient(auth=auth) as client:
            responses = []

            async def one() -> None:
                responses.append(await client.get(server.api_url))

            async with anyio.create_task_group() as group:
                for _ in range(count):
                    group.start_soon(one)
            return [response.status_code for response in responses]

    assert anyio.run(requests, 1) == [200]
    server.revoke(server.api_tokens[-1])
    assert anyio.run(requests, 8) == [200] * 8
    assert server.mints == 2
    assert len(record_calls) == 2
    assert server.api_rejections >= 1


def test_threads_refused_together_renew_once(server, profile) -> None:
    auth = up42keys.Up42Auth()
    with httpx.Client(auth=auth) as client:
        assert client.get(server.api_url).status_code == 200
    server.revoke(server.api_tokens[-1])
    statuses = in_threads(16, auth, server)
    assert statuses == [200] * 16
    assert server.mints == 2


# -- Up42Auth: many callers, one mint ---------------------------------------------------------


def in_threads(count: int, auth: up42keys.Up42Auth, server: FakeUp42) -> list[int]:
    barrier = threading.Barrier(count)

    with httpx.Client(auth=auth) as client, ThreadPoolExecutor(count) as pool:

        def call(_: int) -> int:
            barrier.wait(timeout=30)
            return client.get(server.api_url).status_code

        return list(pool.map(call, range(count)))


def test_many_threads_make_one_mint(server, profile, record_calls) -> None:
    statuses = in_threads(16, up42keys.Up42Auth(), server)
    assert statuses == [200] * 16
    assert server.mints == 1
    assert len(record_calls) == 1


def test_many_tasks_make_one_mint_in_one_worker_thread(server, profile, record_calls) -> None:
    auth = up42keys.Up42Auth()
    workers: list[str] = []
    real = auth._token

    def counting() -> str:
        workers.append(threading.current_thread().name)
        return real()

    auth._token = counting  # type: ignore[method-assign]

    async def main() -> list[int]:
        async with httpx.AsyncClient(auth=auth) as client:
            responses = []

            async def one() -> None:
                responses.append((await client.get(server.api_url)).status_code)

            async with anyio.create_task_group() as group:
                for _ in range(16):
                    group.start_soon(one)
            return responses

    assert anyio.run(main) == [200] * 16
    assert server.mints == 1
    assert len(record_calls) == 1
    assert len(workers) == 1
    assert workers[0] != threading.current_thread().name


def test_minting_never_blocks_the_event_loop(server, profile, monkeypatch) -> None:
    """The mint waits until another task has run: on the loop's own thread, it never would."""
    started = threading.Event()
    released = threading.Event()
    real = tokens.get_record

    def slow(*args: object, **kwargs: object) -> TokenRecord:
        started.set()
        assert released.wait(timeout=10), "the event loop was blocked while minting"
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tokens, "get_record", slow)

    async def release_once_minting() -> None:
        while not started.is_set():
            await anyio.sleep(0.01)
        released.set()

    async def main() -> int:
        async with anyio.create_task_group() as group:
            group.start_soon(release_once_minting)
            async with httpx.AsyncClient(auth=up42keys.Up42Auth()) as client:
                response = await client.get(server.api_url)
        return response.status_code

    assert anyio.run(main) == 200


def test_mint_failure_reaches_the_caller_as_its_error(server, profile, memory_keyring) -> None:
    memory_keyring.entries[("up42keys", "prod")] = "wrong-key"
    with (
        httpx.Client(auth=up42keys.Up42Auth()) as client,
        pytest.raises(up42keys.CredentialsRejectedError, match="up42keys set-secret prod"),
    ):
        client.get(server.api_url)
    assert server.api_tokens == []
