"""Cross-process locks, with a wait that ends when the holder is stuck, in a clear error.

The order in which they are taken is written down once, in up42keys.state.

A waiter gives up only when the holder is stuck: when nothing moved for
longer than a mint may take (``settings.lock_timeout``), not after a fixed
wait of its own. In a storm each holder may be quick while the queue before a
waiter is long, and on a loaded machine one holder may be slow yet working.
So each holder writes a stamp next to the lock, in ``NAME.lock.holder``:
its PID and random bytes when it takes the lock, and a beat count every
``beat(wait)`` seconds from a thread of its own. A waiter starts counting again
when another holder takes the lock. A holder that ends frees the lock (the OS
releases it); one that is stopped or frozen beats no more (the error after
``wait``), and one that beats but holds the lock for ``HELD_MINTS`` mints is
blocked on something that will not end by itself (the error then too).
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
# A holder that beats but keeps the lock this many mints' length is blocked, not slow.
HELD_MINTS = 3


@contextmanager
def hold(lock_path: str, what: str) -> Iterator[None]:
    """Hold the lock at ``lock_path``; give up when one holder kept it longer than a mint."""
    import filelock

    files.ensure_private_dir(os.path.dirname(lock_path))
    wait = settings.lock_timeout()
    # One instance per path, so that a holder may take the lock again (a mint inside ``add``).
    lock = filelock.FileLock(lock_path, mode=files.FILE_MODE, is_singleton=True)
    holder_path = lock_path + HOLDER_SUFFIX
    holder, now = _holder(holder_path), time.monotonic()
    taken, beaten = now, now  # when the current holder took the lock, and last beat
    while True:
        try:
            # One try of a beat's length: a waiter looks at the stamp as often as it changes.
            lock.acquire(timeout=beat(wait))
            break
        except filelock.Timeout:
            now, seen = time.monotonic(), _holder(holder_path)
            if seen != holder:
                if _who(seen) != _who(holder):
                    taken = now
                holder, beaten = seen, now
            # Stuck: no beat for a mint's length (stopped, frozen), or alive but holding
            # for HELD_MINTS mints (blocked on something that will not end by itself).
            if now - beaten >= wait or now - taken >= HELD_MINTS * wait:
                raise LockTimeoutError(
                    f"another up42keys process has held the lock on {what} for "
                    f"{now - taken:.1f} s without progress, longer than a mint may take"
                    f"{_named(holder)}",
                    f"try again, or allow more time with {settings.TIMEOUT_ENV}",
                ) from None
    beating = threading.Event()
    try:
        if lock.lock_counter == 1:
            _start_beating(holder_path, beat(wait), beating)
        yield
    finally:
        beating.set()
        lock.release()


def beat(wait: float) -> float:
    """How often a holder shows it is alive: often enough for any waiter's ``wait``."""
    return min(1.0, wait / 4)


def _start_beating(holder_path: str, every: float, stop: threading.Event) -> None:
    who = f"{os.getpid()} {os.urandom(8).hex()}"
    _announce(holder_path, f"{who} 0")

    def keep_announcing() -> None:
        count = 0
        while not stop.wait(every):
            count += 1
            try:
                _announce(holder_path, f"{who} {count}")
            except OSError:  # the cache was removed meanwhile: nothing left to wait for
                return

    thread = threading.Thread(target=keep_announcing, name="up42keys-lock-beat", daemon=True)
    # Started with SIGINT, SIGTERM and SIGHUP blocked, which it inherits: held signals
    # (files.signals_held, in the main thread) are then never taken by this thread.
    with files.signals_held():
        thread.start()


def _announce(holder_path: str, stamp_text: str) -> None:
    """Say who holds the lock, and that it is alive: ``PID TAKING BEAT``. Never through a link."""
    stamp = f"{stamp_text}\n".encode()
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


def _who(holder: bytes | None) -> bytes:
    """The holder's PID and taking, without its beat count."""
    return b" ".join((holder or b"").split(b" ")[:2])


def _named(holder: bytes | None) -> str:
    """`` (process PID)`` as the holder's stamp says, for the user to look at."""
    pid = (holder or b"").split(b" ")[0]
    return f" (process {int(pid)})" if pid.isdigit() else ""


@contextmanager
def profile_lock(record_name: str) -> Iterator[None]:
    """One mint at a time per profile, across processes."""
    with hold(paths.lock_file(record_name), f"profile {record_name!r}"):
        yield
