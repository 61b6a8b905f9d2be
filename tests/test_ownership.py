"""Directories and files of another user are refused, symlinks are not followed (issue 11,
findings 7 and 8). The tests run as root (here and in CI), which may chown to any uid."""

from __future__ import annotations

import os
import shlex
import stat
import time
from pathlib import Path

import pytest

from tests.helpers import add_profile, give_installed_command_the_key
from up42keys import paths

OTHER_UID = 54321


@pytest.fixture(autouse=True)
def as_root():
    if os.geteuid() != 0:
        pytest.fail("these tests chown to another uid, which needs root (as CI runs them)")


def planted_record(server, project_id: str) -> str:
    token = server.mint_jwt(project_id, 3600)
    return f"{int(time.time()) + 3600}\nproject {project_id} {server.url}\n{token}\n"


def assert_refused(stderr: str, path: Path) -> None:
    assert stderr.startswith("up42keys: error: "), stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert str(path) in stderr
    assert f"chown -R {os.geteuid()} {shlex.quote(str(path))}" in stderr


def test_a_cache_directory_of_another_user_is_refused_not_chmodded(run, server, project_id):
    assert add_profile(run, server, "prod", project_id, "--no-verify").exit_code == 0
    cache = Path(paths.cache_dir())
    for directory in sorted(cache.rglob("*"), reverse=True):
        if directory.is_file():
            directory.unlink()
        else:
            directory.rmdir()
    cache.chmod(0o777)
    os.chown(cache, OTHER_UID, OTHER_UID)
    outcome = run("token")
    assert outcome.exit_code == 1
    assert_refused(outcome.stderr, cache)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o777
    assert cache.stat().st_uid == OTHER_UID
    assert list(cache.iterdir()) == []


def test_a_token_record_planted_by_another_user_is_not_served(forked, server, project_id):
    add_profile(forked, server, "prod", project_id, "--no-verify", check=True)
    give_installed_command_the_key("prod")
    tokens = Path(paths.tokens_dir())
    tokens.mkdir(parents=True, exist_ok=True)
    planted = tokens / "prod"
    record = planted_record(server, project_id)
    planted.write_text(record)
    os.chown(planted, OTHER_UID, OTHER_UID)
    result = forked("token")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() != record.splitlines()[2]
    assert server.mints == 1
    assert planted.stat().st_uid == os.geteuid()  # replaced by our own record


def test_a_symlinked_token_record_is_neither_served_nor_written_through(
    forked, server, project_id, tmp_path
):
    add_profile(forked, server, "prod", project_id, "--no-verify", check=True)
    give_installed_command_the_key("prod")
    elsewhere = tmp_path / "elsewhere"
    record = planted_record(server, project_id)
    elsewhere.write_text(record)
    tokens = Path(paths.tokens_dir())
    tokens.mkdir(parents=True, exist_ok=True)
    (tokens / "prod").symlink_to(elsewhere)
    result = forked("token")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() != record.splitlines()[2]
    assert elsewhere.read_text() == record
    assert not (tokens / "prod").is_symlink()


def test_a_symlink_planted_at_a_lock_path_is_not_followed(forked, server, project_id, tmp_path):
    add_profile(forked, server, "prod", project_id, "--no-verify", check=True)
    give_installed_command_the_key("prod")
    precious = tmp_path / "precious"
    precious.write_text("do not truncate me\n")
    lock = Path(paths.lock_file("prod"))
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.unlink(missing_ok=True)
    lock.symlink_to(precious)
    result = forked("token", "--refresh")
    assert precious.read_text() == "do not truncate me\n"
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert str(lock) in result.stderr


def test_a_profile_file_of_another_user_is_refused(run, server, project_id):
    assert add_profile(run, server, "prod", project_id, "--no-verify").exit_code == 0
    profiles = Path(paths.profiles_file())
    os.chown(profiles, OTHER_UID, OTHER_UID)
    outcome = run("list")
    assert outcome.exit_code == 1
    assert_refused(outcome.stderr, profiles)
