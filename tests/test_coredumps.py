"""A process that has read a secret writes no core dump (issue 11, finding 6)."""

from __future__ import annotations

import resource

import pytest

from tests.conftest import API_KEY, run_in_process
from tests.helpers import add_profile


@pytest.fixture
def dumps_allowed():
    """Core dumps allowed (soft limit = hard limit) before the test, and as before after it."""
    before = resource.getrlimit(resource.RLIMIT_CORE)
    if before[1] == 0:
        pytest.fail("the hard core limit is 0 here: the test could not tell a change")
    resource.setrlimit(resource.RLIMIT_CORE, (before[1], before[1]))
    yield
    resource.setrlimit(resource.RLIMIT_CORE, before)


def soft_core_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_CORE)[0]


def test_reading_a_key_from_stdin_disables_core_dumps(run, server, project_id, dumps_allowed):
    assert soft_core_limit() != 0
    assert add_profile(run, server, "prod", project_id, "--no-verify").exit_code == 0
    assert soft_core_limit() == 0


def test_reading_the_keyring_disables_core_dumps(run, server, project_id, memory_keyring):
    assert add_profile(run, server, "prod", project_id, "--no-verify").exit_code == 0
    limits = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (limits[1], limits[1]))
    try:
        assert soft_core_limit() != 0
        assert run("token").exit_code == 0  # a mint: the key comes from the keyring
        assert soft_core_limit() == 0
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, limits)


def test_listing_reads_no_secret_and_leaves_dumps_alone(run, server, project_id, dumps_allowed):
    from up42keys import cli

    assert cli.main(["list"]) == 0
    assert soft_core_limit() != 0


@pytest.mark.parametrize("source", ["keyring", "environment"])
def test_the_installed_command_runs_without_core_dumps_after_a_secret(
    up42keys, server, project_id, source
):
    """exec's child inherits the limits of the process that minted: /proc shows them."""
    env = {}
    if source == "keyring":
        add_profile(run_in_process, server, "prod", project_id, "--no-verify", check=True)
        args = ["exec", "prod"]
    else:
        env = {"UP42_PROJECT_ID": project_id, "UP42_PROJECT_API_KEY": API_KEY,
               "UP42_API_URL": server.url}  # fmt: skip
        args = ["exec"]
    unlimited = "ulimit -S -c unlimited 2>/dev/null || ulimit -S -c $(ulimit -H -c); "
    script = f"{unlimited}exec {up42keys_path()} {' '.join(args)} -- cat /proc/self/limits"
    import subprocess

    result = subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, env={**_environ(), **env},
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("Max core file"))
    assert line.split()[4] == "0", line  # the soft limit


def up42keys_path() -> str:
    from tests.conftest import installed_command

    return installed_command()


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)
