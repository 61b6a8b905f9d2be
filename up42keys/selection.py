"""Which target a command acts on: the resolution order, in one function.

The order: the NAME argument, else ``UP42KEYS_PROFILE`` (a per-shell choice),
else the environment credentials ``UP42_PROJECT_ID`` + ``UP42_PROJECT_API_KEY``,
else the active profile. ``resolve`` spells it out step by step; a new source
(a per-directory file, say) is one more step in it, and ``current_label``
follows by itself. Stdlib only, without ``re``: the cached-token path and
``current`` resolve their target with this module alone.
"""

import os

from up42keys import state, targets


def chosen_name(argument: str | None) -> str | None:
    """The profile named by the argument or by ``UP42KEYS_PROFILE``, if any.

    An empty argument is a name too (an invalid one), not the lack of one.
    """
    if argument is not None:
        return argument
    return os.environ.get(targets.PROFILE_ENV, "").strip() or None


def resolve(argument: str | None) -> targets.ProfileName | targets.EnvironmentCredentials | None:
    """The target of a command: a profile by name, the environment credentials, or None.

    Each step is one source, in order; the first that names a target wins.
    """
    named = chosen_name(argument)
    if named is not None:
        return targets.ProfileName(named)
    credentials = targets.environment_credentials()
    if credentials is not None:
        return credentials
    active = state.read_active()
    return None if active is None else targets.ProfileName(active)


def current_label() -> str | None:
    """What ``current`` prints: the profile's name, ``(environment)``, or None."""
    target = resolve(None)
    return None if target is None else target.label
