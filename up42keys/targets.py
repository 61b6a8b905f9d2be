"""What a profile is: its kinds, their rules and defaults, their records and cache keys.

Named ``targets``, not ``profiles``: the package's public ``up42keys.profiles()``
function would be shadowed by a submodule of that name as soon as it is
imported (the import system sets the package attribute), and a profile is one
kind of target among the three that a command can act on.

Three kinds of target get tokens: a project profile (project ID and API
key), an account profile (email and password) and the environment
credentials of a CI job (``UP42_PROJECT_ID`` + ``UP42_PROJECT_API_KEY``).
Each is an object with the same small interface, so that callers never ask
which kind they hold:

- ``label``: what ``current``, ``token --json`` and errors call it;
- ``record_name`` and ``record_names``: its token records in the cache
  (an account's refresh token too);
- ``cache_key``: what a token is minted for (the record format's line 2);
- ``project_id``: the project a token serves (None for an account);
- ``mint()`` and ``mint_with(secret)``: a new token from UP42;
- ``restore_command()``: the ``add`` command that re-creates exactly this
  profile, every non-default option included;
- ``set_secret_command()``: the ``set-secret`` command that stores its secret
  again and keeps everything else; every fix that says "the keyring holds no
  secret" or "UP42 rejected the secret" prints it (``missing_secret_fix``,
  ``rejected_fix``), and so does a profile imported without one
  (``has_secret`` false);
- ``edited(**changes)``: the same profile with new non-secret settings, checked
  as ``add`` checks them (``editable`` names what a kind lets ``edit`` change).

Kinds are decided where they are made or parsed, and nowhere else:
``project_profile`` and ``account_profile`` (made from the options of
``add``), ``from_table`` (parsed from profiles.toml), ``project_id_of``
(parsed from a cache key), ``environment_credentials`` (made from the
environment). ``selection.resolve`` gives a ``ProfileName`` (a profile not
yet read, which the fast path checks a cached token for) or the environment
credentials; both have ``label``, ``record_name``, ``current_cache_key``
and ``load``, so no caller asks which it got.

This module is on the fast path (``fastpath.FAST_PATH_MODULES``): the name
rules, the environment credentials and the cache-key format are what a cached
token is checked with. So it imports, at module level, only ``os`` (loaded
by a bare interpreter already), and no dataclasses, typing or enum: the classes are plain
``__slots__`` classes. Everything heavy (client, accounts, keychain, store,
urllib.parse, the error classes) is imported inside the function that needs
it. One module rather than a fast and a slow half, because the rules and the
objects must not drift apart.
"""

import os

# Not typing.TYPE_CHECKING: the fast path must not import typing (see up42keys/__init__.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from up42keys.client import MintedToken

PROFILE_ENV = "UP42KEYS_PROFILE"
PROJECT_ID_ENV = "UP42_PROJECT_ID"
PROJECT_KEY_ENV = "UP42_PROJECT_API_KEY"
API_URL_ENV = "UP42_API_URL"
ENVIRONMENT_LABEL = "(environment)"

# Where the target of a command came from, in the order they win (``current --json``'s source).
FROM_ARGUMENT = "argument"
FROM_SHELL = PROFILE_ENV
FROM_ENVIRONMENT = "environment"
FROM_DIRECTORY = "directory"
FROM_ACTIVE = "active"

# The one set of defaults: UP42's production API, and each account region's hosts.
DEFAULT_API_URL = "https://api.up42.com"
DEFAULT_REGION = "eu"
REGIONS = {
    "eu": ("https://auth.up42.com", DEFAULT_API_URL),
    "sa": ("https://auth.sa.up42.com", "https://api.sa.up42.com"),
}
KINDS = ("project", "account")
# The OpenID client an account signs in as: UP42's public docs use "up42-api" (up42-py
# 2.x-4.x sends "up42-sdk"); an account profile may name another (``--client-id``).
DEFAULT_CLIENT_ID = "up42-api"
MAX_CLIENT_ID_LENGTH = 64

# Account profiles keep their refresh token in a record of its own, "<name>~refresh":
# "~" cannot occur in a profile name, so it never collides with a profile's record.
REFRESH_SUFFIX = "~refresh"
# The environment credentials' records start with ".env-": a leading '.' is never a name.
ENVIRONMENT_RECORD_PREFIX = ".env-"

