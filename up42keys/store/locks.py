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

The token locks (``token_locks``: one per profile, held by a mint and by a change of that
profile) cost an open file and a beating thread each while held. A change of more than
``MOST_HELD`` profiles (an ``import`` of hundreds) would run out of either (``ulimit -n 64``
let an import of 58 profiles through, not 60), so it holds none of them: it closes the gate
(``locks/.tokens.lock``), the lock every holder of token locks must find open once it holds
them, and then takes and at once lets go of each of its profiles' locks in turn. Whoever
holds one of them found the gate open before it closed, so the change waits for it to
finish; whoever comes later finds the gate closed, lets go of what it holds and waits for
the gate to open (it never waits for the gate while holding a token lock, the closer may
be about to take it). So a closed gate is as good as all the token locks held, for a cost
that does not grow with the number of profiles: the gate, and one token lock at a time.
Where the system still refuses an open file or a thread, that is a ``SystemLimitError``
(one line, with its fix), and nothing is held.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from up42keys import files, paths, settings
from up42keys.errors import LockTimeoutError, SystemLimitError

HOLDER_SUFFIX = ".holder"
# The gate's lock name: a leading '.' is never a profile's name.
GATE = ".tokens"
# A change of more profiles than this closes the gate instead of holding a lock for each.
MOST_HELD = 8
# What a process needs open at once to change any number of profiles, with room to spare:
# the fix of a SystemLimitError asks for this many.
ENOUGH_FILES = 256

# A holder that beats but keeps the lock this many mints' length is blocked, not slow.
HELD_MINTS = 3

if TYPE_CHECKING:
    import filelock

try:  # at import: with no file left to open, it could not be imported when needed
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]


@contextmanager
def hold(lock_path: str, what: str, *, beating: bool = True) -> Iterator[None]:
    """Hold the lock at ``lock_path``; give up when one holder kept it longer than a mint.

    ``beating`` False: no stamp and no beat, for a lock held only long enough to know that
    its holder has gone (a waiter then takes the time it waited from the last holder's).
    """
    with _system_limits():
        lock = _acquire(lock_path, what)
    stop = threading.Event()
    try:
        if beating and lock.lock_counter == 1:
            with _system_limits():
                _start_beating(lock_path + HOLDER_SUFFIX, beat(settings.lock_timeout()), stop)
        yield
    finally:
        stop.set()
        lock.release()


def _acquire(lock_path: str, what: str) -> filelock.FileLock:
    """The lock at ``lock_path``, taken; waited for as long as its holder makes progress."""
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
    return lock


@contextmanager
def _system_limits() -> Iterator[None]:
    """No more open files, or no more threads, as a SystemLimitError rather than a traceback
    (or the generic "check that path and the disk" that an OSError gets at the boundary)."""
    try:
        yield
    except OSError as error:
        if error.errno not in (errno.EMFILE, errno.ENFILE):
            raise
        raise no_more_files() from None
    except RuntimeError as error:  # "can't start new thread"
        if "thread" not in str(error):
            raise
        raise SystemLimitError(
            f"the system lets this process start no more threads ({error})",
            "run the command again once fewer processes run (or raise 'ulimit -u')",
        ) from None


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
    """One mint at a time per profile, across processes: the token lock alone, without the
    gate (``token_locks`` takes both, as every holder must)."""
    with hold(paths.lock_file(record_name), f"profile {record_name!r}"):
        yield


@contextmanager
def token_locks(names: Iterable[str]) -> Iterator[None]:
    """The token locks of ``names``, in sorted order, with the gate open; or, for more than
    ``MOST_HELD`` names, the gate closed, which is as good (the module's docstring).

    Every holder of token locks takes them here: a mint (one name) and a change (its
    profiles'). Inside a process that closed the gate, the gate is open to it (the lock is
    reentrant), so a change may mint or nest.
    """
    wanted = sorted(set(names))
    if len(wanted) > MOST_HELD:
        with hold(paths.lock_file(GATE), "the tokens of every profile"):
            for name in wanted:
                # Whoever holds it found the gate open before it closed: let it finish.
                with hold(paths.lock_file(name), f"profile {name!r}", beating=False):
                    pass
            yield
        return
    while True:
        with contextlib.ExitStack() as stack:
            for name in wanted:
                stack.enter_context(profile_lock(name))
            if _gate_open():
                yield
                return
        # Closed: wait for it with no token lock held, since its closer may be about to
        # take one of them; then take them all again.
        with hold(paths.lock_file(GATE), "the tokens of every profile", beating=False):
            pass


def no_more_files() -> SystemLimitError:
    """The error for EMFILE or ENFILE, with the limit the process has (not on Windows)."""
    shown = f" (ulimit -n: {resource.getrlimit(resource.RLIMIT_NOFILE)[0]})" if resource else ""
    return SystemLimitError(
        f"the system lets this process open no more files{shown}",
        f"run the command again in a shell where 'ulimit -n {ENOUGH_FILES}' works",
    )


def _gate_open() -> bool:
    """Whether no other process has closed the gate, at this instant (it does not wait)."""
    import filelock

    lock_path = paths.lock_file(GATE)
    files.ensure_private_dir(os.path.dirname(lock_path))
    lock = filelock.FileLock(lock_path, mode=files.FILE_MODE, is_singleton=True)
    try:
        with _system_limits():
            lock.acquire(blocking=False)
    except filelock.Timeout:
        return False
    lock.release()
    return True
