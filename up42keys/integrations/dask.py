"""Dask: the profile's token goes to every worker, the secret never does.

``share(client)`` mints in the client process, through the usual cache, lock
and keyring, and registers a ``distributed`` WorkerPlugin that carries the
token and its expiry (``SharedToken``), nothing else. The scheduler keeps the
newest plugin and runs its ``setup`` on every worker before that worker's
first task, on workers that join later too, and again on each renewal: the
client's keeper registers a new plugin under the same name shortly before the
old token drops under min-ttl.

On a worker, ``setup`` hands the token to ``up42keys.integrations.sharing``
(so ``get_token()`` and ``Up42Auth()`` use it, and never look for a profile
or a keyring), writes it as a GDAL header file (0600, in a 0700 directory of
its own, removed when the worker exits) and scopes that file to the API
origin in every GDAL the worker loads, as ``up42keys.gdal.env`` does. When
the client process ends, the workers' tokens simply expire.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
from typing import Any

from distributed import Client, WorkerPlugin

from up42keys import files
from up42keys.cache import TokenRecord
from up42keys.errors import GdalScopingError
from up42keys.integrations import gdal, sharing
from up42keys.integrations.sharing import SharedToken

PLUGIN_NAME = "up42keys-token"


class TokenPlugin(WorkerPlugin):
    """What travels to the workers: the token, its expiry, the label and the API URL."""

    name = PLUGIN_NAME
    idempotent = False

    def __init__(self, shared: SharedToken) -> None:
        self.shared = shared

    def setup(self, worker: Any) -> None:
        _WORKER.install(self.shared)


class TokenSharing:
    """The client side of ``share``: a keeper that renews, and pushes each token to the workers.

    ``push_seconds`` is how long the last push took to reach every worker.
    ``stop`` ends the renewals (the workers keep their last token until it expires).
    """

    def __init__(self, client: Client, keeper: gdal.HeaderFileKeeper) -> None:
        self.client = client
        self.keeper = keeper
        self.push_seconds = 0.0

    def push(self, record: TokenRecord) -> None:
        """Register the plugin with ``record``: the scheduler runs its setup on every worker."""
        shared = SharedToken(
            self.keeper.target.label, self.keeper.target.api_url, record.token, record.expires_at
        )
        started = time.perf_counter()
        self.client.register_plugin(TokenPlugin(shared), name=PLUGIN_NAME)
        self.push_seconds = time.perf_counter() - started

    def stop(self) -> None:
        self.keeper.stop()


def share(
    client: Client, profile: str | None = None, *, min_ttl: float | None = None
) -> TokenSharing:
    """Give every worker of ``client``, present and future, ``profile``'s token, kept fresh.

    ``profile=None`` means what the command line would use; ``min_ttl`` is
    how long a token must still live when it reaches the workers (None:
    ``UP42KEYS_MIN_TTL``, else 60 s). The secret is read here, once, and
    stays in this process. Renewals run while this process lives.
    """
    keeper = gdal.HeaderFileKeeper(profile, min_ttl=min_ttl, on_error=gdal.warn)
    keeper.start()
    try:
        sharing_ = TokenSharing(client, keeper)
        sharing_.push(keeper.record)
    except BaseException:
        keeper.stop()
        raise
    keeper.listeners.append(sharing_.push)
    atexit.register(keeper.stop)
    return sharing_


class _WorkerState:
    """A worker's side: its header file and the GDAL prefixes already scoped to it."""

    def __init__(self) -> None:
        self.directory: str | None = None
        self.scoped: set[str] = set()
        self.lock = threading.Lock()

    def install(self, shared: SharedToken) -> None:
        sharing.receive(shared)
        newest = sharing.current(shared.label) or shared
        with self.lock:
            if self.directory is None:
                self.directory = tempfile.mkdtemp(prefix="up42keys-worker-")
                atexit.register(shutil.rmtree, self.directory, True)
            path = os.path.join(self.directory, gdal.HEADER_FILE_NAME)
            files.atomic_write(path, gdal.header_text(newest.token))
            prefix = gdal.vsicurl_prefix(shared.api_url)
            if prefix not in self.scoped:
                self.scoped.add(prefix)
                for library in _scoping_libraries():
                    library.set(prefix, gdal.HEADER_OPTION, path)


def _scoping_libraries() -> list[gdal.Library]:
    """The worker's GDALs that can scope the header file; none is fine when it reads no COG."""
    try:
        return gdal.scoping_libraries()
    except GdalScopingError:
        return []


_WORKER = _WorkerState()
