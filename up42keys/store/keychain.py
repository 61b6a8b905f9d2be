"""Secrets in the OS keyring, one entry per profile (service ``up42keys``, user = profile name).

keyring is imported here, inside the functions, so that commands that need
no secret never load it (nor trigger an unlock prompt). Every keyring
failure becomes a KeyringError (exit 6) with the backend's reason in one
line and what to do; the tool never falls back to a plain file by itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from up42keys.errors import KeyringError

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "up42keys"
# The entry 'doctor' writes and deletes again: a leading '.' is never a profile's name.
PROBE_USER = ".doctor-probe"
# A new key waits here until the change that stores it is committed (up42keys.store.journal).
STAGED_PREFIX = ".staged."
NO_KEYRING = "no OS keyring is available"
NO_KEYRING_FIX = (
    "run where one is (a desktop session with an unlocked "
    "keyring), choose a backend such as keyrings.cryptfile with PYTHON_KEYRING_BACKEND or "
    "keyringrc.cfg (https://keyring.readthedocs.io/en/latest/#configuring), or skip "
    "profiles and set UP42_PROJECT_ID and UP42_PROJECT_API_KEY"
)
NO_KEYRING_HELP = f"{NO_KEYRING}; {NO_KEYRING_FIX}"
LOCKED_HELP = "unlock your keyring and try again"
DOCTOR_HELP = "check it with 'up42keys doctor'"
REPAIR_HELP = (
    "repair that backend, or choose another with PYTHON_KEYRING_BACKEND or keyringrc.cfg "
    "(https://keyring.readthedocs.io/en/latest/#configuring)"
)

T = TypeVar("T")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _chosen() -> KeyringBackend:
    """The backend keyring uses here: the configured one, else the best recommended OS keyring.

    Left to itself, keyring takes any backend it can load, down to keyrings.alt's
    plain-text file when no OS keyring answers, and keyrings.cryptfile's file (which
    calls itself recommended) as soon as it is installed. Auto-detection is therefore
    limited to keyring's recommended backends (priority 1 or more) that are no file,
    which leaves the "fail" backend where there is no OS keyring. A backend named in
    PYTHON_KEYRING_BACKEND or keyringrc.cfg is the user's explicit choice and wins, a
    file included, as keyring documents. A backend that a program set with
    ``keyring.set_keyring`` (before keyring chose one) is kept.
    """
    import keyring.core

    if keyring.core._keyring_backend is None:
        keyring.core.init_backend(_recommended_os_keyring)
    return keyring.core.get_keyring()


def _recommended_os_keyring(backend: KeyringBackend) -> bool:
    return backend.priority >= 1 and not _is_file(backend)


def _is_file(backend: KeyringBackend) -> bool:
    """keyrings.alt's and keyrings.cryptfile's backends (their ``FileBacked`` has a path)."""
    return hasattr(type(backend), "file_path")


def _usable() -> KeyringBackend:
    """The chosen backend, unless it stores nothing ("fail", or "null", which drops secrets)."""
    from keyring.backends import fail, null
    from keyring.errors import NoKeyringError

    backend = _chosen()
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        _refuse_unchosen_file()
        raise NoKeyringError(type(backend).__module__)
    return backend


def _refuse_unchosen_file() -> None:
    """Name the file backend keyring would have picked by itself, and how to choose it.

    Only where the user chose no backend: one who chose "fail" gets the plain answer.
    """
    from keyring import backend
    from keyring.util import platform_

    if os.environ.get("PYTHON_KEYRING_BACKEND") or os.path.exists(
        os.path.join(platform_.config_root(), "keyringrc.cfg")
    ):
        return
    for found in backend.get_all_keyring():
        if _is_file(found) and found.priority >= 1:
            name = f"{type(found).__module__}.{type(found).__qualname__}"
            raise KeyringError(
                f"{NO_KEYRING}, and up42keys does not store secrets in a file ({name}) "
                "unless you choose it",
                f"choose it with PYTHON_KEYRING_BACKEND={name} or in keyringrc.cfg "
                "(https://keyring.readthedocs.io/en/latest/#configuring), run where an OS "
                "keyring is, or skip profiles and set UP42_PROJECT_ID and UP42_PROJECT_API_KEY",
            )


KEYRING_LOCK = ".keyring"  # a leading '.': never a profile's lock


def _call(action: str, operation: Callable[[], T], *, write: bool = False) -> T:
    """Run a keyring operation under the keyring lock, its failures as KeyringError.

    File backends (keyrings.alt, keyrings.cryptfile) rewrite their whole file
    for every change, so a reader in another process could find the file
    half-written and no secret in it. One lock for every keyring operation,
    innermost in the lock order (profile locks, then the store's, then this),
    means "no secret" is only ever said after a whole read. A ``write`` holds
    SIGINT, SIGTERM and SIGHUP until it is done, as an atomic write does: a file
    backend killed while it rewrites its file would leave it empty.
    """
    from up42keys import files, paths
    from up42keys.store import locks

    # No keyring at all: say so before the lock creates a file.
    _translated(action, _usable)
    with locks.hold(paths.lock_file(KEYRING_LOCK), "the keyring"):
        if not write:
            return _translated(action, operation)
        with files.signals_held():
            return _translated(action, operation)


def _translated(action: str, operation: Callable[[], T]) -> T:
    from keyring import errors

    try:
        return operation()
    except KeyringError:
        raise
    except errors.NoKeyringError:
        raise KeyringError(NO_KEYRING, NO_KEYRING_FIX) from None
    except errors.KeyringLocked as error:
        raise KeyringError(
            f"cannot {action}: the keyring is locked ({_one_line(error)})", LOCKED_HELP
        ) from None
    except Exception as error:  # noqa: BLE001 - backends raise anything (D-Bus, OS)
        raise KeyringError(
            f"cannot {action}: the keyring failed ({_one_line(error)})", DOCTOR_HELP
        ) from None


def require() -> None:
    """Fail now, before a key is asked for or checked, where there is no keyring to keep it."""
    _translated("find a keyring", _usable)


def get_secret(profile_name: str, *, missing_fix: str | None = None) -> str:
    """The stored secret; its absence is an error whose fix is ``missing_fix``.

    The caller knows the profile, and so the command that stores it again
    (``Profile.set_secret_command``); without one, the fix points at ``list``.
    """
    secret = find_secret(profile_name)
    if not secret:
        raise KeyringError(
            f"the keyring holds no secret for profile {profile_name!r}",
            missing_fix
            or "store it again with 'up42keys add' and the settings 'up42keys list' shows",
        )
    return secret


def _user(profile_name: str, staged: bool) -> str:
    return STAGED_PREFIX + profile_name if staged else profile_name


def find_secret(profile_name: str, *, staged: bool = False) -> str | None:
    """The stored secret (``staged``: the new one, not yet in place), or None where there is
    none (for rollbacks)."""
    from up42keys.store import coredumps

    coredumps.forbid()
    return _call(
        f"read the secret of profile {profile_name!r}",
        lambda: _usable().get_password(SERVICE, _user(profile_name, staged)),
    )


def set_secret(profile_name: str, secret: str, *, staged: bool = False) -> None:
    _call(
        f"store the secret of profile {profile_name!r}",
        lambda: _usable().set_password(SERVICE, _user(profile_name, staged), secret),
        write=True,
    )


def delete_secret(profile_name: str, *, staged: bool = False) -> None:
    """Remove the entry; an entry that is already gone is fine."""
    from keyring.errors import PasswordDeleteError

    def delete() -> None:
        with contextlib.suppress(PasswordDeleteError):
            _usable().delete_password(SERVICE, _user(profile_name, staged))

    _call(f"delete the secret of profile {profile_name!r}", delete, write=True)


def backend_name() -> str:
    """The backend in use, as ``module.Class`` (also where it stores nothing)."""
    backend = _translated("load the keyring backend", _chosen)
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def probe() -> None:
    """Write, read back and delete a throw-away entry: the backend works, and nothing is left."""
    value = os.urandom(16).hex()
    _call(
        "write a test entry",
        lambda: _usable().set_password(SERVICE, PROBE_USER, value),
        write=True,
    )
    try:
        read = _call("read a test entry", lambda: _usable().get_password(SERVICE, PROBE_USER))
    finally:
        delete_secret(PROBE_USER)
    if read != value:
        raise KeyringError("the keyring gave back something else than was written", REPAIR_HELP)
    if _call("read a test entry", lambda: _usable().get_password(SERVICE, PROBE_USER)):
        raise KeyringError("the keyring kept an entry it was told to delete", REPAIR_HELP)
