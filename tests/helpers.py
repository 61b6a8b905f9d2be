"""Small helpers that several test modules share."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import API_KEY
from tests.fakeup42 import FakeUp42
from up42keys import files


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


def add_by_process(up42keys, server, name: str, project_id: str) -> None:
    """Add an unverified profile with the installed command (and so into its keyring)."""
    result = up42keys(
        "add", name, "--project-id", project_id, "--api-url", server.url,
        "--api-key-stdin", "--no-verify", input=API_KEY + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


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


def account_add_args(server: FakeUp42, name: str, username: str, *extra: str) -> tuple[str, ...]:
    """``add`` arguments for an account profile whose sign-in and API hosts are the fake."""
    return (
        "add", name, "--account", "--username", username, "--auth-url", server.url,
        "--api-url", server.url, "--password-stdin", *extra,
    )  # fmt: skip
