"""GDAL and rasterio on a profile: a bearer for the profile's API origin only, always fresh.

UP42's asset ``href``s need a bearer token that lives five minutes, and a
read of a large COG outlives many. GDAL re-reads ``GDAL_HTTP_HEADER_FILE``
before each HTTP request, so a header file rewritten atomically at each
renewal (``HeaderFileKeeper``, the token file of ``exec`` plus this one)
renews the token inside a running GDAL. Set globally, that file would send
the token to every host the process reads, so it is only ever scoped to one
prefix, ``/vsicurl/<API origin>/``, by one of two mechanisms:

- a path-specific option (``VSISetPathSpecificOption``, or a ``[credentials]``
  section of ``GDAL_CONFIG_FILE`` for a child process). Measured: GDAL 3.8.4
  and 3.10.3 (rasterio's wheels) apply it to ``/vsicurl/``; Debian's 3.6.2
  ignores it and sends no header at all. ``SCOPED_SINCE`` is the oldest version
  measured to work; older ones are refused (in-process) or warned about (exec).
- the ``/vsicurl?header_file=FILE&url=URL`` form (GDAL's ``/vsicurl?`` options
  date from 2.3; measured on 3.6.2), which applies to that one URL:
  ``exec --gdal`` rewrites the child's arguments that name a ``/vsicurl/`` path
  on the API origin into it.

libcurl did not send the custom header to another host on a redirect
(measured on 3.6.2 when issue 19 was filed), so a redirect to a storage host
carries no token either.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import shutil
import subprocess
import urllib.parse
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from up42keys import files
from up42keys.cache import TokenRecord
from up42keys.errors import GdalScopingError
from up42keys.ops.tokenfile import TokenFileKeeper

SCOPED_SINCE = (3, 8)
HEADER_OPTION = "GDAL_HTTP_HEADER_FILE"
CONFIG_FILE_ENV = "GDAL_CONFIG_FILE"
HEADER_FILE_NAME = "gdal-headers"
CONFIG_FILE_NAME = "gdalrc"
INSTALL = "pip install 'up42keys[gdal]' (rasterio, whose wheels bring GDAL 3.10)"


def header_text(token: str) -> str:
    return f"Authorization: Bearer {token}\n"


def vsicurl_prefix(api_url: str) -> str:
    """``/vsicurl/scheme://host[:port]/``: what GDAL's paths on the API origin start with.

    The trailing slash keeps ``http://host:80`` from matching ``http://host:8080``.
    """
    parts = urllib.parse.urlsplit(api_url)
    return f"/vsicurl/{parts.scheme}://{parts.netloc}/"


class HeaderFileKeeper(TokenFileKeeper):
    """``exec``'s token file plus a GDAL header file beside it, both rewritten at each renewal.

    ``listeners`` are called with each new token record after the files are
    written (``up42keys.dask.share`` passes renewals on to the workers).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listeners: list[Callable[[TokenRecord], None]] = []

    @property
    def header_path(self) -> str:
        return os.path.join(os.path.dirname(self.path), HEADER_FILE_NAME)

    def _write(self, record: TokenRecord) -> None:
        super()._write(record)
        with self._lock:
            if self._stopped.is_set():
                return
            files.atomic_write(self.header_path, header_text(record.token))
        for listener in self.listeners:
            listener(record)


# -- in this process --------------------------------------------------------------------------


