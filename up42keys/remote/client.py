"""The UP42 HTTP client: minting tokens, with time bounds and retries.

Every request has a timeout (``UP42KEYS_TIMEOUT``, 10 s by default) and is
tried at most three times. Connection errors, timeouts, 429 and 5xx are
retried with exponential backoff and jitter, honouring ``Retry-After`` up to a
cap; 400, 401 and 403 never are. Whatever is not a 200 carrying a token is an
error, and nothing here ever puts a secret into a URL or a message.
"""

from __future__ import annotations

import functools
import os
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from up42keys import __version__, cache, settings
from up42keys.errors import CredentialsRejectedError, Up42UnavailableError, UsageError

if TYPE_CHECKING:
    import ssl

    import httpx

DEFAULT_TOKEN_SECONDS = 300
# The longest lifetime a token is trusted with; a longer one is capped (README, Reliability).
MAX_TOKEN_SECONDS = 86400
# UP42's tokens are 1-2 KiB. A longer one is refused, not cached: ``exec`` hands the token
# to its child in the environment, where a 200 KiB one made the start fail with E2BIG
# ("Argument list too long"), and 16 KiB leaves room for any claims UP42 may add.
MAX_TOKEN_CHARS = 16 * 1024
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class MintedToken(NamedTuple):
    """A fresh access token, and for account sign-ins the refresh token that renews it.

    A NamedTuple rather than a frozen dataclass: it is created in a tenth of the
    time (0.1 ms, not 0.7), which every start of the full path pays.
    """

    access_token: str
    expires_at: int
    refresh_token: str | None = None
    refresh_expires_at: int | None = None
    # The server's clock minus ours, from the answer's Date header where it had one.
    clock_skew: float | None = None


class RejectedError(CredentialsRejectedError):
    """UP42 refused the credentials; ``oauth_error`` is the OAuth error code where one came."""

    def __init__(
        self, message: str, status: int, oauth_error: str | None, fix: str | None = None
    ) -> None:
        super().__init__(message, fix)
        self.status = status
        self.oauth_error = oauth_error


def _json_body(response: httpx.Response) -> Any:
    from up42keys.remote import bodies

    return bodies.json_of(response.content)


def _error_detail(response: httpx.Response) -> str:
    """UP42's own explanation (``error.message``, or OAuth's ``error_description``), if any."""
    body = _json_body(response)
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return " ".join(error["message"].split())[:200]
    description = body.get("error_description") or (error if isinstance(error, str) else None)
    return " ".join(str(description).split())[:200] if description else ""


def _describe(response: httpx.Response) -> str:
    detail = _error_detail(response)
    return f"HTTP {response.status_code}" + (f": {detail}" if detail else "")


def _http_date(value: str) -> float | None:
    """An HTTP date (RFC 9110) as epoch seconds, or None where it does not parse."""
    # Imported here: ``list`` imports this module, and email.utils costs it 7 ms; a
    # mint has it already (httpx imports http.client, which imports it).
    import email.utils

    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(value)
    moment = _http_date(value)
    return None if moment is None else max(0.0, moment - time.time())


def _clock_skew(response: httpx.Response) -> float | None:
    """How far the server's clock (its Date header) is ahead of ours, in seconds.

    The header has whole seconds, so a skew under a second or two means nothing.
    """
    moment = _http_date(response.headers.get("Date", "").strip())
    return None if moment is None else moment - time.time()


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter between half and all of the step."""
    import random

    step = settings.retry_delay() * 2.0**attempt
    return min(settings.retry_pause_cap(), step * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not cryptography


def tls_context() -> ssl.SSLContext:
    """httpx's default context (certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR), made once.

    Reading a CA bundle costs 30 to 50 ms of CPU, and httpx makes one context per transport:
    with HTTP_PROXY, HTTPS_PROXY and ALL_PROXY set, four a mint. A process that renews
    tokens for hours (an auth, a dask worker) would pay it on every renewal.
    """
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """One per value of the variables httpx's default reads: the key, not the arguments."""
    import httpx

    return httpx.create_ssl_context()


