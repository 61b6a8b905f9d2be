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

And one file that is not ours but the user's, or a repository's: ``.up42keys-profile``
(one line, a profile name) in any directory, which ``pin`` writes and which chooses the
profile for that directory and every one below it (the nearest wins), once this user
trusts it (``trusted-pins/PATH`` in the config dir names the profile trusted for the pin
file at PATH; docs/trust-model.md). ``find_pin`` walks up from this directory as the
prompt walks up ``$PWD``, symlinks kept, so that the two always find the same file, and
judges it by the same rule. The file holds a name, never a secret or a URL: it can only
choose among the user's own profiles.

This module reads them; the one module that writes them is
``up42keys.store.journal`` (through ``up42keys.store.statefiles``), whose
docstring states the invariants they keep and the order of writes.
"""

import os

from up42keys import files, inputs, paths, rules

# -- the active profile ----------------------------------------------------------------------


def read_active() -> str | None:
    """The globally active profile's name, or None."""
    return _read_name(paths.active_file())


def read_previous() -> str | None:
    """The profile that was active before the last switch (``use -``), or None."""
    return _read_name(paths.previous_file())


def _read_name(path: str) -> str | None:
    text = files.read_text(path)
    name = text.strip() if text else ""
    return name if name and rules.name_problem(name) is None else None


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


def find_pin() -> tuple[str, str, str | None] | None:
    """The nearest ``.up42keys-profile`` here or above: the name it holds, its path, and why
    it is ignored (None: it chooses the name). None when there is none, or the nearest one
    is empty: then no directory chooses, as in the prompt.

    Anything at that path is the nearest file, so that a symlink or a directory there is
    reported, not skipped. The rule (docs/trust-model.md), the same as the prompt's:
    a regular file of this user's, not a symlink, at most ``inputs.PIN_LIMIT`` bytes,
    holding one valid profile name and at most one newline after it, nothing else
    (no CR, no second line, no other character); and trusted (``pin`` or ``pin --trust``
    recorded this name for this path).
    """
    directory = working_directory()
    while directory is not None:
        path = os.path.join(directory, paths.PIN_FILE)
        if os.path.lexists(path):
            return _judge_pin(path)
        parent = os.path.dirname(directory)
        directory = parent if parent != directory else None
    return None


def _judge_pin(path: str) -> tuple[str, str, str | None] | None:
    data, problem = inputs.read_own_bytes(path, inputs.PIN_LIMIT)
    if problem is not None:
        return "", path, problem
    name = pin_name(data)
    if name is None:
        return "", path, "does not hold one profile name on one line"
    if not name:
        return None
    return name, path, None if is_trusted(path, name) else UNTRUSTED


# Why a valid pin file is ignored until the user trusts it (``pin --trust``).
UNTRUSTED = "is not trusted"


def pin_name(data: bytes) -> str | None:
    """The profile name a pin file's bytes hold; "" when it is empty; None when it holds
    anything but one valid name and at most one newline after it."""
    line = data[:-1] if data.endswith(b"\n") else data
    try:
        name = line.decode("ascii")
    except UnicodeDecodeError:
        return None
    return name if not name or rules.name_problem(name) is None else None


def is_trusted(pin_path: str, name: str) -> bool:
    """Whether this user recorded ``name`` as trusted for the pin file ``pin_path``."""
    return files.read_text(paths.trust_record(pin_path)) == name + "\n"


# -- the current-token file ------------------------------------------------------------------


# -- protected markers ----------------------------------------------------------------------


# -- the key index --------------------------------------------------------------------------


def file_identity(status: os.stat_result) -> str:
    """A file's inode, size and modification time: any change to the file changes this."""
    return f"{status.st_ino} {status.st_size} {status.st_mtime_ns}"


def profile_file_identity() -> str | None:
    try:
        return file_identity(os.stat(paths.profiles_file()))
    except OSError:
        return None


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
