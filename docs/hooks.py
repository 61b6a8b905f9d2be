"""mkdocs hooks: what the manual takes from the code and from CONTRIBUTING.md at build time.

``<!-- docstring: MODULE -->`` becomes MODULE's docstring, so that a text the code owns (the
state invariants) is written once and shown as it is. ``<!-- include: FILE -->`` becomes
FILE from the repository's top (CONTRIBUTING.md), whose links into the manual read
``docs/PAGE.md`` (right on the repository's own page) and lose the ``docs/`` in the site.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

DOCSTRING = re.compile(r"<!-- docstring: ([\w.]+) -->")
INCLUDE = re.compile(r"<!-- include: ([\w.-]+) -->")
TOP = Path(__file__).resolve().parent.parent


def _docstring(match: re.Match[str]) -> str:
    module = importlib.import_module(match.group(1))
    if not module.__doc__:
        raise ValueError(f"{match.group(1)} has no docstring for the manual to show")
    return "```text\n" + module.__doc__.strip() + "\n```"


def _include(match: re.Match[str]) -> str:
    text = (TOP / match.group(1)).read_text(encoding="utf-8")
    return text.replace("](docs/", "](")


def on_page_markdown(markdown: str, **_: Any) -> str:
    return DOCSTRING.sub(_docstring, INCLUDE.sub(_include, markdown))