def post_token_request(
    url: str,
    form: dict[str, str],
    *,
    basic_auth: tuple[str, str] | None = None,
    rejected_fix: str | None = None,
) -> httpx.Response:
    """POST a token request and return the 200 response; retry what is worth retrying.

    ``rejected_fix`` is what a ``RejectedError`` tells the user to do: the
    caller knows which credentials these are, and so how to store better ones.

    Each attempt, from connecting to the last byte of its body, is over within
    the timeout; with at most ``ATTEMPTS`` attempts and the pauses between
    them capped (``settings.longest_mint``), so is the whole mint.
    """
    import httpx

    from up42keys.remote import deadline, progress

    timeout = settings.timeout()
    clock = deadline.Deadline()
    last_problem = ""
    from up42keys.remote import bodies

    headers = {
        "User-Agent": f"up42keys/{__version__}",
        "Accept": "application/json",
        "Accept-Encoding": bodies.ACCEPT_ENCODING,
    }
    auth = httpx.BasicAuth(*basic_auth) if basic_auth else httpx.USE_CLIENT_DEFAULT
    with httpx.Client(timeout=timeout, headers=headers, verify=tls_context()) as http:
        deadline.install(http, clock)
        for attempt in range(settings.ATTEMPTS):
            pause = backoff(attempt)
            clock.start(timeout)
            fix = f"check the URL and your network, or give it longer with {settings.TIMEOUT_ENV}"
            try:
                with progress.waiting(f"waiting for {url} ({attempt_words(attempt)})"):
                    response = _post(http, url, form, auth)
            except httpx.InvalidURL:
                # Only a hand-edited profile gets here: given URLs are checked on the way in.
                raise UsageError(
                    f"{url} is not a valid URL",
                    "repair the profile's URL in profiles.toml (see 'up42keys list')",
                ) from None
            except UnfinishedAnswer as slow:
                last_problem = (
                    f"{url} began to answer (HTTP {slow.status}) "
                    f"but had not finished within {timeout:g} s"
                )
            except httpx.ConnectTimeout:
                last_problem = f"no connection to {url} within {timeout:g} s"
                fix = unreachable_fix(url, f"or give it longer with {settings.TIMEOUT_ENV}")
            except httpx.TimeoutException:
                last_problem = f"no answer from {url} within {timeout:g} s"
            except httpx.TransportError as error:
                last_problem = f"cannot connect to {url} ({type(error).__name__}: {error})"
                fix = unreachable_fix(url)
            else:
                if response.status_code == 200:
                    return response
                if response.status_code not in RETRYABLE_STATUS:
                    _raise_for_final(url, response, rejected_fix)
                last_problem = f"{url} answered {_describe(response)}"
                retry_after = _retry_after(response)
                if retry_after is not None:
                    pause = min(retry_after, settings.retry_pause_cap())
            if attempt + 1 < settings.ATTEMPTS:
                progress.report(
                    f"{last_problem}; trying again in {pause:.1f} s ({attempt_words(attempt + 1)})"
                )
                time.sleep(pause)
    raise Up42UnavailableError(f"{last_problem}, after {settings.ATTEMPTS} attempts", fix)


def attempt_words(attempt: int) -> str:
    return f"attempt {attempt + 1} of {settings.ATTEMPTS}"


# The variables httpx takes a proxy from, by the URL's scheme (lower case first, as curl).
PROXY_VARIABLES = {
    "https": ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"),
    "http": ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"),
}


def unreachable_fix(url: str, more: str = "") -> str:
    """What to check when no connection was made: the proxy first, where one applies.

    The variable is named, never its value, which may hold a password.
    """
    import os
    import urllib.parse
    import urllib.request

    scheme = url.split(":", 1)[0].lower()
    proxy = next((name for name in PROXY_VARIABLES.get(scheme, ()) if os.environ.get(name)), None)
    host = urllib.parse.urlsplit(url).hostname or ""
    tail = f", {more}" if more else ""
    if proxy is not None and not urllib.request.proxy_bypass(host):
        return f"check the proxy that {proxy} names (or unset {proxy}), then the URL{tail}"
    return f"check the URL and that this machine reaches it (DNS, network, firewall){tail}"


