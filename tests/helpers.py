"""Small helpers that several test modules share."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.conftest import API_KEY, PASSWORD, run_forked
from up42keys import files

USERNAME = "jane@example.com"


def files_under(*roots: str) -> list[str]:
    """Every file below the given directories."""
    return [
        os.path.join(directory, name)
        for root in roots
        for directory, _, names in os.walk(root)
        for name in names
    ]


def imported_modules(stderr: str) -> set[str]:
    """The modules named by ``PYTHONPROFILEIMPORTTIME``'s report."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def claims(token: str) -> dict[str, Any]:
    """A token's claims, unverified: the one place tests read a JWT (as up42keys does, PyJWT)."""
    return dict(jwt.decode(token.strip(), options={"verify_signature": False}))


def add_profile(
    call, server, name: str, who: str, *extra: str, secret: str | None = None, check: bool = False
):
    """Add a profile on the fake UP42 as a user does; the one way tests make a profile.

    ``call`` is the ``run`` fixture (in-process, into the memory keyring), ``in_process``
    (in-process, into the installed command's keyring file: the cheap set-up for a test of
    the installed command) or ``up42keys`` (the installed command). ``who`` is a
    project ID (a project profile at ``--api-url`` the fake) or an email (an account
    profile that signs in at the fake); the secret goes in on stdin, API_KEY or
    PASSWORD unless ``secret``. ``check`` asserts that the command succeeded.
    """
    if "@" in who:
        kind = ["--account", "--username", who, "--auth-url", server.url, "--password-stdin"]
        default_secret = PASSWORD
    else:
        kind = ["--project-id", who, "--api-url", server.url, "--api-key-stdin"]
        default_secret = API_KEY
    result = call("add", name, *kind, *extra, input=(secret or default_secret) + "\n")
    if check:
        code = getattr(result, "exit_code", getattr(result, "returncode", None))
        assert code == 0, result.stderr
    return result


def fail_writes_to(monkeypatch: pytest.MonkeyPatch, path: str, code: int, reason: str) -> None:
    """Make every atomic write to ``path`` fail as the OS would, and let all others through."""
    real_write = files.atomic_write

    def failing_write(target: str, content: str) -> None:
        if target == path:
            raise OSError(code, reason, target)
        real_write(target, content)

    monkeypatch.setattr(files, "atomic_write", failing_write)


def give_installed_command_the_key(name: str) -> None:
    """Store the key where the installed command's keyring (keyrings.alt's file) finds it."""
    from keyrings.alt.file import PlaintextKeyring

    PlaintextKeyring().set_password("up42keys", name, API_KEY)


def run_python(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a Python process of its own (this interpreter), as a user's code runs."""
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def carrying(server, secret: str) -> int:
    """How many requests ``server`` received with ``secret`` in their body or Basic credentials."""
    import base64

    found = 0
    for request in server.requests:
        authorization = request.headers.get("Authorization", "")
        if authorization.lower().startswith("basic "):
            found += secret in base64.b64decode(authorization.split()[1]).decode(errors="replace")
        found += secret in request.body
    return found


def environment_in(directory: Path) -> dict[str, str]:
    """The environment of a command run in ``directory`` as a shell runs it there: its
    ``PWD`` names the directory, which is how up42keys finds a directory's pin."""
    return {**os.environ, "PWD": str(directory)}


def in_directory(
    directory: Path, *args: str, run: Callable[..., subprocess.CompletedProcess[str]] = run_forked
) -> subprocess.CompletedProcess[str]:
    """The command run in ``directory``, as a user who has cd'ed there: in a fork-server
    child, or as ``run`` runs it (``run_installed``)."""
    return run(*args, cwd=directory, env=environment_in(directory))
