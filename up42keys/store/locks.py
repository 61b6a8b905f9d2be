"""Cross-process locks, with a bounded wait that ends in a clear error.

The order in which they are taken is written down once, in up42keys.state.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from up42keys import files, paths, settings
from up42keys.errors import LockTimeoutError


@contextmanager
def hold(lock_path: str, what: str) -> Iterator[None]:
    """Hold the lock at ``lock_path``; give up after as long as a mint can take."""
    import filelock

    files.ensure_private_dir(os.path.dirname(lock_path))
    wait = settings.lock_timeout()
    # One instance per path, so that a holder may take the lock again (a mint inside ``add``).
    lock = filelock.FileLock(lock_path, mode=files.FILE_MODE, is_singleton=True)
    try:
        lock.acquire(timeout=wait)
    except filelock.Timeout:
        raise LockTimeoutError(
            f"another up42keys process has held the lock on {what} for {wait:.1f} s, longer "
            "than a mint may take",
            f"try again, or allow more time with {settings.TIMEOUT_ENV}",
        ) from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def profile_lock(record_name: str) -> Iterator[None]:
    """One mint at a time per profile, across processes."""
    with hold(paths.lock_file(record_name), f"profile {record_name!r}"):
        yield
