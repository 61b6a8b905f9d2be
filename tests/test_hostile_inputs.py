"""Files and streams the user points at go through the one reader (``up42keys.inputs``).

Issue 18's reported cases, each run as a process of the command (a fork-server child):
deeply nested TOML for ``import`` and JSON for ``--from-sdk-config`` (a RecursionError
traceback before), ``/dev/zero`` as either (a MemoryError traceback), a FIFO as the SDK
config (hung until killed), and a 200 MB "password" on stdin (sent to the server). Each is
now one line with exit 2, at once, and nothing is stored or sent.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.helpers import USERNAME
from tests.test_network_faults import one_line_error
from up42keys import inputs, paths

NESTED = 100_000


def refused(result, *words: str) -> str:
    assert result.returncode == 2, result.stderr
    error = one_line_error(result.stderr)
    for word in words:
        assert word in error, error
    return error


def test_deeply_nested_import_and_sdk_config_are_one_line(forked, tmp_path):
    toml = tmp_path / "profiles.toml"
    toml.write_text("x = " + "[" * NESTED + "]" * NESTED + "\n")
    refused(forked("import", str(toml)), "nested too deeply")
    config = tmp_path / "config.json"
    config.write_text("[" * NESTED + "]" * NESTED)
    refused(forked("add", "me", "--account", "--from-sdk-config", str(config)), "nested too deeply")
    assert not Path(paths.profiles_file()).exists()


@pytest.mark.parametrize("option", ["import", "--from-sdk-config"])
def test_a_device_is_refused_at_once(forked, option):
    args = ["import", os.devnull.replace("null", "zero")]
    if option != "import":
        args = ["add", "me", "--account", "--from-sdk-config", "/dev/zero"]
    refused(forked(*args), "not a regular file")


def test_a_fifo_is_refused_without_waiting_for_a_writer(forked, tmp_path):
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    # No one ever writes to the FIFO: reading it would block until the test's own limit.
    result = forked("add", "me", "--account", "--from-sdk-config", str(fifo), timeout=30)
    refused(result, "not a regular file")
    print(f"\na FIFO as the SDK config: refused in {time.monotonic() - started:.2f} s")


def test_an_endless_password_is_refused_and_never_sent(forked, server):
    huge = "p" * (inputs.SECRET_LIMIT + 1) + "\n"
    args = ["add", "me", "--account", "--username", USERNAME, "--auth-url", server.url]
    result = forked(*args, "--password-stdin", input=huge)
    refused(result, "longer than")
    assert server.requests == []
    assert not Path(paths.profiles_file()).exists()


def test_an_import_file_over_the_limit_is_refused_before_it_is_parsed(forked, tmp_path):
    big = tmp_path / "profiles.toml"
    big.write_text("# " + "x" * inputs.DOCUMENT_LIMIT + "\n")
    refused(forked("import", str(big)), "larger than")
