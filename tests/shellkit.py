"""Running code in real bash, zsh and fish, with the installed ``up42keys`` first on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import API_KEY, installed_command
from tests.fakeup42 import FakeUp42

REPOSITORY = Path(__file__).resolve().parent.parent


def require(program: str) -> str:
    """The program's path; a missing one skips the test, except in CI (CI=true), where it fails."""
    path = shutil.which(program)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{program} is missing; scripts/install-os-packages installs it")
        pytest.skip(f"{program} is not installed (scripts/install-os-packages installs it)")
    return path


def shell_env(**extra: str) -> dict[str, str]:
    """The test's environment with the installed command's directory first on PATH."""
    environment = dict(os.environ)
    environment["PATH"] = os.path.dirname(installed_command()) + os.pathsep + environment["PATH"]
    environment.update(extra)
    return environment


def run_shell(
    shell: str, script: str, *, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a non-interactive shell that reads no startup file of the user."""
    flags = {"bash": ["--norc", "--noprofile"], "zsh": ["-f"], "fish": ["--no-config"]}[shell]
    return subprocess.run(
        [require(shell), *flags, "-c", script],
        capture_output=True,
        text=True,
        env=shell_env() if env is None else env,
        timeout=timeout,
        check=False,
    )


def add_profile(server: FakeUp42, name: str, project_id: str, *extra: str) -> None:
    """Add a profile through the installed command, as a user does."""
    result = subprocess.run(
        [
            installed_command(),
            "add",
            name,
            "--project-id",
            project_id,
            "--api-url",
            server.url,
            "--api-key-stdin",
            *extra,
        ],
        input=API_KEY + "\n",
        capture_output=True,
        text=True,
        env=shell_env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
