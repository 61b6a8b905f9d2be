"""Cross-process locks, with a wait that ends when the holder is stuck, in a clear error.

The order in which they are taken is written down once, in up42keys.state.

A waiter gives up only when the holder is stuck: when nothing moved for
longer than a mint may take (``settings.lock_timeout``), not after a fixed
wait of its own. In a storm each holder may be quick while the queue before a
waiter is long, and on a loaded machine one holder may be slow yet working.
So each holder writes a new stamp (its PID and random bytes) next to the lock,
in ``NAME.lock.holder``, when it takes the lock and then every
``beat(wait)`` seconds from a thread of its own; a waiter that sees the stamp
change starts counting again. A holder that ends frees the lock (the OS
releases it); one that is stopped or frozen beats no more, and is what the
error names.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from up42keys import files, paths, settings
from up42keys.errors import LockTimeoutError

HOLDER_SUFFIX = ".holder"


@contextmanager
def hold(lock_path: str, what: str) -> Iterator[None]:
    """Hold the lock at ``lock_path``; give up when one holder kept it longer than a mint."""
    import filelock

    files.ensure_private_dir(os.path.dirname(lock_path))
    wait = settings.lock_timeout()
    # One instance per path, so that a holder may take the lock again (a mint inside ``add``).
    lock = filelock.FileLock(lock_path, mode=files.FILE_MODE, is_singleton=True)
    holder_path = lock_path + HOLDER_SUFFIX
    holder, since = _holder(holder_path), time.monotonic()
    while True:
        try:
            # One try of a beat's length: a waiter looks at the stamp as often as it changes.
            lock.acquire(timeout=beat(wait))
            break
        except filelock.Timeout:
            now, seen = time.monotonic(), _holder(holder_path)
            if seen != holder:
                holder, since = seen, now
            elif now - since >= wait:
                raise LockTimeoutError(
                    f"another up42keys process has held the lock on {what} for {wait:.1f} s "
                    f"without progress, longer than a mint may take{_named(holder)}",
                    f"try again, or allow more time with {settings.TIMEOUT_ENV}",
                ) from None
    beating = threading.Event()
    try:
        if lock.lock_counter == 1:
            _announce(holder_path)
            _start_beating(holder_path, beat(wait), beating)
        yield
    finally:
        beating.set()
        lock.release()


def beat(wait: float) -> float:
    """How often a holder shows it is alive: often enough for any waiter's ``wait``."""
    return min(1.0, wait / 4)


def _start_beating(holder_path: str, every: float, stop: threading.Event) -> None:
    def keep_announcing() -> None:
        while not stop.wait(every):
            try:
                _announce(holder_path)
            except OSError:  # the cache was removed meanwhile: nothing left to wait for
                return

    thread = threading.Thread(target=keep_announcing, name="up42keys-lock-beat", daemon=True)
    # Started with SIGINT, SIGTERM and SIGHUP blocked, which it inherits: held signals
    # (files.signals_held, in the main thread) are then never taken by this thread.
    with files.signals_held():
        thread.start()


def _announce(holder_path: str) -> None:
    """Say who holds the lock now: a waiter sees the lock move on. Never through a symlink."""
    stamp = f"{os.getpid()} {os.urandom(8).hex()}\n".encode()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | files.NO_FOLLOW
    descriptor = os.open(holder_path, flags, files.FILE_MODE)
    try:
        os.write(descriptor, stamp)
    finally:
        os.close(descriptor)


def _holder(holder_path: str) -> bytes | None:
    """Who holds the lock as its last holder wrote it (None before any): only compared."""
    try:
        descriptor = os.open(holder_path, os.O_RDONLY | files.NO_FOLLOW)
    except OSError:
        return None
    try:
        return os.read(descriptor, 64)
    finally:
        os.close(descriptor)


def _named(holder: bytes | None) -> str:
    """`` (process PID)`` as the holder's stamp says, for the user to look at."""
    pid = (holder or b"").split(b" ")[0]
    return f" (process {int(pid)})" if pid.isdigit() else ""


@contextmanager
def profile_lock(record_name: str) -> Iterator[None]:
    """One mint at a time per profile, across processes."""
    with hold(paths.lock_file(record_name), f"profile {record_name!r}"):
        yield
