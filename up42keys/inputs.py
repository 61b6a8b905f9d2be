"""The one reader of input from outside: every entrance checks size, type, depth and encoding here.

Files the user names (``import``, ``--from-sdk-config``), pin files a repository brings,
our own state files, secrets on stdin, environment values and server answers all come
in through these functions, so that a new entrance gets the same guarantees by calling
them, and none re-implements them:

- a size limit, checked before reading (``fstat``) and while reading (a file that grows,
  a device, a pipe), so that no input costs more than its limit in memory;
- regular files only: a FIFO, a device or a directory is refused at once (opened
  non-blocking, so that a FIFO cannot hang the command), and where the rule says so a
  symlink or another user's file is refused too;
- strict UTF-8, and no NUL;
- a nesting limit for JSON and TOML documents, checked without recursion.

Each failure is an ``InputError`` (exit 2, with its fix), never a traceback. Stdlib only
at module level: the fast path reads pin and state files through it.
"""

import os

# Not typing.TYPE_CHECKING: the fast path must not import typing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

    from up42keys.errors import InputError

KIB = 1024
MIB = 1024 * KIB
# A pin file is one profile name (at most 64 characters) on one line.
PIN_LIMIT = 256
# Our own small files: a name, a token record (a token is at most 16 KiB), the key index.
STATE_LIMIT = 256 * KIB
# profiles.toml, an ``import`` file, up42-py's config: a thousand profiles fit in far less.
DOCUMENT_LIMIT = MIB
# An API key or a password, typed or piped: far longer than any real one.
SECRET_LIMIT = 4 * KIB
# An environment value up42keys reads (a project ID, a URL, a number of seconds).
ENVIRONMENT_LIMIT = 4 * KIB
# How deep a JSON or TOML document may nest: ours nest three levels.
DEPTH_LIMIT = 32

_REGULAR = 0o100000
_FILE_TYPE = 0o170000
_NON_BLOCKING = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _refused(what: str, problem: str, fix: str, lead: str = "") -> "InputError":
    """The error for ``what``: "WHAT PROBLEM", or "LEAD: it PROBLEM" where a lead is given."""
    from up42keys.errors import InputError

    error = InputError(f"{lead}: it {problem}" if lead else f"{what} {problem}", fix)
    error.problem = problem
    return error


