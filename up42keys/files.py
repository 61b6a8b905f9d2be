"""Private directories and atomic writes.

Every file up42keys writes is 0600 in a 0700 directory, and is written to a
temporary file in the same directory that is then renamed over the old one:
a reader (which takes no lock) sees the old file or the new one, never a
torn one, and a crash leaves at worst a stray temporary file.
"""

import os

DIR_MODE = 0o700
FILE_MODE = 0o600


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


def atomic_write(path: str, content: str, *, private: bool = True) -> None:
    """Replace ``path`` with ``content`` so that no reader ever sees a partial file.

    ``private=False`` is for a file in the user's own directory (a directory's
    ``.up42keys-profile``): the directory is left as it is, and the file gets the
    mode the umask gives, like any file the user creates there.
    """
    directory = os.path.dirname(path)
    if private:
        ensure_private_dir(directory)
    temporary = os.path.join(
        directory, f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    )
    mode = FILE_MODE if private else 0o666
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
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
