"""The one error boundary: every error becomes one line on stderr and its documented exit code."""

from __future__ import annotations

import errno
import os

import click

from up42keys import complete, errors, output, selection
from up42keys.cli.app import PROG_NAME, cli
from up42keys.cli.terminal import Styled, echo, echo_parts
from up42keys.errors import EXIT_ERROR, CancelledError, Up42KeysError, UsageError

DEBUG_ENV = "UP42KEYS_DEBUG"
ERROR_PREFIX = Styled("up42keys: error:", {"fg": "red", "bold": True})


def fail(error: Up42KeysError) -> int:
    """Print the error as its one line (after its traceback with ``UP42KEYS_DEBUG=1``)."""
    if os.environ.get(DEBUG_ENV) == "1":
        import traceback

        echo(traceback.format_exc().rstrip("\n"), err=True)
    echo_parts(ERROR_PREFIX, f" {errors.render(error)}", err=True)
    return error.exit_code


def click_error(message: str, exit_code: int) -> Up42KeysError:
    """One of Click's errors as one of ours, so that it is printed the same way."""
    error = Up42KeysError(message)
    error.exit_code = exit_code
    return error


def usage_message(error: click.UsageError) -> str:
    """Click's message, without repeating stray arguments: a pasted API key may be among them."""
    message = error.format_message()
    if message.startswith("Got unexpected extra argument"):
        return message.split(" (", 1)[0] + " (not repeated here, in case it is a secret)"
    return message


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0911 - one exit per kind of error
    """Run the command line; the one place where errors become a line on stderr and an exit code."""
    selection.forget_warnings()
    try:
        result = cli.main(
            args=argv,
            prog_name=PROG_NAME,
            complete_var=complete.COMPLETE_VAR,
            standalone_mode=False,
        )
    except KeyboardInterrupt:
        # Where SIGINT is Python's (``python -m up42keys``, a program calling main); the
        # ``up42keys`` command lets the signal end the process (up42keys/__init__.py).
        return fail(CancelledError("interrupted; nothing was changed"))
    except Up42KeysError as error:
        return fail(error)
    except click.UsageError as error:
        command = error.ctx.command_path if error.ctx else "up42keys"
        return fail(UsageError(f"{usage_message(error)} (see '{command} --help')"))
    except click.ClickException as error:
        return fail(click_error(error.format_message(), error.exit_code))
    except click.Abort as error:
        # Click turns Ctrl-C at a prompt, or inside a command, into Abort.
        if isinstance(error.__cause__ or error.__context__, KeyboardInterrupt):
            return fail(CancelledError("interrupted; nothing was changed"))
        return fail(click_error("aborted", EXIT_ERROR))
    except BrokenPipeError:
        return output.discard_stdout()
    except OSError as error:
        if error.errno in (errno.EMFILE, errno.ENFILE):  # its fix is a limit, not a path
            from up42keys.store import locks

            return fail(locks.no_more_files())
        # A full disk, a read-only or misplaced directory: the system's reason, not a traceback.
        where = f" ({error.filename})" if error.filename else ""
        problem = f"{error.strerror or error}{where}"
        return fail(Up42KeysError(problem, "check that path and the disk"))
    return result if isinstance(result, int) else 0
