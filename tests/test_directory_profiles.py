"""Per-directory profiles: the nearest .up42keys-profile chooses, in the prompt as in commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.shellkit import add_prod_and_dev, require, run_shell
from up42keys import paths

POSIX_SHELLS = ["bash", "zsh"]
ALL_SHELLS = ["bash", "zsh", "fish"]


def load(shell_name: str) -> str:
    if shell_name == "fish":
        return "up42keys shell-init fish | source\n"
    return f'eval "$(up42keys shell-init {shell_name})"\n'


@pytest.fixture
def profiles(server, project_id):
    return add_prod_and_dev(server, project_id)


@pytest.fixture
def project_tree(tmp_path: Path) -> Path:
    """tmp/project pins dev; tmp/project/src/deep is below it; tmp/elsewhere is not."""
    project = tmp_path / "project"
    (project / "src" / "deep").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (project / paths.PIN_FILE).write_text("dev\n")
    return tmp_path


@pytest.mark.shells
@pytest.mark.parametrize("shell_name", ALL_SHELLS)
def test_prompt_follows_the_nearest_pin_file(profiles, project_tree, shell_name):
    script = load(shell_name) + "\n".join(
        [
            f"cd {project_tree / 'project' / 'src' / 'deep'}",
            "__up42keys_ps1; echo '|'",
            "UP42KEYS_PROFILE=prod __up42keys_ps1; echo '|'",
            f"cd {project_tree / 'elsewhere'}",
            "__up42keys_ps1; echo '|'",
            f"cd {project_tree / 'project'}",
            "__up42keys_ps1; echo '|'",
            "",
        ]
    )
    result = run_shell(shell_name, script)
    assert result.returncode == 0, result.stderr
    # dev was added without a token (hence "!"); prod is active with a fresh one.
    assert result.stdout.split("|\n")[:-1] == ["up42:dev!", "up42:prod", "up42:prod", "up42:dev!"]


@pytest.mark.shells
@pytest.mark.parametrize("shell_name", POSIX_SHELLS)
def test_prompt_with_a_pin_file_forks_nothing(profiles, project_tree, tmp_path, shell_name):
    strace = require("strace")
    start, end = tmp_path / "render-start", tmp_path / "render-end"
    start.touch()
    end.touch()
    script = (
        load(shell_name)
        + f"cd {project_tree / 'project' / 'src' / 'deep'}\n"
        + f": <{start}\n"
        + "__up42keys_ps1; echo '|'\n"
        + f"cd {project_tree / 'elsewhere'}\n"
        + "__up42keys_ps1; echo '|'\n"
        + f": <{end}\n"
    )
    trace = tmp_path / "trace"
    traced = (strace, "-f", "-qq", "-o", str(trace), "-e", "trace=process,openat,open")
    result = run_shell(shell_name, script, prefix=traced)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("|\n")[:-1] == ["up42:dev!", "up42:prod"]
    lines = trace.read_text().splitlines()
    opened = [index for index, line in enumerate(lines) if "render-" in line]
    assert len(opened) == 2, opened
    process_calls = re.compile(r"\b(fork|vfork|clone|clone3|execve)\(")
    assert [line for line in lines[opened[0] : opened[1]] if process_calls.search(line)] == []
