"""The profile table that ``list`` and ``status`` print: one line per profile, aligned.

The active profile's name is green and bold, a protected one's red, where colour is on;
the marks and the PROTECTED column say the same without colour.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from up42keys.cli.render import describe_expiry
from up42keys.cli.terminal import Styled, clean, echo_parts

if TYPE_CHECKING:
    from up42keys.ops import lifecycle

HEADER = (" ", "NAME", "KIND", "PROJECT/ACCOUNT", "API", "TOKEN", "PROTECTED")
ACTIVE_STYLE = {"fg": "green", "bold": True}
PROTECTED_STYLE = {"fg": "red", "bold": True}


def cells(row: lifecycle.Row, now: float) -> tuple[str, ...]:
    profile = row.profile
    return (
        "*" if row.active else ">" if row.used_here else " ",
        profile.name,
        profile.kind,
        profile.identity,
        "" if profile.api_url == profile.default_api_url else profile.api_url,
        describe_expiry(row.token_expires_at, now) if profile.has_secret else "no secret",
        "yes" if profile.protected else "",
    )


def print_table(rows: list[lifecycle.Row]) -> None:
    """The rows under a header, the columns as wide as their widest cell (cleaned)."""
    now = time.time()
    table = [tuple(clean(cell) for cell in cells(row, now)) for row in rows]
    widths = [max(len(line[column]) for line in [HEADER, *table]) for column in range(len(HEADER))]
    echo_parts(
        "  ".join(cell.ljust(width) for cell, width in zip(HEADER, widths, strict=True)).rstrip()
    )
    for row, line in zip(rows, table, strict=True):
        padded = [cell.ljust(width) for cell, width in zip(line, widths, strict=True)]
        style = PROTECTED_STYLE if row.profile.protected else ACTIVE_STYLE if row.active else None
        name = Styled(padded[1], style) if style else padded[1]
        last = "  ".join(padded[2:]).rstrip()
        echo_parts(padded[0], "  ", name, "  ", last)
