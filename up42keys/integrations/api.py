"""The Python API: tokens and profiles for notebooks, scripts and services.

The functions follow the command line's rules exactly (they call the same
core): which profile, the token cache, the per-profile lock, the error
classes. Nothing here opens the keyring unless a token has to be minted.
"""

from __future__ import annotations

from up42keys import settings
from up42keys.integrations import sharing
from up42keys.kinds import Profile
from up42keys.ops import tokens
from up42keys.store import profile_file


def get_token(profile: str | None = None, *, min_ttl: float | None = None) -> str:
    """A token with more than ``min_ttl`` seconds to live, as ``up42keys token [PROFILE]`` prints.

    ``profile=None`` means what the command line would use: ``UP42KEYS_PROFILE``,
    else ``UP42_PROJECT_ID`` + ``UP42_PROJECT_API_KEY``, else the nearest
    ``.up42keys-profile`` above the working directory, else the active profile.
    ``min_ttl=None`` means ``UP42KEYS_MIN_TTL``, else 60 seconds.
    """
    min_ttl = settings.min_ttl(min_ttl)
    shared = sharing.current(profile)  # a Dask worker's token, handed over: it never mints
    if shared is not None:
        return sharing.latest(shared.label, min_ttl).token
    _, record = tokens.get_token_record(profile, min_ttl=min_ttl)
    return record.token


def profiles() -> list[Profile]:
    """The stored profiles, sorted by name; they hold no secret (those stay in the keyring)."""
    stored = profile_file.load()
    return [stored[name] for name in sorted(stored)]
