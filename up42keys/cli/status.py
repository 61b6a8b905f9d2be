"""``status``: on one screen, what applies here and why, and every profile's token and protection.

As ``gh auth status`` does: the answer to "what would a command use here?" beside the
list, without opening the keyring or the network. The core gives the rows and the target
(``lifecycle.rows``, ``tokens.current_target``); this module only prints them.
"""

from __future__ import annotations

from typing import Any

import click

from up42keys import environment, selection
from up42keys.cli.app import cli
from up42keys.cli.render import reason, row_json
from up42keys.cli.table import ACTIVE_STYLE, print_table
from up42keys.cli.terminal import Styled, echo, echo_parts
from up42keys.errors import EXIT_OK, ProfileNotFoundError
from up42keys.ops import lifecycle, tokens


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print it as a JSON object.")
def status(as_json: bool) -> int:
    """Show which profile commands here use and why, and every profile's token and protection.

    Neither the keyring nor the network is used: the token state is the cached one.
    Exit 0, or 3 when no profile applies here (none active, no pin, no variable).
    """
    rows = lifecycle.rows()
    target: selection.ProfileName | environment.EnvironmentCredentials | None = None
    try:
        target = tokens.current_target()
    except ProfileNotFoundError as error:
        missing = error
    if as_json:
        import json

        here: dict[str, Any] | None = None
        if target is not None:
            here = {"profile": target.label, "source": target.source, "path": target.path}
        echo(json.dumps({"here": here, "profiles": [row_json(row) for row in rows]}, indent=2))
    else:
        if target is not None:
            echo_parts("Here: ", Styled(target.label, ACTIVE_STYLE), f" ({reason(target)})")
        else:
            echo(f"Here: no profile applies ({missing.message})")
        if rows:
            echo()
            print_table(rows)
    return EXIT_OK if target is not None else ProfileNotFoundError.exit_code
