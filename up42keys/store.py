"""The profile store: ``profiles.toml`` in the config directory, never a secret.

Writers take one lock (the ``filelock`` package), read the file again, change
it and replace it atomically, so concurrent ``add``, ``use``, ``remove`` and
``rename`` never lose a profile. Readers take no lock: the atomic replace
means they see a whole file. A file that does not parse is never written
over: every command that would write refuses until the user repairs it.

The active profile's name lives beside it in a one-line file (``active``),
and each protected profile has an empty marker file in ``protected/``: plain
files that the fast path and the shell prompt read without parsing TOML.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from up42keys import cache, files, paths, selection
from up42keys.errors import CorruptFileError, ProfileNotFoundError, UsageError

FORMAT_VERSION = 1
ProfileKind = Literal["project", "account"]
KINDS: tuple[ProfileKind, ...] = ("project", "account")


@dataclass(frozen=True)
class Profile:
    """A named set of non-secret settings; its secret lives in the keyring under the same name."""

    name: str
    kind: ProfileKind
    api_url: str
    project_id: str | None = None
    username: str | None = None
    region: str | None = None
    auth_url: str | None = None
    protected: bool = field(default=False)

    @property
    def cache_key(self) -> str:
        """What this profile's token is minted for: a change of any of it needs a new token."""
        if self.kind == "account":
            return f"account {self.username} {self.auth_url} {self.api_url}"
        return selection.project_cache_key(self.project_id or "", self.api_url)

    def renamed(self, new_name: str) -> Profile:
        return replace(self, name=new_name)

    def to_toml(self) -> dict[str, Any]:
        table: dict[str, Any] = {"kind": self.kind, "api_url": self.api_url}
        for key in ("project_id", "username", "region", "auth_url"):
            value = getattr(self, key)
            if value is not None:
                table[key] = value
        if self.protected:
            table["protected"] = True
        return table


def check_name(name: str) -> None:
    problem = selection.name_problem(name)
    if problem is not None:
        raise UsageError(f"invalid profile name {name!r}: {problem}")


# Far longer than any API URL; a longer one is a paste gone wrong, not an address.
MAX_URL_LENGTH = 2048


def normalize_url(url: str, what: str = "API URL") -> str:
    """An http(s) URL without a trailing slash, or a usage error.

    A URL with user info (``https://PROJ:KEY@host``) is refused, and its
    message repeats no part of it: the key would end up in profiles.toml, in
    ``list`` and in every error that names the URL.
    """
    import urllib.parse  # 2 ms, which list need not pay

    text = url.strip()
    if len(text) > MAX_URL_LENGTH:
        raise UsageError(
            f"the {what} has {len(text)} characters; give one of at most {MAX_URL_LENGTH}, "
            "such as https://api.up42.com"
        )
    if any(ord(character) < 33 for character in text):
        raise UsageError(f"the {what} contains blanks or control characters; give it again")
    try:
        parts = urllib.parse.urlsplit(text)
        has_user_info = "@" in parts.netloc
        if not has_user_info:
            parts.port  # noqa: B018 - parsing the port is the check: it raises when bad
    except ValueError as error:
        raise UsageError(
            f"the {what} is not a valid URL ({error}); give one such as https://api.up42.com"
        ) from None
    if has_user_info:
        raise UsageError(
            f"the {what} must not hold a user name or password (not repeated here); give the "
            "bare URL such as https://api.up42.com, the key goes to the keyring by itself"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"the {what} must be an http(s) URL such as https://api.up42.com, not {text!r}"
        )
    if parts.query or parts.fragment:
        raise UsageError(f"the {what} takes no query or fragment: {text!r}")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def check_project_id(project_id: str) -> str:
    if not selection.is_uuid(project_id):
        raise UsageError(
            f"the project ID must be a UUID such as 12345678-1234-1234-1234-123456789abc, "
            f"not {project_id!r}"
        )
    return project_id.lower()


def check_secret(secret: str, what: str, *, keep_spaces: bool = False) -> str:
    """The secret without its line ending; an API key also without surrounding blanks.

    A password is taken as typed (``keep_spaces``): spaces at its ends can be part of it.
    """
    secret = secret.rstrip("\r\n") if keep_spaces else secret.strip()
    if not secret.strip():
        raise UsageError(f"the {what} is empty; give it at the prompt or as one line on stdin")
    if any(ord(character) < 32 for character in secret):
        raise UsageError(f"the {what} contains control characters; paste it again")
    try:
        # A terminal or pipe in another encoding: Python keeps the bytes as surrogates.
        secret.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"the {what} is not UTF-8 text; paste it again") from None
    return secret