MAX_NAME_LENGTH = 64
MAX_USERNAME_LENGTH = 254
# Far longer than any API URL; a longer one is a paste gone wrong, not an address.
MAX_URL_LENGTH = 2048
_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_HEX = frozenset("0123456789abcdefABCDEF")
UUID_EXAMPLE = "12345678-1234-1234-1234-123456789abc"


# -- rules ---------------------------------------------------------------------------------


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


def check_name(name: str) -> str:
    problem = name_problem(name)
    if problem is not None:
        from up42keys.errors import UsageError

        raise UsageError(f"invalid profile name {name!r}: {problem}")
    return name


def is_uuid(text: str) -> bool:
    """True for the 8-4-4-4-12 hexadecimal form UP42 gives project IDs."""
    parts = text.split("-")
    return [len(part) for part in parts] == [8, 4, 4, 4, 12] and set(text) - {"-"} <= _HEX


def check_project_id(project_id: str) -> str:
    if not is_uuid(project_id):
        from up42keys.errors import UsageError

        raise UsageError(
            f"the project ID must be a UUID such as {UUID_EXAMPLE}, not {project_id!r}"
        )
    return project_id.lower()


def normalize_url(url: str, what: str = "API URL") -> str:
    """An http(s) URL without a trailing slash, or a usage error.

    A URL with user info (``https://PROJ:KEY@host``) is refused, and its
    message repeats no part of it: the key would end up in profiles.toml, in
    ``list`` and in every error that names the URL.
    """
    import urllib.parse  # 2 ms, which list and the fast path need not pay

    from up42keys.errors import UsageError

    example = "give one such as https://api.up42.com"
    text = url.strip()
    if len(text) > MAX_URL_LENGTH:
        raise UsageError(
            f"the {what} has {len(text)} characters",
            f"give one of at most {MAX_URL_LENGTH}, such as https://api.up42.com",
        )
    if any(ord(character) < 33 for character in text):
        raise UsageError(f"the {what} contains blanks or control characters", "give it again")
    try:
        parts = urllib.parse.urlsplit(text)
        has_user_info = "@" in parts.netloc
        if not has_user_info:
            parts.port  # noqa: B018 - parsing the port is the check: it raises when bad
    except ValueError as error:
        raise UsageError(f"the {what} is not a valid URL ({error})", example) from None
    if has_user_info:
        raise UsageError(
            f"the {what} must not hold a user name or password (not repeated here)",
            "give the bare URL, such as https://api.up42.com; the key goes to the keyring",
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"the {what} must be an http(s) URL, not {text!r}", example)
    if parts.query or parts.fragment:
        raise UsageError(f"the {what} takes no query or fragment: {text!r}", "leave them out")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def check_username(username: str) -> str:
    """An account's email: one word with an '@', since it is sent as is and keys the cache."""
    local, at, domain = username.partition("@")
    if (
        not at
        or not local
        or not domain
        or len(username) > MAX_USERNAME_LENGTH
        or any(character.isspace() or ord(character) < 32 for character in username)
    ):
        from up42keys.errors import UsageError

        raise UsageError(
            f"the username must be the account's email, such as jane@example.com, not {username!r}"
        )
    return username


def _client_id_problem(client_id: str) -> bool:
    return (
        not client_id
        or len(client_id) > MAX_CLIENT_ID_LENGTH
        or not set(client_id) <= _NAME_CHARACTERS
    )


def check_client_id(client_id: str) -> str:
    """An OpenID client ID: one word, since it is sent as a form field and keys the cache."""
    if _client_id_problem(client_id):
        from up42keys.errors import UsageError

        raise UsageError(
            f"the client ID has up to {MAX_CLIENT_ID_LENGTH} letters, digits, '.', '_' and '-',"
            f" such as {DEFAULT_CLIENT_ID}, not {client_id!r}"
        )
    return client_id


