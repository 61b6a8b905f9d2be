"""Settings from the environment, with their defaults.

Stdlib only: the cached-token path reads ``UP42KEYS_MIN_TTL`` too. The error
class is imported where it is raised, so that a valid setting costs no import.
"""

import os

MIN_TTL_ENV = "UP42KEYS_MIN_TTL"
TIMEOUT_ENV = "UP42KEYS_TIMEOUT"
RETRY_DELAY_ENV = "UP42KEYS_RETRY_DELAY"

DEFAULT_MIN_TTL = 60.0
DEFAULT_TIMEOUT = 10.0
# Five minutes for one request is already far past any useful wait; larger values
# (1e18) would overflow the socket layer's timeouts.
MAX_TIMEOUT = 300.0
DEFAULT_RETRY_DELAY = 0.5
ATTEMPTS = 3
# The longest pause before a retry, whatever the backoff or a server's Retry-After say.
MAX_RETRY_PAUSE = 20.0


def parse_seconds(text: str, what: str) -> float:
    """A non-negative number of seconds, or a usage error that says which setting is wrong."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        from up42keys.errors import UsageError

        raise UsageError(f"{what} must be a number of seconds >= 0, not {text!r}")
    return value


def check_seconds(value: float, what: str) -> float:
    """``value`` as a float when it is a finite number of seconds >= 0 (Python API arguments)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        from up42keys.errors import UsageError

        raise UsageError(f"{what} must be a number of seconds >= 0, not {value!r}")
    return parse_seconds(repr(value), what)


def _env_seconds(variable: str, default: float) -> float:
    from up42keys import inputs

    text = inputs.environment_value(variable)
    return parse_seconds(text, variable) if text else default


def min_ttl(value: float | None = None) -> float:
    """Seconds a cached token must still have to be handed out: ``value``, else the setting."""
    if value is not None:
        return check_seconds(value, "min_ttl")
    return _env_seconds(MIN_TTL_ENV, DEFAULT_MIN_TTL)


def timeout() -> float:
    """Seconds one HTTP request may take, from connecting to the last byte of its answer."""
    value = _env_seconds(TIMEOUT_ENV, DEFAULT_TIMEOUT)
    if value == 0 or value > MAX_TIMEOUT:
        from up42keys.errors import UsageError

        raise UsageError(
            f"{TIMEOUT_ENV} must be more than 0 and at most {MAX_TIMEOUT:g} seconds, "
            f"not {os.environ.get(TIMEOUT_ENV, '').strip()[:40]!r}"
        )
    return value


def retry_delay() -> float:
    """The first backoff pause; each retry doubles it, with jitter."""
    return _env_seconds(RETRY_DELAY_ENV, DEFAULT_RETRY_DELAY)


def retry_pause_cap() -> float:
    """The longest pause before a retry: no longer than a request may take, and never over 20 s.

    Tying it to the timeout bounds a whole mint by the one setting the user
    gives: at most ``ATTEMPTS`` requests and ``ATTEMPTS - 1`` pauses.
    """
    return min(MAX_RETRY_PAUSE, timeout())


def longest_mint() -> float:
    """The bound on a mint with its retries: ``ATTEMPTS`` requests and the pauses between them.

    50 s with the defaults (3 x 10 s + 2 x 10 s), as README's Reliability section says.
    """
    return ATTEMPTS * timeout() + (ATTEMPTS - 1) * retry_pause_cap()


def lock_timeout() -> float:
    """How long to wait for another process's mint: the longest a mint can take, and a timeout."""
    return longest_mint() + timeout()
