"""Keys that no profile may use, which the journal's sweep (``doctor --fix``) deletes.

A profile marked ``has_secret = false`` sends no key; a key under its name is one for
another project or host (a replacement dropped it), left by an up42keys killed before
the key deletion was part of the change (``journal.Change.drop_keys``).
"""

from __future__ import annotations

from up42keys.kinds import Profile
from up42keys.store import keychain


def orphan_key_names(profiles: dict[str, Profile]) -> list[str]:
    """The profiles without a secret whose name still has a key. Opens the keyring."""
    return [
        name
        for name, profile in sorted(profiles.items())
        if not profile.has_secret and keychain.find_secret(name) is not None
    ]
