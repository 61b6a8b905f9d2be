"""A token this process was handed by another, for processes that must never mint.

A Dask worker gets its profile's token from the client process
(``up42keys.dask.share``): it holds no secret, so it cannot mint, and it must
never open a keyring. Once a token was handed over here, ``get_token()`` and
``Up42Auth()`` on this process use it, without looking for a profile. The
token is kept in memory only; the newest one handed over wins.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

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
    """The newest token handed over, behind a lock (renewals may arrive on several threads)."""

    def __init__(self) -> None:
        self.token: SharedToken | None = None
        self.lock = threading.Lock()


_held = _Held()


def receive(shared: SharedToken) -> None:
    """Use ``shared`` from now on, unless a newer token arrived first (renewals may cross)."""
    with _held.lock:
        old = _held.token
        if old is None or old.label != shared.label or shared.expires_at >= old.expires_at:
            _held.token = shared


def current(profile: str | None) -> SharedToken | None:
    """The token handed over for ``profile`` (None: whichever was), or None when none was."""
    shared = _held.token
    if shared is None or profile not in (None, shared.label):
        return None
    return shared


def latest(label: str) -> SharedToken:
    """The newest token handed over for ``label``; raises when it was forgotten meanwhile."""
    shared = current(label)
    if shared is None:
        raise Up42KeysError(
            f"no token for {label!r} was handed to this process",
            "share it again from the client: up42keys.dask.share(client)",
        )
    return shared


def forget() -> None:
    """Back to a process that was handed nothing (a worker's teardown, and tests)."""
    with _held.lock:
        _held.token = None
