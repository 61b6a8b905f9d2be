"""Which target a command acts on: the resolution order, in one function.

The order: the NAME argument, else ``UP42KEYS_PROFILE`` (a per-shell choice),
else the environment credentials ``UP42_PROJECT_ID`` + ``UP42_PROJECT_API_KEY``
(a CI job in a repository that pins a profile keeps its own credentials),
else the nearest ``.up42keys-profile`` in this directory or above (``pin``),
else the active profile. ``resolve`` spells it out step by step, and every
caller (the full path, the fast path, the Python API, ``env``, ``exec``,
``inspect``, ``current``, ``list``) goes through it; the shell prompt
follows the same order in shell code (``up42keys.shell``). Stdlib only,
without ``re``: the cached-token path and ``current`` resolve their target
with this module alone.
"""

import os

from up42keys import state, targets


def resolve(argument: str | None) -> targets.ProfileName | targets.EnvironmentCredentials | None:
    """The target of a command: a profile by name, the environment credentials, or None.

    Each step is one source, in order; the first that names a target wins. An
    empty argument is a name too (an invalid one), not the lack of one.
    """
    if argument is not None:
        return targets.ProfileName(argument, targets.FROM_ARGUMENT)
    shell_choice = os.environ.get(targets.PROFILE_ENV, "").strip()
    if shell_choice:
        return targets.ProfileName(shell_choice, targets.FROM_SHELL)
    credentials = targets.environment_credentials()
    if credentials is not None:
        return credentials
    pinned = state.find_pin()
    if pinned is not None:
        name, path = pinned
        return targets.ProfileName(name, targets.FROM_DIRECTORY, path)
    active = state.read_active()
    return None if active is None else targets.ProfileName(active, targets.FROM_ACTIVE)


def current_label() -> str | None:
    """What ``current`` prints, when plain files can vouch for it; else None.

    A profile counts only when the key index knows it (it exists, as the
    profile file is now); otherwise the full path reads the profile file and
    decides, and reports a missing one.
    """
    target = resolve(None)
    if target is None or target.current_cache_key() is None:
        return None
    return target.label
