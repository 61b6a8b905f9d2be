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

This module is the one writer of the state files (through ``statefiles``) and of
profiles.toml (through ``profile_file.save``); tests/test_layout.py holds every other
module to reading them.

Invariants. Every command keeps them, and so does a SIGKILL at any instant:
readers (the fast path, the prompt, ``$(cat current-token)``) see them hold at
every moment, and the state is the old one, the new one, or one that the next
change completes or undoes by itself (tests/test_crash.py kills hundreds of
changes to hold the code to that; tests/test_concurrency.py runs them at once):

1. Every file is replaced atomically (``files.atomic_write``): a reader,
   which takes no lock, sees the old file or the new one. A killed writer's
   temporary file (``.NAME.PID.RANDOM.tmp``) is removed by the next change.
2. ``active`` names a listed profile, or is absent. So does ``previous``
   (``use`` writes it before ``active``, ``remove`` clears it before the
   profile goes), except that ``rename`` carries it along just after its save:
   a kill in between leaves it naming no profile, which ``use -`` takes as none.
3. ``current-token`` holds a token of the active profile, or is absent;
   it is written only under the store lock, after checking which profile is
   active, and removed before any change that involves the active profile.
4. A listed profile has its key in the keyring, or is marked
   ``has_secret = false`` in profiles.toml (an imported profile; ``set-secret``
   clears the mark in the change that stores the key).
5. A token record is served only for the cache key it was minted for; the
   key index vouches for a profile's key only while the profile file's
   identity (inode, size, mtime) is the one it was written for.
6. A protected marker exists for each protected profile (rewritten with
   every save of the store, and by the next change after a crash).
7. No keyring entry, token record or temporary file outlives the change
   that made it unneeded: a killed change's are removed when the next change
   finishes it (``doctor --fix`` too).

The order of writes that keeps them, for every change (``journal.apply``
is this list as code; ``add``, ``edit``, ``set-secret``, ``import``, ``remove``, ``rename``, ``use``
and ``protect`` are Changes, and so is any new one):

a. The journal (``journal``, config dir), where there are keys or token
   records to change: the profiles, the active name and what to move or drop,
   never a secret. A key that replaces another is staged in the keyring as
   ``.staged.NAME`` first; a key for a name no profile has is written in
   place. Then the journal says "committed". A change killed before that is
   undone by the next one (it deletes those keys); after it, carried through
   (it copies the staged ones in place).
b. ``current-token`` goes, when the change involves the active profile.
c. Staged keys are put in place (before the profile file lists them).
d. ``active`` moves away from a profile before the profile file drops it.
   A rename of the active profile lists both names while ``active`` moves.
e. ``profiles.toml`` (with the key index and the protected markers).
f. ``active`` moves to a profile once the profile file lists it.
g. Keys of profiles no longer listed or left without a secret, and staged keys,
   go; then token records of replaced or removed profiles; renamed ones move.
h. ``current-token`` is written again from the active profile's record (when
   it has a fresh one for its cache key); the journal goes.

Each step may be done twice (the next change repeats the committed ones). A
``use`` writes b, d or f and h, and needs no journal: a kill leaves the old or
the new profile active and at worst no current-token, which the next change
writes again. A mint writes the token record, then (under the store lock)
current-token; commands that mint finish a pending change first.

