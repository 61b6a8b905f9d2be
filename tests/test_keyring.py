"""No usable keyring: exit 6 with guidance, nothing stored, no plain-text fallback."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from keyring.backends import fail, null
from keyring.errors import KeyringLocked

from tests.conftest import API_KEY, MemoryKeyring, files_containing
from tests.helpers import add_profile
from up42keys import paths
from up42keys.store import keychain


class LockedKeyring(MemoryKeyring):
    """A keyring whose collection stays locked, as when the user dismisses the unlock prompt."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")


def assert_nothing_stored(server, home: Path) -> None:
    assert server.mints == 0, "the key was sent to UP42 although it could not be kept"
    assert not Path(paths.config_dir()).exists()
    assert not Path(paths.cache_dir()).exists()
    assert files_containing(API_KEY, home) == []


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()], ids=["fail", "null"])
def test_add_without_keyring_is_exit_6_with_guidance_and_stores_nothing(
    run, server, project_id, isolated_home, backend
):
    keyring.set_keyring(backend)
    outcome = add_profile(run, server, "prod", project_id)
    assert outcome.exit_code == 6
    assert outcome.stderr == f"up42keys: error: {keychain.NO_KEYRING_HELP}\n"
    advice_given = ("PYTHON_KEYRING_BACKEND", "keyringrc.cfg", "UP42_PROJECT_API_KEY")
    for advice in (*advice_given, "keyring.readthedocs.io/en/latest/#configuring"):
        assert advice in outcome.stderr
    assert_nothing_stored(server, isolated_home)


def test_add_to_locked_keyring_is_exit_6_unlock(run, server, project_id, isolated_home):
    keyring.set_keyring(LockedKeyring())
    outcome = add_profile(run, server, "prod", project_id)
    assert outcome.exit_code == 6
    assert "the keyring is locked" in outcome.stderr
    assert "unlock your keyring" in outcome.stderr
    assert len(outcome.stderr.splitlines()) == 1
    assert not Path(paths.profiles_file()).exists()
    assert files_containing(API_KEY, isolated_home) == []


def test_token_from_locked_keyring_is_exit_6_unlock(run, server, project_id):
    assert add_profile(run, server, "prod", project_id).exit_code == 0
    keyring.set_keyring(LockedKeyring())
    outcome = run("token", "--refresh")
    assert outcome.exit_code == 6
    assert "unlock your keyring" in outcome.stderr
    assert outcome.stdout == ""


def test_failing_backend_is_exit_6_without_traceback(run, server, project_id):
    class Broken(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise OSError("org.freedesktop.DBus.Error.NoReply: no reply\n(details)")

    keyring.set_keyring(Broken())
    outcome = add_profile(run, server, "prod", project_id)
    assert outcome.exit_code == 6
    assert outcome.stderr.startswith("up42keys: error: cannot store the secret of profile 'prod'")
    assert "OSError: org.freedesktop.DBus.Error.NoReply: no reply (details)" in outcome.stderr
    assert "up42keys doctor" in outcome.stderr
    assert len(outcome.stderr.splitlines()) == 1
    assert not Path(paths.profiles_file()).exists()


def test_installed_command_without_keyring_is_exit_6(
    up42keys, server, project_id, isolated_home, monkeypatch
):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    result = add_profile(up42keys, server, "prod", project_id)
    assert result.returncode == 6, result.stderr
    assert result.stderr == f"up42keys: error: {keychain.NO_KEYRING_HELP}\n"
    assert_nothing_stored(server, isolated_home)


def test_no_silent_plaintext_fallback_where_no_os_keyring_answers(
    up42keys, server, project_id, isolated_home, tmp_path, monkeypatch
):
    """keyrings.alt is installed here: keyring alone would fall back to its plain-text file.

    (The user may still choose that file explicitly, as the other subprocess tests do.)
    """
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus-here")
    result = add_profile(up42keys, server, "prod", project_id)
    assert result.returncode == 6, result.stderr
    assert "no OS keyring is available" in result.stderr
    assert_nothing_stored(server, isolated_home)
    assert not (isolated_home / ".local").exists()
