"""Where up42keys keeps its files.

This module resolves the same directories as ``platformdirs.user_config_dir``
and ``user_cache_dir`` for the app name ``up42keys`` (tests/test_paths.py
holds it to that on Linux, macOS and Windows), but with the standard library alone:
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
# The profile that was active before the last switch, for 'up42keys use -'.
PREVIOUS_FILE = "previous"
PROTECTED_DIR = "protected"
TOKENS_DIR = "tokens"
LOCKS_DIR = "locks"
CURRENT_TOKEN_FILE = "current-token"  # noqa: S105 - a file name, not a secret
TRANSITION_FILE = "transition"
# exec's token file lives in runtime_dir()/exec-PID-RANDOM/, removed when exec ends.
EXEC_DIR_PREFIX = "exec-"
# A directory's profile ('up42keys pin NAME'): applies to it and every directory below.
PIN_FILE = ".up42keys-profile"
# The pin files this user trusts (docs/trust-model.md): the config dir mirrors each one's path.
TRUSTED_PINS_DIR = "trusted-pins"


# Per directory: its XDG variable, the home-relative default on Linux and on macOS, and what
# Windows appends. platformdirs honours an XDG variable on macOS too, when it is absolute.
_LAYOUT = {
    "config": ("XDG_CONFIG_HOME", "~/.config", "~/Library/Application Support", ()),
    "cache": ("XDG_CACHE_HOME", "~/.cache", "~/Library/Caches", ("Cache",)),
}


def _default_dir(kind: str) -> str:
    xdg_variable, linux_default, macos_default, windows_suffix = _LAYOUT[kind]
    if sys.platform == "win32":
        return os.path.join(_windows_local_appdata(), APP_NAME, APP_NAME, *windows_suffix)
    base = os.environ.get(xdg_variable, "")
    if not base.startswith("/"):  # platformdirs ignores a relative or empty value
        base = os.path.expanduser(macos_default if sys.platform == "darwin" else linux_default)
    return os.path.join(base, APP_NAME)


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
    return _default_dir("config")


def cache_dir() -> str:
    """Token records, the current-token file, the key index and the locks: all disposable.

    Where the default place cannot be written (a CI container's missing or read-only
    HOME), a private directory of the user's in the runtime or temporary directory
    instead (``fallback_cache_dir``), so that a job's tokens are still cached; ``doctor``
    reports it. A directory the user named (``UP42KEYS_CACHE_DIR``) is used as named.
    """
    named = os.environ.get(CACHE_DIR_ENV)
    if named:
        return named
    preferred = default_cache_dir()
    return preferred if can_write(preferred) else fallback_cache_dir()


def fallback_cache_dir() -> str:
    """``$XDG_RUNTIME_DIR/up42keys/cache`` where that can be written, else ``up42keys-UID``
    in ``$TMPDIR`` or ``/tmp``: made 0700 and refused when another user owns it (``files``)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "").strip()
    if runtime.startswith("/") and can_write(runtime):
        return os.path.join(runtime, APP_NAME, "cache")
    temporary = os.environ.get("TMPDIR", "").strip()
    if not temporary.startswith("/") or not can_write(temporary):
        temporary = "/tmp"  # noqa: S108 - a 0700 directory of the user's, refused when foreign
    user = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(temporary, f"{APP_NAME}-{user}")


_WRITABLE: dict[str, bool] = {}


def can_write(path: str) -> bool:
    """Whether ``path``, or the nearest of its parents that exists, lets this user create
    files in it. Asked once per path and process: the fast path pays two system calls."""
    known = _WRITABLE.get(path)
    if known is None:
        existing = path
        while not os.path.exists(existing) and os.path.dirname(existing) != existing:
            existing = os.path.dirname(existing)
        known = _WRITABLE[path] = os.path.isdir(existing) and os.access(existing, os.W_OK | os.X_OK)
    return known


def default_cache_dir() -> str:
    """The cache directory without the ``UP42KEYS_CACHE_DIR`` override (see default_config_dir)."""
    return _default_dir("cache")


def runtime_dir() -> str:
    """Short-lived files such as the token file that ``exec`` keeps fresh.

    On Linux this is ``$XDG_RUNTIME_DIR/up42keys`` (a tmpfs private to the
    user); where that is unset, or is not what the XDG spec requires (the user's
    own directory, mode 0700: a shared one could hold a planted link), a ``run``
    folder inside the cache directory, which the tool keeps at mode 0700.
    """
    runtime = os.environ.get("XDG_RUNTIME_DIR", "").strip()
    if runtime and sys.platform not in ("darwin", "win32") and _private(runtime):
        return os.path.join(runtime, APP_NAME)
    return os.path.join(cache_dir(), "run")


def _private(directory: str) -> bool:
    """True for an absolute path to a directory of the user's that only the user may use."""
    try:
        status = os.stat(directory)
    except OSError:
        return False
    return (
        directory.startswith("/")
        and status.st_uid == os.geteuid()
        and status.st_mode & 0o7777 == 0o700
        and os.path.isdir(directory)
    )


def profiles_file() -> str:
    return os.path.join(config_dir(), PROFILES_FILE)


def key_index_file() -> str:
    """Derived from the profile file, so it lives in the cache (see up42keys.state)."""
    return os.path.join(cache_dir(), KEY_INDEX_FILE)


def legacy_key_index_file() -> str:
    """Where earlier versions kept the key index; removed when the new one is written."""
    return os.path.join(config_dir(), KEY_INDEX_FILE)


def active_file() -> str:
    return os.path.join(config_dir(), ACTIVE_FILE)


def previous_file() -> str:
    return os.path.join(config_dir(), PREVIOUS_FILE)


def protected_marker(name: str) -> str:
    return os.path.join(config_dir(), PROTECTED_DIR, name)


def trusted_pins_dir() -> str:
    return os.path.join(config_dir(), TRUSTED_PINS_DIR)


def trust_record(pin_path: str) -> str:
    """Where the trust in the pin file ``pin_path`` (absolute) is recorded: its path, under
    ``trusted_pins_dir()``, as the prompt spells it (``$config/trusted-pins$PWD/...``)."""
    drive, rest = os.path.splitdrive(pin_path)
    return os.path.join(trusted_pins_dir(), drive.rstrip(":"), rest.lstrip("/" + os.sep))


def tokens_dir() -> str:
    return os.path.join(cache_dir(), TOKENS_DIR)


def token_record(record_name: str) -> str:
    return os.path.join(tokens_dir(), record_name)


def transition_file() -> str:
    """The journal of a change in progress (up42keys.store.journal): a killed one is finished."""
    return os.path.join(config_dir(), TRANSITION_FILE)


def current_token_file() -> str:
    return os.path.join(cache_dir(), CURRENT_TOKEN_FILE)


def lock_file(lock_name: str) -> str:
    return os.path.join(cache_dir(), LOCKS_DIR, lock_name + ".lock")
