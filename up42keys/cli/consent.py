"""The user's word for a change that the policy (``ops.policy``) asks about.

The policy says which changes wait for it; this asks on the terminal, in the words of
``cli.prompts``, or takes ``--yes``. The fix printed without a terminal is the command
as it was given, with ``--yes``: it does exactly what was asked.
"""

from __future__ import annotations

import click

from up42keys.cli.prompts import confirm_change_of_protected, confirm_protected
from up42keys.kinds import Profile
from up42keys.ops import policy


def consent(profile: Profile | None, change: str, *, yes: bool) -> bool:
    """True once the user has agreed to ``change`` of ``profile``, where the policy asks.

    A refusal (or no terminal and no ``--yes``, for a strict change) is an error: nothing
    is changed.
    """
    if yes or profile is None or not policy.needs_consent(profile):
        return yes
    if not policy.strict(change):
        confirm_protected(profile.name)
    else:
        confirm_change_of_protected(profile.name, change, command_as_given())
    return True


def command_as_given() -> list[str]:
    """The running command's words, from what Click parsed: arguments, then the options set."""
    context = click.get_current_context()
    words = ["up42keys", context.info_name or ""]
    options = []
    for parameter in context.command.params:
        value = context.params.get(parameter.name or "")
        if value is None:
            continue
        if isinstance(parameter, click.Argument):
            words += [str(item) for item in value] if isinstance(value, tuple) else [str(value)]
        elif isinstance(parameter, click.Option) and value not in (False, parameter.default):
            options.append(
                parameter.opts[0] if parameter.is_flag else f"{parameter.opts[0]}={value}"
            )
    return [*words, *options]
