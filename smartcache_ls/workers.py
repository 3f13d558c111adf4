"""Analysis off the server's interpreter: a pool of worker processes.

A worker is ``python -m smartcache_ls.workers``, started with ``subprocess`` (fork and exec
at once, never a fork of the threaded server) and niced below the server. It reads the file
itself through :func:`.reader.read_checked` (the server sends the resolved path, the
workspace root and the size bound) or takes the editor's text, decodes, parses and
analyses it, and answers with encoded results: the analysis as JSON bytes, the file's
bytes when asked for, the text's hash and the ``fstat`` fields the engine validates
entries with. The server only routes: one thread per worker sends a request and waits on
the pipe, holding no GIL while the worker computes.

Wire (both directions): a frame is a 4-byte little-endian length, a JSON object of that
length (the header), then the blobs whose lengths the header's ``blobs`` list gives.
JSON and raw bytes only, never pickle.

Two priorities, in the queue and in the CPU. The request workers take only jobs a request
waits for, at a niceness just below the server's (``NICE_REQUESTS``); the background
workers (the last one or two: ``background_workers``) take prefetch work, then the index's
jobs, at a much lower priority (``NICE_PREFETCH``), and requests only when every request
worker is busy: a request always finds a worker background work cannot hold, and the
server and that worker win the CPU over the background ones. (With one worker, it takes
everything.)

A worker that dies (a crash, ``kill -9``) is noticed on its pipe and restarted, and its
job retried once on the new process; one that overruns the job deadline is killed and
its job fails. A failed job raises :class:`WorkerFailed` (a :class:`.paths.PathRefused`,
so a request gets a clean error). Size 0 runs jobs on the calling thread, through the
same code.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from .paths import PathRefused, decode_text
from .reader import read_checked

log = logging.getLogger(__name__)

#: How much nicer than the server the workers run: the one for requests, the others.
NICE_REQUESTS = 1
NICE_PREFETCH = 10
#: A job still running after this long (seconds) gets its worker killed.
JOB_TIMEOUT = 60.0
#: A job is tried on at most this many worker processes (a crash retries it once).
ATTEMPTS = 2
MAX_HEADER = 1 << 20
#: A worker whose resident memory grew past this is replaced after its job (a leak in a
#: native library, or a huge file's parse, must not stay with the process for ever).
MAX_WORKER_RSS = 256 * 1024 * 1024

_LEN = struct.Struct("<I")
_NICE = "SMARTCACHE_WORKER_NICE"  # the niceness a worker should add itself (unless already niced)
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)


def default_size() -> int:
    """Workers for this machine: one for requests per core this process may run on (1 to 3),
    and the background ones (two with two cores or more: see ``background_workers``)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    requests = max(1, min(cores, 3))
    return requests + (2 if cores > 1 else 1)


def background_workers(size: int) -> int:
    """How many of a pool of ``size`` take background work (prefetch, then the index): two
    from four workers on, so that the index may use two cores at the background's priority
    (on a request worker, at the requests' own, it took the CPU from the server's event
    loop whenever typing resumed: keystroke p99 1.3-1.8x); else one."""
    return 2 if size >= 4 else 1


class WorkerFailed(PathRefused):
    """A job no worker could finish (crashed twice, overran its deadline, pool closed)."""

    def __init__(self, message: str) -> None:
        super().__init__("analysisFailed", message)


@dataclass(frozen=True, slots=True)
class Analysed:
    """One file's analysis as a worker returns it."""

    analysis: bytes  # JSON of analyze()'s dict
    hash: str  # content_hash of the text
    imports: list[str]  # the analysis's import specifiers (to resolve without decoding it)
    names: Any  # the names the file defines and uses (index/: never sent to clients)
    definitions: list[Any]  # its outline's definitions, [name, kind, span] (index/symbols.py)
    data: bytes | None  # the file's bytes (checked UTF-8 text) when asked for and read
    mtime_ns: int | None  # fstat of what was read (None for the editor's text)
    size: int | None


# ------------------------------------------------------------------------- frames


def encode_frame(header: dict[str, Any], *blobs: bytes) -> bytes:
    head = orjson.dumps({**header, "blobs": [len(b) for b in blobs]})
    return b"".join((_LEN.pack(len(head)), head, *blobs))


