"""The plain-text state beside the profile store: one module owns all of it.

What lives here, and where (README, Files):

- ``active`` (config dir): the globally active profile's name, one line;
- ``previous`` (config dir): the profile that was active before the last
  switch, one line, for ``use -``; written with ``active``, by the same switch;
- ``protected/NAME`` (config dir): an empty marker per protected profile;
- ``current-token`` (cache dir): the active profile's token, for ``$(cat …)``;
- ``profiles.keys`` (cache dir): the key index, each profile's cache key for
  the profile file of one identity, so that the fast path can check a cached
  token without parsing TOML. Derived data, hence in the cache: a missing or
  stale index (an old install kept it in the config dir) is rebuilt by the
  next full read of ``profiles.toml``.

They are plain files so that the fast path and the shell prompt read them
without parsing anything. Stdlib only, on the fast path.

And one file that is not ours but the user's: ``.up42keys-profile`` (one
line, a profile name) in any directory, which ``pin`` writes and which
chooses the profile for that directory and every one below it (the nearest
wins). ``find_pin`` walks up from this directory with ``os.stat`` calls
alone, as the prompt walks up ``$PWD`` with ``[[ -f ]]``; it walks the
directory as the shell names it (``$PWD``, symlinks kept) so that the two
always find the same file. The file holds a name, never a secret or a URL:
it can only choose among the user's own profiles.

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

The order of writes that keeps them, for every change (``transition.apply``
is this list as code; ``add``, ``edit``, ``set-secret``, ``import``, ``remove``, ``rename``, ``use``
and ``protect`` are Changes, and so is any new one):

a. The journal (``transition``, config dir), where there are keys or token
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
g. Keys of profiles no longer listed, and the staged keys, go; then the token
   records of replaced or removed profiles; renamed ones move.
h. ``current-token`` is written again from the active profile's record (when
   it has a fresh one for its cache key); the journal goes.

Each step may be done twice (the next change repeats the committed ones). A
``use`` writes b, d or f and h, and needs no journal: a kill leaves the old or
the new profile active and at worst no current-token, which the next change
writes again. A mint writes the token record, then (under the store lock)
current-token; commands that mint finish a pending change first.

Lock order, always: the profiles' token locks (``locks.profile_lock``), in
sorted order of their names (a pending change's included); then the store lock
(``store.locked``); a keyring lock, where one is taken, innermost. Readers
take no lock.

"""

import os

from up42keys import files, paths, targets

# -- the active profile ----------------------------------------------------------------------


def read_active() -> str | None:
    """The globally active profile's name, or None."""
    return _read_name(paths.active_file())


def write_active(name: str | None) -> None:
    """Record ``name`` as the active profile (None: no profile is active). Under the store lock."""
    _write_name(paths.active_file(), name)


def read_previous() -> str | None:
    """The profile that was active before the last switch (``use -``), or None."""
    return _read_name(paths.previous_file())


def write_previous(name: str | None) -> None:
    """Record ``name`` as the previous profile (None: forget it). Under the store lock."""
    _write_name(paths.previous_file(), name)


def _read_name(path: str) -> str | None:
    text = files.read_text(path)
    name = text.strip() if text else ""
    return name if name and targets.name_problem(name) is None else None


def _write_name(path: str, name: str | None) -> None:
    if name is None:
        files.remove_file(path)
    else:
        files.atomic_write(path, name + "\n")


# -- the directory's profile (.up42keys-profile) ------------------------------------------


def working_directory() -> str | None:
    """This directory as the shell names it (``$PWD``, symlinks kept), else its real path.

    The prompt walks up ``$PWD``; walking the same path finds the same file. None
    when this directory is gone.
    """
    logical = os.environ.get("PWD", "")
    try:
        if os.path.isabs(logical) and os.path.samestat(os.stat(logical), os.stat(".")):
            return logical
        return os.getcwd()
    except OSError:
        return None


def find_pin() -> tuple[str, str] | None:
    """The nearest ``.up42keys-profile`` here or above: the name it holds and its path.

    None when there is none. The nearest file decides even when it names no
    profile (empty or unreadable): then no directory chooses, as in the prompt.
    """
    directory = working_directory()
    while directory is not None:
        path = os.path.join(directory, paths.PIN_FILE)
        if os.path.isfile(path):
            text = files.read_text(path)
            name = text.partition("\n")[0].strip() if text else ""
            return (name, path) if name else None
        parent = os.path.dirname(directory)
        directory = parent if parent != directory else None
    return None


