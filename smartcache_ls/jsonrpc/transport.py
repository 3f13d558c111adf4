"""The server's read loop over stdio or TCP, with our framing instead of pygls' ``run_async``.

Stdio: a reader thread hands chunks of stdin to the event loop (bounded queue,
so a fast client is slowed instead of buffered without end) and a writer thread
writes frames to stdout in order, so neither the loop nor a request thread ever
blocks on a pipe the client is slow to drain.

TCP: one client at a time. While a client is connected, another connection is
answered with one error and closed; the server exits when its client leaves
(one session per process, as over stdio).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import queue
import threading
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO

from . import messages
from .framing import FrameReader
from .protocol import RpcProtocol

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
#: Chunks read ahead of the event loop, at most (the reading thread waits beyond).
WAITING = 8


async def serve(protocol: RpcProtocol, read: Callable[[], Awaitable[bytes]], stop: threading.Event) -> None:
    """Read frames until the stream ends (or ``stop`` is set) and hand each to the protocol."""
    frames = FrameReader(read)
    while not stop.is_set():
        frame = await frames.next()
        if frame is None:
            log.info("the client closed the stream")
            return
        if isinstance(frame, bytes):
            protocol.receive(frame)
        else:
            protocol.refuse_frame(frame.message)


class PipeWriter:
    """Writes frames to a binary stream from a thread of its own, in order."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        # Bounded: a client that stops reading slows the server down instead of growing its memory.
        self._queue: queue.Queue[bytes | Callable[[], None] | None] = queue.Queue(maxsize=4096)
        self._broken = False
        self._thread = threading.Thread(target=self._run, name="smartcache-stdout", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        if not self._broken:
            self._queue.put(data)

    def after(self, call: Callable[[], None]) -> None:
        """Call ``call`` on the writer's thread once what was written before it is out."""
        self._queue.put(call)

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            if callable(data):
                try:
                    if not self._broken:
                        self._stream.flush()  # out to the client before the call's work begins
                except (BrokenPipeError, OSError, ValueError):
                    self._broken = True
                try:
                    data()
                except Exception:
                    log.exception("a callback after output failed")
                continue
            try:
                self._stream.write(data)
                if self._queue.empty():
                    self._stream.flush()
            except (BrokenPipeError, OSError, ValueError) as exc:
                if not self._broken:
                    log.error("cannot write to the client (%s): dropping output", exc)
                self._broken = True

    def close(self) -> None:
        """Write what is queued, then close the stream."""
        if self._thread.is_alive():
            with contextlib.suppress(queue.Full):  # a client that reads nothing: give up after 10 s
                self._queue.put(None, timeout=10)
            self._thread.join(10)
        with contextlib.suppress(OSError, ValueError):
            self._stream.close()


def _pipe_reader(stream: BinaryIO, loop: asyncio.AbstractEventLoop) -> Callable[[], Awaitable[bytes]]:
    """Chunks of ``stream``, read on a thread; at most a few chunks wait for the loop.

    A chunk reaches the loop by one ``call_soon_threadsafe`` (a wake-up of the loop), and the
    reading thread waits only when ``WAITING`` chunks are still unread: where it handed each
    chunk over as a coroutine and waited for the loop to run it (a task and two futures a
    chunk, ~14% of the server's GIL time under 16 requests in flight)."""
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    room = threading.Semaphore(WAITING)

    read: Callable[[int], bytes] = getattr(stream, "read1", stream.read)
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        fd = -1
    if fd >= 0:
        # The descriptor, not the buffered stream: a daemon thread blocked inside a buffered
        # read holds its lock, and the interpreter aborts on that lock when it exits.
        read = functools.partial(os.read, fd)

    def pump() -> None:
        while True:
            try:
                chunk = read(CHUNK)
            except (OSError, ValueError):
                chunk = b""
            room.acquire()
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, chunk)
            except RuntimeError:  # the loop is closed
                return
            if not chunk:
                return

    async def get() -> bytes:
        chunk = await chunks.get()
        room.release()
        return chunk

    threading.Thread(target=pump, name="smartcache-stdin", daemon=True).start()
    return get


def run_stdio(server: Any, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Serve one client over a pair of pipes until it closes them or sends ``exit``."""
    protocol: RpcProtocol = server.protocol
    writer = PipeWriter(stdout)
    protocol.set_writer(writer)
    server._stop_event = stop = threading.Event()

    async def main() -> None:
        await serve(protocol, _pipe_reader(stdin, asyncio.get_running_loop()), stop)

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        writer.close()
        server.shutdown()


class _SocketWriter:
    """Writes to an asyncio stream from any thread (asyncio transports are not thread-safe)."""

    def __init__(self, writer: asyncio.StreamWriter, loop: asyncio.AbstractEventLoop) -> None:
        self._writer = writer
        self._loop = loop

    def write(self, data: bytes) -> None:
        if self._loop.is_closed() or self._writer.is_closing():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._writer.write(data)
        else:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._writer.write, data)

    async def _close(self) -> None:
        with contextlib.suppress(OSError):
            await self._writer.drain()
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    def close(self) -> Awaitable[None]:
        return self._close()


def run_tcp(server: Any, host: str, port: int, on_listen: Callable[[str, int], None] | None = None) -> None:
    """Serve one client at a time on ``host:port``; the first client's session is the server's."""
    protocol: RpcProtocol = server.protocol
    server._stop_event = stop = threading.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        finished = asyncio.Event()
        active: list[asyncio.StreamWriter] = []

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("peername")
            if active or finished.is_set():
                log.warning("refused a connection from %s: a client is already connected", peer)
                body = messages.error_body(
                    None, messages.INVALID_REQUEST, "another client is connected to this server"
                )
                writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                with contextlib.suppress(OSError):
                    await writer.drain()
                writer.close()
                return
            active.append(writer)
            log.info("client connected from %s", peer)
            protocol.set_writer(_SocketWriter(writer, loop))  # type: ignore[arg-type]
            try:
                await serve(protocol, lambda: reader.read(CHUNK), stop)
            finally:
                finished.set()

        listener = await asyncio.start_server(connection, host, port)
        for sock in listener.sockets:
            name = sock.getsockname()
            if on_listen is not None:
                on_listen(str(name[0]), int(name[1]))
        async with listener:
            await finished.wait()
        for writer in active:
            writer.close()

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
