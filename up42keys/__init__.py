"""up42keys: named UP42 profiles, secrets in the OS keyring, fresh tokens for the shell and Python.

Importing the package is cheap on purpose: it loads nothing at all. The
command line's fast path starts here, and prints a cached token without ever
loading the error classes. The error classes and the Python API
(``get_token``, ``profiles``, ``Profile``, ``Up42Auth``, the ``sdk`` module)
are loaded on first access, so that ``import up42keys`` imports neither
httpx, keyring, jwt, requests nor up42-py.
"""

# Not typing.TYPE_CHECKING: the fast path must not import typing. Type checkers
# treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from up42keys import sdk
    from up42keys.api import get_token, profiles
    from up42keys.auth import Up42Auth
    from up42keys.errors import (
        CorruptFileError,
        CredentialsRejectedError,
        KeyringError,
        LockTimeoutError,
        ProfileNotFoundError,
        Up42KeysError,
        Up42UnavailableError,
        UsageError,
    )
    from up42keys.targets import Profile

__version__ = "0.1.0"

__all__ = [
    "CorruptFileError",
    "CredentialsRejectedError",
    "KeyringError",
    "LockTimeoutError",
    "Profile",
    "ProfileNotFoundError",
    "Up42Auth",
    "Up42KeysError",
    "Up42UnavailableError",
    "UsageError",
    "__version__",
    "get_token",
    "profiles",
    "sdk",
]

# Public name -> the module that defines it, imported on first access.
_LAZY = {
    "get_token": "up42keys.api",
    "profiles": "up42keys.api",
    "Profile": "up42keys.targets",
    "Up42Auth": "up42keys.auth",
    "sdk": "up42keys.sdk",
    **dict.fromkeys(
        (
            "CorruptFileError",
            "CredentialsRejectedError",
            "KeyringError",
            "LockTimeoutError",
            "ProfileNotFoundError",
            "Up42KeysError",
            "Up42UnavailableError",
            "UsageError",
        ),
        "up42keys.errors",
    ),
}


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'up42keys' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(module_name)
    value = module if module_name == f"up42keys.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
