"""``Content-Length`` framing of a byte stream, with bounds and resynchronisation.

:class:`FrameReader` turns the bytes a client sends into frame bodies. It never
allocates more than a frame bound: a header that names a larger body, an absurd
or missing length, or junk in the header block is reported as a
:class:`FramingError` (the caller answers it with a parse error) and the reader
resynchronises: a plausible oversized body is skipped exactly, chunk by chunk;
anything else is skipped up to the next ``Content-Length:`` header.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

MAX_FRAME = 64 * 1024 * 1024
"""The largest body the server reads."""
MAX_SKIP = 1024 * 1024 * 1024
"""An oversized body up to this length is skipped exactly; a longer one is taken for a lie."""
MAX_HEADER = 64 * 1024
"""A header block (up to the blank line) longer than this is junk."""

_HEADER_START = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)
_HEADER_LINE = re.compile(rb"[A-Za-z0-9-]+[ \t]*:")
_KEEP = 32  # bytes kept at the end of a scanned buffer: a header start may straddle two reads


class FramingError:
    """A frame that could not be read; answered with -32700 and an id of null."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"FramingError({self.message!r})"


Read = Callable[[], Awaitable[bytes]]
"""Returns the next chunk of the stream, or ``b""`` at its end."""


class FrameReader:
    def __init__(self, read: Read, *, max_frame: int = MAX_FRAME, max_skip: int = MAX_SKIP) -> None:
        self._read = read
        self._buf = bytearray()
        self._eof = False
        self._max_frame = max_frame
        self._max_skip = max_skip
        self._resync = False

    async def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = await self._read()
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    async def next(self) -> bytes | FramingError | None:
        """The next frame's body, a framing error, or None at the end of the stream."""
        if self._resync and not await self._skip_to_header():
            return None
        self._resync = False
        while True:
            end = self._buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self._buf) > MAX_HEADER:
                del self._buf[:1]
                self._resync = True
                return FramingError(f"header block longer than {MAX_HEADER} bytes")
            if not await self._fill():
                return None
        start = _HEADER_START.search(self._buf, 0, end)
        if start is not None and start.start() > 0 and _junk(bytes(self._buf[: start.start()])):
            junk = bytes(self._buf[: start.start()])
            del self._buf[: start.start()]
            return FramingError(f"not a header line: {_show(junk.strip())}")
        header = bytes(self._buf[:end])
        del self._buf[: end + 4]
        length = _content_length(header)
        if isinstance(length, FramingError):
            self._resync = True
            return length
        if length > self._max_frame:
            error = FramingError(f"frame of {length} bytes is above the limit of {self._max_frame} bytes")
            if length <= self._max_skip:
                if not await self._skip(length):
                    return None
            else:
                self._resync = True
            return error
        while len(self._buf) < length:
            if not await self._fill():
                return None
        body = bytes(self._buf[:length])
        del self._buf[:length]
        return body

    async def _skip(self, length: int) -> bool:
        """Drop ``length`` bytes without holding them; False if the stream ended first."""
        while True:
            take = min(length, len(self._buf))
            del self._buf[:take]
            length -= take
            if not length:
                return True
            if not await self._fill():
                return False

    async def _skip_to_header(self) -> bool:
        """Drop bytes up to the next ``Content-Length:`` header; False if the stream ended first."""
        while True:
            match = _HEADER_START.search(self._buf)
            if match is not None:
                del self._buf[: match.start()]
                return True
            if len(self._buf) > _KEEP:
                del self._buf[:-_KEEP]
            if not await self._fill():
                return False


def _content_length(header: bytes) -> int | FramingError:
    """The body length a header block names, or why it names none."""
    length: int | None = None
    for line in header.split(b"\r\n"):
        if not line.strip():
            continue
        if not _HEADER_LINE.match(line):
            return FramingError(f"not a header line: {_show(line)}")
        name, _, value = line.partition(b":")
        if name.strip().lower() != b"content-length":
            continue  # Content-Type and unknown headers carry nothing we need
        text = value.strip()
        if not text.isdigit() or len(text) > 20:
            return FramingError(f"Content-Length is not a byte count: {_show(text)}")
        if length is not None and int(text) != length:
            return FramingError("two different Content-Length headers")
        length = int(text)
    if length is None:
        return FramingError("no Content-Length header")
    if length == 0:
        return FramingError("empty body")
    return length


def _junk(data: bytes) -> bool:
    """Whether bytes before a header hold a line that is no header (or run into it)."""
    if not data.endswith(b"\r\n"):
        return True
    return any(line.strip() and not _HEADER_LINE.match(line) for line in data.split(b"\r\n"))


def _show(data: bytes, limit: int = 60) -> str:
    text = data[:limit].decode("ascii", "backslashreplace")
    return repr(text + ("..." if len(data) > limit else ""))
