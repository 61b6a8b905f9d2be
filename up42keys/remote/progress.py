"""Word of a network wait, for whoever shows it: the core says what it waits for, never where.

The command line registers a reporter when stderr is a terminal; without one, nothing
here costs anything (no thread is started). A wait announces itself only once it has
lasted ``DELAY`` seconds, so a quick answer prints nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Reporter = Callable[[str], None]
DELAY = 1.0

_reporter: list[Reporter] = []


def set_reporter(reporter: Reporter | None) -> None:
    """Send word of waits to ``reporter`` from now on (None: to no one)."""
    _reporter[:] = [reporter] if reporter else []


def report(message: str) -> None:
    for reporter in _reporter:
        reporter(message)


@contextmanager
def waiting(message: str) -> Iterator[None]:
    """Report ``message`` if the block lasts longer than ``DELAY`` seconds."""
    if not _reporter:
        yield
        return
    import threading

    timer = threading.Timer(DELAY, report, (message,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
