"""The token cache: one plain-text record per profile.

A record is three lines, and this module is the only place that reads or
writes them (README documents the format as a stable interface), and the only
one that knows what a record's name and its cache key say::

    1732800000            expiry, in epoch seconds
    project <id> <url>    what the token was minted for (its cache key)
    eyJhbGciOi...         the token

The first line alone is what a shell prompt reads (``read -r`` and nothing
else), so it stays first. Stdlib only: the cached-token path uses it before
anything heavy is imported. The cache is disposable: a record that does not
parse, or was minted for something other than what its profile is now, is
treated as absent and replaced by the next mint. What a profile is now, the
fast path learns from the key index (``state.indexed_cache_key``).
"""

import os
import time

from up42keys import files, paths, rules

# Account profiles keep their refresh token in a record of its own, "<name>~refresh":
# "~" cannot occur in a profile name, so it never collides with a profile's record.
REFRESH_SUFFIX = "~refresh"
# The environment credentials' records start with ".env-": a leading '.' is never a name.
ENVIRONMENT_RECORD_PREFIX = ".env-"


# -- record names and cache keys: what a record is for ---------------------------------------


def owner_of(record_name: str) -> str:
    """The profile whose lock guards a record (a refresh token's record is its profile's)."""
    return record_name.split(REFRESH_SUFFIX, maxsplit=1)[0]


def project_cache_key(project_id: str, api_url: str) -> str:
    """What a project token's record is keyed by: a token serves this pair only."""
    return f"project {project_id.lower()} {api_url}"


def account_cache_key(
    username: str, auth_url: str, api_url: str, client_id: str = rules.DEFAULT_CLIENT_ID
) -> str:
    """An account token serves this account, at these hosts, signed in as this client.

    The client ID is added only when it is not the default, so that the tokens cached
    before the setting existed keep serving.
    """
    key = f"account {username} {auth_url} {api_url}"
    return key if client_id == rules.DEFAULT_CLIENT_ID else f"{key} {client_id}"


def project_id_of(cache_key: str) -> str | None:
    """The project a cache key's token serves (an account's token serves none): its parser."""
    kind, _, rest = cache_key.partition(" ")
    return rest.split(" ")[0] if kind == "project" else None


def url_digest(url: str) -> str:
    """16 hex digits that tell API URLs apart in a file name (64-bit FNV-1a).

    Not hashlib: importing it loads OpenSSL, 2.5 ms on every cached-token call
    of a pipeline. Nothing depends on the digest being secure: the record's
    cache key is compared too, so a collision could only cost a mint.
    """
    digest = 0xCBF29CE484222325
    for byte in url.encode():
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


# -- the records ----------------------------------------------------------------------------


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
    """Carry a renamed profile's token over; a missing record is simply nothing to move.

    A record already at ``new_name`` then stays: a rename that is being finished after a
    crash may have moved it already (and a record serves only the cache key it names).
    """
    try:  # noqa: SIM105 - contextlib.suppress would cost the fast path an import
        os.replace(paths.token_record(old_name), paths.token_record(new_name))
    except FileNotFoundError:
        pass


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
