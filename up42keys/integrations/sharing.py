"""A token this process was handed by another, for processes that must never mint.

A Dask worker gets its profile's token from the client process
(``up42keys.dask.share``): it holds no secret, so it cannot mint, and it must
never open a keyring. Once a token was handed over here, ``get_token()`` and
``Up42Auth()`` on this process use it, without looking for a profile. The
token is kept in memory only; the newest one handed over wins.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from up42keys import settings
from up42keys.cache import TokenRecord
from up42keys.errors import Up42KeysError


@dataclass(frozen=True)
class SharedToken:
    """A profile's token as it travels to a worker: never the API key or password."""

    label: str
    api_url: str
    token: str
    expires_at: int

    def record(self) -> TokenRecord:
        return TokenRecord(self.token, self.expires_at, f"shared:{self.label}")


class _Held:
    """The newest token handed over; a condition wakes those waiting for a renewal."""

    def __init__(self) -> None:
        self.token: SharedToken | None = None
        self.renewed = threading.Condition()


_held = _Held()


def receive(shared: SharedToken) -> None:
    """Use ``shared`` from now on, unless a newer token arrived first (renewals may cross)."""
    with _held.renewed:
        old = _held.token
        if old is None or old.label != shared.label or shared.expires_at >= old.expires_at:
            _held.token = shared
            _held.renewed.notify_all()


def current(profile: str | None) -> SharedToken | None:
    """The token handed over for ``profile`` (None: whichever was), or None when none was."""
    shared = _held.token
    if shared is None or profile not in (None, shared.label):
        return None
    return shared


def latest(label: str, min_ttl: float) -> SharedToken:
    """The newest token for ``label``, once it has more than ``min_ttl`` seconds left.

    The client pushes each renewal while the old token still has min-ttl to
    live; when a push is late (a busy machine), this waits for it, up to the
    time a mint may take, rather than hand out a token about to expire. After
    that it returns what it has: UP42's answer then says what is wrong. On an
    event loop's thread it never waits: the renewal would arrive on that very
    loop (``client.run`` calls functions there). Raises when no token for
    ``label`` is held.
    """
    deadline = time.monotonic() + (0.0 if _on_event_loop() else settings.timeout())
    with _held.renewed:
        while True:
            shared = current(label)
            if shared is None:
                raise Up42KeysError(
                    f"no token for {label!r} was handed to this process",
                    "share it again from the client: up42keys.dask.share(client)",
                )
            left = deadline - time.monotonic()
            if shared.expires_at - time.time() > min_ttl or left <= 0:
                return shared
            _held.renewed.wait(left)


def _on_event_loop() -> bool:
    import asyncio  # only on a worker, where a token was handed over: get_token stays cheap

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def forget() -> None:
    """Back to a process that was handed nothing (a worker's teardown, and tests)."""
    with _held.renewed:
        _held.token = None
