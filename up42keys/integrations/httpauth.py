"""``Up42Auth``: an auth for httpx (sync and async) and requests that never sends an expired
token, and never sends one to anyone but UP42.

A client that runs for an hour outlives a dozen five-minute tokens. The auth
keeps the token in memory and renews it (through the same cache and lock as
the command line) once it has ``min_ttl`` seconds or fewer left, so a request
never leaves with a token that could expire on the way.

The token is a bearer credential: whoever sees it can act as the user until
it expires. UP42 answers with download links on cloud-storage hosts, so a
client that follows one would hand the token to a third party. The auth
therefore sets ``Authorization`` only on requests to the profile's API origin
(scheme, host and port) and to origins the caller lists in ``also``; both
httpx and requests drop the header themselves when a redirect leaves the
origin, and the auth never puts it back.

When UP42 still answers 401 (a token revoked early, a clock that is off), the
auth mints a new token once and sends the request once more, but only when
that 401 answered the very request the auth sent (httpx runs an auth around
a whole redirect chain, and a 401 from a redirect's far end says nothing about
UP42's token) and only when the body can be sent again. A token minted for a
401 that is refused as well is not renewed on the next 401: a new token did
not help, so an endpoint that keeps answering 401 does not cost a mint per
request. The first other answer to a request with that token lifts the ban.

One lock guards the token, so any number of threads make one mint. An
asyncio or trio task never mints on the event loop's thread: the blocking
mint runs in a worker thread, and an async lock per event loop makes
concurrent tasks wait for that one mint instead of each starting a thread.
requests is never imported here unless a requests response needs a retry,
so neither ``import up42keys`` nor httpx users pay for it.
"""

from __future__ import annotations

import functools
import threading
import urllib.parse
from collections.abc import AsyncGenerator, Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
import httpx
from anyio.lowlevel import RunVar

from up42keys import settings
from up42keys.cache import TokenRecord
from up42keys.errors import UsageError
from up42keys.integrations import sharing
from up42keys.ops import tokens

if TYPE_CHECKING:
    import requests

    _RequestsRequest = TypeVar("_RequestsRequest", requests.PreparedRequest, requests.Request)

_T = TypeVar("_T")
Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Up42Auth(httpx.Auth):
    """Adds ``Authorization: Bearer <token>`` for a profile, renewing the token as needed.

    ``profile=None`` is resolved once, here, by the command line's rules
    (``UP42KEYS_PROFILE``, the environment credentials, the directory's
    ``.up42keys-profile``, the active profile):
    a running client keeps its project even when another shell switches the
    active profile. ``min_ttl=None`` means ``UP42KEYS_MIN_TTL``, else 60
    seconds. ``also`` lists further URLs whose origins get the token (only
    their scheme, host and port count). Raises the library's errors (for
    example ProfileNotFoundError) here, and from the request that needed a
    token it could not mint.
    """

    def __init__(
        self,
        profile: str | None = None,
        *,
        min_ttl: float | None = None,
        also: Iterable[str] | str = (),
    ) -> None:
        self._min_ttl = settings.min_ttl(min_ttl)
        # A process handed a token (a Dask worker: up42keys.integrations.sharing) never mints.
        shared = sharing.current(profile)
        self._shared_label = shared.label if shared else ""
        self._target: tokens.Target | None = None
        if shared is None:
            self._target = target = tokens.resolve_target(profile)
            api_url = target.api_url
        else:
            api_url = shared.api_url
        extra = [also] if isinstance(also, str) else list(also)
        self._origins = frozenset([_checked_origin(api_url), *map(_checked_origin, extra)])
        self._record: TokenRecord | None = None
        # A token minted in answer to a 401 and refused since (see the module's docstring).
        self._doubtful: str | None = None
        self._lock = threading.Lock()
        self._loop_lock: RunVar[anyio.Lock] = RunVar(f"up42keys-auth-{id(self)}")

    def __deepcopy__(self, memo: dict[int, object]) -> Up42Auth:
        """The same auth: pystac-client deep-copies its request modifier (up42-py's stac_client),
        and copies would each mint their own token and could not share a lock."""
        return self

    def covers(self, url: str) -> bool:
        """True when a request to ``url`` gets the token: its origin is UP42's or in ``also``."""
        return _origin(url) in self._origins

    # -- the token ------------------------------------------------------------------------

    def _current(self, refused: str | None) -> str | None:
        """The token in memory when it is fresh and is not the one that just got a 401."""
        record = self._record
        if record is None or record.token == refused or not record.is_fresh(self._min_ttl):
            return None
        return record.token

    def _mint(self, *, refresh: bool) -> str:
        """Callers hold the lock. Threads that waited for it find the token the first one made."""
        if self._target is None:
            self._record = sharing.latest(self._shared_label, self._min_ttl).record()
        else:
            self._record = tokens.get_record(self._target, min_ttl=self._min_ttl, refresh=refresh)
        return self._record.token

    def _token(self) -> str:
        """A fresh token; blocks while minting."""
        with self._lock:
            return self._current(None) or self._mint(refresh=False)

    def _renewal(self, refused: str) -> str | None:
        """The token to retry with after UP42 refused ``refused``, or None when a new one would
        not help (``refused`` was itself minted for a 401). A token already replaced is not
        renewed again, however many requests it failed."""
        with self._lock:
            token = self._current(refused)
            if token is None and refused != self._doubtful:
                token = self._doubtful = self._mint(refresh=True)
            return token

    def _note_answer(self, token: str, status: int | None) -> bool:
        """True when UP42 refused ``token``: ``status`` answered the request this auth sent
        itself (None: this answer came from elsewhere, the far end of a redirect).

        Any other answer to that request vouches for a token minted for a 401.
        Without the lock: at worst a race costs one more mint.
        """
        if status is None:
            return False
        if status == 401:
            return True
        if self._doubtful == token:
            self._doubtful = None
        return False

    def _async_lock(self) -> anyio.Lock:
        """This event loop's lock: an async lock cannot be shared between event loops."""
        lock = self._loop_lock.get(None)
        if lock is None:
            lock = anyio.Lock()
            self._loop_lock.set(lock)
        return lock

    async def _off_loop(self, refused: str | None, work: Callable[[], _T]) -> _T | str:
        """The token in memory when it will do, else ``work`` run once in a worker thread."""
        token = self._current(refused)
        if token is not None:
            return token
        async with self._async_lock():
            # The task that held the lock may have renewed the token meanwhile.
            token = self._current(refused)
            if token is not None:
                return token
            return await anyio.to_thread.run_sync(work)

    # -- httpx ----------------------------------------------------------------------------

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        if not self.covers(str(request.url)):
            yield request
            return
        token = self._token()
        response = yield _with_bearer(request, token)
        if self._note_answer(token, _own_status(response, request)):
            renewed = self._renewal(token)
            if renewed is not None and _replayable(request):
                response = yield _with_bearer(request, renewed)
                self._note_answer(renewed, _own_status(response, request, earlier=1))

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self.covers(str(request.url)):
            yield request
            return
        token = await self._off_loop(None, self._token)
        response = yield _with_bearer(request, token)
        if self._note_answer(token, _own_status(response, request)):
            renewed = await self._off_loop(token, functools.partial(self._renewal, token))
            if renewed is not None and _replayable(request):
                response = yield _with_bearer(request, renewed)
                self._note_answer(renewed, _own_status(response, request, earlier=1))

    # -- requests -------------------------------------------------------------------------

    def __call__(self, request: _RequestsRequest) -> _RequestsRequest:
        """requests' auth protocol (``Session.auth``, ``auth=``, pystac-client's request modifier).

        The response hook retries a 401 once, as ``requests.auth.HTTPDigestAuth``
        does. requests calls it for every redirect hop too (a hop copies the
        request's hooks) but the first response it sees answers the request
        authenticated here: requests runs hooks before it follows a redirect.
        """
        if request.url is None or not self.covers(request.url):
            return request
        token = self._token()
        request.headers["Authorization"] = f"Bearer {token}"
        request.register_hook("response", self._requests_hook(token))  # type: ignore[no-untyped-call]
        return request

    def _requests_hook(self, token: str) -> Callable[..., requests.Response]:
        first = True

        def on_response(response: requests.Response, **send_options: Any) -> requests.Response:
            nonlocal first
            status, first = (response.status_code if first else None), False
            if not self._note_answer(token, status):
                return response
            renewed = self._renewal(token)
            if renewed is None or not isinstance(response.request.body, (bytes, str, type(None))):
                return response
            again = _resend(response, renewed, send_options)
            self._note_answer(renewed, again.status_code)
            return again

        return on_response


