"""Changes that a SIGKILL at any instant leaves whole, undone, or for the next change to finish.

A change (``add``, ``remove``, ``rename``, ``use``, ``protect``, and whatever comes next) says
what the state is to be, as a ``Change``, inside ``changing()``; ``apply`` writes it in the
order that up42keys.state states, with the invariants it keeps. Where a change has more
than one write that matters (keys, records), ``apply`` first writes a small record of it,
the journal (``paths.transition_file``: no secret, only names and profile settings). A key
that replaces another is first staged in the keyring under ``.staged.NAME`` (a leading '.'
is never a profile's name); a key for a name that no profile has is written in place. Once
all are written the journal says "committed" and from then on the change is carried
through, by this process or, if it dies, by the next one. Before that point the next one
undoes it: it deletes those keys, and nothing else was written.

``changing()`` is where every change starts: it finishes (or undoes) an interrupted change
and sweeps what killed processes left (``sweep``), then hands over the profiles.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any, NamedTuple

from up42keys import cache, files, keychain, locks, paths, state, store, targets
from up42keys.errors import CorruptFileError
from up42keys.targets import Profile

PREPARED = "prepared"
COMMITTED = "committed"


class Change(NamedTuple):
    """The state a change leaves: the profiles, the active one, and what goes with them."""

    profiles: dict[str, Profile]
    active: str | None
    # New keys, by profile name; in memory only, and staged in the keyring.
    secrets: dict[str, str] | None = None
    # Token records that follow a rename, (from, to).
    moves: tuple[tuple[str, str], ...] = ()
    # Token records that must not outlive the change (a replaced or removed profile's).
    forget: tuple[str, ...] = ()


class _Plan(NamedTuple):
    """A change as the journal holds it: no secret, only which names have a staged key."""

    profiles: dict[str, Profile]
    active: str | None
    staged: tuple[str, ...]
    fresh: tuple[str, ...]
    drop_keys: tuple[str, ...]
    moves: tuple[tuple[str, str], ...]
    forget: tuple[str, ...]
    clear_current: bool

    @property
    def names(self) -> set[str]:
        """The profiles whose token locks the change needs."""
        touched = {
            *self.staged,
            *self.fresh,
            *self.drop_keys,
            *(name for pair in self.moves for name in pair),
        }
        touched |= set(self.forget)
        return {name.split(targets.REFRESH_SUFFIX)[0] for name in touched}

    def document(self, phase: str) -> str:
        import json

        return json.dumps(
            {
                "phase": phase,
                "profiles": {name: profile.to_toml() for name, profile in self.profiles.items()},
                "active": self.active,
                "staged": list(self.staged),
                "fresh": list(self.fresh),
                "drop_keys": list(self.drop_keys),
                "moves": [list(pair) for pair in self.moves],
                "forget": list(self.forget),
                "clear_current": self.clear_current,
            }
        )


def _read_journal() -> tuple[str, _Plan] | None:
    where = paths.transition_file()
    text = files.read_text(where)
    if text is None:
        return None
    import json

    try:
        document: dict[str, Any] = json.loads(text)
        plan = _Plan(
            {
                name: targets.from_table(name, table, where)
                for name, table in document["profiles"].items()
            },
            document["active"],
            tuple(document["staged"]),
            tuple(document["fresh"]),
            tuple(document["drop_keys"]),
            tuple((source, target) for source, target in document["moves"]),
            tuple(document["forget"]),
            bool(document["clear_current"]),
        )
        return str(document["phase"]), plan
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CorruptFileError(
            f"{where} (an interrupted change) cannot be read", f"remove {where}"
        ) from None


@contextlib.contextmanager
def changing(*names: str) -> Iterator[dict[str, Profile]]:
    """Hold the token locks of ``names`` and the store's lock; finish what a killed change left.

    The locks of an interrupted change's profiles are taken too (the lock order needs them
    before the store's), so its completion races no mint. Yields the profiles.
    """
    with _changing(names) as (profiles, _):
        yield profiles


@contextlib.contextmanager
def _changing(
    names: tuple[str, ...], *, orphan_records: bool = False
) -> Iterator[tuple[dict[str, Profile], list[str]]]:
    while True:
        pending = _read_journal()
        wanted = set(names) | (pending[1].names if pending else set())
        with contextlib.ExitStack() as stack:
            for name in sorted(wanted):
                stack.enter_context(locks.profile_lock(name))
            stack.enter_context(store.locked())
            pending = _read_journal()
            if pending is not None and not pending[1].names <= wanted:
                continue  # another change was interrupted meanwhile: take its locks too
            if pending is not None:
                _finish(*pending)
            profiles = store.load()
            yield profiles, sweep(profiles, orphan_records=orphan_records)
            return


def finish_pending() -> None:
    """Finish an interrupted change, if one is pending, before a command relies on the state.

    One stat where there is none; the way in for commands that mint (a key staged but not
    yet in place must not be used against the old settings).
    """
    if os.path.exists(paths.transition_file()):
        with changing():
            pass


def apply(before: dict[str, Profile], change: Change) -> None:
    """Write ``change`` over ``before`` (what ``changing`` gave) in the crash-safe order.

    An error before the profile file is written undoes it in this process; after that, the
    change is done or left to the next one to finish, and the error is raised either way.
    """
    secrets = change.secrets or {}
    active = state.read_active()
    touched = {
        name
        for name in set(before) | set(change.profiles)
        if before.get(name) != change.profiles.get(name)
    }
    touched |= {name.split(targets.REFRESH_SUFFIX)[0] for name in change.forget}
    plan = _Plan(
        change.profiles,
        change.active,
        tuple(sorted(name for name in secrets if name in before)),
        tuple(sorted(name for name in secrets if name not in before)),
        tuple(sorted(set(before) - set(change.profiles))),
        change.moves,
        change.forget,
        active != change.active or active in touched,
    )
    journal = bool(plan.staged or plan.fresh or plan.drop_keys or plan.moves or plan.forget)
    previous = {name: keychain.find_secret(name) for name in plan.staged if name in before}
    identity = state.profile_file_identity()
    try:
        if journal:
            if plan.staged or plan.fresh:
                files.atomic_write(paths.transition_file(), plan.document(PREPARED))
                # A key for a name no profile has is put in place at once; one that replaces
                # another is staged, so that the next change can tell which one is there.
                for name in plan.fresh:
                    keychain.set_secret(name, secrets[name])
                for name in plan.staged:
                    keychain.set_secret(name, secrets[name], staged=True)
            files.atomic_write(paths.transition_file(), plan.document(COMMITTED))
        _up_to_the_save(plan, secrets, before, active)
    except BaseException:
        if state.profile_file_identity() == identity:
            _undo(plan, previous, active)
        raise
    _after_the_save(plan)


def _undo(plan: _Plan, previous: dict[str, str | None], active: str | None) -> None:
    """Put back what a change that failed before its profile file was written had changed."""
    with contextlib.suppress(Exception):
        for name in plan.fresh:
            keychain.delete_secret(name)
        for name in plan.staged:
            secret = previous.get(name)
            if secret is None:
                keychain.delete_secret(name)
            else:
                keychain.set_secret(name, secret)
            keychain.delete_secret(name, staged=True)
        state.write_active(active)
        files.remove_file(paths.transition_file())
        _restore_current_token(store.load())


def _finish(phase: str, plan: _Plan) -> None:
    """Carry a committed change through; undo one that was not (only keys were written)."""
    if phase == COMMITTED:
        _up_to_the_save(plan, {}, store.load(), state.read_active())
        _after_the_save(plan)
        return
    listed = store.load()
    for name in plan.staged:
        keychain.delete_secret(name, staged=True)
    for name in plan.fresh:
        if name not in listed:
            keychain.delete_secret(name)
    files.remove_file(paths.transition_file())


def _up_to_the_save(
    plan: _Plan, secrets: dict[str, str], listed: dict[str, Profile], active: str | None
) -> None:
    """The writes up to the profile file's, in the order up42keys.state states; each may be
    done again (by the next change, after a crash)."""
    if plan.clear_current:
        state.remove_current_token()
    for name in plan.staged:
        secret = secrets.get(name) or keychain.find_secret(name, staged=True)
        if secret:  # else it was put in place already, and its staged copy deleted
            keychain.set_secret(name, secret)
    if active != plan.active and (plan.active is None or plan.active in listed):
        state.write_active(plan.active)  # away from a profile before it goes
    elif active != plan.active and active in listed and active not in plan.profiles:
        # A rename of the active profile: both names are listed while active moves over.
        store.save({**listed, **plan.profiles})
        state.write_active(plan.active)
    if plan.profiles != listed or plan.staged or plan.fresh:  # the file says when a key counts
        store.save(plan.profiles)


def _after_the_save(plan: _Plan) -> None:
    """The writes after the profile file's: active to a new profile, and what the old state
    leaves over goes."""
    if state.read_active() != plan.active:
        state.write_active(plan.active)  # to a profile once it is listed
    for name in plan.drop_keys:
        keychain.delete_secret(name)
    for name in plan.staged:
        keychain.delete_secret(name, staged=True)
    for record_name in plan.forget:
        cache.remove(record_name)
    for source, target in plan.moves:
        cache.move(source, target)
    _restore_current_token(plan.profiles)
    files.remove_file(paths.transition_file())


def _restore_current_token(profiles: dict[str, Profile]) -> None:
    """Give current-token the active profile's cached token where it has none."""
    active = state.read_active()
    if active is None or active not in profiles or os.path.exists(paths.current_token_file()):
        return
    record = cache.fresh_record(active, 0, profiles[active].cache_key)
    if record is not None:
        state.write_current_token(record.token)