def _read_exact(fd: int, n: int) -> bytes:
    chunks: list[bytes] = []
    left = n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the pipe closed")
        chunks.append(chunk)
        left -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_frame(fd: int) -> tuple[dict[str, Any], list[bytes]]:
    (n,) = _LEN.unpack(_read_exact(fd, 4))
    if n > MAX_HEADER:
        raise ValueError(f"frame header of {n} bytes")
    header = orjson.loads(_read_exact(fd, n))
    if not isinstance(header, dict):
        raise ValueError("frame header is not an object")
    lengths = header.get("blobs") or []
    if not isinstance(lengths, list) or not all(isinstance(k, int) and k >= 0 for k in lengths):
        raise ValueError("bad blob lengths")
    body = _read_exact(fd, sum(lengths)) if lengths else b""
    blobs: list[bytes] = []
    pos = 0
    for k in lengths:
        blobs.append(body[pos : pos + k])
        pos += k
    return header, blobs


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# ------------------------------------------------------------------------- the job


def run_job(header: dict[str, Any], blobs: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
    """Do one analysis job; what a worker answers (header, blobs). Refusals raise PathRefused.
    An ``index`` job reads what the reference graph needs only (analysis/graph_fields.py), and
    answers no analysis."""
    from .analysis import analyze
    from .analysis.graph_fields import graph_fields
    from .index.symbols import NESTED_KINDS, definitions

    rel = str(header["rel"])
    data: bytes | None = None
    reply: dict[str, Any] = {"ok": True}
    if header.get("text"):
        text = blobs[0].decode("utf-8", "surrogatepass")
    else:
        path, root = Path(header["path"]), Path(header["root"])
        data, st = read_checked(path, root, int(header["maxBytes"]))
        text = decode_text(path, data)
        reply["mtime_ns"], reply["size"] = st.st_mtime_ns, st.st_size
    index = header.get("op") == "index"
    result = graph_fields(rel, text, NESTED_KINDS) if index else analyze(rel, text)
    reply["hash"], reply["imports"] = result["hash"], result["imports"]
    # What the reference graph reads travels beside the analysis, so the server never decodes
    # an outline to learn it; the names are the server's own and stay out of what clients get.
    reply["names"] = result.pop("names", None)
    reply["definitions"] = definitions(result["symbols"])
    out = [b"" if index else orjson.dumps(result)]
    if data is not None and header.get("wantData"):
        out.append(data)
    return reply, out


def run_index_files(header: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
    """An ``index`` job for several files (``files``: [rel, path] pairs under one ``root``): one
    answer, each file's reply (as :func:`run_job` makes it for one, refusals included) a JSON
    blob of its own, in order."""
    out: list[bytes] = []
    for rel, path in header["files"]:
        one = {"op": "index", "rel": rel, "path": path}
        one |= {"root": header["root"], "maxBytes": header["maxBytes"]}
        out.append(orjson.dumps(_answer(one, [])[0]))
    return {"ok": True}, out


def _answer(header: dict[str, Any], blobs: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
    try:
        return run_index_files(header) if "files" in header else run_job(header, blobs)
    except PathRefused as exc:
        return {"ok": False, "reason": exc.reason, "message": exc.message}, []
    except Exception as exc:  # a job must never take the worker down
        log.exception("job for %s failed", header.get("rel"))
        return {"ok": False, "reason": "analysisFailed", "message": f"analysis failed: {exc}"}, []


def _result(reply: dict[str, Any], out: list[bytes]) -> Analysed:
    if not reply.get("ok"):
        raise PathRefused(str(reply.get("reason", "analysisFailed")), str(reply.get("message", "")))
    return Analysed(
        analysis=out[0],
        hash=str(reply["hash"]),
        imports=[str(spec) for spec in reply.get("imports") or []],
        names=reply.get("names"),
        definitions=list(reply.get("definitions") or []),
        data=out[1] if len(out) > 1 else None,
        mtime_ns=reply.get("mtime_ns"),
        size=reply.get("size"),
    )


# ------------------------------------------------------------------------- the pool


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class _Job:
    header: dict[str, Any]
    blobs: tuple[bytes, ...]
    #: Held until the job is done: its caller waits by acquiring it, ``finish`` releases it
    #: (one lock, where an Event is a Condition, a lock and a notify_all of its own per job).
    done: threading.Lock = field(default_factory=_held_lock)
    reply: dict[str, Any] | None = None
    out: list[bytes] = field(default_factory=list)
    error: BaseException | None = None
    attempts: int = 0

    def finish(self) -> None:
        self.done.release()

    def wait(self) -> None:
        self.done.acquire()


class AnalysisPool:
    """Worker processes that read and analyse files; ``analyze`` blocks only its caller."""

    def __init__(
        self,
        size: int | None = None,
        *,
        timeout: float = JOB_TIMEOUT,
        command: list[str] | None = None,
        max_rss: int = MAX_WORKER_RSS,
    ) -> None:
        """``command`` replaces ``python -m smartcache_ls.workers`` (tests start broken workers)."""
        self.size = default_size() if size is None else max(0, size)
        self.command = command
        self.timeout = timeout
        self.max_rss = max_rss
        self._cond = threading.Condition()
        self._demand: deque[_Job] = deque()
        self._prefetch: deque[_Job] = deque()
        self._background: deque[_Job] = deque()  # the index's jobs (see _take)
        self._idle_request_slots = 0
        self._slots: list[_Slot] = []
        self._closed = False
        self._boot_at: float | None = None  # when the processes start (None: not yet asked)
        self._indexing = False  # an index job was queued: the index's worker starts (see start)
        self._next_id = 0
        self.jobs = 0
        self.failed = 0
        self.restarts = 0
        self.retried = 0
        self.recycled = 0

    def start(self, boot: bool = True) -> None:
        """Start the workers' threads; with ``boot``, their processes too (in the background,
        never needed before the first job: a job boots them). ``start(boot=False)`` lets the
        threads wait for :meth:`boot`, so the server's own start-up does not share the CPU
        with the workers' (the engine boots them a moment after a workspace is indexed)."""
        with self._cond:
            if boot:
                self._boot_at = time.monotonic()
                self._cond.notify_all()
            if self._slots or self._closed or self.size == 0:
                return
            # the last one or two take background work (the only one takes all), the others
            # requests; the second background worker is the index's: it starts with the index's
            # first job (not with the others, on a workspace's first second, when the CPU is
            # the editor's)
            first = self.size - background_workers(self.size)
            self._slots = [
                _Slot(self, i, requests_only=i < first, index_only_boot=i > first) for i in range(self.size)
            ]
        for slot in self._slots:
            slot.thread.start()

    def boot(self, after: float = 0.0) -> None:
        """Start the worker processes ``after`` seconds from now, or at the first job if that
        comes sooner (and the threads, if need be)."""
        self.start(boot=False)
        with self._cond:
            at = time.monotonic() + after
            self._boot_at = at if self._boot_at is None else min(self._boot_at, at)
            self._cond.notify_all()

    def _wait_boot(self, index_only: bool = False) -> bool:
        """Slots' side of :meth:`boot`: wait for the boot time or a job (``index_only``: for an
        index job); False once closed."""
        with self._cond:
            while not self._closed and not (
                self._indexing if index_only else (self._demand or self._prefetch or self._background)
            ):
                if index_only:
                    self._cond.wait()
                    continue
                if self._boot_at is None:
                    self._cond.wait()
                    continue
                left = self._boot_at - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return not self._closed

    def analyze(
        self,
        rel: str,
        *,
        path: Path | None = None,
        root: Path | None = None,
        max_bytes: int = 0,
        text: str | None = None,
        want_data: bool = False,
        prefetch: bool = False,
    ) -> Analysed:
        """Analyse the editor's ``text`` of ``rel``, or the file at ``path`` (read in the worker,
        confined to ``root``, at most ``max_bytes``). Raises PathRefused (refusals, failures)."""
        header: dict[str, Any] = {"op": "analyze", "rel": rel}
        blobs: tuple[bytes, ...] = ()
        if text is not None:
            header["text"] = True
            blobs = (text.encode("utf-8", "surrogatepass"),)
        else:
            if path is None or root is None:
                raise ValueError("analyze() needs text, or path and root")
            header |= {"path": str(path), "root": str(root), "maxBytes": max_bytes, "wantData": want_data}
        if self.size == 0:
            return _result(*_answer(header, list(blobs)))
        return _result(*self._run(header, blobs, self._prefetch if prefetch else self._demand))

    def index_files(
        self, files: list[tuple[str, Path]], root: Path, max_bytes: int
    ) -> list[Analysed | PathRefused]:
        """What the reference graph reads of several files on disk (``analysis`` is empty), in
        one job: one round trip and one answer for them all, where a job per file cost the
        server more than the worker's own work. Each file's result, in order, or the
        PathRefused that refused it; raises WorkerFailed when the job as a whole failed.

        Background work: taken by the background workers after their prefetch jobs."""
        header: dict[str, Any] = {
            "op": "index",
            "rel": f"{files[0][0]} (+{len(files) - 1})" if files else "",  # (for the logs)
            "files": [[rel, str(path)] for rel, path in files],
            "root": str(root),
            "maxBytes": max_bytes,
        }
        reply, out = _answer(header, []) if self.size == 0 else self._run(header, (), self._background)
        if not reply.get("ok") or len(out) != len(files):
            answered = f"an index job answered {len(out)} of {len(files)}"
            raise WorkerFailed(str(reply.get("message") or answered))
        results: list[Analysed | PathRefused] = []
        for blob in out:
            try:
                results.append(_result(orjson.loads(blob), [b""]))
            except PathRefused as exc:
                results.append(exc)
        return results

    def _run(
        self, header: dict[str, Any], blobs: tuple[bytes, ...], queue: deque[_Job]
    ) -> tuple[dict[str, Any], list[bytes]]:
        """Queue a job, wait for a worker to answer it: its reply and blobs (raises what failed it)."""
        job = _Job(header, blobs)
        boot_at = self._boot_at
        if not self._slots or boot_at is None or boot_at > time.monotonic():
            self.start()  # the first job boots every worker (then a queued job is what wakes them)
        with self._cond:
            if self._closed:
                raise WorkerFailed("the analysis workers are shut down")
            self._next_id += 1
            header["id"] = self._next_id
            queue.append(job)
            # (a latch, not the queue: another worker may take the job before this one looks)
            self._indexing = self._indexing or queue is self._background
            self.jobs += 1
            self._cond.notify_all()
        job.wait()
        if job.error is not None:
            raise job.error
        assert job.reply is not None
        return job.reply, job.out

    # slots' side ------------------------------------------------------------------
    def _take(self, requests_only: bool) -> _Job | None:
        """The next job for a free worker, or None once closed. A request goes to the request
        worker when it is idle; the others take requests it cannot, then prefetch work."""
        with self._cond:
            if requests_only:
                self._idle_request_slots += 1
            try:
                while True:
                    if self._closed:
                        return None
                    job = self._next(requests_only)
                    if job is not None:
                        break
                    self._cond.wait()
            finally:
                if requests_only:
                    self._idle_request_slots -= 1
            # What this worker could not take, another may (a request worker that was idle is
            # not any more): only then are the others woken, not after every job.
            if self._demand or self._prefetch or self._background:
                self._cond.notify_all()
            return job

    def _next(self, requests_only: bool) -> _Job | None:
        """The queued job a free worker of its kind takes now, if any (lock held)."""
        if self._demand and (requests_only or not self._idle_request_slots):
            return self._demand.popleft()
        if not requests_only:
            if self._prefetch:
                return self._prefetch.popleft()
            if self._background:
                return self._background.popleft()
        return None

    def _finish(self, job: _Job) -> None:
        if job.error is not None:
            with self._cond:
                self.failed += 1
        job.finish()

    def stats(self) -> dict[str, Any]:
        with self._cond:
            return {
                "workers": self.size,
                "alive": sum(1 for s in self._slots if s.alive()),
                # (the index's background worker starts with the first index job)
                "notStarted": sum(1 for s in self._slots if not s.spawned),
                "jobs": self.jobs,
                "failed": self.failed,
                "restarts": self.restarts,
                "retried": self.retried,
                "recycled": self.recycled,
                "queued": len(self._demand) + len(self._prefetch) + len(self._background),
            }

    def background_slots(self) -> int:
        """How many index jobs the workers may run at once (1 without workers)."""
        return background_workers(self.size) if self.size else 1

    def pids(self) -> list[int]:
        """Process ids of the running workers (tests, benchmarks)."""
        return [s.proc.pid for s in self._slots if s.proc is not None and s.alive()]

    def close(self, timeout: float = 5.0) -> None:
        """Fail queued jobs, let running ones finish (up to ``timeout``), stop every worker."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            pending = [*self._demand, *self._prefetch, *self._background]
            self._demand.clear()
            self._prefetch.clear()
            self._background.clear()
            self._cond.notify_all()
        for job in pending:
            job.error = WorkerFailed("the analysis workers are shut down")
            job.finish()
        deadline = time.monotonic() + timeout
        for slot in self._slots:
            slot.thread.join(max(0.0, deadline - time.monotonic()))
        for slot in self._slots:
            slot.kill()


class _Slot:
    """One worker process and the server thread that feeds it."""

    def __init__(
        self, pool: AnalysisPool, index: int, *, requests_only: bool, index_only_boot: bool = False
    ) -> None:
        self.pool = pool
        self.requests_only = requests_only
        self.index_only_boot = index_only_boot  # its process starts at the first index job
        self.nice = NICE_REQUESTS if requests_only or pool.size == 1 else NICE_PREFETCH
        self.proc: subprocess.Popen[bytes] | None = None
        self.spawned = False
        self.recycle = False
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name=f"smartcache-worker-{index}", daemon=True)

    def alive(self) -> bool:
        proc = self.proc
        return proc is not None and proc.poll() is None

    def _run(self) -> None:
        try:
            if self.pool._wait_boot(self.index_only_boot):
                self._process()  # boot the worker now, not on the first job
        except OSError as exc:
            log.warning("cannot start an analysis worker: %s", exc)
        try:
            while True:
                job = self.pool._take(self.requests_only)
                if job is None:
                    return
                try:
                    self._do(job)
                except BaseException as exc:  # never leave a caller waiting
                    job.error = WorkerFailed(f"analysis worker error: {exc}")
                self.pool._finish(job)
                if self.recycle:  # after the caller has its answer
                    self.recycle = False
                    self.pool.recycled += 1
                    self._stop()
                    self._process()
        finally:
            self._stop()

    def _do(self, job: _Job) -> None:
        frame = encode_frame(job.header, *job.blobs)
        while True:
            job.attempts += 1
            try:
                proc = self._process()
                assert proc.stdin is not None and proc.stdout is not None
                _write_all(proc.stdin.fileno(), frame)
                reply, out = self._receive(proc.stdout, time.monotonic() + self.pool.timeout)
                if reply.get("id") != job.header.get("id"):
                    raise ValueError(f"answer to job {reply.get('id')} for job {job.header.get('id')}")
            except TimeoutError:
                self.kill()
                job.error = WorkerFailed(
                    f"analysing {job.header.get('rel')} took over {self.pool.timeout:g}s; worker restarted"
                )
                return
            except (OSError, EOFError, ValueError) as exc:
                code = self.kill()
                log.warning("analysis worker died (exit %s, %s) during %s", code, exc, job.header.get("rel"))
                if job.attempts < ATTEMPTS and not self.pool._closed:
                    self.pool.retried += 1
                    continue
                job.error = WorkerFailed(f"the analysis worker died twice on {job.header.get('rel')}")
                return
            job.reply, job.out = reply, out
            rss = reply.get("rss")
            if isinstance(rss, int) and rss > self.pool.max_rss:
                log.info("analysis worker at %d MB of memory: replaced", rss >> 20)
                self.recycle = True
            return

    def _receive(self, stdout: IO[bytes], deadline: float) -> tuple[dict[str, Any], list[bytes]]:
        fd = stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        while not poller.poll(max(0.0, deadline - time.monotonic()) * 1000):
            if time.monotonic() >= deadline:
                raise TimeoutError
        return read_frame(fd)

    def _process(self) -> subprocess.Popen[bytes]:
        with self._lock:
            if self.proc is not None and self.proc.poll() is None:
                return self.proc
            if self.spawned:
                self.pool.restarts += 1
            self.spawned = True
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
            command = self.pool.command or [sys.executable, "-m", "smartcache_ls.workers"]
            nice = shutil.which("nice")
            if nice is not None:  # niced from its first instruction, start-up included
                command = [nice, "-n", str(self.nice), *command]
            else:
                env[_NICE] = str(self.nice)
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                bufsize=0,
                close_fds=True,
                env=env,
            )
            return self.proc

    def kill(self) -> int | None:
        """Kill the worker process (if any); its exit code."""
        with self._lock:
            proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        code = proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
        return code

    def _stop(self) -> None:
        """Let the worker exit on end of input; kill it if it does not."""
        with self._lock:
            proc = self.proc
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


# ------------------------------------------------------------------------- the worker


def _rss() -> int | None:
    """This process's resident memory in bytes (Linux), else None."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def main() -> None:
    """A worker process: answer jobs from stdin on stdout until stdin closes."""
    out_fd = os.dup(1)
    os.dup2(2, 1)  # anything printed goes to stderr, never into the frames
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    nice = os.environ.pop(_NICE, "")
    if nice.isdigit():  # not started through nice(1)
        with contextlib.suppress(OSError):
            os.nice(int(nice))
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="smartcache worker %(process)d: %(message)s"
    )
    from .analysis.languages import GRAMMARS, get_parser

    for name in GRAMMARS:  # load every grammar before the first job
        get_parser(name)
    while True:
        try:
            header, blobs = read_frame(0)
        except (EOFError, OSError):
            return
        except ValueError as exc:
            log.error("unreadable request, stopping: %s", exc)
            return
        reply, out = _answer(header, blobs)
        reply["id"], reply["rss"] = header.get("id"), _rss()
        _write_all(out_fd, encode_frame(reply, *out))


if __name__ == "__main__":
    main()
