"""A change of many profiles at once under a low limit of open files (issue 18).

``import`` of 100 profiles under ``ulimit -n 64`` ended in "Too many open files": the change
held one token lock (an open file and a beating thread each) per profile it named. A big
change now closes the token gate instead (``locks.token_locks``), so its cost in open files
does not grow with its size. Where the system still refuses what a change needs, that is one
line with its fix, never a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import threading
import uuid
from pathlib import Path

import filelock
import pytest

from tests.conftest import installed_command, run_installed
from tests.helpers import run_python
from tests.test_network_faults import one_line_error
from up42keys import errors, paths
from up42keys.store import locks

MANY = 100
LOW_LIMIT = 64


def document(count: int, project: str | None = None) -> str:
    """An import file of ``count`` project profiles, each of its own project (or ``project``)."""
    return "".join(
        f'[profiles.p{index:05d}]\nproject_id = "{project or uuid.uuid4()}"\n'
        for index in range(count)
    )


def limited(limit: int, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    """The installed command under ``ulimit -n LIMIT``, as a user's shell would run it."""
    command = ["sh", "-c", f'ulimit -n {limit} && exec "$@"', "sh", installed_command(), *args]
    return subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=120, **kwargs
    )


def listed() -> list[str]:
    result = limited(LOW_LIMIT, "list", "--json")
    assert result.returncode == 0, result.stderr
    return [row["name"] for row in json.loads(result.stdout)]


def test_importing_many_new_profiles_under_a_low_limit(tmp_path):
    team = tmp_path / "team.toml"
    team.write_text(document(MANY))
    result = limited(LOW_LIMIT, "import", str(team))
    assert result.returncode == 0, result.stderr
    assert len(listed()) == MANY


def test_replacing_many_profiles_under_a_low_limit(tmp_path):
    team = tmp_path / "team.toml"
    team.write_text(document(MANY))
    assert limited(LOW_LIMIT, "import", str(team)).returncode == 0
    moved = str(uuid.uuid4())
    team.write_text(document(MANY, moved))
    result = limited(LOW_LIMIT, "import", str(team), "--force")
    assert result.returncode == 0, result.stderr
    assert len(listed()) == MANY
    profiles = Path(paths.profiles_file()).read_text()
    assert profiles.count(moved) == MANY


def test_a_limit_too_low_for_any_change_is_one_line(tmp_path):
    """At each limit at which Python starts at all, the import succeeds or says in one line
    why not; nothing in between (a traceback, half the profiles)."""
    team = tmp_path / "team.toml"
    team.write_text(document(20))
    outcomes = {}
    for limit in range(4, 17):  # a fixed set: how many files Python opens at start varies
        if limited(limit, "--version").returncode != 0:
            continue  # no Python starts here (site's .pth files): nothing of up42keys ran
        result = limited(limit, "import", str(team), "--force")
        if result.returncode == 0:
            outcomes[limit] = "imported"
            assert len(listed()) == 20
            continue
        assert "Traceback" not in result.stderr, (limit, result.stderr)
        outcomes[limit] = one_line_error(result.stderr)
        assert result.returncode == errors.EXIT_ERROR, (limit, result.stderr)
        assert f"(ulimit -n: {limit}); run the command again" in result.stderr
        assert len(listed()) in (0, 20)
    print(f"\n{outcomes}")
    assert "imported" in outcomes.values()


@pytest.mark.parametrize("refused", [".lock", ".tmp", "team.toml"])
def test_no_file_left_to_open_is_one_line_with_its_fix(in_process, tmp_path, refused):
    """EMFILE where a lock is taken, where the file to import is read, or anywhere else: the
    limit and its fix, not a path to check and a disk, nor a file to give."""
    team = tmp_path / "team.toml"
    team.write_text(document(20))
    assert in_process("import", str(team)).returncode == 0
    before = Path(paths.profiles_file()).read_text()
    real_open = os.open

    def no_more(path, *args, **kwargs):
        if os.fspath(path).endswith(refused):
            raise OSError(errno.EMFILE, "Too many open files", path)
        return real_open(path, *args, **kwargs)

    team.write_text(document(20, str(uuid.uuid4())))
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(os, "open", no_more)
        result = in_process("import", str(team), "--force")
    assert result.returncode == errors.EXIT_ERROR
    error = one_line_error(result.stderr)
    assert "open no more files (ulimit -n: " in error, error
    assert error.endswith("run the command again in a shell where 'ulimit -n 256' works\n")
    assert Path(paths.profiles_file()).read_text() == before


def test_no_thread_for_the_beat_is_one_line(monkeypatch):
    """A process that may start no more threads (``can't start new thread``) holds no lock
    and says so in one line."""

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    with monkeypatch.context() as patched:
        patched.setattr(threading.Thread, "start", refuse)
        refused = pytest.raises(errors.SystemLimitError, match="no more threads")
        with refused, locks.token_locks(["prod"]):
            pytest.fail("held a lock without its beat")
    # Nothing was left held: another process takes the lock at once.
    script = (
        "from up42keys.store import locks\nwith locks.token_locks(['prod']):\n    print('taken')\n"
    )
    assert run_python(script).stdout == "taken\n"


def test_a_big_change_waits_for_a_mint_of_one_of_its_profiles(tmp_path):
    """The gate stands for every token lock: an import of many profiles closes it, then
    waits for whoever holds one of their locks (a mint of the old profile, which must not
    write its token after the change) before it saves; it gives up, changing nothing, only
    when that holder makes no progress. A lock held without a beat is such a holder."""
    team = tmp_path / "team.toml"
    team.write_text(document(MANY))
    assert limited(LOW_LIMIT, "import", str(team)).returncode == 0
    before = Path(paths.profiles_file()).read_text()
    team.write_text(document(MANY, str(uuid.uuid4())))
    with filelock.FileLock(paths.lock_file("p00003")):
        result = run_installed("import", str(team), "--force", env=QUICK)
    assert result.returncode == 1, result.stderr
    assert "lock on profile 'p00003'" in one_line_error(result.stderr)
    assert Path(paths.profiles_file()).read_text() == before
    assert run_installed("import", str(team), "--force", env=QUICK).returncode == 0


def test_a_closed_gate_holds_up_a_change_of_one_profile(tmp_path):
    team = tmp_path / "team.toml"
    team.write_text(document(MANY))
    assert limited(LOW_LIMIT, "import", str(team)).returncode == 0
    before = Path(paths.profiles_file()).read_text()
    with filelock.FileLock(paths.lock_file(locks.GATE)):
        result = run_installed("remove", "p00003", "--yes", env=QUICK)
    assert result.returncode == 1, result.stderr
    assert "lock on the tokens of every profile" in one_line_error(result.stderr)
    assert Path(paths.profiles_file()).read_text() == before
    assert run_installed("remove", "p00003", "--yes", env=QUICK).returncode == 0


# A lock without a beat is given up on after 0.6 s (settings.lock_timeout).
QUICK = {"UP42KEYS_TIMEOUT": "0.05"}
