"""An account profile: an account's email and (in the keyring) its password.

Today's UP42 signs accounts in with OpenID Connect. Renewing with the refresh
token keeps the password out of the network and the keyring closed for as long
as the refresh token lives; only when there is none (or UP42 refuses it) is
the password sent. The refresh token is a secret too: it lives only in a 0600
record of the token cache (``refresh_record_name``), which ``keep_extras``
hands to the token cache's one writer (``ops.tokens.store_minted``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from up42keys import cache, rules
from up42keys.errors import UsageError
from up42keys.kinds.base import API_URL, Profile, Setting
from up42keys.remote import accounts, client
from up42keys.store import coredumps

# A refresh token is only tried while it has this many seconds left, so that
# it does not expire on its way to UP42.
REFRESH_MARGIN = 30.0

USERNAME = Setting(
    "username",
    "--username",
    "EMAIL",
    "The account's email (with --account).",
    required=True,
    edit_help="The account's email (account).",
)
REGION = Setting(
    "region",
    "--region",
    "eu|sa",
    f"The account's UP42 region (with --account) [default: {rules.DEFAULT_REGION}].",
    edit_help="The account's region; URLs that were the old region's hosts follow it.",
    choices=tuple(rules.REGIONS),
)
AUTH_URL = Setting(
    "auth_url",
    "--auth-url",
    "URL",
    "Sign in here instead of the region's host.",
    stored=True,
    edit_help="Sign in here instead of the region's host. (account)",
)
CLIENT_ID = Setting(
    "client_id",
    "--client-id",
    "ID",
    "The OpenID client the account signs in as (with --account)"
    f" [default: {rules.DEFAULT_CLIENT_ID}].",
    edit_help="The OpenID client it signs in as (account).",
)


class AccountProfile(Profile):
    """An account's email and its password: UP42's sign-in, and its renewal."""

    __slots__ = ("auth_url", "client_id", "region", "username")
    FIELDS = (
        "name",
        "api_url",
        "username",
        "region",
        "auth_url",
        "client_id",
        "protected",
        "has_secret",
    )
    kind = "account"
    SETTINGS: ClassVar[tuple[Setting, ...]] = (USERNAME, REGION, AUTH_URL, API_URL, CLIENT_ID)
    kind_flag = "--account"
    kind_help = "An account profile: sign in with email and password."
    asks_for = "password"
    stdin_flag = "--password-stdin"
    # A password is taken as typed: spaces at its ends can be part of it.
    keeps_spaces = True

    username: str
    # None only for a hand-written profile that names no region (it keeps none).
    region: str | None
    auth_url: str
    client_id: str

    def __init__(
        self,
        name: str,
        username: str,
        region: str | None,
        auth_url: str,
        api_url: str,
        *,
        client_id: str = rules.DEFAULT_CLIENT_ID,
        protected: bool = False,
        has_secret: bool = True,
    ):
        self.name = name
        self.api_url = api_url
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
        return self.name + cache.REFRESH_SUFFIX

    @property
    def cache_key(self) -> str:
        return cache.account_cache_key(self.username, self.auth_url, self.api_url, self.client_id)

    @property
    def token_url(self) -> str:
        return self.auth_url

    @property
    def identity(self) -> str:
        return f"{self.username} ({self.region})"

    @property
    def secret_scope(self) -> tuple[str, ...]:
        """A password belongs to one account, and is sent to the sign-in host it was stored for."""
        return (self.kind, self.username, self.auth_url)

    @property
    def region_hosts(self) -> tuple[str, str]:
        """The sign-in and API hosts of its region (a hand-edited unknown one: eu's)."""
        return rules.REGIONS.get(
            self.region or rules.DEFAULT_REGION, rules.REGIONS[rules.DEFAULT_REGION]
        )

    @property
    def default_api_url(self) -> str:
        return self.region_hosts[1]

    def definition(self) -> dict[str, object]:
        table = super().definition()
        if self.client_id == rules.DEFAULT_CLIENT_ID:
            del table["client_id"]
        return table

    def edited(self, **changes: str | None) -> Profile:
        """Changed settings; URLs that were the old region's hosts follow a new region."""
        auth_url, api_url = changes.get("auth_url"), changes.get("api_url")
        if auth_url is None and self.auth_url != self.region_hosts[0]:
            auth_url = self.auth_url
        if api_url is None and self.api_url != self.default_api_url:
            api_url = self.api_url
        return account_profile(
            self.name,
            changes.get("username") or self.username,
            region=changes.get("region") or self.region or rules.DEFAULT_REGION,
            auth_url=auth_url,
            api_url=api_url,
            client_id=changes.get("client_id") or self.client_id,
            protected=self.protected,
            has_secret=self.has_secret,
        )

    def restore_command(self) -> str:
        words = ["up42keys", "add", self.name, "--account", "--username", self.username]
        region = self.region or rules.DEFAULT_REGION
        if region != rules.DEFAULT_REGION:
            words += ["--region", region]
        if self.auth_url != self.region_hosts[0]:
            words += ["--auth-url", self.auth_url]
        if self.api_url != self.default_api_url:
            words += ["--api-url", self.api_url]
        if self.client_id != rules.DEFAULT_CLIENT_ID:
            words += ["--client-id", self.client_id]
        return self._command(words)

    def rejected_fix(self) -> str:
        command = self.set_secret_command()
        return f"check the password of {self.username} and store it with '{command}'"

    def mint(self, secret: Callable[[], str] | None = None) -> client.MintedToken:
        """Renew with the cached refresh token while it lives, else sign in with the password.

        The password is read only when the password grant is needed, so a renewal never
        opens the keyring. A refresh token that UP42 refuses is dropped and the password
        grant is tried once; its refusal is final. Callers hold the profile's lock.
        """
        coredumps.forbid()
        name = self.refresh_record_name
        refresh = cache.fresh_record(name, REFRESH_MARGIN, self.cache_key)
        if refresh is not None:
            try:
                return accounts.renew(self.auth_url, self.client_id, refresh.token)
            except client.RejectedError:
                cache.remove(name)
        return self.mint_with((secret or self.secret)())

    def mint_with(self, secret: str) -> client.MintedToken:
        """The password grant. Both grants sign in as the profile's client ID
        (``up42-api``, as in UP42's public docs, unless the profile names another;
        up42-py 2.x-4.x sends ``up42-sdk``): a token serves only the client it was minted for.
        """
        return accounts.sign_in(
            self.auth_url, self.client_id, self.username, secret, self.rejected_fix()
        )

    def keep_extras(self, minted: client.MintedToken) -> dict[str, cache.TokenRecord | None]:
        """The refresh token that came with a token, or None (drop the old one) when none came.

        A refresh token that is not JWT-shaped could not be read back (the record format
        checks that), so it is not kept.
        """
        token, expires_at = minted.refresh_token, minted.refresh_expires_at
        if token is None or expires_at is None or not cache.looks_like_jwt(token):
            return {self.refresh_record_name: None}
        return {self.refresh_record_name: cache.TokenRecord(token, expires_at, self.cache_key)}


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
    rules.check_name(name)
    region = region or rules.DEFAULT_REGION
    if region not in rules.REGIONS:
        raise UsageError(f"the region must be one of {', '.join(rules.REGIONS)}, not {region!r}")
    region_auth_url, region_api_url = rules.REGIONS[region]
    return AccountProfile(
        name,
        rules.check_username(username),
        region,
        rules.normalize_url(region_auth_url if auth_url is None else auth_url, "sign-in URL"),
        rules.normalize_url(region_api_url if api_url is None else api_url),
        client_id=rules.DEFAULT_CLIENT_ID
        if client_id is None
        else rules.check_client_id(client_id),
        protected=protected,
        has_secret=has_secret,
    )
