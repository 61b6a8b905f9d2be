"""The entry point: answer ``token`` and ``current`` from plain files, before Click is imported.

``up42keys token`` runs inside ``$(…)`` in loops and prompts, so a cached
token is printed at the cost of a bare interpreter start. Anything it does
not handle (another command, a flag, a cache miss, an error) falls through
to the full Click application, which decides and reports; the fast path
never prints an error of its own.

The fast path is held by an allowlist, not by care: ``FAST_PATH_MODULES``
are the only modules of ours it may load, and their module-level imports may
name only each other and ``FAST_PATH_STDLIB``, standard-library modules that
a bare ``python -c pass`` has already loaded (so they cost nothing).
tests/test_fastpath.py checks both statically (with ``ast``) and at run time
(``-X importtime``). A heavy import belongs inside the function that needs it.
"""

import os
import sys

from up42keys import complete, output, selection

FAST_PATH_MODULES = (
    "up42keys",
    "up42keys.fastpath",
    "up42keys.complete",
    "up42keys.output",
    "up42keys.selection",
    "up42keys.rules",
    "up42keys.environment",
    "up42keys.state",
    "up42keys.cache",
    "up42keys.settings",
    "up42keys.files",
    "up42keys.inputs",
    "up42keys.paths",
)
FAST_PATH_STDLIB = ("os", "stat", "sys", "time")


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
    # Imported here rather than at the top: ``current`` needs it not.
    from up42keys import settings

    record = selection.cached_record(
        selection.resolve(name, selection.leave_to_full_path), settings.min_ttl()
    )
    return record.token if record is not None else None


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
        text = answer(sys.argv[1:]) if sys.stdout is not None else None
    except Exception:  # noqa: BLE001 - the full path meets the same failure and reports it
        text = None
    if text is None:
        from up42keys.cli import main as full_main

        return full_main()
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        return output.discard_stdout()
    os._exit(0)