def _profile_from_toml(name: str, table: object, where: str) -> Profile:
    if not isinstance(table, dict):
        raise CorruptFileError(f"{where}: profile {name!r} is not a table; repair or remove it")
    if selection.name_problem(name) is not None:
        raise CorruptFileError(f"{where}: {name!r} is not a valid profile name; rename it by hand")
    kind = table.get("kind", "project")
    api_url = table.get("api_url")
    strings = {key: table.get(key) for key in ("project_id", "username", "region", "auth_url")}
    if kind not in KINDS or not isinstance(api_url, str):
        raise CorruptFileError(f"{where}: profile {name!r} lacks a kind or an api_url; repair it")
    if any(value is not None and not isinstance(value, str) for value in strings.values()):
        raise CorruptFileError(f"{where}: profile {name!r} has a value that is not text; repair it")
    for needed in ("project_id",) if kind == "project" else ("username", "auth_url"):
        if not strings[needed]:
            raise CorruptFileError(f"{where}: profile {name!r} lacks its {needed}; repair it")
    protected = table.get("protected", False)
    if not isinstance(protected, bool):
        raise CorruptFileError(f"{where}: 'protected' of {name!r} must be true or false")
    return Profile(name=name, kind=kind, api_url=api_url, protected=protected, **strings)


def load() -> dict[str, Profile]:
    """All profiles by name; an empty dict when there is no file yet."""
    if sys.version_info >= (3, 11):
        import tomllib as toml_reader
    else:
        import tomli as toml_reader
    where = paths.profiles_file()
    try:
        with open(where, "rb") as stream:
            status = os.fstat(stream.fileno())
            files.refuse_foreign(where, status)
            identity = cache.file_identity(status)
            document = toml_reader.load(stream)
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise CorruptFileError(
            f"cannot read {where} ({error.strerror}); make it a file you can read"
        ) from None
    except (toml_reader.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CorruptFileError(
            f"{where} is not valid TOML ({error}); repair it or restore a backup"
        ) from None
    except RecursionError:
        raise CorruptFileError(
            f"{where} is not valid TOML (nested too deeply); repair it or restore a backup"
        ) from None
    version = document.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise CorruptFileError(f"{where} has format version {version!r}; upgrade up42keys")
    tables = document.get("profiles", {})
    if not isinstance(tables, dict):
        raise CorruptFileError(f"{where}: 'profiles' is not a table; repair it")
    profiles = {name: _profile_from_toml(name, table, where) for name, table in tables.items()}
    # After a hand edit, the first full read puts the fast path back in service.
    cache.write_key_index(identity, _cache_keys(profiles))
    return profiles


def _cache_keys(profiles: dict[str, Profile]) -> dict[str, str]:
    return {name: profile.cache_key for name, profile in profiles.items()}


def get(name: str) -> Profile:
    check_name(name)
    return pick(load(), name)


def pick(profiles: dict[str, Profile], name: str) -> Profile:
    """``profiles[name]``, or the error that says there is no such profile."""
    profile = profiles.get(name)
    if profile is None:
        raise ProfileNotFoundError(f"no profile named {name!r}; see 'up42keys list'")
    return profile


def save(profiles: dict[str, Profile]) -> None:
    """Replace the profile file and bring the protected markers in line with it."""
    import tomli_w

    document = {
        "version": FORMAT_VERSION,
        "profiles": {name: profiles[name].to_toml() for name in sorted(profiles)},
    }
    files.atomic_write(paths.profiles_file(), tomli_w.dumps(document))
    cache.write_key_index(cache.profile_file_identity(), _cache_keys(profiles))
    _sync_protected_markers(profiles)


def _sync_protected_markers(profiles: dict[str, Profile]) -> None:
    marker_dir = os.path.dirname(paths.protected_marker("x"))
    wanted = {name for name, profile in profiles.items() if profile.protected}
    try:
        present = set(os.listdir(marker_dir))
    except FileNotFoundError:
        present = set()
    for name in present - wanted:
        files.remove_file(paths.protected_marker(name))
    for name in wanted - present:
        files.atomic_write(paths.protected_marker(name), "")


@contextmanager
def locked() -> Iterator[None]:
    """Hold the profile store's lock: the only way to read-change-write the store."""
    from up42keys import locks

    files.ensure_private_dir(paths.config_dir())
    with locks.hold(os.path.join(paths.config_dir(), ".profiles.lock"), "the profile file"):
        yield


def set_active(name: str | None) -> None:
    """Record ``name`` as the active profile (None: no profile is active)."""
    if name is None:
        files.remove_file(paths.active_file())
    else:
        files.atomic_write(paths.active_file(), name + "\n")
