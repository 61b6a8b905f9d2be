"""``shell-init --cached``: a shell start loads the integration without starting Python.

Through a wrapper ``up42keys`` on PATH that logs each start before running the real
command: the first shell makes the cache file (bash and zsh: two starts, shell-init and
completion; fish: shell-init, since fish finds the completion in its own directory),
the next ones start nothing, and a newer ``up42keys`` (a new install) makes it again.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import installed_command
from tests.shellkit import run_shell


@pytest.fixture
def logged_command(tmp_path) -> tuple[Path, Path]:
    """A directory with an ``up42keys`` that logs each start, and the log."""
    directory = tmp_path / "bin"
    directory.mkdir()
    log = tmp_path / "starts.log"
    wrapper = directory / "up42keys"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {installed_command()} "$@"\n')
    wrapper.chmod(0o755)
    return directory, log


@pytest.mark.shells
@pytest.mark.parametrize("shell_name", ["bash", "zsh"])
def test_cached_init_starts_python_only_when_the_command_is_newer(
    forked, logged_command, shell_name
):
    directory, log = logged_command
    loader = forked("shell-init", shell_name, "--cached")
    assert loader.returncode == 0, loader.stderr
    # run_shell puts the installed command first on PATH: the wrapper goes before it.
    first = f'PATH="{directory}:$PATH"\n'
    check = "type up42keys | head -1\n"
    if shell_name == "zsh":
        loader_text = first + "autoload -Uz compinit && compinit -u\n" + loader.stdout
    else:
        loader_text = first + loader.stdout
        check += "complete -p up42keys\n"
    for _ in range(3):
        result = run_shell(shell_name, loader_text + check)
        assert result.returncode == 0, result.stderr
        assert "function" in result.stdout
    assert log.read_text().splitlines() == [f"shell-init {shell_name}", f"completion {shell_name}"]
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "up42keys" / f"shell-init.{shell_name}"
    assert cache.read_text().startswith(forked("shell-init", shell_name).stdout)
    os.utime(cache, (0, 0))  # older than the command: as after a new install
    assert run_shell(shell_name, loader_text + check).returncode == 0
    assert len(log.read_text().splitlines()) == 4


@pytest.mark.shells
def test_cached_init_in_fish_starts_python_only_when_the_command_is_newer(forked, logged_command):
    """fish had no --cached: every new fish started Python for ``shell-init fish | source``."""
    directory, log = logged_command
    loader = forked("shell-init", "fish", "--cached")
    assert loader.returncode == 0, loader.stderr
    # run_shell puts the installed command first on PATH: the wrapper goes before it.
    script = f"set -gx PATH {directory} $PATH\n" + loader.stdout + "functions -q __up42keys_ps1\n"
    for _ in range(3):
        result = run_shell("fish", script)
        assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == ["shell-init fish"]
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "up42keys" / "shell-init.fish"
    assert cache.read_text() == forked("shell-init", "fish").stdout
    os.utime(cache, (0, 0))  # older than the command: as after a new install
    assert run_shell("fish", script).returncode == 0
    assert log.read_text().splitlines() == ["shell-init fish"] * 2