def check_secret(secret: str, what: str, *, keep_spaces: bool = False) -> str:
    """The secret without its line ending; an API key also without surrounding blanks.

    A password is taken as typed (``keep_spaces``): spaces at its ends can be part of it.
    """
    from up42keys.errors import UsageError

    secret = secret.rstrip("\r\n") if keep_spaces else secret.strip()
    if not secret.strip():
        raise UsageError(f"the {what} is empty", "give it at the prompt or as one line on stdin")
    if any(ord(character) < 32 for character in secret):
        raise UsageError(f"the {what} contains control characters", "paste it again")
    try:
        # A terminal or pipe in another encoding: Python keeps the bytes as surrogates.
        secret.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"the {what} is not UTF-8 text", "paste it again") from None
    return secret


# -- the cache-key format --------------------------------------------------------------------


def project_cache_key(project_id: str, api_url: str) -> str:
    """What a project token's record is keyed by: a token serves this pair only."""
    return f"project {project_id.lower()} {api_url}"


def account_cache_key(
    username: str, auth_url: str, api_url: str, client_id: str = DEFAULT_CLIENT_ID
) -> str:
    """An account token serves this account, at these hosts, signed in as this client.

    The client ID is added only when it is not the default, so that the tokens cached
    before the setting existed keep serving.
    """
    key = f"account {username} {auth_url} {api_url}"
    return key if client_id == DEFAULT_CLIENT_ID else f"{key} {client_id}"


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


def _quote(word: str) -> str:
    """A word of a command a user pastes into a shell (shlex.quote, without importing shlex)."""
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")
    if word and set(word) <= safe:
        return word
    return "'" + word.replace("'", "'\"'\"'") + "'"


# -- the kinds -------------------------------------------------------------------------------


