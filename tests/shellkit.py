"""Running code in real bash, zsh and fish, with the installed ``up42keys`` first on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import API_KEY, installed_command, run_in_process
from tests.fakeup42 import FakeUp42
from tests.helpers import add_profile

POSIX_SHELLS = ["bash", "zsh"]
ALL_SHELLS = ["bash", "zsh", "fish"]


def load(shell_name: str) -> str:
    """The line a user puts in their rc file to load the shell integration."""
    if shell_name == "fish":
        return "up42keys shell-init fish | source\n"
    return f'eval "$(up42keys shell-init {shell_name})"\n'


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


def add_prod_and_dev(server: FakeUp42, prod_id: str, *prod_flags: str) -> dict[str, str]:
    """prod (active, with a fresh token) and dev (never minted): the profiles shell tests use."""
    dev_id = str(uuid.uuid4())
    server.add_project(dev_id, API_KEY)
    add_profile(run_in_process, server, "prod", prod_id, *prod_flags, check=True)
    add_profile(run_in_process, server, "dev", dev_id, "--no-verify", check=True)
    return {"prod": prod_id, "dev": dev_id}
