"""The command line: parse arguments, call the core, print.

No logic of its own lives here beyond presentation. The package holds one module per
command family (``profiles``, ``switching``, ``tokens``, ``setup``, ``status``), which register on
the group in ``app``, beside the prompts, the rendering and the completion they share;
the one error boundary is ``boundary.main``, which turns every error into one line on
stderr and its documented exit code. ``json``, ``datetime`` and ``doctor`` are imported
by the commands that use them, so that ``list`` starts faster.
"""

from __future__ import annotations

from up42keys.cli import profiles, setup, status, switching, tokens
from up42keys.cli.app import cli
from up42keys.cli.boundary import main
from up42keys.cli.examples import describe

describe(cli)

# The command modules are imported for their registration on ``cli``.
__all__ = ["cli", "main", "profiles", "setup", "status", "switching", "tokens"]
