"""up42keys.paths resolves the directories platformdirs would, without importing it.

The fast path cannot afford platformdirs' import, so paths.py computes the
directories itself; these tests hold it to platformdirs on each OS.
"""

from __future__ import annotations

import sys

import platformdirs
import pytest
from platformdirs.macos import MacOS
from platformdirs.unix import Unix
from platformdirs.windows import Windows

from up42keys import paths

APP = "up42keys"


@pytest.mark.parametrize(
    ("config_home", "cache_home"),
    [
        (None, None),
        ("/elsewhere/config", "/elsewhere/cache"),
        ("", ""),
        ("  ", "  "),
        ("relative/config", "relative/cache"),
    ],
    ids=["defaults", "xdg-set", "xdg-empty", "xdg-blank", "xdg-relative"],
)
@pytest.mark.parametrize(("platform", "dirs"), [("linux", Unix), ("darwin", MacOS)])
def test_unix_and_macos_directories_are_platformdirs(
    monkeypatch, isolated_home, config_home, cache_home, platform, dirs
):
    for variable, value in (("XDG_CONFIG_HOME", config_home), ("XDG_CACHE_HOME", cache_home)):
        if value is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, value)
    expected = (dirs(APP).user_config_dir, dirs(APP).user_cache_dir)
    monkeypatch.setattr(sys, "platform", platform)
    assert (paths.config_dir(), paths.cache_dir()) == expected


def test_this_machines_directories_are_platformdirs():
    assert paths.config_dir() == platformdirs.user_config_dir(APP)
    assert paths.cache_dir() == platformdirs.user_cache_dir(APP)


def test_windows_directories_are_platformdirs(monkeypatch, isolated_home, tmp_path):
    local = str(tmp_path / "AppData" / "Local")
    monkeypatch.setenv("LOCALAPPDATA", local)
    # Off Windows, platformdirs cannot ask the shell for the folder: give it the same answer.
    monkeypatch.setattr("platformdirs.windows.get_win_folder", lambda _name: local)
    expected = (Windows(APP).user_config_dir, Windows(APP).user_cache_dir)
    monkeypatch.setattr(sys, "platform", "win32")
    assert (paths.config_dir(), paths.cache_dir()) == expected


def test_overrides_win_on_every_platform(monkeypatch, tmp_path):
    monkeypatch.setenv("UP42KEYS_CONFIG_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("UP42KEYS_CACHE_DIR", str(tmp_path / "k"))
    for platform in ("linux", "darwin", "win32"):
        monkeypatch.setattr(sys, "platform", platform)
        assert (paths.config_dir(), paths.cache_dir()) == (str(tmp_path / "c"), str(tmp_path / "k"))
        assert paths.default_config_dir() != str(tmp_path / "c")