def read_file(path: str, *, what: str, limit: int, follow: bool = True, mine: bool = False) -> str:
    """The text of the regular file ``path``, at most ``limit`` bytes, or an ``InputError``.

    ``follow`` False refuses a symlink (``O_NOFOLLOW``); ``mine`` refuses a file that
    another user owns. ``what`` names the input in the error (``the pin file /a/b``).
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | _NON_BLOCKING | (0 if follow else _NO_FOLLOW))
    except OSError as error:
        import errno

        if error.errno in (errno.EMFILE, errno.ENFILE):
            raise  # a limit of this process, not a fault of the file: cli/boundary names its fix
        if not follow and os.path.islink(path):
            raise _refused(what, "is a symlink", "replace it with a file") from None
        problem = f"cannot be read ({error.strerror or error})"
        raise _refused(what, problem, "give a file you can read", f"cannot read {what}") from None
    try:
        status = os.fstat(descriptor)
        if status.st_mode & _FILE_TYPE != _REGULAR:
            raise _refused(
                what,
                "is not a regular file",
                "give a file, not a directory, pipe or device",
                f"cannot read {what}",
            )
        if mine and not _is_mine(status):
            raise _refused(
                what, f"belongs to uid {status.st_uid}, not to you", "remove it or make it yours"
            )
        return read_descriptor(descriptor, what=what, limit=limit)
    finally:
        os.close(descriptor)


def read_own_file(path: str, limit: int) -> str | None:
    """One of our own small files, or None where ``read_file`` would refuse it (it is absent,
    a symlink, another user's, not a regular file, too large, not UTF-8 or holds a NUL).

    The quiet form for the fast path: it reads the same way, and loads no error class.
    """
    data, problem = read_own_bytes(path, limit)
    if problem is not None or b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_own_bytes(path: str, limit: int) -> tuple[bytes, str | None]:
    """The bytes of a regular file of this user's, at most ``limit``: (data, None), or
    (b"", what is wrong with it) for the fast path to report without an error class:
    absent, a symlink (never followed), another user's, not a regular file, too large.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | _NON_BLOCKING | _NO_FOLLOW)
    except OSError as error:
        return b"", "is a symlink" if os.path.islink(path) else f"cannot be read ({error.strerror})"
    try:
        status = os.fstat(descriptor)
        if status.st_mode & _FILE_TYPE != _REGULAR:
            return b"", "is not a regular file"
        if not _is_mine(status):
            return b"", f"belongs to uid {status.st_uid}, not to you"
        if status.st_size > limit:
            return b"", f"is larger than {limit} bytes"
        data = os.read(descriptor, limit + 1)
        return (b"", f"is larger than {limit} bytes") if len(data) > limit else (data, None)
    except OSError as error:
        return b"", f"cannot be read ({error.strerror})"
    finally:
        os.close(descriptor)


def _is_mine(status: os.stat_result) -> bool:
    return not hasattr(os, "geteuid") or status.st_uid == os.geteuid()


def read_descriptor(descriptor: int, *, what: str, limit: int) -> str:
    """The text behind an open descriptor whose type and owner the caller has checked."""
    return decode(_read_at_most(descriptor, limit, what), what)


def _read_at_most(descriptor: int, limit: int, what: str) -> bytes:
    chunks = []
    size = 0
    while chunk := os.read(descriptor, min(65536, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise _refused(what, f"is larger than {limit} bytes", "give a smaller one")
    return b"".join(chunks)


def read_stream(stream: "IO[bytes]", *, what: str, limit: int) -> str:
    """At most ``limit`` bytes of a binary stream (stdin), as text, or an ``InputError``."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise _refused(what, f"is larger than {limit} bytes", "give a shorter one")
    return decode(data, what)


def read_line(stream: "IO[bytes]", *, what: str, limit: int) -> str:
    """One line of a binary stream (a secret on stdin), at most ``limit`` bytes, as text."""
    line = stream.readline(limit + 1)
    if len(line) > limit:
        raise _refused(what, f"is longer than {limit} bytes", "give it as one short line")
    return decode(line, what)


def decode(data: bytes, what: str) -> str:
    """``data`` as strict UTF-8 without NUL, or an ``InputError`` that says so."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _refused(what, "is not UTF-8 text", "save it as UTF-8") from None
    if "\0" in text:
        raise _refused(what, "holds a NUL byte", "give a text file")
    return text


def environment_value(name: str) -> str | None:
    """The variable's value (None when unset or blank), checked as any input from outside."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    if len(value) > ENVIRONMENT_LIMIT or any(ord(character) < 32 for character in value):
        raise _refused(
            name, "holds control characters or is too long", f"set {name} to one short line"
        )
    return value.strip()


def parse_json(text: str, what: str) -> object:
    """A JSON document, nested at most ``DEPTH_LIMIT`` deep, or an ``InputError``."""
    import json

    check_depth(text, what, "JSON")
    try:
        return json.loads(text)
    except RecursionError:
        raise _refused(what, _TOO_DEEP.format("JSON"), "give a flatter document") from None
    except ValueError as error:
        raise _refused(what, f"is not JSON ({error})", "repair it") from None


def parse_toml(text: str, what: str) -> dict[str, object]:
    """A TOML document, nested at most ``DEPTH_LIMIT`` deep, or an ``InputError``."""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib as toml_reader
    else:
        import tomli as toml_reader
    check_depth(text, what, "TOML")
    try:
        return toml_reader.loads(text)
    except RecursionError:
        raise _refused(what, _TOO_DEEP.format("TOML"), "give a flatter document") from None
    except toml_reader.TOMLDecodeError as error:
        raise _refused(what, f"is not valid TOML ({error})", "repair it") from None


_TOO_DEEP = f"is not valid {{}} (nested too deeply: more than {DEPTH_LIMIT} levels)"


def check_depth(text: str, what: str, form: str) -> None:
    """Refuse a document whose brackets nest deeper than ``DEPTH_LIMIT``, before it is parsed.

    A scan of the brackets outside strings: no recursion, however deep the document, so a
    parser's recursion never meets one that is too deep. A count too high by a bracket in
    a string of an odd document can only refuse it, never let a deep one through.
    """
    depth = 0
    quote = ""
    escaped = False
    for character in text:
        if quote:
            if escaped:
                escaped = False
            elif character == "\\" and quote == '"':
                escaped = True
            elif character == quote:
                quote = ""
        elif character in "\"'":
            quote = character
        elif character in "[{":
            depth += 1
            if depth > DEPTH_LIMIT:
                raise _refused(what, _TOO_DEEP.format(form), "give a flatter document")
        elif character in "]}":
            depth = max(depth - 1, 0)
        elif character == "\n":
            escaped = False