def write_pin(directory: str, name: str) -> str:
    """Write ``directory``'s ``.up42keys-profile`` naming ``name``; its path.

    The directory is the user's, so it keeps its mode and the file gets the umask's.
    """
    path = os.path.join(directory, paths.PIN_FILE)
    files.atomic_write(path, name + "\n", private=False)
    return path


def remove_pin(directory: str) -> str | None:
    """Remove ``directory``'s ``.up42keys-profile``; the name it held ("" if none), or None
    when there was no such file.
    """
    path = os.path.join(directory, paths.PIN_FILE)
    if not os.path.isfile(path):
        return None
    text = files.read_text(path)
    files.remove_file(path)
    return text.partition("\n")[0].strip() if text else ""


# -- the current-token file ------------------------------------------------------------------


def write_current_token(token: str) -> None:
    """The active profile's token at a fixed path, for ``$(cat …)`` in other tools."""
    files.atomic_write(paths.current_token_file(), token + "\n")


def write_current_token_if_active(name: str | None, token: str) -> None:
    """Write ``token`` to current-token when ``name`` is the active profile. Under the store lock.

    ``name`` None (the environment credentials) is never the active profile.
    """
    active = read_active()
    if active is not None and active == name:
        write_current_token(token)


def remove_current_token() -> None:
    files.remove_file(paths.current_token_file())


# -- protected markers ----------------------------------------------------------------------


def sync_protected(protected: set[str]) -> None:
    """Leave a marker for exactly the ``protected`` names. Under the store lock."""
    marker_dir = os.path.dirname(paths.protected_marker("x"))
    try:
        present = set(os.listdir(marker_dir))
    except FileNotFoundError:
        present = set()
    for name in present - protected:
        files.remove_file(paths.protected_marker(name))
    for name in protected - present:
        files.atomic_write(paths.protected_marker(name), "")


# -- the key index --------------------------------------------------------------------------


def file_identity(status: os.stat_result) -> str:
    """A file's inode, size and modification time: any change to the file changes this."""
    return f"{status.st_ino} {status.st_size} {status.st_mtime_ns}"


def profile_file_identity() -> str | None:
    try:
        return file_identity(os.stat(paths.profiles_file()))
    except OSError:
        return None


def write_key_index(identity: str | None, cache_keys: dict[str, str]) -> None:
    """Record each profile's cache key in plain text, for the profile file of that identity.

    The fast path cannot afford to parse TOML, yet must never hand out a
    record minted for something else (a profile edited by hand, another
    config directory sharing this cache). The index's first line is the
    identity of the profile file it describes; the next, ``NAME CACHE-KEY``.
    An index that is current is left alone. One that cannot be written
    costs the fast path its speed and nothing else, so errors are ignored.
    """
    text = files.read_text(paths.key_index_file())
    if identity is None or (text is not None and text.partition("\n")[0] == identity):
        return
    lines = [identity, *(f"{name} {cache_keys[name]}" for name in sorted(cache_keys))]
    try:
        files.atomic_write(paths.key_index_file(), "\n".join(lines) + "\n")
        # Earlier versions kept the index in the config dir; derived data does not belong there.
        files.remove_file(paths.legacy_key_index_file())
    except OSError:
        pass


def indexed_names() -> list[str] | None:
    """The profile names per the key index, or None when it cannot vouch for the profile file."""
    entries = _current_index_entries()
    if entries is None:
        return None
    return [line.partition(" ")[0] for line in entries.split("\n") if line]


def _current_index_entries() -> str | None:
    """The index's ``NAME CACHE-KEY`` lines, when it describes the profile file as it is now."""
    text = files.read_text(paths.key_index_file())
    if text is None:
        return None
    identity, _, entries = text.partition("\n")
    return entries if identity == profile_file_identity() else None


def indexed_cache_key(name: str) -> str | None:
    """Profile ``name``'s cache key per the index, or None when the index cannot vouch for it.

    None when there is no index, when it names no such profile, or when the
    profile file has changed since (edited, restored or removed): the full
    path then reads the profile file itself.
    """
    entries = _current_index_entries()
    if entries is None:
        return None
    prefix = name + " "
    for line in entries.split("\n"):
        if line.startswith(prefix):
            return line[len(prefix) :]
    return None
