"""Which target a command acts on: the resolution order, in one function.

The order: the NAME argument, else ``UP42KEYS_PROFILE`` (a per-shell choice),
else the environment credentials ``UP42_PROJECT_ID`` + ``UP42_PROJECT_API_KEY``
(a CI job in a repository that pins a profile keeps its own credentials),
else the nearest ``.up42keys-profile`` in this directory or above (``pin``),
else the active profile. ``resolve`` spells it out step by step, and every
caller (the full path, the fast path, the Python API, ``env``, ``exec``,
``inspect``, ``current``, ``list``) goes through it; the shell prompt
follows the same order in shell code (``up42keys.ops.shell``). Stdlib only,
without ``re``: the cached-token path and ``current`` resolve their target
with this module alone.
"""

import os

from up42keys import cache, environment, rules, state

# Not typing.TYPE_CHECKING: the fast path must not import typing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from up42keys.kinds import Profile

PROFILE_ENV = "UP42KEYS_PROFILE"
# Where the target of a command came from, in the order they win (``current --json``'s source).
FROM_ARGUMENT = "argument"
FROM_SHELL = PROFILE_ENV
FROM_ENVIRONMENT = environment.FROM_ENVIRONMENT
FROM_DIRECTORY = "directory"
FROM_ACTIVE = "active"


class ProfileName:
    """A profile chosen by name (argument, ``UP42KEYS_PROFILE``, a directory's file, ``active``),
    not yet read.

    What ``selection.resolve`` gives for a profile, so that the fast path can look its
    cached token up without parsing profiles.toml; ``load`` reads the profile itself.
    ``source`` says which step of the order chose it (``FROM_…``), ``path`` the directory
    file that did (else None): a name that does not exist is reported as that source's fault.
    """

    __slots__ = ("name", "path", "source")

    def __init__(self, name: str, source: str = FROM_ARGUMENT, path: str | None = None) -> None:
        self.name = name
        self.source = source
        self.path = path

    @property
    def label(self) -> str:
        return self.name

    @property
    def record_name(self) -> str:
        return self.name

    def current_cache_key(self) -> str | None:
        """What the profile's token must be minted for, per the key index (None: unknown)."""
        if rules.name_problem(self.name) is not None:
            return None
        return state.indexed_cache_key(self.name)

    def load(self) -> "Profile":
        """The profile, from the store (or the error: no such profile, bad name).

        The error names what chose the missing profile where that is not the argument:
        ``UP42KEYS_PROFILE`` or the directory's file, with the fix for each.
        """
        from up42keys.store import profile_file

        if self.source not in (FROM_SHELL, FROM_DIRECTORY):
            return profile_file.get(self.name)
        if self.source == FROM_SHELL:
            rules.check_name(self.name)
        profiles = profile_file.load()
        profile = profiles.get(self.name)
        if profile is not None:
            return profile
        from up42keys.errors import ProfileNotFoundError

        close = profile_file.suggestion(self.name, profiles)
        if self.source == FROM_SHELL:
            raise ProfileNotFoundError(
                f"{PROFILE_ENV} names profile {self.name!r}, which does not exist",
                f"{close}; or run 'unset {PROFILE_ENV}'",
            )
        directory = rules.shell_quote(os.path.dirname(self.path or ""))
        raise ProfileNotFoundError(
            f"{shown(self.path or '')} names profile {self.name!r}, which does not exist",
            f"{close}; pin the one meant: cd {directory} && up42keys pin NAME"
            " (or drop the file with 'up42keys pin --off')",
        )

    def confirm(self) -> None:
        """Raise unless the profile exists: ``current`` reports only a profile commands can use."""
        self.load()


def resolve(
    argument: str | None, report: "Callable[[str], None] | None" = None
) -> "ProfileName | environment.EnvironmentCredentials | None":
    """The target of a command: a profile by name, the environment credentials, or None.

    Each step is one source, in order; the first that names a target wins. An
    empty argument is a name too (an invalid one), not the lack of one. A pin file
    that the rule refuses or this user has not trusted (``state.find_pin``) chooses
    nothing: the active profile applies, and ``report`` gets one line that says so
    (by default, stderr gets it once per command; the fast path passes one that raises,
    so that the full path reports it).
    """
    if argument is not None:
        return ProfileName(argument, FROM_ARGUMENT)
    shell_choice = os.environ.get(PROFILE_ENV, "").strip()
    if shell_choice:
        return ProfileName(shell_choice, FROM_SHELL)
    credentials = environment.environment_credentials()
    if credentials is not None:
        return credentials
    pinned = state.find_pin()
    if pinned is not None and pinned[2] is None:
        return ProfileName(pinned[0], FROM_DIRECTORY, pinned[1])
    if pinned is not None:
        (report or _warn_once)(ignored_pin_warning(*pinned))
    active = state.read_active()
    return None if active is None else ProfileName(active, FROM_ACTIVE)


def ignored_pin_warning(name: str, path: str, problem: str | None) -> str:
    """One line: which pin file is ignored, why, and the command that fixes it."""
    directory = os.path.dirname(path)
    where = f"cd {rules.shell_quote(directory)} && " if directory.isprintable() else ""
    if problem == state.UNTRUSTED:
        why = f"it names profile {name!r} and {problem}"
        fix = f"to use it, trust it: {where}up42keys pin --trust"
    else:
        why = f"it {problem}"
        fix = f"replace it: {where}up42keys pin NAME; or remove it"
    return f"up42keys: ignoring {shown(path)}: {why}; {fix}"


def shown(path: str) -> str:
    """A path from outside, as one line of data: escaped (``repr``) unless all printable."""
    return path if path.isprintable() else repr(path)


_warned: set[str] = set()


def forget_warnings() -> None:
    """A new command reports an ignored pin file again: ``cli.main`` starts each with this,
    once in the command's process, and at each call of a program (or test) that calls it."""
    _warned.clear()


def _warn_once(line: str) -> None:
    import sys

    if line not in _warned and sys.stderr is not None:
        _warned.add(line)
        sys.stderr.write(line + "\n")


def current_label() -> str | None:
    """What ``current`` prints, when plain files can vouch for it; else None.

    A profile counts only when the key index knows it (it exists, as the
    profile file is now); otherwise the full path reads the profile file and
    decides, and reports a missing one.
    """
    target = resolve(None, leave_to_full_path)
    if target is None or target.current_cache_key() is None:
        return None
    return target.label


def leave_to_full_path(line: str) -> None:
    """The fast path's report of an ignored pin file: leave it to the full path."""
    raise LookupError(line)


def cached_record(
    target: "ProfileName | environment.EnvironmentCredentials | None", min_ttl: float
) -> "cache.TokenRecord | None":
    """The fresh cached token for a target that ``selection.resolve`` gave, reading no TOML
    and no keyring.

    This is all the fast path does; the full path starts with it too, so
    that the two always agree. A record counts only when it was minted for
    what the target is now: its cache key must match the environment's, or
    the profile's in the key index.
    """
    cache_key = None if target is None else target.current_cache_key()
    if target is None or cache_key is None:
        return None
    return cache.fresh_record(target.record_name, min_ttl, cache_key)
