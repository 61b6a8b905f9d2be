"""``doctor`` finds each problem, says how to fix it, and changes nothing."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from tests.conftest import API_KEY, PASSWORD, MemoryKeyring
from tests.fakeup42 import Fault, closed_port_url
from tests.helpers import USERNAME, add_profile
from up42keys import cache, paths
from up42keys.store import keychain


def doctor(run, *args: str) -> tuple[int, dict[str, dict[str, object]], list[dict[str, object]]]:
    """Run ``doctor --json``: exit code, checks by name (the last of each name), all checks."""
    outcome = run("doctor", "--json", *args)
    assert outcome.stderr == ""
    report = json.loads(outcome.stdout)
    checks = report["checks"]
    assert report["ok"] is (outcome.exit_code == 0)
    for check in checks:
        assert check["status"] in ("ok", "problem", "skipped")
        assert bool(check["fix"]) is (check["status"] == "problem"), check
    return outcome.exit_code, {check["name"]: check for check in checks}, checks


def problems(checks: list[dict[str, object]]) -> list[dict[str, object]]:
    return [check for check in checks if check["status"] == "problem"]


def test_all_is_well(run, server, project_id, memory_keyring):
    assert add_profile(run, server, "prod", project_id).exit_code == 0
    code, by_name, checks = doctor(run)
    assert code == 0, problems(checks)
    assert by_name["keyring"]["data"] == {"backend": "tests.conftest.MemoryKeyring", "works": True}
    assert by_name["profile prod"]["status"] == "ok"
    assert by_name["clock"]["status"] == "ok"
    assert abs(by_name["clock"]["data"]["skew_seconds"]) <= 2
    assert by_name["version"]["data"]["up42keys"] == "0.1.0"
    text = run("doctor")
    assert text.exit_code == 0
    assert "ok       keyring: tests.conftest.MemoryKeyring works" in text.stdout
    assert text.stdout.endswith("All is well.\n")


def test_doctor_changes_nothing(run, server, project_id, memory_keyring):
    add_profile(run, server, "prod", project_id)
    entries = dict(memory_keyring.entries)
    record = Path(paths.token_record("prod")).read_bytes()
    mints = server.mints
    assert doctor(run)[0] == 0
    assert server.mints == mints + 1
    assert memory_keyring.entries == entries
    assert Path(paths.token_record("prod")).read_bytes() == record


def test_offline_contacts_nobody(run, server, project_id):
    add_profile(run, server, "prod", project_id)
    mints = server.mints
    code, by_name, _ = doctor(run, "--offline")
    assert code == 0
    assert server.mints == mints
    assert by_name["profile prod"]["status"] == "skipped"
    assert by_name["clock"]["detail"] == "not compared (--offline)"


def test_no_keyring_names_the_backend_and_the_ways_out(run):
    keyring.set_keyring(fail.Keyring())
    code, by_name, _ = doctor(run)
    assert code == 1
    check = by_name["keyring"]
    assert check["status"] == "problem"
    assert check["data"]["backend"] == "keyring.backends.fail.Keyring"
    assert check["detail"].startswith("keyring.backends.fail.Keyring: no OS keyring")
    assert "PYTHON_KEYRING_BACKEND" in check["fix"]
    text = run("doctor").stdout
    assert (
        "problem  keyring: keyring.backends.fail.Keyring: no OS keyring is available -> fix: "
        in (text)
    )
    assert text.endswith("1 problem(s) found.\n")


def test_no_keyring_is_fine_with_environment_credentials_and_no_profiles(
    run, server, project_id, monkeypatch
):
    keyring.set_keyring(fail.Keyring())
    monkeypatch.setenv("UP42_PROJECT_ID", project_id)
    monkeypatch.setenv("UP42_PROJECT_API_KEY", API_KEY)
    monkeypatch.setenv("UP42_API_URL", server.url)
    code, by_name, checks = doctor(run)
    assert code == 0, problems(checks)
    assert by_name["keyring"]["status"] == "skipped"
    assert by_name["(environment)"]["status"] == "ok"
    monkeypatch.setenv("UP42_PROJECT_API_KEY", "wrong")
    code, by_name, _ = doctor(run)
    assert code == 1
    assert "UP42_PROJECT_API_KEY" in by_name["(environment)"]["fix"]


class DeafKeyring(MemoryKeyring):
    """Accepts every write and forgets it."""

    def set_password(self, service: str, username: str, password: str) -> None:
        return


class StickyKeyring(MemoryKeyring):
    """Never deletes."""

    def delete_password(self, service: str, username: str) -> None:
        return


class BrokenKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("the D-Bus call timed out")


@pytest.mark.parametrize(
    ("backend", "says"),
    [
        (DeafKeyring(), "something else than was written"),
        (StickyKeyring(), "kept an entry it was told to delete"),
        (BrokenKeyring(), "RuntimeError: the D-Bus call timed out"),
    ],
)
def test_broken_keyring(run, backend, says):
    keyring.set_keyring(backend)
    code, by_name, _ = doctor(run, "--offline")
    assert code == 1
    check = by_name["keyring"]
    assert check["status"] == "problem"
    assert says in check["detail"]
    assert check["fix"] == keychain.REPAIR_HELP
    assert check["data"]["backend"].startswith("tests.test_doctor.")


def test_bad_permissions_and_owner_say_chmod(run, server, project_id):
    add_profile(run, server, "prod", project_id)
    os.chmod(paths.profiles_file(), 0o644)
    os.chmod(paths.cache_dir(), 0o755)  # noqa: S103 - the very problem doctor must find
    code, _, checks = doctor(run, "--offline")
    assert code == 1
    found = {check["data"]["path"]: check for check in problems(checks)}
    assert set(found) == {paths.profiles_file(), paths.cache_dir()}
    fix = "run 'up42keys doctor --fix' (it does chmod {} {})"
    assert found[paths.profiles_file()]["fix"] == fix.format(600, paths.profiles_file())
    assert found[paths.cache_dir()]["fix"] == fix.format(700, paths.cache_dir())
    assert found[paths.cache_dir()]["detail"].endswith("has mode 0755, not 0700")
    fixed = run("doctor", "--offline", "--fix")
    assert fixed.exit_code == 0, fixed.stdout
    assert f"fixed    {paths.profiles_file()}: mode 0644 -> 0600" in fixed.stdout
    assert os.stat(paths.profiles_file()).st_mode & 0o777 == 0o600
    assert os.stat(paths.cache_dir()).st_mode & 0o777 == 0o700
    assert doctor(run, "--offline")[0] == 0


def test_doctor_fix_changes_no_mode_through_a_symlink(run, server, project_id, tmp_path):
    add_profile(run, server, "prod", project_id)
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours")
    outside.chmod(0o644)
    planted = os.path.join(paths.cache_dir(), "planted")
    os.symlink(outside, planted)
    fixed = run("doctor", "--offline", "--fix")
    assert fixed.exit_code == 1
    assert outside.stat().st_mode & 0o777 == 0o644
    assert f"{planted} has mode 0644" in fixed.stdout


def test_unverified_add_leaves_everything_private(run, server, project_id):
    """Its first directory of the cache comes from a lock (cache/locks), not from a token."""
    add_profile(run, server, "prod", project_id, "--no-verify")
    code, _, checks = doctor(run, "--offline")
    assert code == 0, problems(checks)


def test_rejected_key(run, server, project_id):
    add_profile(run, server, "prod", project_id, "--no-verify", secret="not-the-key")
    code, by_name, _ = doctor(run)
    assert code == 1
    check = by_name["profile prod"]
    assert "rejected the credentials (HTTP 401" in check["detail"]
    assert check["fix"] == "store the right API key with 'up42keys set-secret prod'"


def test_account_profile_is_checked_with_its_password(run, server, memory_keyring):
    server.add_account(USERNAME, PASSWORD)
    assert add_profile(run, server, "me", USERNAME).exit_code == 0
    code, by_name, _ = doctor(run)
    assert code == 0
    assert by_name["profile me"]["detail"] == f"{server.url} answers and accepts the credentials"
    assert server.grants["password"] == 2
    memory_keyring.entries[("up42keys", "me")] = "changed-" + PASSWORD
    code, by_name, _ = doctor(run)
    assert code == 1
    assert by_name["profile me"]["fix"].endswith("store it with 'up42keys set-secret me'")


def test_unreachable_url(run, server, project_id):
    url = closed_port_url()
    added = run(
        "add",
        "gone",
        "--project-id",
        project_id,
        "--api-url",
        url,
        "--api-key-stdin",
        "--no-verify",
        input=API_KEY + "\n",
    )
    assert added.exit_code == 0, added.stderr
    code, by_name, _ = doctor(run)
    assert code == 1
    check = by_name["profile gone"]
    assert check["data"]["url"] == url
    assert check["detail"].startswith(f"cannot connect to {url}/oauth/token")
    assert "check the URL and that this machine reaches it" in check["fix"]
    assert by_name["clock"]["status"] == "skipped"


def test_a_url_that_is_not_up42_and_bad_environment_variables(run, server, project_id, monkeypatch):
    add_profile(run, server, "prod", project_id)
    server.inject(Fault(status=404, text_body="<html>not here</html>", content_type="text/html"))
    monkeypatch.setenv("UP42_PROJECT_ID", "not-a-uuid")
    monkeypatch.setenv("UP42_PROJECT_API_KEY", API_KEY)
    code, by_name, _ = doctor(run)
    assert code == 1
    assert (
        by_name["profile prod"]["detail"]
        == f"{server.url}/oauth/token answered HTTP 404, not a token"
    )
    assert by_name["profile prod"]["fix"].startswith(f"check that {server.url} is UP42's URL")
    assert by_name["(environment)"]["detail"].startswith("UP42_PROJECT_ID must be a UUID")
    assert "UP42_PROJECT_ID" in by_name["(environment)"]["fix"]


@pytest.mark.parametrize(("offset", "direction"), [(3600, "behind"), (-120, "ahead of")])
def test_clock_skew_against_the_servers_date(run, server, project_id, offset, direction):
    add_profile(run, server, "prod", project_id)
    server.clock_offset = offset
    code, by_name, _ = doctor(run)
    assert code == 1
    check = by_name["clock"]
    assert check["status"] == "problem"
    assert abs(check["data"]["skew_seconds"] - offset) <= 2
    assert f"s {direction} {server.url}" in check["detail"]
    assert "NTP" in check["fix"]


def test_small_skew_is_fine(run, server, project_id):
    add_profile(run, server, "prod", project_id)
    server.clock_offset = 20
    code, by_name, _ = doctor(run)
    assert code == 0
    assert by_name["clock"]["status"] == "ok"


def test_missing_active_profile_and_corrupt_store(run, server, project_id):
    add_profile(run, server, "prod", project_id)
    Path(paths.active_file()).write_text("ghost\n")
    code, by_name, _ = doctor(run, "--offline")
    assert code == 1
    assert by_name["profiles"]["detail"] == "the active profile 'ghost' does not exist"
    assert "up42keys use" in by_name["profiles"]["fix"]
    Path(paths.profiles_file()).write_text("this is [not toml\n")
    code, by_name, _ = doctor(run, "--offline")
    assert code == 1
    assert "is not valid TOML" in by_name["profiles"]["detail"]
    assert by_name["profiles"]["fix"] == "repair it or restore a backup"


def test_installed_doctor_names_the_keyring_backend(up42keys):
    result = up42keys("doctor", "--offline")
    assert result.returncode == 0, result.stdout
    assert "ok       keyring: keyrings.alt.file.PlaintextKeyring works" in result.stdout
    broken = up42keys(
        "doctor",
        "--offline",
        env={"PYTHON_KEYRING_BACKEND": "no.such.Backend"},
    )
    assert broken.returncode == 1
    assert "problem  keyring: cannot load the keyring backend" in broken.stdout
    assert keychain.REPAIR_HELP in broken.stdout


def a_dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def interrupt_a_remove(run, monkeypatch) -> None:
    """A remove of 'dev' that fails once the profile file no longer lists it."""

    def failing_remove(record_name: str) -> None:
        raise OSError(errno.EIO, "Input/output error", paths.token_record(record_name))

    real_remove = cache.remove
    monkeypatch.setattr(cache, "remove", failing_remove)
    assert run("remove", "dev").exit_code == 1
    monkeypatch.setattr(cache, "remove", real_remove)


def test_an_interrupted_change_and_leftovers_are_problems_that_fix_repairs(
    run, server, project_id, memory_keyring, monkeypatch
):
    add_profile(run, server, "prod", project_id, check=True)
    add_profile(run, server, "dev", project_id, check=True)
    interrupt_a_remove(run, monkeypatch)
    stray = Path(paths.cache_dir(), f".current-token.{a_dead_pid()}.0123abcd.tmp")
    stray.write_text("a token, half written")
    stray.chmod(0o600)
    assert Path(paths.transition_file()).exists()
    assert Path(paths.token_record("dev")).exists()

    code, by_name, _ = doctor(run, "--offline")
    assert code == 1
    assert by_name["changes"]["status"] == "problem"
    assert "'dev'" in by_name["changes"]["detail"]
    assert "doctor --fix" in by_name["changes"]["fix"]
    assert by_name["leftovers"]["data"] == {"paths": [str(stray)]}
    assert by_name["records"]["data"] == {"records": ["dev"]}

    outcome = run("doctor", "--offline", "--fix")
    assert outcome.exit_code == 0, outcome.stdout
    assert "fixed    a change of 'dev' was interrupted, and is now finished\n" in outcome.stdout
    assert f"fixed    removed {stray}, left by a process that was killed\n" in outcome.stdout
    assert outcome.stdout.endswith("All is well.\n")
    assert not stray.exists()
    assert not Path(paths.transition_file()).exists()
    assert not Path(paths.token_record("dev")).exists()
    assert ("up42keys", "dev") not in memory_keyring.entries
    assert run("current").stdout == "prod\n"
    assert "dev" not in run("list").stdout


def test_the_next_change_finishes_an_interrupted_one(run, server, project_id, monkeypatch):
    add_profile(run, server, "prod", project_id, check=True)
    add_profile(run, server, "dev", project_id, check=True)
    interrupt_a_remove(run, monkeypatch)
    assert run("use", "prod").exit_code == 0
    assert not Path(paths.transition_file()).exists()
    assert not Path(paths.token_record("dev")).exists()
    fixed = json.loads(run("doctor", "--json", "--offline", "--fix").stdout)["fixed"]
    assert fixed == []


def test_orphan_records_are_removed_by_fix_only(run, server, project_id):
    add_profile(run, server, "prod", project_id, check=True)
    Path(paths.token_record("prod")).rename(paths.token_record("gone"))
    assert run("use", "prod").exit_code == 0  # a change leaves another config's records alone
    assert Path(paths.token_record("gone")).exists()
    code, by_name, _ = doctor(run, "--offline")
    assert code == 1
    assert "another config directory" in by_name["records"]["fix"]
    fixed = json.loads(run("doctor", "--json", "--offline", "--fix").stdout)["fixed"]
    assert fixed == ["removed the token record 'gone' of no profile"]
    assert not Path(paths.token_record("gone")).exists()