class UnfinishedAnswer(Exception):
    """The server began to answer, with ``status``, but the body did not arrive in time."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _post(http: httpx.Client, url: str, form: dict[str, str], auth: Any) -> httpx.Response:
    """One POST, its body read raw and decoded with a bound (``bodies.read``)."""
    import httpx

    from up42keys.remote import bodies

    with http.stream("POST", url, data=form, auth=auth) as streamed:
        encoding = streamed.headers.get("Content-Encoding", "")
        try:
            content = bodies.read(url, encoding, streamed.iter_raw())
        except httpx.TimeoutException as error:
            raise UnfinishedAnswer(streamed.status_code) from error
    # The body is decoded already: the copy must not claim an encoding or a length of its
    # own. The headers are copied as the bytes that came: a proxy's ``Server: café`` is
    # no ASCII, which httpx refuses in a header given as text.
    headers = [
        (name, value)
        for name, value in streamed.headers.raw
        if name.lower() not in (b"content-encoding", b"content-length", b"transfer-encoding")
    ]
    return httpx.Response(
        streamed.status_code, headers=headers, content=content, request=streamed.request
    )


def _raise_for_final(url: str, response: httpx.Response, rejected_fix: str | None) -> None:
    body = _json_body(response)
    oauth_error = body.get("error") if isinstance(body, dict) else None
    if response.status_code in (400, 401, 403) and (
        response.status_code != 400 or oauth_error in ("invalid_grant", "unauthorized_client")
    ):
        raise RejectedError(
            f"{url} rejected the credentials ({_describe(response)})",
            response.status_code,
            oauth_error if isinstance(oauth_error, str) else None,
            rejected_fix,
        )
    raise Up42UnavailableError(f"{url} answered {_describe(response)}, not a token")


def token_from_response(url: str, response: httpx.Response) -> MintedToken:
    """The token in a 200 answer, in either shape UP42 uses; anything else is an error."""
    body = _json_body(response)
    if not isinstance(body, dict):
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        raise Up42UnavailableError(f"{url} answered HTTP 200 with {kind}, not a token")
    data = body.get("data")
    token = data.get("accessToken") if isinstance(data, dict) else None
    token = token or body.get("access_token")
    if not isinstance(token, str) or not token:
        raise Up42UnavailableError(f"{url} answered HTTP 200 without a token")
    refresh = body.get("refresh_token")
    for what, value in (("token", token), ("refresh token", refresh)):
        if isinstance(value, str) and len(value) > MAX_TOKEN_CHARS:
            raise Up42UnavailableError(
                f"{url} answered with a {what} of {len(value) // 1024} KiB, longer than the "
                f"{MAX_TOKEN_CHARS // 1024} KiB any UP42 token fits in; it is not used",
                "check the URL, or report it to UP42",
            )
    if not cache.looks_like_jwt(token):
        raise Up42UnavailableError(f"{url} answered with a token that is not a JWT")
    now = int(time.time())
    refresh_seconds = body.get("refresh_expires_in")
    skew = _clock_skew(response)
    expires_at = min(_expiry(url, token, body.get("expires_in"), now), now + MAX_TOKEN_SECONDS)
    if expires_at <= now:
        raise Up42UnavailableError(_expired_on_arrival(url, now - expires_at, skew))
    return MintedToken(
        access_token=token,
        expires_at=expires_at,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        refresh_expires_at=_refresh_expiry(url, refresh_seconds, now) if refresh else None,
        clock_skew=skew,
    )


def _refresh_expiry(url: str, seconds: object, now: int) -> int | None:
    """When a refresh token expires: capped like a token; None for a lifetime that is no number."""
    lifetime = _number(url, "refresh_expires_in", seconds)
    return None if lifetime is None else now + int(min(lifetime, MAX_TOKEN_SECONDS))


def _number(url: str, name: str, value: object) -> float | None:
    """``value`` where it is a number, else None; an error for one no float holds (NaN, 1e999,
    10**400).

    An integer of any size comes from JSON as it is, and would overflow in float arithmetic:
    past what a float holds, a lifetime means as little as infinity, and is refused alike.
    """
    import math

    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        finite = math.isfinite(value)
    except OverflowError:
        finite = False
    if not finite:
        shown = (
            repr(value) if isinstance(value, float) else f"an integer of {len(str(value))} digits"
        )
        raise Up42UnavailableError(
            f"{url} answered with a {name} that is not a finite number ({shown}); "
            "that is no usable token, try again later or report it to UP42"
        )
    return value


def _expired_on_arrival(url: str, age: int, skew: float | None) -> str:
    """Why a token can be expired the moment it arrives: the two clocks disagree."""
    if skew is not None and abs(skew) >= 2:
        side = "behind" if skew < 0 else "ahead of"
        clocks = f"UP42's clock is {abs(skew):.0f} s {side} this machine's (clock skew)"
    else:
        clocks = "this machine's clock or UP42's is off (clock skew)"
    return (
        f"{url} answered with a token that expired {age} s ago: {clocks}; "
        "set this machine's clock right (NTP, 'timedatectl set-ntp true') and try again"
    )


def _expiry(url: str, token: str, expires_in: object, now: int) -> int:
    """``expires_in`` where given; else the JWT's ``exp``; else UP42's five minutes."""
    seconds = _number(url, "expires_in", expires_in)
    if seconds is not None and seconds > 0:
        return now + int(min(seconds, MAX_TOKEN_SECONDS))
    from up42keys.remote import jwtinfo

    exp = jwtinfo.expiry(token)
    return exp if exp is not None else now + DEFAULT_TOKEN_SECONDS


def mint_project_token(
    api_url: str, project_id: str, api_key: str, *, rejected_fix: str | None = None
) -> MintedToken:
    """UP42's client-credentials grant: project ID and API key in HTTP Basic, never in the URL."""
    url = f"{api_url}/oauth/token"
    response = post_token_request(
        url,
        {"grant_type": "client_credentials"},
        basic_auth=(project_id, api_key),
        rejected_fix=rejected_fix,
    )
    minted = token_from_response(url, response)
    from up42keys.remote import jwtinfo

    other = jwtinfo.other_project(minted.access_token, project_id)
    if other is not None:
        claim, value = other
        raise Up42UnavailableError(
            f"{url} answered with a token for another project (its {claim} claim says "
            f"{value[:40]}, not {project_id}); it is not used",
            "check the profile's API URL, or report it to UP42",
        )
    return minted
