"""Tokens for people and programs: ``token``, ``env`` and ``exec``."""

from __future__ import annotations

import click

from up42keys import settings
from up42keys.cli.app import SHELL_CHOICE, cli, min_ttl_option, profile_argument
from up42keys.cli.render import human_duration
from up42keys.cli.terminal import echo, warn
from up42keys.errors import UsageError
from up42keys.ops import shell, tokens


@cli.command()
@profile_argument(required=False)
@click.option("--refresh", is_flag=True, help="Mint a new token even if the cached one is valid.")
@click.option(
    "--min-ttl",
    metavar="SECONDS",
    help=f"Renew when fewer seconds are left [default: {settings.MIN_TTL_ENV} or 60].",
)
@click.option("--json", "as_json", is_flag=True, help="Print profile, project, token and expiry.")
def token(name: str | None, refresh: bool, min_ttl: str | None, as_json: bool) -> None:
    """Print a valid token of NAME (default: the profile 'current' prints)."""
    least = min_ttl_option(min_ttl)
    label, record = tokens.get_token_record(name, min_ttl=least, refresh=refresh)
    if not record.is_fresh(least):
        # Whole minutes at most: the seconds left move while a command runs, and the fast
        # and the full path must print the same words.
        left = record.seconds_left()
        lives = human_duration(60 * round(left / 60) if left >= 60 else left)
        warn(
            f"a fresh token lives about {lives}, less than the {least:g} s asked for"
            f" (--min-ttl or {settings.MIN_TTL_ENV}): every call mints anew"
        )
    if as_json:
        import json

        echo(
            json.dumps(
                {
                    "profile": label,
                    "project_id": tokens.project_id_of(record),
                    "token": record.token,
                    "expires_at": record.expires_at,
                }
            )
        )
    else:
        echo(record.token)


def target_environment(name: str | None) -> dict[str, str]:
    """The variables that hand the target's token and project to another program."""
    label, record = tokens.get_token_record(name, min_ttl=settings.min_ttl())
    project_id = tokens.project_id_of(record)
    return shell.token_variables(label, project_id, record.token, record.expires_at)


@cli.command()
@profile_argument(required=False)
@click.option(
    "--shell",
    "shell_name",
    type=SHELL_CHOICE,
    help="Print fish syntax for fish [default: POSIX, for bash, zsh and sh].",
)
def env(name: str | None, shell_name: str | None) -> None:
    """Print UP42_TOKEN, UP42_PROJECT_ID and UP42KEYS_PROFILE as lines to eval.

    eval "$(up42keys env prod)"; fish: up42keys env prod --shell fish | source
    """
    echo(shell.env_lines(target_environment(name), shell_name), nl=False)


class ExecCommand(click.Command):
    """A command whose arguments after the first ``--`` are another program's, untouched.

    Click drops a ``--`` and would then read the program as NAME; splitting
    first keeps NAME optional and its completion working.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            split = args.index("--")
            args, ctx.meta[EXEC_ARGV] = args[:split], args[split + 1 :]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [*super().collect_usage_pieces(ctx), "-- CMD [ARGS]..."]


EXEC_ARGV = "up42keys.exec.argv"


@cli.command(
    "exec",
    cls=ExecCommand,
    context_settings={"allow_extra_args": True},
)
@profile_argument(required=False)
@click.option(
    "--gdal",
    is_flag=True,
    help="Also give GDAL (gdalinfo, rasterio, rio...) the token, for the API origin only.",
)
@click.pass_context
def exec_command(ctx: click.Context, name: str | None, gdal: bool) -> int:
    """Run a command with NAME's UP42_TOKEN, UP42_PROJECT_ID and UP42KEYS_PROFILE set.

    up42keys exec [NAME] -- CMD [ARGS...]. UP42_TOKEN_FILE names a file that holds
    a valid token for as long as CMD runs. Exits with CMD's exit code (128+N when
    a signal N killed it); signals sent to up42keys reach CMD.
    """
    argv = ctx.meta.get(EXEC_ARGV)
    if ctx.args or not argv:
        raise UsageError("give the command after '--': up42keys exec [NAME] -- CMD [ARGS...]")
    from up42keys.ops import execute

    return execute.run_with_token(name, argv, warn, gdal=gdal)