class Library:
    """One libgdal loaded in this process (rasterio's wheel brings its own beside osgeo's)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._cdll = ctypes.CDLL(path)
        self._cdll.GDALVersionInfo.restype = ctypes.c_char_p
        self._cdll.GDALVersionInfo.argtypes = [ctypes.c_char_p]
        self.version_text: str = self._cdll.GDALVersionInfo(b"RELEASE_NAME").decode()
        self.version = _version_tuple(self.version_text)
        self._get = getattr(self._cdll, "VSIGetPathSpecificOption", None)
        self._set = getattr(self._cdll, "VSISetPathSpecificOption", None)
        self._global = self._cdll.CPLGetConfigOption
        self._global.restype = ctypes.c_char_p
        self._global.argtypes = [ctypes.c_char_p] * 2
        if self._get is not None and self._set is not None:
            self._get.restype = ctypes.c_char_p
            self._get.argtypes = [ctypes.c_char_p] * 3
            self._set.restype = None
            self._set.argtypes = [ctypes.c_char_p] * 3

    @property
    def scopes(self) -> bool:
        return self._set is not None and self.version >= SCOPED_SINCE

    def get(self, prefix: str, key: str) -> str | None:
        """The value set for paths under ``prefix``; None when only the global one applies."""
        if self._get is None:
            raise GdalScopingError(f"GDAL {self.version_text} has no path-specific options")
        value: bytes | None = self._get(prefix.encode(), key.encode(), None)
        if value is None or value == self._global(key.encode(), None):
            return None
        return value.decode()

    def set(self, prefix: str, key: str, value: str | None) -> None:
        """Set (or with None, remove) ``key`` for paths under ``prefix``."""
        if self._set is None:
            raise GdalScopingError(f"GDAL {self.version_text} has no path-specific options")
        self._set(prefix.encode(), key.encode(), None if value is None else value.encode())


def loaded_libraries() -> list[Library]:
    """Every libgdal this process has loaded, after importing rasterio and osgeo where installed."""
    for module in ("rasterio", "osgeo.gdal"):
        with contextlib.suppress(ImportError):
            __import__(module)
    paths: list[str] = []
    with contextlib.suppress(OSError), open("/proc/self/maps", encoding="utf-8") as maps:
        for line in maps:
            path = line.split(maxsplit=5)[-1].strip()
            if os.path.basename(path).startswith("libgdal") and path not in paths:
                paths.append(path)
    if not paths:  # not Linux: rasterio's wheel keeps its libgdal beside the package
        with contextlib.suppress(ImportError):
            import rasterio

            root = os.path.dirname(rasterio.__file__)
            paths = sorted(glob.glob(f"{root}.libs/libgdal*") + glob.glob(f"{root}/.dylibs/libgd*"))
    return [Library(path) for path in paths]


def scoping_libraries() -> list[Library]:
    """The loaded GDALs that scope a header to a path; warns about the others, raises if none."""
    libraries = loaded_libraries()
    needed = ".".join(map(str, SCOPED_SINCE))
    for library in libraries:
        if not library.scopes:
            warnings.warn(
                f"GDAL {library.version_text} ({library.path}) cannot keep the token to UP42's "
                f"origin (it needs GDAL {needed} or later): its reads get no token",
                RuntimeWarning,
                stacklevel=3,
            )
    usable = [library for library in libraries if library.scopes]
    if not usable:
        found = ", ".join(library.version_text for library in libraries) or "no GDAL"
        raise GdalScopingError(
            f"{found} in this process can keep a token to one origin: that needs GDAL {needed} "
            "or later",
            f"install rasterio: {INSTALL}",
        )
    return usable


@contextlib.contextmanager
def scoped_header_file(libraries: list[Library], prefix: str, path: str) -> Iterator[None]:
    """``GDAL_HTTP_HEADER_FILE=path`` for paths under ``prefix`` only; restored on exit."""
    previous = [(library, library.get(prefix, HEADER_OPTION)) for library in libraries]
    try:
        for library in libraries:
            library.set(prefix, HEADER_OPTION, path)
        yield
    finally:
        for library, value in previous:
            library.set(prefix, HEADER_OPTION, value)


@contextlib.contextmanager
def env(profile: str | None = None, *, min_ttl: float | None = None) -> Iterator[str]:
    """Every GDAL read in the block gets a fresh bearer for ``profile``'s API origin only.

    Works for rasterio and ``osgeo.gdal`` alike, ``rasterio.Env`` and
    ``rasterio.open`` inside the block included; the token is renewed for as
    long as the block runs, and on exit GDAL's configuration is as before.
    ``profile=None`` means what the command line would use. Yields the
    ``/vsicurl/`` prefix the token is scoped to. Raises ``GdalScopingError``
    when no GDAL loaded here can scope a header to a path.
    """
    libraries = scoping_libraries()
    keeper = HeaderFileKeeper(profile, min_ttl=min_ttl, on_error=warn)
    with keeper:
        prefix = vsicurl_prefix(keeper.target.api_url)
        with scoped_header_file(libraries, prefix, keeper.header_path):
            yield prefix


def warn(message: str) -> None:
    """Where a renewal's problems go in Python: a warning, which the caller may filter."""
    warnings.warn(f"up42keys: {message}", RuntimeWarning, stacklevel=2)


