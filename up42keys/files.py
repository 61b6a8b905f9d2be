"""Private directories and atomic writes.

Every file up42keys writes is 0600 in a 0700 directory, and is written to a
temporary file in the same directory that is then renamed over the old one:
a reader (which takes no lock) sees the old file or the new one, never a
torn one, and a crash leaves at worst a stray temporary file, which the next
change removes (``stray_temporaries``).
"""

import os

DIR_MODE = 0o700
FILE_MODE = 0o600
# A temporary file is ``.NAME.PID.RANDOM.tmp``: the PID tells whether its writer still runs.
TEMPORARY = ".tmp"


def ensure_private_dir(path: str) -> None:
    """Create ``path`` and its missing parents as 0700, and tighten ``path`` itself.

    Not ``os.makedirs(path, mode)``: that gives the parents it creates the default
    mode (0755 under the usual umask), so ``cache/locks`` would leave ``cache`` open.
    """
    parent = os.path.dirname(path)
    if parent and parent != path and not os.path.isdir(parent):
        ensure_private_dir(parent)
    try:  # noqa: SIM105 - contextlib.suppress would cost the fast path an import
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        pass
    if os.stat(path).st_mode & 0o777 != DIR_MODE:
        os.chmod(path, DIR_MODE)


def atomic_write(path: str, content: str) -> None:
    """Replace ``path`` with ``content`` so that no reader ever sees a partial file."""
    directory = os.path.dirname(path)
    ensure_private_dir(directory)
    temporary = os.path.join(
        directory, f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(4).hex()}{TEMPORARY}"
    )
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        remove_file(temporary)
        raise


def remove_file(path: str) -> None:
    """Remove ``path`` if it exists."""
    try:  # noqa: SIM105 - contextlib.suppress would cost the fast path an import
        os.unlink(path)
    except FileNotFoundError:
        pass


def read_text(path: str) -> str | None:
    """The file's text, or None when it does not exist or cannot be read."""
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except (OSError, UnicodeDecodeError):
        return None


def is_temporary(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMPORARY)


def stray_temporaries(directory: str) -> list[str]:
    """The temporary files in ``directory`` whose writing process no longer runs."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    found = []
    for name in sorted(names):
        pid = name[: -len(TEMPORARY)].split(".")[-2:-1] if is_temporary(name) else []
        if pid and pid[0].isdigit() and not process_runs(int(pid[0])):
            found.append(os.path.join(directory, name))
    return found


def process_runs(pid: int) -> bool:
    """True while process ``pid`` exists on this machine (another user's included)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, and is someone else's
        return True
    return True
