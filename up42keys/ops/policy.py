"""The one policy for changing a profile, and for whom a running command still serves.

Every change of a stored profile (``use``, ``edit``, ``remove``, ``rename``, ``protect``,
and the replacements ``add --force`` and ``import --force``) asks here, so that a new
command cannot forget a rule:

- **Protected profiles.** A change of a protected profile needs the user's word
  (``consent``): an answer on a terminal, or ``--yes``. The command line asks before it
  starts (``needs_consent``); the change checks again under the store's lock
  (``admit``), so that a profile protected meanwhile is not changed without it.
  Switching to one (``use``) is the exception the README documents: a script that
  names it has decided, so without a terminal it proceeds with a note.
- **Protection stays.** A replacement keeps the old profile's protection
  (``replacement``); only ``protect --off`` takes it away, and that asks too.
- **A secret goes only where it was stored for.** A key belongs to its kind's
  ``secret_scope`` (a project's ID and API, an account's username and sign-in host).
  A change that moves the profile out of that scope keeps the stored secret only
  after a verification the user asked for (``edit`` mints with it at the new host);
  otherwise the secret is dropped in the same change (``has_secret = false``, and the
  key deleted by the journal), and ``set-secret`` stores one for the new host.

- **A secret stays out of the settings.** profiles.toml is a plain file that ``list``,
  ``export`` and errors show: a key pasted into ``--client-id`` or a URL's path would sit
  there. ``add`` and ``set-secret`` refuse a secret found in any setting of its profile
  (``keep_secret_out``) before anything is sent or stored.

The other half (``same_target``): a command that runs on (``exec``'s token file,
``Up42Auth``) keeps the profile it started with. When the stored profile is removed,
or its token would be minted for another project, account or host, renewal stops
rather than send the secret it holds, or hand over another project's token.
"""

from __future__ import annotations

from typing import NamedTuple

from up42keys.errors import ProfileChangedError, UsageError
from up42keys.kinds import Profile, Target

# What a change does to a profile, as its question says it ("Profile 'x' is protected. Edit
# it?"). SWITCH is ``use``: it asks on a terminal only.
SWITCH = "use"
EDIT = "edit"
REMOVE = "remove"
RENAME = "rename"
REPLACE = "replace"
UNPROTECT = "unprotect"
CHANGES = (EDIT, REMOVE, RENAME, REPLACE, UNPROTECT)


def needs_consent(profile: Profile | None) -> bool:
    """True when a change of ``profile`` waits for the user's word: it is protected."""
    return profile is not None and profile.protected


def strict(change: str) -> bool:
    """True when, without a terminal, only ``--yes`` will do (every change but a switch).

    A script that removes or edits production may have got the name wrong, and the change
    cannot be undone; one that switches to it named it and can switch back.
    """
    return change in CHANGES


def admit(profile: Profile | None, change: str, *, consent: bool) -> None:
    """Refuse, under the store's lock, a change of a protected profile given no consent."""
    if profile is not None and strict(change) and needs_consent(profile) and not consent:
        raise UsageError(
            f"profile {profile.name!r} is protected; nothing was changed",
            "confirm the change on a terminal, or give --yes",
        )


class Outcome(NamedTuple):
    """A profile as a change leaves it, and whether its stored key goes in that change."""

    profile: Profile
    drops_secret: bool


def replacement(old: Profile | None, new: Profile, *, verified: bool = False) -> Outcome:
    """``new`` in place of ``old``, under the rules above; ``new`` brings no secret of its own.

    ``verified``: the user asked for a mint with the stored secret at ``new``'s hosts, and
    it succeeded (``edit``), which keeps the secret there.
    """
    if old is None:
        return Outcome(new, drops_secret=False)
    keeps = old.has_secret and (verified or old.secret_scope == new.secret_scope)
    kept = new.replace(protected=old.protected or new.protected, has_secret=keeps)
    return Outcome(kept, drops_secret=old.has_secret and not keeps)


def with_new_secret(old: Profile | None, new: Profile) -> Profile:
    """``new``, which comes with its own secret (``add --force``), in place of ``old``."""
    if old is None:
        return new
    return new.replace(protected=old.protected or new.protected, has_secret=True)


# A secret this short can occur in a setting by chance ("up42" in https://api.up42.com):
# only longer ones are looked for.
SHORTEST_SECRET_LOOKED_FOR = 8


def keep_secret_out(profile: Profile, secret: str) -> None:
    """Refuse ``secret`` when a setting of ``profile`` holds it; the value is not repeated."""
    if len(secret) < SHORTEST_SECRET_LOOKED_FOR:
        return
    for setting, value in profile.definition().items():
        if isinstance(value, str) and secret in value:
            option = "--" + setting.replace("_", "-")
            raise UsageError(
                f"the {profile.asks_for} appears in {option} (not repeated here); nothing was"
                " stored or sent",
                f"give {option} without it: the {profile.asks_for} goes to the keyring only",
            )


def same_target(started: Target, now: Target | None) -> Target:
    """``now`` (the store's version of what a running command started with), if it still is
    the same: else the error that stops its renewals.

    The same: a profile of that name whose tokens are minted for the same project or
    account at the same hosts (``cache_key``) and whose secret belongs where the held one
    does (``secret_scope``). A replacement of that kind (a rotated key) keeps serving.
    """
    if not isinstance(started, Profile):  # the environment credentials: no store changes them
        return started
    if now is None:
        raise ProfileChangedError(
            f"profile {started.name!r} was removed while this command ran; "
            "its token is no longer renewed",
            "run the command again",
        )
    if (
        not isinstance(now, Profile)
        or now.cache_key != started.cache_key
        or now.secret_scope != started.secret_scope
    ):
        raise ProfileChangedError(
            f"profile {started.name!r} was changed to another project, account or host while"
            " this command ran; its token is no longer renewed, and the secret it started"
            " with is not sent there",
            "run the command again to use the profile as it is now",
        )
    return now
