"""up42keys: named UP42 profiles, secrets in the OS keyring, fresh tokens for the shell and Python.

Importing the package is cheap on purpose: it loads nothing at all. The
command line's fast path starts here, and a cached token is printed without
ever loading the error classes, so they are loaded on first access
(``up42keys.UsageError``, ``from up42keys import UsageError``).
"""

# typing.TYPE_CHECKING would cost the fast path an import of typing; type checkers
# recognise a module-level TYPE_CHECKING by its name.
TYPE_CHECKING = False
if TYPE_CHECKING:
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

__version__ = "0.1.0"

__all__ = [
    "CorruptFileError",
    "CredentialsRejectedError",
    "KeyringError",
    "LockTimeoutError",
    "ProfileNotFoundError",
    "Up42KeysError",
    "Up42UnavailableError",
    "UsageError",
    "__version__",
]


def __getattr__(name: str) -> object:
    """The error classes, imported when first asked for (PEP 562)."""
    if name in __all__:
        from up42keys import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'up42keys' has no attribute {name!r}")
