"""Which profile a command acts on, and what makes a valid name.

The order: the NAME argument, else ``UP42KEYS_PROFILE`` (a per-shell choice),
else the environment credentials ``UP42_PROJECT_ID`` + ``UP42_PROJECT_API_KEY``,
else the active profile. Stdlib only, without ``re``: the cached-token path
and ``current`` resolve their target with this module alone.
"""

import os

from up42keys import files, paths

PROFILE_ENV = "UP42KEYS_PROFILE"
PROJECT_ID_ENV = "UP42_PROJECT_ID"
PROJECT_KEY_ENV = "UP42_PROJECT_API_KEY"
API_URL_ENV = "UP42_API_URL"
DEFAULT_API_URL = "https://api.up42.com"
ENVIRONMENT_LABEL = "(environment)"

MAX_NAME_LENGTH = 64
_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_HEX = frozenset("0123456789abcdefABCDEF")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a profile name, or None when it can.

    Names become file names, so anything that could leave the directory or
    read as an option is refused.
    """
    if not name:
        return "a profile name cannot be empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"a profile name has at most {MAX_NAME_LENGTH} characters"
    if name[0] in "-.":
        return "a profile name cannot start with '-' or '.'"
    if not set(name) <= _NAME_CHARACTERS:
        return "a profile name has only letters, digits, '.', '_' and '-'"
    return None


def is_uuid(text: str) -> bool:
    """True for the 8-4-4-4-12 hexadecimal form UP42 gives project IDs."""
    parts = text.split("-")
    return [len(part) for part in parts] == [8, 4, 4, 4, 12] and set(text) - {"-"} <= _HEX


def read_active() -> str | None:
    """The globally active profile's name, or None."""
    text = files.read_text(paths.active_file())
    name = text.strip() if text else ""
    return name if name and name_problem(name) is None else None


class EnvironmentCredentials:
    """A project ID and API key from the environment, as CI pipelines provide them.

    The key is read from the environment when a mint needs it and is never
    stored; the record name keys the token cache by project ID and URL.
    """

    __slots__ = ("api_url", "project_id")

    def __init__(self, project_id: str, api_url: str) -> None:
        self.project_id = project_id
        self.api_url = api_url

    @property
    def record_name(self) -> str:
        # A leading '.' can never collide with a profile's name.
        return f".env-{self.project_id.lower()}-{url_digest(self.api_url)}"

    @property
    def cache_key(self) -> str:
        return project_cache_key(self.project_id, self.api_url)

    def api_key(self) -> str:
        from up42keys import coredumps

        coredumps.forbid()
        return os.environ.get(PROJECT_KEY_ENV, "")


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


def project_cache_key(project_id: str, api_url: str) -> str:
    """What a project token's record is keyed by: a token serves this pair only."""
    return f"project {project_id.lower()} {api_url}"


def environment_credentials() -> EnvironmentCredentials | None:
    """The environment's credentials when both variables are set, else None.

    A malformed ``UP42_PROJECT_ID`` is an error rather than a reason to fall
    back to the active profile: a pipeline must not quietly hit another project.
    """
    project_id = os.environ.get(PROJECT_ID_ENV, "").strip()
    if not project_id or not os.environ.get(PROJECT_KEY_ENV, "").strip():
        return None
    if not is_uuid(project_id):
        from up42keys.errors import UsageError

        raise UsageError(
            f"{PROJECT_ID_ENV} must be a UUID such as 12345678-1234-1234-1234-123456789abc"
        )
    api_url = os.environ.get(API_URL_ENV, "").strip() or DEFAULT_API_URL
    return EnvironmentCredentials(project_id, api_url.rstrip("/"))


def current_label() -> str | None:
    """What ``current`` prints: the per-shell choice, ``(environment)``, or the active profile."""
    named = chosen_name(None)
    if named is not None:
        return named
    if environment_credentials() is not None:
        return ENVIRONMENT_LABEL
    return read_active()


def chosen_name(argument: str | None) -> str | None:
    """The profile named by the argument or by ``UP42KEYS_PROFILE``, if any.

    An empty argument is a name too (an invalid one), not the lack of one.
    """
    if argument is not None:
        return argument
    return os.environ.get(PROFILE_ENV, "").strip() or None


def resolve(argument: str | None) -> str | EnvironmentCredentials | None:
    """The target of a command: a profile name, the environment credentials, or None."""
    named = chosen_name(argument)
    if named is not None:
        return named
    credentials = environment_credentials()
    if credentials is not None:
        return credentials
    return read_active()
