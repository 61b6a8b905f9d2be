"""The profile store: load, save and lock ``profiles.toml`` in the config directory; never a secret.

Writers take one lock (the ``filelock`` package), read the file again, change
it and replace it atomically, so concurrent ``add``, ``use``, ``remove`` and
``rename`` never lose a profile. Readers take no lock: the atomic replace
means they see a whole file. A file that does not parse is never written
over: every command that would write refuses until the user repairs it.

What a profile is lives in ``up42keys.kinds``; the plain-text state that
follows each save (the key index, the protected markers) in ``up42keys.state``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from up42keys import files, inputs, kinds, paths, rules, state
from up42keys.errors import CorruptFileError, InputError, ProfileNotFoundError
from up42keys.kinds import Profile, Target

FORMAT_VERSION = 1


def load() -> dict[str, Profile]:
    """All profiles by name; an empty dict when there is no file yet. Reading never writes."""
    return load_with_identity()[0]


def load_with_identity() -> tuple[dict[str, Profile], str | None]:
    """The profiles, and the identity of the file they were read from (None: no file).

    The identity is what the key index is written for (``state.file_identity``).
    """
    where = paths.profiles_file()
    try:
        with open(where, "rb") as stream:
            status = os.fstat(stream.fileno())
            files.refuse_foreign(where, status)
            identity = state.file_identity(status)
            text = inputs.read_descriptor(stream.fileno(), what=where, limit=inputs.DOCUMENT_LIMIT)
    except FileNotFoundError:
        return {}, None
    except OSError as error:
        raise CorruptFileError(
            f"cannot read {where} ({error.strerror})", "make it a file you can read"
        ) from None
    except InputError as error:
        raise CorruptFileError(
            f"{where} is not valid TOML ({error.problem})", "repair it or restore a backup"
        ) from None
    try:
        document = inputs.parse_toml(text, where)
    except InputError as error:
        raise CorruptFileError(error.message, "repair it or restore a backup") from None
    version = document.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise CorruptFileError(f"{where} has format version {version!r}", "upgrade up42keys")
    tables = document.get("profiles", {})
    if not isinstance(tables, dict):
        raise CorruptFileError(f"{where}: 'profiles' is not a table", "repair it")
    loaded = {
        name: kinds.from_table(name, table, where, _corrupt) for name, table in tables.items()
    }
    return loaded, identity


def _corrupt(problem: str) -> CorruptFileError:
    return CorruptFileError(problem, "repair it or restore a backup")


def _cache_keys(loaded: dict[str, Profile]) -> dict[str, str]:
    return {name: profile.cache_key for name, profile in loaded.items()}


def get(name: str) -> Profile:
    return pick(load(), rules.check_name(name))


def reloaded(target: Target) -> Target | None:
    """``target`` as the store has it now (another process may have changed it); None when
    it was removed. A target the store does not hold (the environment credentials) is as it is.
    """
    return target if target.name is None else load().get(rules.check_name(target.name))


def pick(loaded: dict[str, Profile], name: str) -> Profile:
    """``loaded[name]``, or the error that says there is no such profile."""
    profile = loaded.get(name)
    if profile is None:
        raise ProfileNotFoundError(f"no profile named {name!r}", suggestion(name, loaded))
    return profile


def suggestion(name: str, names: Iterable[str]) -> str:
    """What to do about a mistyped name: the closest existing names, else where to look."""
    import difflib

    close = difflib.get_close_matches(name, sorted(names), n=3, cutoff=0.6)
    if not close:
        return "see 'up42keys list'"
    return "did you mean " + " or ".join(repr(candidate) for candidate in close) + "?"


def save(loaded: dict[str, Profile]) -> None:
    """Replace the profile file. Only the journal calls this: the key index and the
    protected markers follow it there."""
    import tomli_w

    document = {
        "version": FORMAT_VERSION,
        "profiles": {name: loaded[name].to_toml() for name in sorted(loaded)},
    }
    files.atomic_write(paths.profiles_file(), tomli_w.dumps(document))


@contextmanager
def locked() -> Iterator[None]:
    """Hold the profile store's lock: the only way to read-change-write the store.

    Taken after any profile token locks (the lock order: see up42keys.state).
    """
    from up42keys.store import locks

    files.ensure_private_dir(paths.config_dir())
    with locks.hold(os.path.join(paths.config_dir(), ".profiles.lock"), "the profile file"):
        yield
