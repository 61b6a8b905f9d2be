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

from up42keys import targets
from up42keys.errors import UsageError
from up42keys.targets import Profile

FORMAT_VERSION = 1
# Settings a shared table may hold; ``has_secret`` is profiles.toml's own and is ignored.
SETTINGS = frozenset(
    {"kind", "api_url", "project_id", "username", "region", "auth_url", "client_id", "protected"}
)
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


def parse_import(text: str, where: str) -> list[Profile]:
    """The profiles a shared document defines, each checked as ``add`` checks it; no secrets."""
    if sys.version_info >= (3, 11):
        import tomllib as toml_reader
    else:
        import tomli as toml_reader
    try:
        document = toml_reader.loads(text)
    except toml_reader.TOMLDecodeError as error:
        raise UsageError(f"{where} is not valid TOML ({error})", "repair it") from None
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
    if not isinstance(table, dict):
        raise UsageError(f"{where}: profile {name!r} is not a table", "see 'up42keys export'")
    _refuse_secrets(table, where, f"profile {name!r}")
    unknown = sorted(set(table) - SETTINGS - IGNORED)
    if unknown:
        raise UsageError(
            f"{where}: profile {name!r} has unknown settings {', '.join(map(repr, unknown))}",
            f"it may hold {', '.join(sorted(SETTINGS))}",
        )
    values = {key: table[key] for key in SETTINGS if key in table}
    protected = values.pop("protected", False)
    if not isinstance(protected, bool) or not all(isinstance(v, str) for v in values.values()):
        raise UsageError(
            f"{where}: profile {name!r} has a setting of the wrong type",
            "'protected' is true or false, every other setting is text",
        )
    strings: dict[str, str] = {key: str(value) for key, value in values.items()}
    kind = strings.pop("kind", "project")
    if kind == "project":
        others = sorted(set(strings) - {"project_id", "api_url"})
        if others or "project_id" not in strings:
            raise UsageError(
                f"{where}: project profile {name!r} needs project_id"
                + (f" and takes no {', '.join(others)}" if others else ""),
                "see 'up42keys export'",
            )
        return targets.project_profile(
            name,
            strings["project_id"],
            strings.get("api_url"),
            protected=protected,
            has_secret=False,
        )
    if kind == "account":
        if "project_id" in strings or "username" not in strings:
            raise UsageError(
                f"{where}: account profile {name!r} needs username and takes no project_id",
                "see 'up42keys export'",
            )
        return targets.account_profile(
            name,
            strings["username"],
            region=strings.get("region"),
            auth_url=strings.get("auth_url"),
            api_url=strings.get("api_url"),
            client_id=strings.get("client_id"),
            protected=protected,
            has_secret=False,
        )
    raise UsageError(f"{where}: profile {name!r} has kind {kind!r}", "use project or account")


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
    import json

    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except OSError as error:
        raise UsageError(
            f"cannot read {path} ({error.strerror or error})", "give the SDK's config file"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{path} is not JSON ({error})", "give the SDK's config file") from None
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
    return targets.check_username(username), targets.check_secret(
        password, "password", keep_spaces=True
    )


def shell_quoted(word: str) -> str:
    """``word`` in single quotes, as a shell takes it back whatever it holds."""
    return "'" + word.replace("'", "'\"'\"'") + "'"
