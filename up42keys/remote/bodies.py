"""A server's answer body: bounded on the wire and again after decompressing.

httpx undoes ``Content-Encoding`` by itself, every layer a server names and with no
bound: a gzip-in-gzip answer of a kilobyte becomes gigabytes in memory before any
limit on the body can see it. The client therefore reads the raw bytes and decodes
them here, with a decompressor that never yields more than the limit: one layer at
most, and only gzip or deflate (what the client asks for). Anything else (brotli,
zstd, a layer inside a layer) is refused rather than decoded. JSON in the body then
goes through the one reader, ``up42keys.inputs.parse_json``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Protocol

from up42keys import inputs
from up42keys.errors import InputError, Up42UnavailableError

# A token answer is a few kilobytes; a larger body is not one, and is not read to its end.
MAX_BODY_BYTES = inputs.MIB
# What the client tells servers it can decode, and all it decodes.
ACCEPT_ENCODING = "gzip, deflate"
# zlib's window bits: 31 takes a gzip stream only, 47 a zlib or a gzip one (HTTP's
# "deflate" means zlib's format, and some servers send gzip's under that name).
_WINDOW_BITS = {"gzip": 31, "x-gzip": 31, "deflate": 47}


class _Inflater(Protocol):
    """What ``zlib.decompressobj()`` gives (its class is private to zlib)."""

    @property
    def eof(self) -> bool: ...
    @property
    def unconsumed_tail(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


def _too_large(url: str) -> Up42UnavailableError:
    return Up42UnavailableError(
        f"{url} answered with more than {MAX_BODY_BYTES // inputs.MIB} MiB, "
        "which is no token; check the URL"
    )


def read(url: str, content_encoding: str, raw_chunks: Iterable[bytes]) -> bytes:
    """The decoded body, at most ``MAX_BODY_BYTES`` before and after decompressing."""
    codings = [
        coding.strip().lower()
        for coding in content_encoding.split(",")
        if coding.strip().lower() not in ("", "identity")
    ]
    if len(codings) > 1 or (codings and codings[0] not in _WINDOW_BITS):
        shown = content_encoding.strip()[:40].encode("ascii", "replace").decode()
        raise Up42UnavailableError(
            f"{url} answered with the content encoding '{shown}', which up42keys does not "
            f"decode (it asks for {ACCEPT_ENCODING} or none)",
            "check the URL, or the proxy between you and UP42",
        )
    decompressor = zlib.decompressobj(_WINDOW_BITS[codings[0]]) if codings else None
    chunks: list[bytes] = []
    wire = size = 0
    for chunk in raw_chunks:
        wire += len(chunk)
        if wire > MAX_BODY_BYTES:
            raise _too_large(url)
        if decompressor is None:
            size += len(chunk)
            chunks.append(chunk)
        else:
            size = _inflate(url, codings[0], decompressor, chunk, chunks, size)
        if size > MAX_BODY_BYTES:
            raise _too_large(url)
    if decompressor is not None and not decompressor.eof:
        raise _not_valid(url, codings[0])
    return b"".join(chunks)


def _inflate(url: str, coding: str, decompressor: _Inflater, data: bytes,
             out: list[bytes], size: int) -> int:  # fmt: skip
    """Decompress ``data`` into ``out``, never more than one byte past the limit at a time."""
    while data and not decompressor.eof:
        try:
            # Never 0, which would mean "no limit": ``size`` is at most the limit here.
            piece = decompressor.decompress(data, MAX_BODY_BYTES + 1 - size)
        except zlib.error:
            raise _not_valid(url, coding) from None
        size += len(piece)
        if size > MAX_BODY_BYTES:
            raise _too_large(url)
        out.append(piece)
        data = decompressor.unconsumed_tail
    return size


def _not_valid(url: str, coding: str) -> Up42UnavailableError:
    return Up42UnavailableError(
        f"{url} answered with a body that is not valid {coding}", "check the URL or the proxy"
    )


def json_of(content: bytes) -> object:
    """The JSON document in a body (through the one reader), or None for anything else."""
    try:
        return inputs.parse_json(inputs.decode(content, "the answer"), "the answer")
    except InputError:
        return None
