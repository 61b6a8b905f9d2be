"""The entry point: answer ``token`` and ``current`` from plain files, before Click is imported.

``up42keys token`` runs inside ``$(…)`` in loops and prompts, so a cached
token is printed at the cost of a bare interpreter start: this module and
what it imports use the standard library's already-loaded modules alone.
Anything it does not handle (another command, a flag, a cache miss, an
error) falls through to the full Click application, which decides and
reports; the fast path never prints an error of its own.
"""

import os
import sys

from up42keys import complete, selection


def answer(arguments: list[str]) -> str | None:
    """The output of the command when plain files can give it, else None."""
    if not arguments and complete.COMPLETE_VAR in os.environ:
        return complete.answer(os.environ)
    if arguments == ["current"]:
        return selection.current_label()
    if not arguments or arguments[0] != "token" or len(arguments) > 2:
        return None
    name = arguments[1] if len(arguments) == 2 else None
    if name is not None and name.startswith("-"):
        return None
    # Imported here rather than at the top: ``current`` needs neither.
    from up42keys import cache, settings

    record = cache.cached_record(selection.resolve(name), settings.min_ttl())
    return record.token if record is not None else None


def discard_stdout() -> int:
    """After a broken pipe: send what is still buffered nowhere, and exit 1 without a traceback."""
    from up42keys.errors import EXIT_ERROR

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_ERROR


def main() -> int:
    """The console script: the answer from plain files where they give it, else the full path.

    After a fast answer the process ends at once (``os._exit``), without the
    interpreter's teardown: the answer is flushed, no file is open, nothing
    waits on stderr or in an atexit handler, and the teardown would cost about
    2 ms, twice the fast path's own work. So call it as a program's entry
    point only, as the launcher does.
    """
    try:
        # Without a stdout (closed by the caller) the full path decides what happens.
        output = answer(sys.argv[1:]) if sys.stdout is not None else None
    except Exception:  # noqa: BLE001 - the full path meets the same failure and reports it
        output = None
    if output is None:
        from up42keys.cli import main as full_main

        return full_main()
    try:
        sys.stdout.write(output + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        return discard_stdout()
    os._exit(0)
