"""Secrets in the OS keyring, one entry per profile (service ``up42keys``, user = profile name).

keyring is imported here, inside the functions, so that commands that need
no secret never load it (nor trigger an unlock prompt). Every keyring
failure becomes a KeyringError (exit 6) with the backend's reason in one
line and what to do; the tool never falls back to a plain file by itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TypeVar

from up42keys.errors import KeyringError

SERVICE = "up42keys"
NO_KEYRING_HELP = (
    "no OS keyring is available; run where one is (a desktop session, or "
    "scripts/with-secret-service.sh), configure a keyring backend such as keyrings.alt "
    "or keyrings.cryptfile (PYTHON_KEYRING_BACKEND or keyringrc.cfg, see README), "
    "or set UP42_PROJECT_ID and UP42_PROJECT_API_KEY instead of adding a profile"
)

T = TypeVar("T")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _call(action: str, operation: Callable[[], T]) -> T:
    from keyring import errors

    try:
        return operation()
    except errors.NoKeyringError:
        raise KeyringError(NO_KEYRING_HELP) from None
    except errors.KeyringLocked as error:
        raise KeyringError(
            f"cannot {action}: the keyring is locked ({_one_line(error)}); unlock your keyring "
            "and try again"
        ) from None
    except Exception as error:  # noqa: BLE001 - backends raise anything (D-Bus, OS)
        raise KeyringError(
            f"cannot {action}: the keyring failed ({_one_line(error)}); check it with "
            "'up42keys doctor'"
        ) from None


def get_secret(profile_name: str) -> str:
    import keyring

    secret = _call(
        f"read the secret of profile {profile_name!r}",
        lambda: keyring.get_password(SERVICE, profile_name),
    )
    if not secret:
        raise KeyringError(
            f"the keyring holds no secret for profile {profile_name!r}; store it again with "
            f"'up42keys add {profile_name} --force'"
        )
    return secret


def find_secret(profile_name: str) -> str | None:
    """The stored secret, or None where there is none (for rollbacks)."""
    import keyring

    return _call(
        f"read the secret of profile {profile_name!r}",
        lambda: keyring.get_password(SERVICE, profile_name),
    )


def set_secret(profile_name: str, secret: str) -> None:
    import keyring

    _call(
        f"store the secret of profile {profile_name!r}",
        lambda: keyring.set_password(SERVICE, profile_name, secret),
    )


def delete_secret(profile_name: str) -> None:
    """Remove the entry; an entry that is already gone is fine."""
    import keyring
    from keyring.errors import PasswordDeleteError

    def delete() -> None:
        with contextlib.suppress(PasswordDeleteError):
            keyring.delete_password(SERVICE, profile_name)

    _call(f"delete the secret of profile {profile_name!r}", delete)


def backend_name() -> str:
    """The backend keyring chose, as ``module.Class``."""
    import keyring

    backend = _call("find a keyring backend", keyring.get_keyring)
    return f"{type(backend).__module__}.{type(backend).__qualname__}"