Lock order, always: the profiles' token locks (``locks.token_locks``), in
sorted order of their names (a pending change's included), or for a change of
many profiles the gate that stands for all of them (one open file, however many
profiles; ``up42keys.store.locks`` says how); then the store lock
(``profile_file.locked``); a keyring lock, where one is taken, innermost. Readers
take no lock.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any, NamedTuple

from up42keys import cache, files, inputs, kinds, paths, state
from up42keys.errors import CorruptFileError, InputError, Up42KeysError
from up42keys.kinds import Profile
from up42keys.store import keychain, leftovers, locks, profile_file, statefiles

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
    # Keys of profiles the change keeps listed, without their secret (``has_secret`` false):
    # a key for another project or host. A removed profile's key goes without being named.
    drop_keys: tuple[str, ...] = ()


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
        return {cache.owner_of(name) for name in touched}

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
    try:
        document: Any = inputs.parse_json(text, where)
        plan = _Plan(
            {
                name: kinds.from_table(name, table, where, CorruptFileError)
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
    except (InputError, KeyError, TypeError, AttributeError):
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
            stack.enter_context(locks.token_locks(wanted))
            stack.enter_context(profile_file.locked())
            pending = _read_journal()
            if pending is not None and not pending[1].names <= wanted:
                continue  # another change was interrupted meanwhile: take its locks too
            if pending is not None:
                _finish(*pending)
            profiles = profile_file.load()
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
    touched |= {cache.owner_of(name) for name in change.forget}
    plan = _Plan(
        change.profiles,
        change.active,
        tuple(sorted(name for name in secrets if name in before)),
        tuple(sorted(name for name in secrets if name not in before)),
        tuple(sorted((set(before) - set(change.profiles)) | set(change.drop_keys))),
        change.moves,
        change.forget,
        active != change.active or active in touched,
    )
    journal = bool(plan.staged or plan.fresh or plan.drop_keys or plan.moves or plan.forget)
    previous = {name: keychain.find_secret(name) for name in plan.staged if name in before}
    renamed = {cache.owner_of(old): cache.owner_of(new) for old, new in change.moves}
    _follow_previous(active, change, renamed)
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
    if state.read_previous() in renamed:
        statefiles.write_previous(renamed[state.read_previous() or ""])


def _follow_previous(active: str | None, change: Change, renamed: dict[str, str]) -> None:
    """``previous`` (for ``use -``) before the change: the profile a switch leaves, and never
    one the change drops. A kill after this leaves it equal to ``active`` at worst; a rename
    carries it along just after the save (a kill in between: it names no profile, which
    ``use -`` takes as none)."""
    if active is not None and active != change.active and active in change.profiles:
        statefiles.write_previous(active)
    elif (previous := state.read_previous()) is not None and previous not in {
        *change.profiles,
        *renamed,
    }:
        statefiles.write_previous(None)


def _save(profiles: dict[str, Profile]) -> None:
    """profiles.toml, then what follows it: the key index and the protected markers."""
    profile_file.save(profiles)
    _reindex(profiles, state.profile_file_identity())
    statefiles.sync_protected({name for name, profile in profiles.items() if profile.protected})


def _reindex(profiles: dict[str, Profile], identity: str | None) -> None:
    statefiles.write_key_index(
        identity, {name: profile.cache_key for name, profile in profiles.items()}
    )


def settle() -> None:
    """What every command that relies on the state does first: finish an interrupted change,
    and put the fast path back in service after a hand edit of profiles.toml (the key index
    is rewritten when it no longer describes the file). Cheap: a stat or two where all is well.
    """
    finish_pending()
    if state.indexed_names() is None:
        # A broken profile file is reported by the command that reads it.
        with contextlib.suppress(Up42KeysError):
            _reindex(*profile_file.load_with_identity())


def publish_token(name: str | None, token: str) -> None:
    """The active profile's fresh token to current-token, under the store lock (the lock
    ``use`` holds while it switches): it never gets a profile's that is no longer active.

    ``name`` None (the environment credentials) is never the active profile.
    """
    if name is None:
        return
    with profile_file.locked():
        statefiles.write_current_token_if_active(name, token)


def pin(directory: str, name: str) -> str:
    """Write ``directory``'s pin file naming ``name``, and trust it; its path."""
    return statefiles.write_pin(directory, name)


def trust_pin(path: str, name: str) -> None:
    """Trust the pin file ``path`` to choose ``name`` (``pin --trust``)."""
    statefiles.write_trust(path, name)


def unpin(directory: str) -> str | None:
    """Remove ``directory``'s pin file: the name it held ("" if none), None if there was none."""
    return statefiles.remove_pin(directory)


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
        statefiles.write_active(active)
        files.remove_file(paths.transition_file())
        _restore_current_token(profile_file.load())


def _finish(phase: str, plan: _Plan) -> None:
    """Carry a committed change through; undo one that was not (only keys were written)."""
    if phase == COMMITTED:
        _up_to_the_save(plan, {}, profile_file.load(), state.read_active())
        _after_the_save(plan)
        return
    listed = profile_file.load()
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
        statefiles.remove_current_token()
    for name in plan.staged:
        secret = secrets.get(name) or keychain.find_secret(name, staged=True)
        if secret:  # else it was put in place already, and its staged copy deleted
            keychain.set_secret(name, secret)
    if active != plan.active and (plan.active is None or plan.active in listed):
        statefiles.write_active(plan.active)  # away from a profile before it goes
    elif active != plan.active and active in listed and active not in plan.profiles:
        # A rename of the active profile: both names are listed while active moves over.
        _save({**listed, **plan.profiles})
        statefiles.write_active(plan.active)
    if plan.profiles != listed or plan.staged or plan.fresh:  # the file says when a key counts
        _save(plan.profiles)


def _after_the_save(plan: _Plan) -> None:
    """The writes after the profile file's: active to a new profile, and what the old state
    leaves over goes."""
    if state.read_active() != plan.active:
        statefiles.write_active(plan.active)  # to a profile once it is listed
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
        statefiles.write_current_token(record.token)


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
    for path in leftovers.stray_files():
        with contextlib.suppress(OSError):
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                files.remove_file(path)
            done.append(f"removed {path}, left by a process that was killed")
    statefiles.sync_protected({name for name, profile in profiles.items() if profile.protected})
    if orphan_records:
        for record_name in leftovers.orphan_record_names(profiles):
            cache.remove(record_name)
            done.append(f"removed the token record {record_name!r} of no profile")
        for name in leftovers.orphan_key_names(profiles):
            keychain.delete_secret(name)
            done.append(f"deleted the key of {name!r}, which has no secret (has_secret = false)")
    _restore_current_token(profiles)
    return done


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
