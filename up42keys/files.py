"""Private directories and atomic writes.

Every file up42keys writes is 0600 in a 0700 directory, and is written to a
temporary file in the same directory that is then renamed over the old one:
a reader (which takes no lock) sees the old file or the new one, never a
torn one, and a crash leaves at worst a stray temporary file, which the next
change removes (``stray_temporaries``).

What another user owns is never used, as ssh refuses its files: a directory
of someone else's is an error (not chmod-ed), and a file of someone else's,
or a symlink, is read as if absent, so that a planted token is never served.
"""

import os
import stat

from up42keys import inputs

DIR_MODE = 0o700
FILE_MODE = 0o600
# Where the platform has it (not Windows): open the file itself, never what a symlink names.
NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)


def is_ours(status: os.stat_result) -> bool:
    """True when the current user owns the file (always, where there are no uids)."""
    return not hasattr(os, "geteuid") or status.st_uid == os.geteuid()


def refuse_foreign(path: str, status: os.stat_result) -> None:
    """Raise the error that names the path and the ``chown`` when another user owns it."""
    if is_ours(status):
        return
    from up42keys import rules
    from up42keys.errors import ForeignFileError

    me = os.geteuid()
    sudo = "" if me == 0 else "sudo "
    raise ForeignFileError(
        f"{path} belongs to uid {status.st_uid}, not to you (uid {me}), so up42keys will not use "
        f"it; make it yours with '{sudo}chown -R {me} {rules.shell_quote(path)}', or remove it"
    )


# A temporary file is ``.NAME.PID.RANDOM.tmp``: the PID tells whether its writer still runs.
TEMPORARY = ".tmp"


def ensure_private_dir(path: str) -> None:
    """Create ``path`` and its missing parents as 0700, and tighten ``path`` itself.

    Not ``os.makedirs(path, mode)``: that gives the parents it creates the default
    mode (0755 under the usual umask), so ``cache/locks`` would leave ``cache`` open.
    The mode is changed on the directory opened without following a symlink
    (``fchmod``), never through a name: a link planted in a shared directory
    would otherwise make up42keys chmod whatever it points at.
    """
    parent = os.path.dirname(path)
    if parent and parent != path and not os.path.isdir(parent):
        ensure_private_dir(parent)
    elif parent and parent != path:
        _refuse_foreign_parent(parent)
    try:  # noqa: SIM105 - contextlib.suppress would cost the fast path an import
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        pass
    try:
        descriptor = os.open(path, os.O_RDONLY | NO_FOLLOW | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        if _private_link(path):
            return
        raise
    try:
        status = os.fstat(descriptor)
        refuse_foreign(path, status)
        if status.st_mode & 0o777 != DIR_MODE:
            os.fchmod(descriptor, DIR_MODE)
    finally:
        os.close(descriptor)


def _private_link(path: str) -> bool:
    """True for a link that may be used; the error for any other link, or a non-directory.

    A link is followed only when it is the user's and names a directory of the
    user's that is private already: its mode is never changed through it.
    """
    from up42keys import rules
    from up42keys.errors import ForeignFileError

    status = os.lstat(path)
    quoted = rules.shell_quote(path)
    if not stat.S_ISLNK(status.st_mode):
        if stat.S_ISDIR(status.st_mode):
            return False
        raise ForeignFileError(
            f"{path} is not a directory, so up42keys will not use it",
            f"move it away with 'mv {quoted} {quoted}.old'",
        )
    refuse_foreign(path, status)
    target = os.path.realpath(path)
    try:
        found = os.stat(target)
    except OSError:
        found = None
    private = found and stat.S_ISDIR(found.st_mode) and found.st_mode & 0o7777 == DIR_MODE
    if private and found and is_ours(found):
        return True
    raise ForeignFileError(
        f"{path} is a symbolic link to {target}, which up42keys will not make private "
        "through a link",
        f"remove the link with 'rm {quoted}' (up42keys then makes a private directory there)",
    )


def _refuse_foreign_parent(parent: str) -> None:
    """A directory is made only in one of the user's own, or of root's (``/tmp``, ``/run/user``).

    Another user's directory (a shared location prepared beforehand) could hold
    or swap what is put there.
    """
    status = os.stat(parent)
    if status.st_uid != 0:
        refuse_foreign(parent, status)


def atomic_write(path: str, content: str, *, private: bool = True) -> None:
    """Replace ``path`` with ``content`` so that no reader ever sees a partial file.

    Ctrl-C, SIGTERM and SIGHUP wait until the file is in place (or its
    temporary removed): they end the process only after that.
    ``private=False`` is for a file in the user's own directory (a directory's
    ``.up42keys-profile``): the directory is left as it is, and the file gets the
    mode the umask gives, like any file the user creates there.
    """
    with signals_held():
        _atomic_write(path, content, private=private)


class signals_held:
    """Block the signals that end a process by default, for one write, where the OS can."""

    def __enter__(self) -> None:
        import signal

        self._previous = None
        if hasattr(signal, "pthread_sigmask"):
            held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
            self._previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)

    def __exit__(self, *exception: object) -> None:
        import signal

        if self._previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self._previous)


def _atomic_write(path: str, content: str, *, private: bool) -> None:
    directory = os.path.dirname(path)
    if private:
        ensure_private_dir(directory)
    temporary = os.path.join(
        directory, f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(4).hex()}{TEMPORARY}"
    )
    try:
        # Inside the try: an interrupt just after the open still removes the file.
        descriptor = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE if private else 0o666
        )
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
    """One of our own small files, through the one reader (``inputs``); None when it does
    not exist or the reader refuses it: too large, not UTF-8, a symlink, another user's."""
    return inputs.read_own_file(path, inputs.STATE_LIMIT)


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