class Profile:
    """A named set of non-secret settings; its secret lives in the keyring under the same name.

    The base class of both kinds of profile (``isinstance(p, Profile)`` holds
    for both); it is immutable by convention: ``replace`` makes a changed copy.
    """

    __slots__ = (
        "api_url",
        "auth_url",
        "client_id",
        "has_secret",
        "name",
        "project_id",
        "protected",
        "region",
        "username",
    )
    FIELDS = (
        "name",
        "api_url",
        "project_id",
        "username",
        "region",
        "auth_url",
        "client_id",
        "protected",
        "has_secret",
    )
    kind = ""
    # What ``edit`` may change, as its options' names (``--api-url``: "api_url").
    editable: tuple[str, ...] = ("api_url",)

    name: str
    api_url: str
    project_id: str | None
    username: str | None
    region: str | None
    auth_url: str | None
    client_id: str | None
    protected: bool
    # False for a profile imported without its secret: ``list`` says so without the keyring.
    has_secret: bool

    def _values(self) -> tuple[object, ...]:
        return (self.kind, *(getattr(self, field) for field in self.FIELDS))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Profile) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{field}={getattr(self, field)!r}" for field in self.FIELDS)
        return f"{type(self).__name__}({fields})"

    @property
    def label(self) -> str:
        return self.name

    @property
    def title(self) -> str:
        """What doctor calls it."""
        return f"profile {self.name}"

    @property
    def record_name(self) -> str:
        return self.name

    @property
    def record_names(self) -> tuple[str, ...]:
        """Every cache record this profile owns: dropped together, moved together."""
        return (self.name,)

    @property
    def cache_key(self) -> str:
        raise NotImplementedError

    @property
    def token_url(self) -> str:
        """The host a mint contacts (doctor checks it answers)."""
        return self.api_url

    @property
    def identity(self) -> str:
        """Whose credentials these are, as ``list`` shows it."""
        raise NotImplementedError

    @property
    def default_api_url(self) -> str:
        """The API the profile gets when ``--api-url`` is not given."""
        return DEFAULT_API_URL

    # What ``add`` asks for: the secret's name, the flag that reads it from stdin, and
    # whether blanks at its ends are part of it.
    asks_for = ""
    stdin_flag = ""
    keeps_spaces = False

    # Variables that a program run by ``exec`` must not inherit beside this target's token.
    foreign_variables: tuple[str, ...] = (PROJECT_KEY_ENV,)

    def replace(self, **changes: object) -> "Profile":
        copy = object.__new__(type(self))
        for field in self.FIELDS:
            object.__setattr__(copy, field, changes.pop(field, getattr(self, field)))
        if changes:
            raise TypeError(f"no such profile field: {', '.join(changes)}")
        return copy

    def renamed(self, new_name: str) -> "Profile":
        return self.replace(name=new_name)

    def reloaded(self) -> "Profile":
        """The profile as the store has it now (another process may have changed it)."""
        from up42keys import store

        return store.get(self.name)

    def edited(self, **changes: str | None) -> "Profile":
        """This profile with the ``editable`` settings that are not None changed, checked."""
        raise NotImplementedError

    def restore_command(self) -> str:
        """The ``add`` command that stores exactly this profile again, with its secret."""
        raise NotImplementedError

    def _command(self, words: list[str]) -> str:
        """``words`` as a command to paste: quoted, with ``--protected`` where it applies."""
        if self.protected:
            words = [*words, "--protected"]
        return " ".join(_quote(word) for word in [*words, "--force"])

    def set_secret_command(self) -> str:
        """The command that stores this profile's secret (again), every other setting kept."""
        return " ".join(_quote(word) for word in ["up42keys", "set-secret", self.name])

    def missing_secret_fix(self) -> str:
        return f"store it with '{self.set_secret_command()}'"

    def rejected_fix(self) -> str:
        return f"store the right {self.asks_for} with '{self.set_secret_command()}'"

    def secret(self) -> str:
        """The stored secret, or a KeyringError whose fix stores it.

        A profile imported without its secret fails so without opening the keyring.
        """
        if not self.has_secret:
            from up42keys.errors import KeyringError

            raise KeyringError(
                f"profile {self.name!r} has no secret yet (it was imported)",
                self.missing_secret_fix(),
            )
        from up42keys import keychain

        return keychain.get_secret(self.name, missing_fix=self.missing_secret_fix())

    def mint(self, secret: "Callable[[], str] | None" = None) -> "MintedToken":
        """A new token, with the stored secret (read only when it is needed).

        ``secret`` gives the secret instead of the keyring: exec's renewals, which must
        never prompt in the background, hand over the one read before the command started.
        """
        return self.mint_with((secret or self.secret)())

    def mint_with(self, secret: str) -> "MintedToken":
        """A new token with ``secret`` (which ``add`` and doctor have in hand)."""
        raise NotImplementedError

    def keep_extras(self, minted: "MintedToken") -> None:
        """Cache what came with a token beside it (an account's refresh token)."""

    def to_toml(self) -> dict[str, object]:
        """Its table in profiles.toml: the definition, and whether its secret is stored."""
        table = self.definition()
        if not self.has_secret:
            table["has_secret"] = False
        return table

    def definition(self) -> dict[str, object]:
        """What defines it, as ``export`` shares it: no secret, and no word of one."""
        table: dict[str, object] = {"kind": self.kind, "api_url": self.api_url}
        for key in ("project_id", "username", "region", "auth_url"):
            value = getattr(self, key)
            if value is not None:
                table[key] = value
        if self.client_id not in (None, DEFAULT_CLIENT_ID):
            table["client_id"] = self.client_id
        if self.protected:
            table["protected"] = True
        return table


class ProjectProfile(Profile):
    """A project's ID and (in the keyring) its API key: UP42's client-credentials grant."""

    __slots__ = ()
    kind = "project"
    asks_for = "API key"
    stdin_flag = "--api-key-stdin"
    keeps_spaces = False

    def __init__(
        self,
        name: str,
        project_id: str,
        api_url: str,
        *,
        protected: bool = False,
        has_secret: bool = True,
    ):
        self.name = name
        self.api_url = api_url
        self.project_id = project_id
        self.username = self.region = self.auth_url = self.client_id = None
        self.protected = protected
        self.has_secret = has_secret

    @property
    def cache_key(self) -> str:
        return project_cache_key(self.project_id or "", self.api_url)

    @property
    def identity(self) -> str:
        return self.project_id or ""

    def edited(self, **changes: str | None) -> Profile:
        api_url = changes.get("api_url")
        return self.replace(api_url=self.api_url if api_url is None else normalize_url(api_url))

    def restore_command(self) -> str:
        words = ["up42keys", "add", self.name, "--project-id", self.project_id or ""]
        if self.api_url != self.default_api_url:
            words += ["--api-url", self.api_url]
        return self._command(words)

    def mint_with(self, secret: str) -> "MintedToken":
        from up42keys import client

        return client.mint_project_token(
            self.api_url, self.project_id or "", secret, rejected_fix=self.rejected_fix()
        )


