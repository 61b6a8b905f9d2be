"""The token cache: one plain-text record per profile.

A record is three lines, and this module is the only place that reads or
writes them (README documents the format as a stable interface)::

    1732800000            expiry, in epoch seconds
    project <id> <url>    what the token was minted for (its cache key)
    eyJhbGciOi...         the token

The first line alone is what a shell prompt reads (``read -r`` and nothing
else), so it stays first. Stdlib only: the cached-token path uses it before
anything heavy is imported. The cache is disposable: a record that does not
parse, or was minted for something other than what its profile is now, is
treated as absent and replaced by the next mint. What a profile is now, the
fast path learns from the key index, a plain-text digest of the profile file.
"""

import os
import time

from up42keys import files, paths, selection

# Account profiles keep their refresh token in a record of its own, "<name>~refresh":
# "~" cannot occur in a profile name, so it never collides with a profile's record.
REFRESH_SUFFIX = "~refresh"


class TokenRecord:
    """A token, what it was minted for, and when it expires."""

    __slots__ = ("cache_key", "expires_at", "token")

    def __init__(self, token: str, expires_at: int, cache_key: str) -> None:
        self.token = token
        self.expires_at = expires_at
        self.cache_key = cache_key

    def seconds_left(self, now: float | None = None) -> float:
        return self.expires_at - (time.time() if now is None else now)

    def is_fresh(self, min_ttl: float, now: float | None = None) -> bool:
        """True while the token has more than ``min_ttl`` seconds to live."""
        return self.seconds_left(now) > min_ttl

    def serialize(self) -> str:
        return f"{self.expires_at}\n{self.cache_key}\n{self.token}\n"


def parse(text: str) -> TokenRecord | None:
    """The record in ``text``, or None for anything truncated, corrupt or foreign."""
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "":
        return None
    expiry, cache_key, token = lines[0], lines[1], lines[2]
    if not expiry.isdigit() or not cache_key or not looks_like_jwt(token):
        return None
    return TokenRecord(token, int(expiry), cache_key)


def looks_like_jwt(token: str) -> bool:
    """Three non-empty base64url segments: the shape of a JWT, checked without decoding it."""
    segments = token.split(".")
    return len(segments) == 3 and all(
        segment and segment.replace("-", "").replace("_", "").isalnum() and segment.isascii()
        for segment in segments
    )


def read(record_name: str) -> TokenRecord | None:
    text = files.read_text(paths.token_record(record_name))
    return parse(text) if text is not None else None


def write(record_name: str, record: TokenRecord) -> None:
    files.atomic_write(paths.token_record(record_name), record.serialize())


def remove(record_name: str) -> None:
    files.remove_file(paths.token_record(record_name))


def move(old_name: str, new_name: str) -> None:
    """Carry a renamed profile's token over; a missing record is simply nothing to move."""
    try:
        os.replace(paths.token_record(old_name), paths.token_record(new_name))
    except FileNotFoundError:
        remove(new_name)


def write_current_token(token: str) -> None:
    """The active profile's token at a fixed path, for ``$(cat …)`` in other tools."""
    files.atomic_write(paths.current_token_file(), token + "\n")


def remove_current_token() -> None:
    files.remove_file(paths.current_token_file())


def fresh_record(
    record_name: str, min_ttl: float, cache_key: str | None = None
) -> TokenRecord | None:
    """The cached record when its token is fresh (and, if given, minted for ``cache_key``)."""
    record = read(record_name)
    if record is None or not record.is_fresh(min_ttl):
        return None
    if cache_key is not None and record.cache_key != cache_key:
        return None
    return record


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
    try:  # noqa: SIM105 - contextlib.suppress would cost the fast path an import
        files.atomic_write(paths.key_index_file(), "\n".join(lines) + "\n")
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


def cached_record(
    target: str | selection.EnvironmentCredentials | None, min_ttl: float
) -> TokenRecord | None:
    """The fresh cached token for a target that ``selection.resolve`` gave, reading no TOML
    and no keyring.

    This is all the fast path does; the full path starts with it too, so
    that the two always agree. A record counts only when it was minted for
    what the target is now: its cache key must match the environment's, or
    the profile's in the key index.
    """
    if isinstance(target, selection.EnvironmentCredentials):
        return fresh_record(target.record_name, min_ttl, target.cache_key)
    if target is None or selection.name_problem(target) is not None:
        return None
    cache_key = indexed_cache_key(target)
    return fresh_record(target, min_ttl, cache_key) if cache_key is not None else None
