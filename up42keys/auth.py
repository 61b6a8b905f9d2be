"""``Up42Auth``: an httpx auth that never sends an expired token, sync or async.

A client that runs for an hour outlives a dozen five-minute tokens. The auth
keeps the token in memory and renews it (through the same cache and lock as
the command line) once it has ``min_ttl`` seconds or fewer left, so a request
never leaves with a token that could expire on the way. When UP42 still
answers 401 (a token revoked early, a clock that is off), the auth mints a
new token once and sends the request once more; a second 401 reaches the
caller, since a new token did not help.

One lock guards the token, so any number of threads make one mint. An
asyncio or trio task never mints on the event loop's thread: the blocking
mint runs in a worker thread, and an async lock per event loop makes
concurrent tasks wait for that one mint instead of each starting a thread.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, Generator

import anyio
import anyio.to_thread
import httpx
from anyio.lowlevel import RunVar

from up42keys import settings, tokens
from up42keys.cache import TokenRecord


class Up42Auth(httpx.Auth):
    """Adds ``Authorization: Bearer <token>`` for a profile, renewing the token as needed.

    ``profile=None`` is resolved once, here, by the command line's rules
    (``UP42KEYS_PROFILE``, the environment credentials, the active profile):
    a running client keeps its project even when another shell switches the
    active profile. ``min_ttl=None`` means ``UP42KEYS_MIN_TTL``, else 60
    seconds. Raises the library's errors (for example ProfileNotFoundError)
    here, and from the request that needed a token it could not mint.
    """

    def __init__(self, profile: str | None = None, *, min_ttl: float | None = None) -> None:
        self._min_ttl = settings.min_ttl(min_ttl)
        self._target = tokens.resolve_target(profile)
        self._record: TokenRecord | None = None
        self._lock = threading.Lock()
        self._loop_lock: RunVar[anyio.Lock] = RunVar(f"up42keys-auth-{id(self)}")

    def _usable(self, stale: str | None) -> str | None:
        """The token in memory when it is fresh and is not the one that just got a 401."""
        record = self._record
        if record is None or record.token == stale or not record.is_fresh(self._min_ttl):
            return None
        return record.token

    def _token(self, stale: str | None = None) -> str:
        """A fresh token; ``stale`` is the token UP42 refused, which forces a new mint.

        Blocks while minting. Threads that wait for the lock find the token
        the first one minted, so a refused token is replaced once, however
        many requests it failed.
        """
        with self._lock:
            token = self._usable(stale)
            if token is not None:
                return token
            refresh = stale is not None
            self._record = tokens.get_record(self._target, min_ttl=self._min_ttl, refresh=refresh)
            return self._record.token

    def _async_lock(self) -> anyio.Lock:
        """This event loop's lock: an async lock cannot be shared between event loops."""
        lock = self._loop_lock.get(None)
        if lock is None:
            lock = anyio.Lock()
            self._loop_lock.set(lock)
        return lock

    async def _async_token(self, stale: str | None = None) -> str:
        token = self._usable(stale)
        if token is not None:
            return token
        async with self._async_lock():
            # The task that held the lock may have renewed the token meanwhile.
            token = self._usable(stale)
            if token is not None:
                return token
            return await anyio.to_thread.run_sync(self._token, stale)

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._token()
        response = yield _with_bearer(request, token)
        if response.status_code == 401:
            token = self._token(stale=token)
            if _replayable(request):
                yield _with_bearer(request, token)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._async_token()
        response = yield _with_bearer(request, token)
        if response.status_code == 401:
            token = await self._async_token(stale=token)
            if _replayable(request):
                yield _with_bearer(request, token)


def _with_bearer(request: httpx.Request, token: str) -> httpx.Request:
    request.headers["Authorization"] = f"Bearer {token}"
    return request


def _replayable(request: httpx.Request) -> bool:
    """True when the body can be sent again: bytes, text, JSON, a form or none at all.

    A streamed body (a generator, a file upload) was consumed by the first
    try; its 401 reaches the caller, and the next request gets the new token.
    """
    return isinstance(request.stream, httpx.ByteStream)