class AccountProfile(Profile):
    """An account's email and (in the keyring) its password: UP42's sign-in, and its renewal."""

    __slots__ = ()
    kind = "account"
    asks_for = "password"
    stdin_flag = "--password-stdin"
    # A password is taken as typed: spaces at its ends can be part of it.
    keeps_spaces = True
    editable = ("api_url", "auth_url", "region", "username", "client_id")

    def __init__(
        self,
        name: str,
        username: str,
        region: str | None,
        auth_url: str,
        api_url: str,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        protected: bool = False,
        has_secret: bool = True,
    ):
        self.name = name
        self.api_url = api_url
        self.project_id = None
        self.username = username
        self.region = region
        self.auth_url = auth_url
        self.client_id = client_id
        self.protected = protected
        self.has_secret = has_secret

    @property
    def record_names(self) -> tuple[str, ...]:
        return (self.name, self.refresh_record_name)

    @property
    def refresh_record_name(self) -> str:
        return self.name + REFRESH_SUFFIX

    @property
    def cache_key(self) -> str:
        return account_cache_key(
            self.username or "", self.auth_url or "", self.api_url, self.sign_in_client
        )

    @property
    def sign_in_client(self) -> str:
        """The client ID both grants send."""
        return self.client_id or DEFAULT_CLIENT_ID

    @property
    def token_url(self) -> str:
        return self.auth_url or ""

    @property
    def identity(self) -> str:
        return f"{self.username} ({self.region})"

    @property
    def region_hosts(self) -> tuple[str, str]:
        """The sign-in and API hosts of its region (a hand-edited unknown one: eu's)."""
        return REGIONS.get(self.region or DEFAULT_REGION, REGIONS[DEFAULT_REGION])

    @property
    def default_api_url(self) -> str:
        return self.region_hosts[1]

    def edited(self, **changes: str | None) -> Profile:
        """Changed settings; URLs that were the old region's hosts follow a new region."""
        region = changes.get("region") or self.region or DEFAULT_REGION
        auth_url, api_url = changes.get("auth_url"), changes.get("api_url")
        if auth_url is None and self.auth_url != self.region_hosts[0]:
            auth_url = self.auth_url
        if api_url is None and self.api_url != self.default_api_url:
            api_url = self.api_url
        return account_profile(
            self.name,
            changes.get("username") or self.username or "",
            region=region,
            auth_url=auth_url,
            api_url=api_url,
            client_id=changes.get("client_id") or self.client_id,
            protected=self.protected,
            has_secret=self.has_secret,
        )

    def restore_command(self) -> str:
        words = ["up42keys", "add", self.name, "--account", "--username", self.username or ""]
        region = self.region or DEFAULT_REGION
        if region != DEFAULT_REGION:
            words += ["--region", region]
        if self.auth_url != self.region_hosts[0]:
            words += ["--auth-url", self.auth_url or ""]
        if self.api_url != self.default_api_url:
            words += ["--api-url", self.api_url]
        if self.sign_in_client != DEFAULT_CLIENT_ID:
            words += ["--client-id", self.sign_in_client]
        return self._command(words)

    def rejected_fix(self) -> str:
        command = self.set_secret_command()
        return f"check the password of {self.username} and store it with '{command}'"

    def mint(self, secret: "Callable[[], str] | None" = None) -> "MintedToken":
        from up42keys import accounts

        # The password is read only when the password grant is needed.
        return accounts.mint(self, secret or self.secret)

    def mint_with(self, secret: str) -> "MintedToken":
        from up42keys import accounts

        return accounts.sign_in(self, secret)

    def keep_extras(self, minted: "MintedToken") -> None:
        from up42keys import accounts

        accounts.keep_refresh_token(self, minted)


