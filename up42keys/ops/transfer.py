"""Profiles in and out of up42keys as files: ``export``/``import`` TOML, and up42-py's config.

What crosses here is never a secret of ours: ``export`` prints definitions only
(``Profile.definition``, the table shape of profiles.toml without ``has_secret``),
and ``import`` refuses a file that holds anything that looks like a secret, so
that a shared file cannot smuggle a key into profiles.toml, a plain file.
Imported profiles are checked exactly as ``add`` checks its options.

up42-py's JSON config (``up42.authenticate(cfg_file=...)``) is the one file we
read a secret from, on the user's word (``add --from-sdk-config``): its password
goes to the keyring, and the file is left for the user to delete.
"""

from __future__ import annotations

import sys

from up42keys import inputs, kinds, rules
from up42keys.errors import UsageError
from up42keys.kinds import Profile

FORMAT_VERSION = 1
# ``has_secret`` is profiles.toml's own: a shared table's is ignored.
IGNORED = frozenset({"has_secret"})
# Words that make a key look like it holds a secret ("api_key", "password", "refresh_token").
SECRET_WORDS = ("key", "password", "passwd", "secret", "token", "credential")


def export_toml(profiles: list[Profile]) -> str:
    """The profiles' definitions as a document ``import`` reads back."""
    import tomli_w

    document = {
        "version": FORMAT_VERSION,
        "profiles": {profile.name: profile.definition() for profile in profiles},
    }
    return tomli_w.dumps(document)


def read_import(file: str) -> tuple[str, str]:
    """The text of the document ``import`` reads ('-': stdin), and what to call it."""
    if file == "-":
        return inputs.read_stream(
            sys.stdin.buffer, what="stdin", limit=inputs.DOCUMENT_LIMIT
        ), "stdin"
    return inputs.read_file(file, what=file, limit=inputs.DOCUMENT_LIMIT), file


def parse_import(text: str, where: str) -> list[Profile]:
    """The profiles a shared document defines, each checked as ``add`` checks it; no secrets."""
    document = inputs.parse_toml(text, where)
    _refuse_secrets(document, where, "the file")
    version = document.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise UsageError(
            f"{where} has format version {version!r}", f"this up42keys reads {FORMAT_VERSION}"
        )
    unknown = sorted(set(document) - {"version", "profiles"})
    if unknown:
        raise UsageError(
            f"{where} has unknown keys {', '.join(map(repr, unknown))}",
            "it holds 'version' and [profiles.NAME] tables, as 'export' prints",
        )
    tables = document.get("profiles")
    if not isinstance(tables, dict) or not tables:
        raise UsageError(
            f"{where} defines no profiles", "give it [profiles.NAME] tables, as 'export' prints"
        )
    return [_profile(name, table, where) for name, table in tables.items()]


def _profile(name: str, table: object, where: str) -> Profile:
    """A shared table, held to ``add``'s rules by the one table parser; never with a secret."""
    if isinstance(table, dict):
        _refuse_secrets(table, where, f"profile {name!r}")
        table = {key: value for key, value in table.items() if key not in IGNORED}
    imported = kinds.from_table(name, table, where, _bad_import, stored=False)
    return imported.replace(has_secret=False)


def _bad_import(problem: str) -> UsageError:
    return UsageError(problem, "see 'up42keys export' for the shape a file has")


def _refuse_secrets(table: dict[str, object], where: str, what: str) -> None:
    for key in table:
        if key not in IGNORED and any(word in key.lower() for word in SECRET_WORDS):
            raise UsageError(
                f"{where}: {what} holds {key!r}, which looks like a secret; "
                "up42keys never imports secrets",
                "delete it from the file; store each secret with 'up42keys set-secret NAME'",
            )


def read_sdk_config(path: str) -> tuple[str, str]:
    """The username and password of up42-py's JSON config file (``{"username", "password"}``)."""
    text = inputs.read_file(path, what=path, limit=inputs.DOCUMENT_LIMIT)
    document = inputs.parse_json(text, path)
    if not isinstance(document, dict):
        raise UsageError(
            f"{path} is not an object", 'the SDK\'s config is {"username": …, "password": …}'
        )
    fields = []
    for field in ("username", "password"):
        value = document.get(field)
        if not isinstance(value, str) or not value.strip():
            raise UsageError(
                f"{path} has no {field!r}", 'the SDK\'s config is {"username": …, "password": …}'
            )
        fields.append(value)
    username, password = fields
    return rules.check_username(username), rules.check_secret(
        password, "password", keep_spaces=True
    )
