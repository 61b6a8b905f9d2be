"""The kinds of profile, and the one parser of a profile's table.

``KINDS`` is the registry: a kind's name (the ``kind`` key of its table) to its class.
``from_table`` reads a table of that shape wherever one comes from (profiles.toml, the
journal, a file given to ``import``) and makes the profile through its kind's checked
constructor, so that a setting is held to the same rules as ``add``'s option.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from up42keys import rules
from up42keys.errors import Up42KeysError
from up42keys.kinds.account import AccountProfile, account_profile
from up42keys.kinds.base import Profile, ProfileKind, Setting, Target
from up42keys.kinds.project import ProjectProfile, project_profile

__all__ = [
    "KINDS",
    "AccountProfile",
    "Profile",
    "ProfileKind",
    "ProjectProfile",
    "Setting",
    "Target",
    "account_profile",
    "from_table",
    "project_profile",
]

KINDS: Mapping[str, type[ProfileKind]] = {"project": ProjectProfile, "account": AccountProfile}
# The flags of a table that are no setting of a kind.
FLAGS = ("protected", "has_secret")

# What each kind's checked constructor takes, by table key.
_MAKERS: Mapping[str, Callable[..., Profile]] = {
    "project": project_profile,
    "account": account_profile,
}


def from_table(
    name: str,
    table: object,
    where: str,
    fail: Callable[[str], Up42KeysError],
    *,
    stored: bool = True,
) -> Profile:
    """The profile a table defines, or ``fail(what is wrong)`` raised.

    ``fail`` makes the entrance's own error: a corrupt profile file's, or a bad import's.
    A ``stored`` table (profiles.toml, the journal) holds every setting its kind always
    writes; a shared one may leave out what has a default.
    """
    if not isinstance(table, dict):
        raise fail(f"{where}: profile {name!r} is not a table")
    problem = rules.name_problem(name)
    if problem is not None:
        raise fail(f"{where}: {name!r} is not a valid profile name ({problem})")
    kind = table.get("kind", "project")
    if not isinstance(kind, str) or kind not in KINDS:
        raise fail(f"{where}: profile {name!r} has kind {kind!r}; use {' or '.join(KINDS)}")
    settings = KINDS[kind].SETTINGS
    allowed = [setting.field for setting in settings]
    unknown = sorted(set(table) - set(allowed) - {"kind", *FLAGS})
    if unknown:
        raise fail(
            f"{where}: profile {name!r} has unknown settings {', '.join(map(repr, unknown))}:"
            f" a {kind} profile takes no {', '.join(unknown)}"
        )
    values = {key: table[key] for key in allowed if key in table}
    if not all(isinstance(value, str) for value in values.values()):
        raise fail(f"{where}: profile {name!r} has a setting that is not text")
    for setting in settings:
        if not values.get(setting.field) and (setting.required or (stored and setting.stored)):
            raise fail(
                f"{where}: profile {name!r} lacks its {setting.field}"
                f" (a {kind} profile needs {setting.field})"
            )
    flags = {flag: table.get(flag, flag == "has_secret") for flag in FLAGS}
    for flag, value in flags.items():
        if not isinstance(value, bool):
            raise fail(f"{where}: {flag!r} of {name!r} must be true or false")
    try:
        return _MAKERS[kind](name, **values, **flags)
    except Up42KeysError as error:
        raise fail(f"{where}: profile {name!r}: {error.message}") from None
