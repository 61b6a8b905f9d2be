"""Small helpers that several test modules share."""

from __future__ import annotations

import os

from tests.conftest import API_KEY


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
