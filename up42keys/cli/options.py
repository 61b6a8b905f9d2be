"""Options made from the kinds' declarations, so that a new kind brings its own options.

``add`` takes every kind's settings and stdin flag, ``edit`` the settings a kind may
change, ``set-secret`` the stdin flags; none of them writes a kind's option out again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import click

from up42keys import kinds

Decorator = Callable[[Any], Any]


def together(decorators: Iterable[Decorator]) -> Decorator:
    """The decorators as one, their options listed in ``--help`` in the order given."""
    ordered = list(decorators)

    def decorate(function: Any) -> Any:
        for decorator in reversed(ordered):
            function = decorator(function)
        return function

    return decorate


def setting_option(setting: kinds.Setting, help_text: str) -> Decorator:
    """The option that gives ``setting``; one of few values is offered as a choice."""
    if setting.choices:
        return click.option(
            setting.flag, setting.field, type=click.Choice(list(setting.choices)), help=help_text
        )
    return click.option(setting.flag, setting.field, metavar=setting.metavar, help=help_text)


def parameter(flag: str) -> str:
    """The name Click gives an option's value (``--api-url``: "api_url")."""
    return flag.lstrip("-").replace("-", "_")


def kind_options() -> dict[str, Decorator]:
    """``add``'s options of every kind, by flag: a kind's own flag, then its settings.

    A setting that kinds share is listed where the last of them lists it.
    """
    made: dict[str, Decorator] = {}
    for kind in kinds.KINDS.values():
        if kind.kind_help:
            made[kind.kind_flag] = click.option(kind.kind_flag, is_flag=True, help=kind.kind_help)
        for setting in kind.SETTINGS:
            made.pop(setting.flag, None)
            made[setting.flag] = setting_option(setting, setting.help)
    return made


def editable_settings() -> tuple[kinds.Setting, ...]:
    """What ``edit`` may change in a profile of some kind, in ``add``'s order."""
    every = {setting.flag: setting for kind in kinds.KINDS.values() for setting in kind.SETTINGS}
    return tuple(every[flag] for flag in kind_options() if flag in every and every[flag].editable)


# Each kind's flag that reads its secret from stdin, and what that secret is called.
STDIN_FLAGS = {kind.stdin_flag: kind.asks_for for kind in kinds.KINDS.values()}

stdin_options = together(
    click.option(flag, is_flag=True, help=f"Read the {secret} as one line from stdin.")
    for flag, secret in STDIN_FLAGS.items()
)
