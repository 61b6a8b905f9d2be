"""keyrings.alt's plain-text file backend, but replacing its file atomically: for the SIGKILL loop.

keyrings.alt rewrites its whole file in place (``open(path, "w")``, then the entries): a
process killed between the two leaves the file empty, and every key of every profile is
gone (tests/test_crash.py saw it within a few hundred kills). No order of writes in
up42keys can prevent that, so the loop, which checks up42keys' order of writes, runs with
this variant: the same file and format, written to a temporary file and renamed over it.
``PYTHON_KEYRING_BACKEND=atomic_keyring.AtomicPlaintextKeyring``, this directory on PYTHONPATH.
"""

from __future__ import annotations

import configparser
import os

from keyring.errors import PasswordDeleteError
from keyrings.alt.escape import escape as escape_for_ini
from keyrings.alt.file import PlaintextKeyring


class AtomicPlaintextKeyring(PlaintextKeyring):
    def _read(self) -> configparser.RawConfigParser:
        config = configparser.RawConfigParser()
        config.read(self.file_path, encoding="utf-8")
        return config

    def _replace(self, config: configparser.RawConfigParser) -> None:
        temporary = f"{self.file_path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as stream:
            config.write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.file_path)

    def _write_config_value(self, service: str, key: str, value: str) -> None:
        self._ensure_file_path()
        config = self._read()
        section = escape_for_ini(service)
        if not config.has_section(section):
            config.add_section(section)
        config.set(section, escape_for_ini(key), value)
        self._replace(config)

    def delete_password(self, service: str, username: str) -> None:
        config = self._read()
        try:
            if not config.remove_option(escape_for_ini(service), escape_for_ini(username)):
                raise PasswordDeleteError("Password not found")
        except configparser.NoSectionError:
            raise PasswordDeleteError("Password not found") from None
        self._replace(config)
