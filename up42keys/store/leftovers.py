"""What killed processes and old replacements leave over, found for the journal's sweep and
for doctor: temporary files and ``exec`` directories of dead processes, token records of no
profile, and keys that no profile may use (``doctor --fix`` deletes them).

A profile marked ``has_secret = false`` sends no key; a key under its name is one for
another project or host (a replacement dropped it), left by an up42keys killed before
the key deletion was part of the change (``journal.Change.drop_keys``).
"""

from __future__ import annotations

import contextlib
import os

from up42keys import cache, files, paths
from up42keys.kinds import Profile
from up42keys.store import keychain


def orphan_key_names(profiles: dict[str, Profile]) -> list[str]:
    """The profiles without a secret whose name still has a key. Opens the keyring."""
    return [
        name
        for name, profile in sorted(profiles.items())
        if not profile.has_secret and keychain.find_secret(name) is not None
    ]


def stray_files() -> list[str]:
    """Temporary files and ``exec`` token directories whose process has died."""
    found = []
    roots = [paths.config_dir(), paths.cache_dir(), paths.tokens_dir()]
    roots.append(os.path.dirname(paths.protected_marker("x")))
    for directory in roots:
        found += files.stray_temporaries(directory)
    found += stray_pin_temporaries()
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
        and not name.startswith(cache.ENVIRONMENT_RECORD_PREFIX)
        and not files.is_temporary(name)
    )


def stray_pin_temporaries() -> list[str]:
    """Temporary files that killed processes left beside trust records (the config dir) and
    beside the pin files those records name (the user's directories)."""
    root = paths.trusted_pins_dir()
    found = []
    prefix = "." + paths.PIN_FILE + "."
    for directory, _, names in os.walk(root):
        found += files.stray_temporaries(directory)
        if names:
            relative = os.path.relpath(directory, root)
            mirrored = os.sep + ("" if relative == os.curdir else relative)
            found += [
                path
                for path in files.stray_temporaries(mirrored)
                if os.path.basename(path).startswith(prefix)
            ]
    return found