def _origin(url: str) -> Origin | None:
    """Scheme, host and port, with the scheme's default port filled in; None for no http(s) URL."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname, port or _DEFAULT_PORTS[scheme]


def _checked_origin(url: str) -> Origin:
    origin = _origin(url) if isinstance(url, str) else None
    if origin is None:
        raise UsageError(
            f"also= takes http(s) URLs such as https://storage.example.com, not {url!r}"
        )
    return origin


def _with_bearer(request: httpx.Request, token: str) -> httpx.Request:
    request.headers["Authorization"] = f"Bearer {token}"
    return request


def _own_status(
    response: httpx.Response, request: httpx.Request, *, earlier: int = 0
) -> int | None:
    """The status of the answer to ``request`` itself, not to a request a redirect made of it.

    httpx hands the auth the last response of a redirect chain, whose history
    holds the ``earlier`` answers this auth flow got before and then the chain:
    the chain's first response (a 3xx, where there is a chain) answered the
    request the auth sent.
    """
    first = [*response.history, response][earlier]
    return first.status_code if first.request is request else None


def _replayable(request: httpx.Request) -> bool:
    """True when the body can be sent again: bytes, text, JSON, a form or none at all.

    A streamed body (a generator, a file upload) was consumed by the first
    try; its 401 reaches the caller, and the next request gets the new token.
    """
    return isinstance(request.stream, httpx.ByteStream)


def _resend(
    response: requests.Response, token: str, send_options: dict[str, Any]
) -> requests.Response:
    """Send the request of a 401 once more with a new token, as HTTPDigestAuth.handle_401 does."""
    from requests.cookies import extract_cookies_to_jar

    _ = response.content  # read the 401 to the end, so that its connection can be reused
    response.close()
    retry = response.request.copy()
    extract_cookies_to_jar(retry._cookies, response.request, response.raw)  # type: ignore[attr-defined,no-untyped-call]
    retry.prepare_cookies(retry._cookies)  # type: ignore[attr-defined]
    retry.headers["Authorization"] = f"Bearer {token}"
    # requests builds a redirect of the answer from the request it sent first, not from this
    # copy: that one gets the new token too (and requests drops it where the redirect leaves
    # the origin).
    response.request.headers["Authorization"] = retry.headers["Authorization"]
    again = response.connection.send(retry, **send_options)
    again.history.append(response)
    again.request = retry
    return again
