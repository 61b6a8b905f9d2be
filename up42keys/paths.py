"""Where up42keys keeps its files.

This module resolves the same directories as ``platformdirs.user_config_dir``,
``user_cache_dir`` and ``user_runtime_dir`` for the app name ``up42keys``
(tests/test_paths.py holds it to that), but with the standard library alone:
the cached-token path must not pay for importing platformdirs. Paths are
plain strings for the same reason (pathlib costs an import).
"""

import os
import sys

APP_NAME = "up42keys"
CONFIG_DIR_ENV = "UP42KEYS_CONFIG_DIR"
CACHE_DIR_ENV = "UP42KEYS_CACHE_DIR"

PROFILES_FILE = "profiles.toml"
KEY_INDEX_FILE = "profiles.keys"
ACTIVE_FILE = "active"
PROTECTED_DIR = "protected"
TOKENS_DIR = "tokens"
LOCKS_DIR = "locks"
CURRENT_TOKEN_FILE = "current-token"  # noqa: S105 - a file name, not a secret


def _xdg(variable: str, fallback: str) -> str:
    value = os.environ.get(variable, "").strip()
    return value if value else os.path.expanduser(fallback)


def _windows_local_appdata() -> str:
    value = os.environ.get("LOCALAPPDATA", "").strip()
    return value if value else os.path.expanduser(os.path.join("~", "AppData", "Local"))


def config_dir() -> str:
    """Profiles, the active profile's name and the protected markers."""
    return os.environ.get(CONFIG_DIR_ENV) or default_config_dir()


def default_config_dir() -> str:
    """The config directory without the ``UP42KEYS_CONFIG_DIR`` override.

    The shell prompt bakes this in and applies the override itself at render time.
    """
    if sys.platform == "darwin":
        return os.path.expanduser(os.path.join("~", "Library", "Application Support", APP_NAME))
    if sys.platform == "win32":
        return os.path.join(_windows_local_appdata(), APP_NAME, APP_NAME)
    return os.path.join(_xdg("XDG_CONFIG_HOME", "~/.config"), APP_NAME)


def cache_dir() -> str:
    """Token records, the current-token file and the locks: all disposable."""
    return os.environ.get(CACHE_DIR_ENV) or default_cache_dir()


def default_cache_dir() -> str:
    """The cache directory without the ``UP42KEYS_CACHE_DIR`` override (see default_config_dir)."""
    if sys.platform == "darwin":
        return os.path.expanduser(os.path.join("~", "Library", "Caches", APP_NAME))
    if sys.platform == "win32":
        return os.path.join(_windows_local_appdata(), APP_NAME, APP_NAME, "Cache")
    return os.path.join(_xdg("XDG_CACHE_HOME", "~/.cache"), APP_NAME)


def runtime_dir() -> str:
    """Short-lived files such as the token file that ``exec`` keeps fresh.

    On Linux this is ``$XDG_RUNTIME_DIR/up42keys`` (a tmpfs private to the
    user); where that is unset, a ``run`` folder inside the cache directory,
    which the tool keeps at mode 0700.
    """
    runtime = os.environ.get("XDG_RUNTIME_DIR", "").strip()
    if runtime and sys.platform not in ("darwin", "win32"):
        return os.path.join(runtime, APP_NAME)
    return os.path.join(cache_dir(), "run")


def profiles_file() -> str:
    return os.path.join(config_dir(), PROFILES_FILE)


def key_index_file() -> str:
    return os.path.join(config_dir(), KEY_INDEX_FILE)


def active_file() -> str:
    return os.path.join(config_dir(), ACTIVE_FILE)


def protected_marker(name: str) -> str:
    return os.path.join(config_dir(), PROTECTED_DIR, name)


def tokens_dir() -> str:
    return os.path.join(cache_dir(), TOKENS_DIR)


def token_record(record_name: str) -> str:
    return os.path.join(tokens_dir(), record_name)


def current_token_file() -> str:
    return os.path.join(cache_dir(), CURRENT_TOKEN_FILE)


def lock_file(lock_name: str) -> str:
    return os.path.join(cache_dir(), LOCKS_DIR, lock_name + ".lock")
