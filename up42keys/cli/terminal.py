"""The one writer of the command line: every line it prints passes the sanitizer first.

Text that reaches the terminal may come from outside: a server's error message, a
directory's path, a file's contents. An escape sequence in it could clear the screen,
retitle the window or fill the clipboard (OSC 52), and a bidirectional override could
make a line read other than it is. So ``clean`` removes C0 and C1 controls (newline and
tab stay), whole CSI, OSC, DCS, SOS, PM and APC sequences, and the bidirectional
overrides, before ``echo`` writes anything, on a terminal and on a pipe alike. Our own
colour is added after cleaning, so it is the only escape sequence that can be written.

Colour is on where the stream is a terminal, unless ``NO_COLOR`` is set
(https://no-color.org) or ``--color never`` was given; ``--color always`` forces it.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, NamedTuple

import click

NO_COLOR_ENV = "NO_COLOR"
COLOR_CHOICES = ("auto", "always", "never")

# ESC or its 8-bit form, then a whole sequence: CSI's parameters and final byte; OSC, DCS,
# SOS, PM and APC up to their terminator (BEL or ST), or to the end of the text if unended.
_SEQUENCES = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)
# What is left of the controls (newline and tab aside), DEL, and the bidirectional
# embeddings, overrides and isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

_color_choice = "auto"


def clean(text: str) -> str:
    """``text`` without anything that a terminal would act on rather than show."""
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))


def set_color(choice: str) -> None:
    """``--color``'s answer, for the rest of the command."""
    global _color_choice  # noqa: PLW0603 - one choice per process, made by the group's option
    _color_choice = choice


def colour_on(err: bool = False) -> bool:
    """Whether what goes to stdout (or stderr) is coloured."""
    if _color_choice != "auto":
        return _color_choice == "always"
    if os.environ.get(NO_COLOR_ENV):
        return False
    stream = sys.stderr if err else sys.stdout
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # a closed stream
        return False


def echo(text: str = "", *, err: bool = False, nl: bool = True, **style: Any) -> None:
    """Write ``text``, cleaned, with ``style`` (click.style's arguments) where colour is on."""
    cleaned = clean(text)
    coloured = bool(style) and colour_on(err)
    click.echo(
        click.style(cleaned, **style) if coloured else cleaned, err=err, nl=nl, color=coloured
    )


class Styled(NamedTuple):
    """A part of a line with its own style (click.style's arguments)."""

    text: str
    style: dict[str, Any]


def echo_parts(*parts: str | Styled, err: bool = False, nl: bool = True) -> None:
    """One line of parts, each cleaned; the ``Styled`` ones coloured where colour is on."""
    coloured = colour_on(err)
    line = "".join(
        click.style(clean(part.text), **part.style)
        if isinstance(part, Styled) and coloured
        else clean(part if isinstance(part, str) else part.text)
        for part in parts
    )
    click.echo(line, err=err, nl=nl, color=coloured)


def warn(message: str) -> None:
    echo(f"up42keys: warning: {message}", err=True, fg="yellow")


def report_waits() -> None:
    """Say on stderr what a network wait of over a second waits for, where stderr is a terminal."""
    from up42keys.remote import progress

    if sys.stderr is not None and sys.stderr.isatty():
        progress.set_reporter(lambda message: echo(f"up42keys: {message}...", err=True, dim=True))
