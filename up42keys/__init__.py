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
    from up42keys.errors import (
        CorruptFileError,
        CredentialsRejectedError,
        KeyringError,
        LockTimeoutError,
        ProfileChangedError,
        ProfileNotFoundError,
        Up42KeysError,
        Up42UnavailableError,
        UsageError,
    )
    from up42keys.integrations.api import get_token, profiles
    from up42keys.integrations.httpauth import Up42Auth
    from up42keys.kinds import Profile

__version__ = "0.1.0"


def _die_on_sigint() -> None:
    """As the ``up42keys`` command: let Ctrl-C end the process at once, silently, by the signal.

    Python turns SIGINT into a KeyboardInterrupt, which can surface anywhere,
    even in a callback that prints it as "Exception ignored" and goes on. With
    the signal's default action the process ends at once, without a traceback,
    and a shell reports 130 (and stops a loop, as it does for any command that
    Ctrl-C ended). Writes hold the signal until the file is whole
    (``files.atomic_write``), so nothing is left half-written. A program that
    imports the library keeps its own handler, and an ignored SIGINT (``nohup``)
    stays ignored. ``_signal`` and ``sys`` are loaded before any Python code
    runs: this costs no import.
    """
    import sys

    if not sys.argv or sys.argv[0].replace("\\", "/").rpartition("/")[2] != "up42keys":
        return
    import _signal  # type: ignore[import-not-found]

    if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
        _signal.signal(_signal.SIGINT, _signal.SIG_DFL)


_die_on_sigint()

__all__ = [
    "CorruptFileError",
    "CredentialsRejectedError",
    "KeyringError",
    "LockTimeoutError",
    "Profile",
    "ProfileChangedError",
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
    "get_token": "up42keys.integrations.api",
    "profiles": "up42keys.integrations.api",
    "Profile": "up42keys.kinds",
    "Up42Auth": "up42keys.integrations.httpauth",
    "sdk": "up42keys.sdk",
    **dict.fromkeys(
        (
            "CorruptFileError",
            "CredentialsRejectedError",
            "KeyringError",
            "LockTimeoutError",
            "ProfileChangedError",
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