def sweep(profiles: dict[str, Profile], *, orphan_records: bool = False) -> list[str]:
    """Remove what killed processes left; cheap (a few directory listings). Under the store lock.

    That is: temporary files of processes that no longer run, token files of ``exec`` runs
    that were killed, protected markers out of line with the profile file, a current-token
    file that a killed change removed. ``orphan_records`` (``doctor --fix``) also removes token
    records of no profile here, which a cache shared with another config directory has.
    Returns what it did, one line each.
    """
    import shutil

    done = []
    for path in stray_files():
        with contextlib.suppress(OSError):
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                files.remove_file(path)
            done.append(f"removed {path}, left by a process that was killed")
    state.sync_protected({name for name, profile in profiles.items() if profile.protected})
    if orphan_records:
        for record_name in orphan_record_names(profiles):
            cache.remove(record_name)
            done.append(f"removed the token record {record_name!r} of no profile")
    _restore_current_token(profiles)
    return done


def stray_files() -> list[str]:
    """Temporary files and ``exec`` token directories whose process has died."""
    found = []
    roots = [paths.config_dir(), paths.cache_dir(), paths.tokens_dir()]
    roots.append(os.path.dirname(paths.protected_marker("x")))
    for directory in roots:
        found += files.stray_temporaries(directory)
    runtime = paths.runtime_dir()
    with contextlib.suppress(OSError):
        for name in sorted(os.listdir(runtime)):
            pid = name.split("-")[1] if name.startswith(paths.EXEC_DIR_PREFIX) else ""
            if pid.isdigit() and not files.process_runs(int(pid)):
                found.append(os.path.join(runtime, name))
    return found


def orphan_record_names(profiles: dict[str, Profile]) -> list[str]:
    """Token records that belong to no profile of this config directory (nor the environment)."""
    wanted = {record for profile in profiles.values() for record in profile.record_names}
    try:
        present = os.listdir(paths.tokens_dir())
    except OSError:
        return []
    return sorted(
        name
        for name in present
        if name not in wanted
        and not name.startswith(targets.ENVIRONMENT_RECORD_PREFIX)
        and not files.is_temporary(name)
    )


def pending_change() -> str | None:
    """What an interrupted change was about, or None when none is pending (for doctor)."""
    pending = _read_journal()
    if pending is None:
        return None
    phase, plan = pending
    names = ", ".join(repr(name) for name in sorted(plan.names))
    outcome = "carried through" if phase == COMMITTED else "undone"
    return f"a change of {names} was interrupted; the next change finishes it ({outcome})"


def repair() -> list[str]:
    """``doctor --fix``: finish or undo an interrupted change, sweep, and drop orphan records."""
    pending = pending_change()
    with _changing((), orphan_records=True) as (_, done):
        pass
    return ([pending.split(";")[0] + ", and is now finished"] if pending else []) + done