# -- in a child process (exec --gdal) ---------------------------------------------------------


def prepare_child(
    keeper: HeaderFileKeeper,
    environment: dict[str, str],
    argv: list[str],
    warn: Callable[[str], None],
) -> list[str]:
    """Set ``environment`` up for GDAL in a child and return its arguments, ``/vsicurl/`` paths
    on the API origin rewritten to carry the header file.

    ``GDAL_CONFIG_FILE`` takes the configuration GDAL would have read (the
    user's own file, else the system's and ``~/.gdal/gdalrc``) plus a
    ``[credentials]`` section that scopes the header file to the API origin.
    """
    prefix = vsicurl_prefix(keeper.target.api_url)
    config = os.path.join(os.path.dirname(keeper.path), CONFIG_FILE_NAME)
    files.atomic_write(config, _config_text(environment, prefix, keeper.header_path))
    environment[CONFIG_FILE_ENV] = config
    rewritten = [_with_header_file(argument, prefix, keeper.header_path) for argument in argv]
    tool = os.path.basename(argv[0]).startswith(("gdal", "ogr"))
    if tool and rewritten == argv:
        version = _gdal_on_path()
        if version is not None and _version_tuple(version) < SCOPED_SINCE:
            needed = ".".join(map(str, SCOPED_SINCE))
            warn(
                f"GDAL {version} on PATH reads paths that the command line does not name "
                f"without a token (scoping them needs GDAL {needed}); name the "
                f"/vsicurl/{prefix[len('/vsicurl/') :]}... path on the command line"
            )
    return rewritten


def _with_header_file(argument: str, prefix: str, header_path: str) -> str:
    if not argument.startswith(prefix):
        return argument
    url = urllib.parse.quote(argument[len("/vsicurl/") :], safe=":/")
    header = urllib.parse.quote(header_path, safe="/")
    return f"/vsicurl?header_file={header}&url={url}"


def _config_text(environment: dict[str, str], prefix: str, header_path: str) -> str:
    own = environment.get(CONFIG_FILE_ENV)
    home = environment.get("HOME", os.path.expanduser("~"))
    sources = [own] if own else ["/etc/gdal/gdalrc", os.path.join(home, ".gdal", "gdalrc")]
    kept = []
    for source in sources:
        text = files.read_text(source) if os.path.isfile(source) else None
        if text:
            kept.append(text.rstrip("\n") + "\n")
    section = f"[credentials]\n[.up42keys]\npath={prefix}\n{HEADER_OPTION}={header_path}\n"
    return "".join(kept) + section


def _gdal_on_path() -> str | None:
    """The version of ``gdalinfo`` on PATH, or None when there is none."""
    program = shutil.which("gdalinfo")
    if program is None:
        return None
    try:
        found = subprocess.run(
            [program, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = found.stdout.split()
    return words[1].rstrip(",") if len(words) > 1 and words[0] == "GDAL" else None


def _version_tuple(text: str) -> tuple[int, ...]:
    numbers = []
    for part in text.split(".")[:3]:
        digits = "".join(character for character in part if character.isdigit())
        numbers.append(int(digits or 0))
    return tuple(numbers)
