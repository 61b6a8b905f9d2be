"""The environment credentials of a CI job: ``UP42_PROJECT_ID`` + ``UP42_PROJECT_API_KEY``.

A target like a project profile, but nothing of it is stored: the key is read
from the environment when a mint needs it, and its token records are named by
project ID and URL. On the fast path (a pipeline's cached token), so stdlib
only at module level; the HTTP client is imported by the mint that needs it.
"""

import os

from up42keys import cache, rules

# Not typing.TYPE_CHECKING: the fast path must not import typing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from up42keys.cache import TokenRecord
    from up42keys.remote.client import MintedToken

PROJECT_ID_ENV = "UP42_PROJECT_ID"
PROJECT_KEY_ENV = "UP42_PROJECT_API_KEY"
API_URL_ENV = "UP42_API_URL"
ENVIRONMENT_LABEL = "(environment)"
# What ``current --json`` calls this source (``selection``'s order).
FROM_ENVIRONMENT = "environment"


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
        digest = cache.url_digest(self.api_url)
        return f"{cache.ENVIRONMENT_RECORD_PREFIX}{self.project_id.lower()}-{digest}"

    @property
    def record_names(self) -> tuple[str, ...]:
        return (self.record_name,)

    @property
    def cache_key(self) -> str:
        return cache.project_cache_key(self.project_id, self.api_url)

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
        rules.normalize_url(self.api_url, API_URL_ENV)
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
        from up42keys.store import coredumps

        coredumps.forbid()
        return os.environ.get(PROJECT_KEY_ENV, "")

    def mint(self, secret: "Callable[[], str] | None" = None) -> "MintedToken":
        return self.mint_with((secret or self.secret)())

    def mint_with(self, secret: str) -> "MintedToken":
        from up42keys.remote import client

        return client.mint_project_token(
            self.api_url, self.project_id, secret, rejected_fix=self.rejected_fix()
        )

    def keep_extras(self, minted: "MintedToken") -> "dict[str, TokenRecord | None]":
        """Nothing comes with a project token."""
        return {}


def environment_credentials() -> EnvironmentCredentials | None:
    """The environment's credentials when both variables are set, else None.

    A malformed ``UP42_PROJECT_ID`` is an error rather than a reason to fall
    back to the active profile: a pipeline must not quietly hit another project.
    """
    project_id = os.environ.get(PROJECT_ID_ENV, "").strip()
    if not project_id or not os.environ.get(PROJECT_KEY_ENV, "").strip():
        return None
    if not rules.is_uuid(project_id):
        from up42keys.errors import UsageError

        raise UsageError(f"{PROJECT_ID_ENV} must be a UUID such as {rules.UUID_EXAMPLE}")
    api_url = os.environ.get(API_URL_ENV, "").strip() or rules.DEFAULT_API_URL
    return EnvironmentCredentials(project_id, api_url.rstrip("/"))
