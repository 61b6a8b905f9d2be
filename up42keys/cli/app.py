"""The Click group every command registers on, and the options several commands share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from up42keys import __version__, settings
from up42keys.cli import terminal
from up42keys.cli.completion import complete_profiles
from up42keys.cli.terminal import echo
from up42keys.ops import shell

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}
PROG_NAME = "up42keys"
SHELL_CHOICE = click.Choice(shell.SHELLS)


@click.group(context_settings=CONTEXT_SETTINGS, invoke_without_command=True)
@click.version_option(__version__, "-V", "--version", prog_name="up42keys")
@click.option(
    "--color",
    type=click.Choice(terminal.COLOR_CHOICES),
    default="auto",
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, param, value: terminal.set_color(value),
    help="Colour: auto (on a terminal, unless NO_COLOR is set), always or never.",
)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Named UP42 profiles, API keys and passwords in the OS keyring, fresh tokens.

    Exit codes: 0 ok, 1 other error, 2 usage or bad input, 3 no such profile
    or none active, 4 UP42 rejected the credentials, 5 UP42 unreachable or no
    token in its answer, 6 no usable OS keyring, 130 interrupted (Ctrl-C).
    """
    terminal.report_waits()
    # Plain 'up42keys' asks for help: it gets it on stdout, and exit 0.
    if ctx.invoked_subcommand is None:
        echo(ctx.get_help())


def profile_argument(required: bool = True, name: str = "name") -> Callable[[F], F]:
    return click.argument(name, required=required, shell_complete=complete_profiles)


def min_ttl_option(value: str | None) -> float:
    return settings.min_ttl() if value is None else settings.parse_seconds(value, "--min-ttl")