class ProfileName:
    """A profile chosen by name (argument, ``UP42KEYS_PROFILE``, a directory's file, ``active``),
    not yet read.

    What ``selection.resolve`` gives for a profile, so that the fast path can look its
    cached token up without parsing profiles.toml; ``load`` reads the profile itself.
    ``source`` says which step of the order chose it (``FROM_…``), ``path`` the directory
    file that did (else None): a name that does not exist is reported as that source's fault.
    """

    __slots__ = ("name", "path", "source")

    def __init__(self, name: str, source: str = FROM_ARGUMENT, path: str | None = None) -> None:
        self.name = name
        self.source = source
        self.path = path

    @property
    def label(self) -> str:
        return self.name

    @property
    def record_name(self) -> str:
        return self.name

    def current_cache_key(self) -> str | None:
        """What the profile's token must be minted for, per the key index (None: unknown)."""
        if name_problem(self.name) is not None:
            return None
        from up42keys import state  # loaded already: it imports this module

        return state.indexed_cache_key(self.name)

    def load(self) -> Profile:
        """The profile, from the store (or the error: no such profile, bad name).

        The error names what chose the missing profile where that is not the argument:
        ``UP42KEYS_PROFILE`` or the directory's file, with the fix for each.
        """
        from up42keys import store

        if self.source not in (FROM_SHELL, FROM_DIRECTORY):
            return store.get(self.name)
        if self.source == FROM_SHELL:
            check_name(self.name)
        profiles = store.load()
        profile = profiles.get(self.name)
        if profile is not None:
            return profile
        from up42keys.errors import ProfileNotFoundError

        close = store.suggestion(self.name, profiles)
        if self.source == FROM_SHELL:
            raise ProfileNotFoundError(
                f"{PROFILE_ENV} names profile {self.name!r}, which does not exist",
                f"{close}; or run 'unset {PROFILE_ENV}'",
            )
        from up42keys import shell

        directory = shell.posix_quote(os.path.dirname(self.path or ""))
        raise ProfileNotFoundError(
            f"{self.path} names profile {self.name!r}, which does not exist",
            f"{close}; or drop the file: cd {directory} && up42keys pin --off",
        )

    def confirm(self) -> None:
        """Raise unless the profile exists: ``current`` reports only a profile commands can use."""
        self.load()


class EnvironmentCredentials:
    """A project ID and API key from the environment, as CI pipelines provide them.

    The key is read from the environment when a mint needs it and is never
    stored; the record name keys the token cache by project ID and URL.
    """

    __slots__ = ("api_url", "project_id")
    name = None
    label = ENVIRONMENT_LABEL
    source = FROM_ENVIRONMENT
    path = None
    foreign_variables: tuple[str, ...] = ()

    def __init__(self, project_id: str, api_url: str) -> None:
        self.project_id = project_id
        self.api_url = api_url

    @property
    def record_name(self) -> str:
        return f"{ENVIRONMENT_RECORD_PREFIX}{self.project_id.lower()}-{url_digest(self.api_url)}"

    @property
    def record_names(self) -> tuple[str, ...]:
        return (self.record_name,)

    @property
    def cache_key(self) -> str:
        return project_cache_key(self.project_id, self.api_url)

    @property
    def token_url(self) -> str:
        return self.api_url

    def reloaded(self) -> "EnvironmentCredentials":
        return self

    def current_cache_key(self) -> str:
        return self.cache_key

    def load(self) -> "EnvironmentCredentials":
        return self.checked()

    def confirm(self) -> None:
        """Nothing to check: ``current`` mints nothing, so the URL is checked by a mint."""

    def checked(self) -> "EnvironmentCredentials":
        """These credentials, once their API URL has proved to be an http(s) URL."""
        normalize_url(self.api_url, API_URL_ENV)
        return self

    def restore_command(self) -> None:
        """None: the environment is the caller's to set, no command of ours re-creates it."""
        return

    def rejected_fix(self) -> str:
        return f"check {PROJECT_ID_ENV} and {PROJECT_KEY_ENV}"

    @property
    def title(self) -> str:
        return ENVIRONMENT_LABEL

    def secret(self) -> str:
        """The API key, read from the environment when a mint needs it."""
        from up42keys import coredumps

        coredumps.forbid()
        return os.environ.get(PROJECT_KEY_ENV, "")

    def mint(self, secret: "Callable[[], str] | None" = None) -> "MintedToken":
        return self.mint_with((secret or self.secret)())

    def mint_with(self, secret: str) -> "MintedToken":
        from up42keys import client

        return client.mint_project_token(
            self.api_url, self.project_id, secret, rejected_fix=self.rejected_fix()
        )

    def keep_extras(self, minted: "MintedToken") -> None:
        """Nothing comes with a project token."""


