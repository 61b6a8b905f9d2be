"""up42keys: named UP42 profiles, secrets in the OS keyring, fresh tokens for the shell and Python.

Importing the package is cheap on purpose: it loads the error classes and
nothing else. The command line's fast path starts here too.
"""

from __future__ import annotations

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
