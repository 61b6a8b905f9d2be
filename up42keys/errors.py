"""The one error hierarchy of up42keys.

Every failure a user can cause or meet is one of these classes. Each carries
the process exit code documented in README, a ``message`` (what went wrong)
and, apart, a ``fix`` (what to do: often a command, which must work when run
as printed). Keeping them apart lets ``doctor`` show the fix as such, and lets
the code that knows the fix raise with it, instead of catching an error to
glue a fix onto its text. ``render`` makes the one line the command line
prints, in exactly one place (`up42keys.cli.main`); the library raises them as
they are. The module imports nothing, so that the fast-path modules can
raise these classes (importing them where they raise) at no cost to a cached
token, which never loads this module.
"""

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NO_PROFILE = 3
EXIT_REJECTED = 4
EXIT_UNAVAILABLE = 5
EXIT_KEYRING = 6
# What shells exit with when a command cannot be run; ``exec`` does the same.
EXIT_CANNOT_RUN = 126
EXIT_NOT_FOUND = 127
# Interrupted by Ctrl-C (SIGINT): 128 + 2, as shells report a process the signal ended.
EXIT_INTERRUPTED = 130


class Up42KeysError(Exception):
    """Base class: any other error (exit 1)."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message if fix is None else f"{message}; {fix}")
        self.message = message
        self.fix = fix


def render(error: Up42KeysError) -> str:
    """The one line an error becomes: ``MESSAGE; FIX``, or the message alone."""
    return error.message if error.fix is None else f"{error.message}; {error.fix}"


class UsageError(Up42KeysError):
    """Bad input: a bad name, ID, URL, key or option value (exit 2)."""

    exit_code = EXIT_USAGE


class InputError(UsageError):
    """Input from outside that the one reader refuses: too large, not a file, not UTF-8,
    nested too deeply (exit 2; ``up42keys.inputs``)."""

    # What is wrong, without the name of the input (for an entrance that names it its way).
    problem = ""


class ProfileNotFoundError(Up42KeysError):
    """No such profile, or no profile active (exit 3)."""

    exit_code = EXIT_NO_PROFILE


class CredentialsRejectedError(Up42KeysError):
    """UP42 rejected the project ID and API key, or the account sign-in (exit 4)."""

    exit_code = EXIT_REJECTED


class Up42UnavailableError(Up42KeysError):
    """UP42 unreachable, timed out, or answered with something that is not a token (exit 5)."""

    exit_code = EXIT_UNAVAILABLE


class KeyringError(Up42KeysError):
    """No usable OS keyring: none, locked, access denied or a backend failure (exit 6)."""

    exit_code = EXIT_KEYRING


class CorruptFileError(Up42KeysError):
    """The profile file cannot be read; the tool refuses to write over it (exit 1)."""


class ForeignFileError(Up42KeysError):
    """A directory or file up42keys uses belongs to another user; it is not used (exit 1)."""


class LockTimeoutError(Up42KeysError):
    """Another up42keys process held a lock without progress for longer than a mint can take
    (exit 1)."""


class SystemLimitError(Up42KeysError):
    """The system refused a process what a lock needs: no more open files (``ulimit -n``)
    or no more threads; nothing was changed (exit 1)."""


class ProfileChangedError(Up42KeysError):
    """The profile a running command started with was removed or re-pointed; it stops
    renewing rather than serve another project or send its secret to another host (exit 1)."""


class CommandNotFoundError(Up42KeysError):
    """``exec`` found no such program (exit 127, as in shells)."""

    exit_code = EXIT_NOT_FOUND


class CommandNotRunnableError(Up42KeysError):
    """``exec`` found the program but could not start it (exit 126, as in shells)."""

    exit_code = EXIT_CANNOT_RUN


class CancelledError(Up42KeysError):
    """Ctrl-C (or Esc in a picker): nothing was changed (exit 130, as shells report it)."""

    exit_code = EXIT_INTERRUPTED


class GdalScopingError(Up42KeysError):
    """No GDAL in this process can keep a token to UP42's origin: it needs GDAL 3.8 (exit 1)."""