# -- making and parsing profiles: where a kind is decided -------------------------------------


def project_profile(
    name: str,
    project_id: str,
    api_url: str | None = None,
    *,
    protected: bool = False,
    has_secret: bool = True,
) -> ProjectProfile:
    """A validated project profile; nothing is stored yet. ``api_url`` defaults to UP42's."""
    return ProjectProfile(
        check_name(name),
        check_project_id(project_id),
        # An empty URL given is a bad URL, not a request for the default.
        normalize_url(DEFAULT_API_URL if api_url is None else api_url),
        protected=protected,
        has_secret=has_secret,
    )


def account_profile(
    name: str,
    username: str,
    *,
    region: str | None = None,
    auth_url: str | None = None,
    api_url: str | None = None,
    client_id: str | None = None,
    protected: bool = False,
    has_secret: bool = True,
) -> AccountProfile:
    """A validated account profile; ``auth_url`` and ``api_url`` default to the region's hosts."""
    check_name(name)
    region = region or DEFAULT_REGION
    if region not in REGIONS:
        from up42keys.errors import UsageError

        raise UsageError(f"the region must be one of {', '.join(REGIONS)}, not {region!r}")
    region_auth_url, region_api_url = REGIONS[region]
    return AccountProfile(
        name,
        check_username(username),
        region,
        normalize_url(region_auth_url if auth_url is None else auth_url, "sign-in URL"),
        normalize_url(region_api_url if api_url is None else api_url),
        client_id=DEFAULT_CLIENT_ID if client_id is None else check_client_id(client_id),
        protected=protected,
        has_secret=has_secret,
    )


def from_table(name: str, table: object, where: str) -> Profile:
    """A profile as profiles.toml holds it, or a CorruptFileError that says what to repair."""
    from up42keys.errors import CorruptFileError

    if not isinstance(table, dict):
        raise CorruptFileError(f"{where}: profile {name!r} is not a table", "repair or remove it")
    if name_problem(name) is not None:
        raise CorruptFileError(
            f"{where}: {name!r} is not a valid profile name", "rename it by hand"
        )
    kind = table.get("kind", "project")
    api_url = table.get("api_url")
    strings = {
        key: table.get(key) for key in ("project_id", "username", "region", "auth_url", "client_id")
    }
    if kind not in KINDS or not isinstance(api_url, str):
        raise CorruptFileError(f"{where}: profile {name!r} lacks a kind or an api_url", "repair it")
    if any(value is not None and not isinstance(value, str) for value in strings.values()):
        raise CorruptFileError(
            f"{where}: profile {name!r} has a value that is not text", "repair it"
        )
    for needed in ("project_id",) if kind == "project" else ("username", "auth_url"):
        if not strings[needed]:
            raise CorruptFileError(f"{where}: profile {name!r} lacks its {needed}", "repair it")
    client_id = strings["client_id"]
    if client_id is not None and _client_id_problem(client_id):
        raise CorruptFileError(
            f"{where}: profile {name!r} has an invalid client_id {client_id!r}", "repair it"
        )
    protected, has_secret = table.get("protected", False), table.get("has_secret", True)
    for key, flag in (("protected", protected), ("has_secret", has_secret)):
        if not isinstance(flag, bool):
            raise CorruptFileError(
                f"{where}: {key!r} of {name!r} must be true or false", "repair it"
            )
    profile: Profile
    if kind == "project":
        profile = ProjectProfile(
            name,
            str(strings["project_id"]),
            api_url,
            protected=protected,
            has_secret=has_secret,
        )
    else:
        profile = AccountProfile(
            name,
            str(strings["username"]),
            # A hand-written profile may name no region; it keeps none, as before.
            strings["region"],
            str(strings["auth_url"]),
            api_url,
            client_id=strings["client_id"] or DEFAULT_CLIENT_ID,
            protected=protected,
            has_secret=has_secret,
        )
    return profile


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

        raise UsageError(f"{PROJECT_ID_ENV} must be a UUID such as {UUID_EXAMPLE}")
    api_url = os.environ.get(API_URL_ENV, "").strip() or DEFAULT_API_URL
    return EnvironmentCredentials(project_id, api_url.rstrip("/"))


Target = Profile | EnvironmentCredentials
