"""Keyring failures are exit 6 with the backend's reason in one line, and change nothing;
``use`` that cannot get a token leaves the active profile and the current-token file as they were.
"""

from __future__ import annotations

import errno
from pathlib import Path

import filelock
import keyring
import pytest
from keyring.errors import InitError, KeyringLocked, NoKeyringError, PasswordSetError

from tests.conftest import API_KEY, MemoryKeyring
from tests.fakeup42 import Fault
from tests.helpers import add_profile, fail_writes_to
from up42keys import files, paths


class FailingKeyring(MemoryKeyring):
    """A backend whose every call fails the way a real one can."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        raise self.error


BACKEND_FAILURES = [
    (KeyringLocked("Collection is locked"), "the keyring is locked", "Collection is locked"),
    (InitError("Failed to unlock the keyring"), "the keyring failed", "Failed to unlock"),
    (PermissionError("access denied by the user"), "the keyring failed", "access denied"),
    (
        RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown:\n  no such name\n"),
        "the keyring failed",
        "ServiceUnknown: no such name",
    ),
    (PasswordSetError("write refused"), "the keyring failed", "write refused"),
    (NoKeyringError("no recommended backend"), "no OS keyring", "PYTHON_KEYRING_BACKEND"),
]


@pytest.fixture
def profiles(run, server, project_id) -> None:
    """prod (active, token cached) and dev (nothing cached), both in the memory keyring."""
    assert add_profile(run, server, "prod", project_id).exit_code == 0
    assert add_profile(run, server, "dev", project_id, "--no-verify").exit_code == 0


def break_keyring(error: Exception) -> FailingKeyring:
    backend = FailingKeyring(error)
    keyring.set_keyring(backend)
    return backend


def assert_keyring_error(outcome, *expected: str) -> None:
    assert outcome.exit_code == 6, outcome.stderr
    assert outcome.stderr.startswith("up42keys: error: ")
    assert len(outcome.stderr.splitlines()) == 1, outcome.stderr
    for text in expected:
        assert text in outcome.stderr, outcome.stderr


@pytest.mark.parametrize(("error", "kind", "reason"), BACKEND_FAILURES)
def test_keyring_failures_are_exit_6_and_change_nothing(run, server, profiles, error, kind, reason):
    before = Path(paths.profiles_file()).read_bytes()
    active = Path(paths.active_file()).read_bytes()
    break_keyring(error)
    for args in (
        ["token", "dev"],
        ["use", "dev"],
        ["add", "new", "--project-id", "12345678-1234-1234-1234-123456789abc", "--no-verify",
         "--api-key-stdin"],
        ["add", "dev", "--project-id", "12345678-1234-1234-1234-123456789abc", "--no-verify",
         "--api-key-stdin", "--force"],
        ["remove", "dev"],
        ["rename", "dev", "staging"],
    ):  # fmt: skip
        assert_keyring_error(run(*args, input=API_KEY + "\n"), kind, reason)
        assert Path(paths.profiles_file()).read_bytes() == before, args
        assert Path(paths.active_file()).read_bytes() == active, args
    assert not Path(paths.token_record("dev")).exists()


def test_verified_add_mints_first_then_fails_on_the_keyring_storing_nothing(
    run, server, project_id
):
    break_keyring(KeyringLocked("Collection is locked"))
    outcome = add_profile(run, server, "prod", project_id)
    assert_keyring_error(outcome, "cannot store the secret of profile 'prod'", "locked")
    assert not Path(paths.profiles_file()).exists()
    assert not Path(paths.token_record("prod")).exists()


def test_a_cached_token_needs_no_keyring(run, server, profiles):
    break_keyring(KeyringLocked("Collection is locked"))
    assert run("token").exit_code == 0
    assert run("list").exit_code == 0


# -- `use` is all or nothing -----------------------------------------------------------------


def wrong_key(server, monkeypatch, memory_keyring) -> None:
    memory_keyring.entries[("up42keys", "dev")] = "wrong-key"


def server_down(server, monkeypatch, memory_keyring) -> None:
    server.inject(*[Fault(503, json_body={})] * 3)


def proxy_page(server, monkeypatch, memory_keyring) -> None:
    server.inject(Fault(200, text_body="<html>login</html>", content_type="text/html"))


def keyring_locked(server, monkeypatch, memory_keyring) -> None:
    failing = FailingKeyring(KeyringLocked("Collection is locked"))
    monkeypatch.setattr(memory_keyring, "get_password", failing.get_password)


def key_missing(server, monkeypatch, memory_keyring) -> None:
    del memory_keyring.entries[("up42keys", "dev")]


def lock_held(server, monkeypatch, memory_keyring) -> filelock.FileLock:
    """Another process is minting for dev, for longer than the (tiny) timeout allows."""
    monkeypatch.setenv("UP42KEYS_TIMEOUT", "0.05")
    files.ensure_private_dir(str(Path(paths.lock_file("dev")).parent))
    lock = filelock.FileLock(paths.lock_file("dev"))
    lock.acquire()
    return lock


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (wrong_key, 4),
        (server_down, 5),
        (proxy_page, 5),
        (keyring_locked, 6),
        (key_missing, 6),
        (lock_held, 1),
    ],
)
def test_use_that_cannot_get_a_token_changes_nothing(
    run, server, profiles, monkeypatch, memory_keyring, fault, code
):
    state = [
        Path(paths.active_file()),
        Path(paths.current_token_file()),
        Path(paths.profiles_file()),
    ]
    before = [path.read_bytes() for path in state]
    held = fault(server, monkeypatch, memory_keyring)
    outcome = run("use", "dev")
    if held is not None:
        held.release()
    assert outcome.exit_code == code, outcome.stderr
    assert len(outcome.stderr.splitlines()) == 1
    assert [path.read_bytes() for path in state] == before
    assert not Path(paths.token_record("dev")).exists()
    assert run("current").stdout == "prod\n"


@pytest.mark.parametrize("force", [False, True])
def test_add_whose_profile_file_cannot_be_written_puts_the_keyring_back(
    run, server, project_id, monkeypatch, memory_keyring, force
):
    assert add_profile(run, server, "prod", project_id).exit_code == 0
    before = (dict(memory_keyring.entries), Path(paths.profiles_file()).read_bytes())
    fail_writes_to(monkeypatch, paths.profiles_file(), errno.ENOSPC, "No space left on device")
    name = "prod" if force else "dev"
    extra = ["--no-verify", *(["--force"] if force else [])]
    outcome = add_profile(run, server, name, project_id, *extra, secret="new-key")
    assert outcome.exit_code == 1
    assert outcome.stderr == (
        f"up42keys: error: No space left on device ({paths.profiles_file()}); "
        "check that path and the disk\n"
    )
    assert (memory_keyring.entries, Path(paths.profiles_file()).read_bytes()) == before
