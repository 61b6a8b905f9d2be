"""The rules a profile's settings obey, and the defaults they take: one place for both.

Names become file names and keyring entries, project IDs and URLs are sent to
UP42 and key the token cache, so each is checked here, where ``add``,
``edit``, ``import``, the profile file's parser and the environment
credentials all check it. Stdlib only and on the fast path (a cached token is
checked against these rules): ``urllib.parse`` and the error classes are
imported by the functions that need them.
"""

# The one set of defaults: UP42's production API, and each account region's hosts.
DEFAULT_API_URL = "https://api.up42.com"
DEFAULT_REGION = "eu"
REGIONS = {
    "eu": ("https://auth.up42.com", DEFAULT_API_URL),
    "sa": ("https://auth.sa.up42.com", "https://api.sa.up42.com"),
}
# The OpenID client an account signs in as: UP42's public docs use "up42-api" (up42-py
# 2.x-4.x sends "up42-sdk"); an account profile may name another (``--client-id``).
DEFAULT_CLIENT_ID = "up42-api"
MAX_CLIENT_ID_LENGTH = 64

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


def client_id_problem(client_id: str) -> bool:
    return (
        not client_id
        or len(client_id) > MAX_CLIENT_ID_LENGTH
        or not set(client_id) <= _NAME_CHARACTERS
    )


def check_client_id(client_id: str) -> str:
    """An OpenID client ID: one word, since it is sent as a form field and keys the cache."""
    if client_id_problem(client_id):
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


# Characters a POSIX shell word may hold unquoted (as shlex.quote, without importing shlex).
_SHELL_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")


def shell_quote(word: str, *, always: bool = False) -> str:
    """``word`` as bash, zsh or sh read it back: the one quoter for commands we print or eval.

    ``always`` quotes a word that needs none too, so that lines for ``eval`` look the same
    whatever a server's value holds.
    """
    if word and not always and set(word) <= _SHELL_SAFE:
        return word
    return "'" + word.replace("'", "'\\''") + "'"


def shell_command(words: "list[str]") -> str:
    """A command a user can paste, every word quoted."""
    return " ".join(shell_quote(word) for word in words)
