"""A project profile: a project's ID and (in the keyring) its API key.

UP42's original scheme: the client-credentials grant, with the project ID and
API key as HTTP Basic credentials, gives a token for that project.
"""

from __future__ import annotations

from typing import ClassVar

from up42keys import cache, rules
from up42keys.kinds.base import API_URL, Profile, Setting
from up42keys.remote import client

PROJECT_ID = Setting(
    "project_id",
    "--project-id",
    "UUID",
    "The UP42 project's ID (a project profile).",
    editable=False,
    required=True,
)


class ProjectProfile(Profile):
    """A project's ID and its API key: UP42's client-credentials grant."""

    __slots__ = ("project_id",)
    FIELDS = ("name", "api_url", "project_id", "protected", "has_secret")
    kind = "project"
    SETTINGS: ClassVar[tuple[Setting, ...]] = (PROJECT_ID, API_URL)
    kind_flag = PROJECT_ID.flag
    asks_for = "API key"
    stdin_flag = "--api-key-stdin"
    keeps_spaces = False

    project_id: str

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
        self.protected = protected
        self.has_secret = has_secret

    @property
    def cache_key(self) -> str:
        return cache.project_cache_key(self.project_id, self.api_url)

    @property
    def identity(self) -> str:
        return self.project_id

    @property
    def secret_scope(self) -> tuple[str, ...]:
        """An API key belongs to one project, and is sent to the API it was stored for."""
        return (self.kind, self.project_id, self.api_url)

    def edited(self, **changes: str | None) -> Profile:
        api_url = changes.get("api_url")
        return self.replace(
            api_url=self.api_url if api_url is None else rules.normalize_url(api_url)
        )

    def restore_command(self) -> str:
        words = ["up42keys", "add", self.name, "--project-id", self.project_id]
        if self.api_url != self.default_api_url:
            words += ["--api-url", self.api_url]
        return self._command(words)

    def mint_with(self, secret: str) -> client.MintedToken:
        return client.mint_project_token(
            self.api_url, self.project_id, secret, rejected_fix=self.rejected_fix()
        )


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
        rules.check_name(name),
        rules.check_project_id(project_id),
        # An empty URL given is a bad URL, not a request for the default.
        rules.normalize_url(rules.DEFAULT_API_URL if api_url is None else api_url),
        protected=protected,
        has_secret=has_secret,
    )
