"""Running code in real bash, zsh and fish, with the installed ``up42keys`` first on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
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
    shell: str, script: str, *, prefix: tuple[str, ...] = (), cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a non-interactive shell that reads no startup file of the user.

    ``prefix`` runs the shell under another program, such as strace.
    """
    flags = {"bash": ["--norc", "--noprofile"], "zsh": ["-f"], "fish": ["--no-config"]}
    return subprocess.run(
        [*prefix, require(shell), *flags.get(shell, []), "-c", script],
        capture_output=True,
        text=True,
        env=shell_env(),
        cwd=cwd,
        timeout=60,
        check=False,
    )


def listings(output: str) -> list[list[str]]:
    """The lines of each part of ``output`` between lines of ``==``."""
    return [part.splitlines() for part in output.split("==\n")]


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


def add_prod_and_dev(server: FakeUp42, prod_id: str, *prod_flags: str) -> dict[str, str]:
    """prod (active, with a fresh token) and dev (never minted): the profiles shell tests use."""
    dev_id = str(uuid.uuid4())
    server.add_project(dev_id, API_KEY)
    add_profile(server, "prod", prod_id, *prod_flags)
    add_profile(server, "dev", dev_id, "--no-verify")
    return {"prod": prod_id, "dev": dev_id}
