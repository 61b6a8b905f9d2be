"""The writers of the plain-text state that ``up42keys.state`` reads.

Only ``up42keys.store.journal`` imports this module (tests/test_layout.py holds it to
that): every write of ``active``, ``previous``, the protected markers,
``current-token``, the key index and a directory's pin file happens in the order
the journal's docstring states, under the locks it takes.
"""

import os

from up42keys import files, inputs, paths, state


def write_active(name: str | None) -> None:
    """Record ``name`` as the active profile (None: no profile is active). Under the store lock."""
    _write_name(paths.active_file(), name)


def write_previous(name: str | None) -> None:
    """Record ``name`` as the previous profile (None: forget it). Under the store lock."""
    _write_name(paths.previous_file(), name)


def _write_name(path: str, name: str | None) -> None:
    if name is None:
        files.remove_file(path)
    else:
        files.atomic_write(path, name + "\n")


def write_pin(directory: str, name: str) -> str:
    """Write ``directory``'s ``.up42keys-profile`` naming ``name``, trusted; its path.

    The trust record is written first: it also tells ``leftovers.stray_pin_temporaries`` where a
    killed ``pin`` may have left its temporary file. The directory is the user's, so it
    keeps its mode and the file gets the umask's.
    """
    path = os.path.join(directory, paths.PIN_FILE)
    write_trust(path, name)
    files.atomic_write(path, name + "\n", private=False)
    return path


def write_trust(pin_path: str, name: str) -> None:
    """Record that this user trusts the pin file ``pin_path`` to choose ``name``."""
    files.atomic_write(paths.trust_record(pin_path), name + "\n")


def remove_pin(directory: str) -> str | None:
    """Remove ``directory``'s ``.up42keys-profile`` and its trust; the name it held ("" if
    none), or None when there was no such file.
    """
    path = os.path.join(directory, paths.PIN_FILE)
    if not os.path.lexists(path):
        return None
    data, problem = inputs.read_own_bytes(path, inputs.PIN_LIMIT)
    files.remove_file(path)
    files.remove_file(paths.trust_record(path))
    return (state.pin_name(data) or "") if problem is None else ""


def write_current_token(token: str) -> None:
    """The active profile's token at a fixed path, for ``$(cat …)`` in other tools."""
    files.atomic_write(paths.current_token_file(), token + "\n")


def write_current_token_if_active(name: str | None, token: str) -> None:
    """Write ``token`` to current-token when ``name`` is the active profile. Under the store lock.

    ``name`` None (the environment credentials) is never the active profile.
    """
    active = state.read_active()
    if active is not None and active == name:
        write_current_token(token)


def remove_current_token() -> None:
    files.remove_file(paths.current_token_file())


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
