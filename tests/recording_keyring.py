"""A keyring backend for subprocess tests that notes which thread called it, and can be locked.

``PYTHON_KEYRING_BACKEND=recording_keyring.RecordingKeyring``, with this directory on
PYTHONPATH (not the repository: the installed up42keys must be the one imported). It keeps
the entries in keyrings.alt's plain-text file, as the other subprocess tests do, and appends
``THREAD OPERATION USER`` to the file that ``UP42KEYS_TEST_KEYRING_LOG`` names for every
call. An interactive backend (keyrings.cryptfile) would prompt wherever it is called; one
call outside the main thread is such a prompt in the middle of a command's output. With
``UP42KEYS_TEST_KEYRING_LOCKED=1`` it refuses every call as a locked keyring does.
"""

from __future__ import annotations

import os
import threading

from keyring.errors import KeyringLocked
from keyrings.alt.file import PlaintextKeyring


class RecordingKeyring(PlaintextKeyring):
    def _note(self, operation: str, username: str) -> None:
        with open(os.environ["UP42KEYS_TEST_KEYRING_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{threading.current_thread().name} {operation} {username}\n")
        if os.environ.get("UP42KEYS_TEST_KEYRING_LOCKED") == "1":
            raise KeyringLocked("the test keyring is locked")

    def get_password(self, service: str, username: str) -> str | None:
        self._note("get", username)
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._note("set", username)
        super().set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self._note("delete", username)
        super().delete_password(service, username)
