"""One deadline per HTTP request, from connecting to the last byte of the body.

httpx's timeouts apply to each socket operation: a server that sends one byte
a second, an endless chunked body or a ``100 Continue`` every second keeps a
request alive for ever while each read succeeds. The client therefore hands
httpcore a network backend whose every connect, read and write waits no longer
than what is left of the request's deadline, and fails as a timeout once none
is left. Imported by the client only when it sends a request (httpcore is heavy).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import httpcore


class Deadline:
    """The moment the current request must be over by (``time.monotonic``), once started."""

    def __init__(self) -> None:
        self._end: float | None = None

    def start(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def left(self, timeout: float | None, expired: type[Exception]) -> float | None:
        """``timeout`` shortened to what is left; ``expired`` raised when nothing is."""
        if self._end is None:
            return timeout
        left = self._end - time.monotonic()
        if left <= 0:
            raise expired("the request's deadline passed")
        return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, left), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class Backend(httpcore.NetworkBackend):
    """httpcore's own synchronous backend, with every wait cut to the deadline."""

    def __init__(self, deadline: Deadline) -> None:
        self._backend = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, left, local_address, socket_options)
        return _Stream(stream, self._deadline)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _Stream(
            self._backend.connect_unix_socket(path, left, socket_options), self._deadline
        )

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def install(http: Any, deadline: Deadline) -> None:
    """Put the deadline's backend under every connection pool of an httpx client.

    httpx builds its pools itself (one per proxy mount too) and has no option
    for a network backend, so it is set on each pool it made.
    """
    transports = [http._transport, *http._mounts.values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if pool is not None:
            pool._network_backend = Backend(deadline)
