"""How the commands put what the core returns into words: expiries, times, reasons, JSON."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from up42keys import environment, selection

if TYPE_CHECKING:
    from up42keys.ops import doctor, lifecycle


def describe_expiry(expires_at: int | None, now: float | None = None) -> str:
    if expires_at is None:
        return "none"
    left = expires_at - (time.time() if now is None else now)
    if left <= 0:
        return "expired"
    return f"valid for {human_duration(left)}"


def human_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds} s"


def local_time(epoch: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(epoch).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def one_of(words: list[str]) -> str:
    """The words as a choice: "a", "a or b", "a, b or c"."""
    return " or ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else words[0]


def verified(record: object) -> str:
    return "verified" if record is not None else "not verified"


ENVIRONMENT_REASON = f"{environment.PROJECT_ID_ENV} and {environment.PROJECT_KEY_ENV}"


def reason(target: selection.ProfileName | environment.EnvironmentCredentials) -> str:
    """Why commands here use ``target``, as ``current --explain`` and ``list`` say it."""
    if target.source == selection.FROM_DIRECTORY:
        return f"from {selection.shown(target.path or '')}"
    return {
        selection.FROM_SHELL: selection.PROFILE_ENV,
        environment.FROM_ENVIRONMENT: ENVIRONMENT_REASON,
        selection.FROM_ACTIVE: "the active profile",
    }[target.source]


def row_json(row: lifecycle.Row) -> dict[str, Any]:
    profile = row.profile
    return {
        "name": profile.name,
        "kind": profile.kind,
        "project_id": profile.project_id,
        "username": profile.setting("username"),
        "region": profile.setting("region"),
        "api_url": profile.api_url,
        "client_id": profile.setting("client_id"),
        "active": row.active,
        "used_here": row.used_here,
        "protected": profile.protected,
        "has_secret": profile.has_secret,
        "token_expires_at": row.token_expires_at,
    }


def check_json(check: doctor.Check) -> dict[str, Any]:
    return {
        "name": check.name,
        "status": check.status,
        "detail": check.detail,
        "fix": check.fix,
        "data": check.data,
    }
