"""A token file kept fresh while a long command runs (``exec`` points ``UP42_TOKEN_FILE`` at it).

An environment variable cannot change under a running process, but a file
can: ``curl -H "Authorization: Bearer $(cat "$UP42_TOKEN_FILE")"`` reads the
token when it needs it. The file is 0600 in a 0700 directory of its own
under the runtime directory, named per run so that parallel runs never share
one. A daemon thread rewrites it atomically shortly before its token drops
under min-ttl, through the same cache and per-profile lock as every other
caller. A failed renewal is retried with backoff and reported through a
callback; it never raises out of the thread, since the command must not die
because UP42 was briefly unreachable. One failure is final: the profile was
removed or re-pointed to another project or host (``policy.same_target``).
Then renewal stops, the file says why, and the held secret is never sent.

The thread never calls the keyring: a backend that asks for its password on
the terminal (keyrings.cryptfile) would prompt in the middle of the command's
output, where nobody answers, with echo turned off. The secret is read once
at ``start``, on the caller's thread, where a prompt is expected, and held in
memory until ``stop`` for the renewals (an account renews with its refresh
token first, as everywhere, and signs in with the password only when that
fails). ``stop`` (or leaving the ``with`` block, however it is left) removes
the file and its directory, and drops the secret.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from types import TracebackType

from up42keys import files, paths, settings
from up42keys.cache import TokenRecord
from up42keys.errors import KeyringError, ProfileChangedError, Up42KeysError, render
from up42keys.ops import tokens
from up42keys.remote import client

TOKEN_FILE_ENV = "UP42_TOKEN_FILE"  # noqa: S105 - a variable name, not a secret
TOKEN_FILE_NAME = "token"  # noqa: S105 - a file name, not a secret
# Renew this long before the token would drop under min-ttl, so that a mint that
# takes a moment still lands in time: half of min-ttl, at most 5 seconds.
MAX_RENEW_LEAD = 5.0
# The shortest pause between renewals when UP42's tokens live no longer than min-ttl.
SHORT_TOKEN_PAUSE = 1.0


class TokenFileKeeper:
    """Keeps a file holding a valid token of ``profile`` from ``start`` to ``stop``.

    ``profile`` is resolved by the command line's rules (``selection.resolve``)
    once, at ``start``. ``min_ttl=None`` means ``UP42KEYS_MIN_TTL``, else 60 s.
    ``on_error`` receives one line for each failed renewal (and for tokens
    that live too short to be renewed on time); the caller decides where it
    goes. It is called from the keeper's thread.
    """

    def __init__(
        self,
        profile: str | None = None,
        *,
        min_ttl: float | None = None,
        on_error: Callable[[str], None],
    ) -> None:
        self.min_ttl = settings.min_ttl(min_ttl)
        self.renew_below = self.min_ttl + min(MAX_RENEW_LEAD, self.min_ttl / 2)
        settings.retry_delay()  # a bad UP42KEYS_RETRY_DELAY fails here, not in the thread
        self._profile = profile
        self._on_error = on_error
        self._directory: str | None = None
        self._record: TokenRecord | None = None
        self._target: tokens.Target | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._warned_short = False
        # The secret the renewals use, read at start; or why it could not be read.
        self._secret: str | None = None
        self._secret_error: Up42KeysError | None = None
        # Held while writing the file and while removing it: no write after stop.
        self._lock = threading.Lock()

    @property
    def path(self) -> str:
        """The token file's path, for ``UP42_TOKEN_FILE``."""
        if self._directory is None:
            raise RuntimeError("the token file exists only between start() and stop()")
        return os.path.join(self._directory, TOKEN_FILE_NAME)

    @property
    def target(self) -> tokens.Target:
        """The profile or environment credentials the file serves, resolved at ``start``."""
        if self._target is None:
            raise RuntimeError("the token file exists only between start() and stop()")
        return self._target

    @property
    def record(self) -> TokenRecord:
        """The token the file holds now, with its expiry."""
        if self._record is None:
            raise RuntimeError("the token file exists only between start() and stop()")
        return self._record

    def start(self) -> TokenFileKeeper:
        """Write the file with a fresh token and start renewing it.

        Raises the library's errors when no first token can be had, and then
        leaves nothing behind.
        """
        if self._thread is not None or self._stopped.is_set():
            raise RuntimeError("a TokenFileKeeper starts once")
        target = self._target = tokens.resolve_target(self._profile)
        record = tokens.get_record(target, min_ttl=self.renew_below)
        try:
            self._secret = target.secret()
        except Up42KeysError as error:  # the command may well end before a renewal is due
            self._secret_error = error
        runtime = paths.runtime_dir()
        files.ensure_private_dir(runtime)
        self._directory = tempfile.mkdtemp(
            prefix=f"{paths.EXEC_DIR_PREFIX}{os.getpid()}-", dir=runtime
        )
        try:
            self._write(record)
            self._thread = threading.Thread(
                target=self._keep_fresh, args=(target,), name="up42keys-token-file", daemon=True
            )
            with _signals_blocked():
                self._thread.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop renewing and remove the file and its directory; calling it again is harmless.

        It does not wait for a renewal in flight: that one finds the keeper
        stopped and writes nothing.
        """
        with self._lock:
            self._stopped.set()
            self._secret = None
            if self._directory is not None:
                shutil.rmtree(self._directory, ignore_errors=True)

    def __enter__(self) -> TokenFileKeeper:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _write(self, record: TokenRecord) -> None:
        with self._lock:
            if self._stopped.is_set():
                return
            files.atomic_write(self.path, record.token + "\n")
            self._record = record

    def _keep_fresh(self, target: tokens.Target) -> None:
        """The thread: sleep until the token needs renewing, renew, and on failure back off."""
        failures = 0
        pause = self._pause_after_renewal()
        while not self._stopped.wait(pause):
            try:
                record = tokens.get_record(target, min_ttl=self.renew_below, secret=self._held)
                self._write(record)
            except ProfileChangedError as error:
                self._retire(error)
                return
            except Exception as error:  # noqa: BLE001 - a renewal never ends the command
                failures += 1
                pause = client.backoff(failures)
                self._report(
                    f"cannot renew the token in {self.path}: {_describe(error)}; "
                    f"{self._held_state()}, trying again in {pause:.1f} s"
                )
            else:
                failures = 0
                pause = self._pause_after_renewal()

    def _retire(self, error: ProfileChangedError) -> None:
        """Stop for good: the profile is no longer the one the command started with. The file
        then says why (a reader that sends it gets a refusal, never another project's token)."""
        self._report(f"stopped renewing the token in {self.path}: {render(error)}")
        with self._lock:
            self._secret = None
            if not self._stopped.is_set():
                files.atomic_write(self.path, f"up42keys: error: {render(error)}\n")

    def _held(self) -> str:
        """The secret read at start, for a mint in the thread; never the keyring."""
        if self._secret is not None:
            return self._secret
        if self._secret_error is not None:
            raise KeyringError(
                f"the secret could not be read when exec started ({self._secret_error.message})",
                self._secret_error.fix,
            )
        raise KeyringError("the token file is no longer kept")

    def _pause_after_renewal(self) -> float:
        """Until the token has ``renew_below`` seconds left; half its life if it never had more."""
        left = self.record.seconds_left()
        if left > self.renew_below:
            return left - self.renew_below
        lifetime = _lifetime(self.record.token)
        if not self._warned_short and (lifetime is None or lifetime <= self.renew_below):
            # Judged by the life UP42 gave the token (``exp - iat``), not by what is left of
            # it: a renewal that a loaded machine delivered late is no reason to warn.
            self._warned_short = True
            lives = f"{lifetime:.0f}" if lifetime is not None else f"{max(left, 0):.0f}"
            self._report(
                f"a new token lives only {lives} s, too short for a min-ttl of "
                f"{self.min_ttl:g} s; the token file is renewed at half each token's life, "
                "lower UP42KEYS_MIN_TTL"
            )
        return max(SHORT_TOKEN_PAUSE, left / 2)

    def _held_state(self) -> str:
        left = self.record.seconds_left()
        if left <= 0:
            return "the token in it has expired"
        return f"the token in it expires in {left:.0f} s"

    def _report(self, message: str) -> None:
        """Pass a problem on, unless the keeper was stopped meanwhile: then it no longer matters."""
        if self._stopped.is_set():
            return
        with contextlib.suppress(Exception):  # a broken stderr must not end the renewals
            self._on_error(message)


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Block every signal in this thread for a while; a thread started meanwhile inherits that.

    A signal sent to the process goes to any thread that does not block it.
    Python runs handlers in the main thread, but only wakes it when the main
    thread itself was interrupted: were the keeper's thread to take a SIGTERM
    while the main thread waits for a child (as ``exec`` does), the handler
    that passes it on would not run until the child ended.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _describe(error: Exception) -> str:
    if isinstance(error, Up42KeysError):
        return render(error)
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


def _lifetime(token: str) -> float | None:
    """The seconds between a token's ``iat`` and ``exp`` claims, or None without both."""
    from up42keys.remote import jwtinfo

    try:
        found = jwtinfo.claims(token)
    except Up42KeysError:
        return None
    issued, expires = found.get("iat"), found.get("exp")
    if not isinstance(issued, int | float) or not isinstance(expires, int | float):
        return None
    return float(expires - issued)
