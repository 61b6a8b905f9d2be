"""Setting a machine up and checking it: ``completion``, ``shell-init`` and ``doctor``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from up42keys import complete
from up42keys.cli.app import PROG_NAME, SHELL_CHOICE, cli
from up42keys.cli.completion import whole_description_fish_complete
from up42keys.cli.render import check_json
from up42keys.cli.terminal import Styled, echo, echo_parts
from up42keys.errors import EXIT_ERROR, EXIT_OK
from up42keys.ops import shell

if TYPE_CHECKING:
    from click.shell_completion import ShellComplete

STATUS_STYLES: dict[str, dict[str, Any]] = {
    "ok": {"fg": "green"},
    "problem": {"fg": "red", "bold": True},
    "skipped": {"dim": True},
}


@cli.command()
@click.argument("shell_name", metavar="bash|zsh|fish", type=SHELL_CHOICE)
def completion(shell_name: str) -> None:
    """Print the TAB-completion script for a shell, to save where the shell looks for it."""
    from click.shell_completion import BashComplete, ZshComplete

    completers: dict[str, type[ShellComplete]] = {
        "bash": BashComplete,
        "zsh": ZshComplete,
        "fish": whole_description_fish_complete(),
    }
    script = completers[shell_name](cli, {}, PROG_NAME, complete.COMPLETE_VAR).source()
    echo(script, nl=not script.endswith("\n"))


@cli.command("shell-init")
@click.argument("shell_name", metavar="bash|zsh|fish", type=SHELL_CHOICE)
@click.option(
    "--cached",
    is_flag=True,
    help="Print rc-file lines that load this (and the completion) from a cache.",
)
def shell_init(shell_name: str, cached: bool) -> None:
    """Print the prompt function and 'use --shell' support for a shell.

    bash and zsh: eval "$(up42keys shell-init bash)"; fish: up42keys shell-init fish | source.
    With --cached, print lines for the rc file instead (up42keys shell-init bash --cached
    >> ~/.bashrc): they load the same code (and in bash and zsh the completion) from a file
    in the cache, made again only when up42keys was installed anew, so a shell start costs
    no Python start.
    """
    if not cached:
        echo(shell.init_code(shell_name), nl=False)
        return
    from up42keys.ops import startup

    echo(startup.loader(shell_name), nl=False)


@cli.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as a JSON object.")
@click.option("--offline", is_flag=True, help="Check nothing that needs the network.")
@click.option(
    "--fix",
    is_flag=True,
    help="First finish an interrupted change and remove what killed processes left.",
)
def doctor_command(as_json: bool, offline: bool, fix: bool) -> int:
    """Check the keyring, files, profiles and clock, and say how to fix each problem.

    Each profile's check mints one token (not cached); --offline skips them.
    Exit 0 when all is well, 1 when a problem was found.
    """
    from up42keys.ops import doctor
    from up42keys.store import journal

    fixed = [*journal.repair(), *doctor.fix_permissions()] if fix else []
    checks = doctor.run(offline=offline)
    problems = [check for check in checks if check.status == "problem"]
    if as_json:
        import json

        report = {"ok": not problems, "fixed": fixed, "checks": [check_json(c) for c in checks]}
        echo(json.dumps(report, indent=2))
    else:
        for line in fixed:
            echo_parts(Styled(f"{'fixed':<8}", STATUS_STYLES["ok"]), f" {line}")
        for check in checks:
            advice = f" -> fix: {check.fix}" if check.fix else ""
            status = Styled(f"{check.status:<8}", STATUS_STYLES.get(check.status, {}))
            echo_parts(status, f" {check.name}: {check.detail}{advice}")
        if problems:
            echo(f"{len(problems)} problem(s) found.", fg="red", bold=True)
        else:
            echo("All is well.", fg="green", bold=True)
    return EXIT_ERROR if problems else EXIT_OK
