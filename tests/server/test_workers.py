"""The analysis worker pool: real worker processes over real pipes."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from smartcache_ls.analysis import analyze
from smartcache_ls.engine import Engine
from smartcache_ls.index.symbols import definitions
from smartcache_ls.paths import PathRefused, path_to_uri
from smartcache_ls.protocol import decoded
from smartcache_ls.settings import Settings
from smartcache_ls.workers import NICE_PREFETCH, NICE_REQUESTS, AnalysisPool, WorkerFailed

from ..conftest import make_workspace

MAX = 2 * 1024 * 1024


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return Path(os.path.realpath(make_workspace(tmp_path / "ws")))


@pytest.fixture
def pool() -> Iterator[AnalysisPool]:
    workers = AnalysisPool(2)
    yield workers
    workers.close()


def big_python(lines: int) -> str:
    return "".join(f"def f{i}(x):\n    return x + {i}  # c\n" for i in range(lines))


def _wait_alive(pool: AnalysisPool, n: int) -> list[int]:
    deadline = time.monotonic() + 20
    while len(pool.pids()) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return pool.pids()


def test_a_worker_reads_and_analyses_like_the_server_would(pool: AnalysisPool, root: Path) -> None:
    text = (root / "models.py").read_text()
    done = pool.analyze("models.py", path=root / "models.py", root=root, max_bytes=MAX, want_data=True)
    expected = analyze("models.py", text)
    names = expected.pop("names")  # the reference graph's: beside the analysis, never in it
    assert orjson.loads(done.analysis) == expected
    assert done.names == names
    assert done.definitions == orjson.loads(orjson.dumps(definitions(expected["symbols"])))
    assert done.data == text.encode() and done.hash == analyze("models.py", text)["hash"]
    st = (root / "models.py").stat()
    assert (done.mtime_ns, done.size) == (st.st_mtime_ns, st.st_size)
    edited = "class Edited:\n    pass\n\ud800"  # the editor's text, a lone surrogate included
    assert orjson.loads(pool.analyze("x.py", text=edited).analysis) == _without_names(analyze("x.py", edited))


def test_refusals_come_back_with_their_reason(pool: AnalysisPool, root: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.py").write_text("token = 1\n")
    (root / "link.py").symlink_to(tmp_path / "secret.py")
    cases = {
        "data.bin": "binary",
        "missing.py": "notFound",
        "link.py": "outsideWorkspace",
        "pkg": "isDirectory",
    }
    for rel, reason in cases.items():
        with pytest.raises(PathRefused) as info:
            pool.analyze(rel, path=root / rel, root=root, max_bytes=MAX)
        assert info.value.reason == reason, rel
    with pytest.raises(PathRefused) as info:
        pool.analyze("models.py", path=root / "models.py", root=root, max_bytes=10)
    assert info.value.reason == "tooLarge"
    assert pool.stats()["failed"] == 0 and len(pool.pids()) == 2  # refusals are answers, not crashes


def test_an_index_job_reads_many_files_in_one_answer(pool: AnalysisPool, root: Path, tmp_path: Path) -> None:
    """One job for several files: each file's graph fields (what graph_fields() and the symbol
    table's definitions make of it) or its refusal, in order; the same with no workers."""
    from smartcache_ls.analysis.graph_fields import graph_fields
    from smartcache_ls.index.symbols import NESTED_KINDS

    (tmp_path / "secret.py").write_text("token = 1\n")
    (root / "link.py").symlink_to(tmp_path / "secret.py")
    rels = ["models.py", "data.bin", "util.py", "missing.py", "link.py"]
    files = [(rel, root / rel) for rel in rels]
    jobs = pool.stats()["jobs"]
    for results in (pool.index_files(files, root, MAX), AnalysisPool(0).index_files(files, root, MAX)):
        assert len(results) == len(rels)
        for rel, one in zip(rels, results, strict=True):
            if rel in ("models.py", "util.py"):
                assert not isinstance(one, Exception), rel
                text = (root / rel).read_text()
                fields = graph_fields(rel, text, NESTED_KINDS)
                assert one.analysis == b"" and one.hash == fields["hash"] and one.imports == fields["imports"]
                assert one.names == orjson.loads(orjson.dumps(fields["names"]))
                assert one.definitions == orjson.loads(orjson.dumps(definitions(fields["symbols"])))
                assert (one.mtime_ns, one.size) == ((st := (root / rel).stat()).st_mtime_ns, st.st_size)
            else:
                assert isinstance(one, PathRefused), rel
        reasons = [r.reason for r in results if isinstance(r, PathRefused)]
        assert reasons == ["binary", "notFound", "outsideWorkspace"]
    assert pool.stats()["jobs"] == jobs + 1 and pool.stats()["failed"] == 0


def test_workers_run_nicer_than_the_server(pool: AnalysisPool) -> None:
    """The request worker just below the server, the prefetching one far below."""
    pool.start()
    pids = _wait_alive(pool, 2)
    assert len(pids) == 2
    own = os.getpriority(os.PRIO_PROCESS, 0)
    want = [min(own + NICE_REQUESTS, 19), min(own + NICE_PREFETCH, 19)]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if [os.getpriority(os.PRIO_PROCESS, pid) for pid in pids] == want:
            break
        time.sleep(0.05)
    assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in pids] == want


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_index_jobs_run_on_the_background_workers_only(root: Path) -> None:
    """From four workers on, two are background workers, niced like prefetch: the index's jobs
    run on both of them at once and never on a request worker (at the requests' priority it
    would take the CPU from the server whenever the editor resumes). The second starts with
    the first index job."""
    quad = AnalysisPool(4)
    try:
        quad.start()
        assert len(_wait_alive(quad, 3)) == 3
        time.sleep(0.5)
        assert len(quad.pids()) == 3  # (no index job yet)
        [first] = quad.index_files([("util.py", root / "util.py")], root, MAX)
        assert not isinstance(first, Exception)
        pids = _wait_alive(quad, 4)
        own = os.getpriority(os.PRIO_PROCESS, 0)
        want = [min(own + n, 19) for n in (NICE_REQUESTS, NICE_REQUESTS, NICE_PREFETCH, NICE_PREFETCH)]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # niced, and done loading their grammars
            before = [_cpu(pid) for pid in pids]
            time.sleep(0.3)
            niced = [os.getpriority(os.PRIO_PROCESS, p) for p in pids] == want
            if niced and before == [_cpu(p) for p in pids]:
                break
        (root / "big.py").write_text(big_python(15_000))
        threads = [
            threading.Thread(target=quad.index_files, args=([("big.py", root / "big.py")], root, MAX))
            for _ in range(6)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        grew = [_cpu(pid) - b for pid, b in zip(pids, before, strict=True)]
        assert grew[0] < 0.05 and grew[1] < 0.05, grew  # the request workers did none of it
        assert grew[2] > 0.1 and grew[3] > 0.1, grew  # both background workers did
        assert quad.background_slots() == 2
    finally:
        quad.close()


def test_a_killed_worker_is_replaced_and_its_job_retried(pool: AnalysisPool, root: Path) -> None:
    text = big_python(40_000)
    (root / "big.py").write_text(text)
    pool.start()
    before = _wait_alive(pool, 2)
    results: list[object] = []

    def job() -> None:
        try:
            results.append(pool.analyze("big.py", path=root / "big.py", root=root, max_bytes=MAX))
        except Exception as exc:
            results.append(exc)

    thread = threading.Thread(target=job)
    thread.start()
    time.sleep(0.3)  # the job is running in one of the workers
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    thread.join(60)
    assert len(results) == 1 and not isinstance(results[0], Exception), results
    stats = pool.stats()
    assert stats["retried"] >= 1 and stats["restarts"] >= 1
    after = pool.analyze("util.py", path=root / "util.py", root=root, max_bytes=MAX)
    assert orjson.loads(after.analysis)["symbols"][0]["name"] == "helper"
    assert not set(pool.pids()) & set(before)


def test_a_job_that_kills_every_worker_fails_cleanly(root: Path) -> None:
    dies = [sys.executable, "-c", "import os; os.read(0, 1); os._exit(9)"]
    broken = AnalysisPool(1, command=dies)
    try:
        with pytest.raises(WorkerFailed) as info:
            broken.analyze("util.py", path=root / "util.py", root=root, max_bytes=MAX)
        assert info.value.reason == "analysisFailed" and "died twice" in info.value.message
        assert broken.stats()["retried"] == 1 and broken.stats()["failed"] == 1
    finally:
        broken.close()


def test_a_job_over_the_deadline_is_killed_and_the_pool_goes_on(root: Path) -> None:
    (root / "big.py").write_text(big_python(60_000))
    slow = AnalysisPool(1)
    try:
        slow.analyze("util.py", text="x = 1\n")  # booted
        slow.timeout = 0.05
        with pytest.raises(WorkerFailed) as info:
            slow.analyze("big.py", path=root / "big.py", root=root, max_bytes=10 * MAX)
        assert "took over" in info.value.message
        slow.timeout = 30
        assert orjson.loads(slow.analyze("a.py", text="def g(): pass\n").analysis)["symbols"]
    finally:
        slow.close()


def _wait_queued(pool: AnalysisPool, n: int) -> None:
    deadline = time.monotonic() + 20
    while pool.stats()["queued"] < n and time.monotonic() < deadline:
        time.sleep(0.005)


def test_requests_go_before_queued_prefetch_work(root: Path) -> None:
    (root / "big.py").write_text(big_python(100_000))
    single = AnalysisPool(1)
    order: list[str] = []
    try:
        single.analyze("a.py", text="x = 1\n")  # booted

        def run(name: str, prefetch: bool) -> None:
            single.analyze(name, path=root / name, root=root, max_bytes=10 * MAX, prefetch=prefetch)
            order.append(name)

        threads = [threading.Thread(target=run, args=("big.py", True))]
        threads[0].start()
        # The queued prefetch jobs take long enough (tens of ms) that the order their threads
        # return in is the order the worker ran them, not how the OS happened to wake the threads.
        for name in ("mid1.py", "mid2.py"):
            (root / name).write_text(big_python(20_000))
        for name in ("mid1.py", "mid2.py"):
            threads.append(threading.Thread(target=run, args=(name, True)))
            threads[-1].start()
        _wait_queued(single, 2)  # big.py runs, two prefetch jobs wait
        threads.append(threading.Thread(target=run, args=("util.py", False)))
        threads[-1].start()
        _wait_queued(single, 3)
        assert not order  # (big.py still running: the request was queued behind it)
        for t in threads:
            t.join(60)
        assert order[0] == "big.py" and order[1] == "util.py", order
    finally:
        single.close()


def test_prefetch_leaves_a_worker_free_for_requests(root: Path) -> None:
    (root / "big.py").write_text(big_python(60_000))
    pair = AnalysisPool(2)  # prefetch never takes the request worker
    try:
        pair.start()
        _wait_alive(pair, 2)
        pair.analyze("a.py", text="x = 1\n")
        busy = [
            threading.Thread(
                target=pair.analyze,
                args=("big.py",),
                kwargs={"path": root / "big.py", "root": root, "max_bytes": 10 * MAX, "prefetch": True},
            )
            for _ in range(2)
        ]
        for t in busy:
            t.start()
        time.sleep(0.1)
        t0 = time.perf_counter()
        pair.analyze("util.py", path=root / "util.py", root=root, max_bytes=MAX)
        waited = time.perf_counter() - t0
        t1 = time.perf_counter()
        for t in busy:
            t.join(60)
        rest = time.perf_counter() - t1
        assert waited < rest  # not queued behind the two prefetch jobs
    finally:
        pair.close()


def test_close_stops_every_worker_and_refuses_new_jobs(root: Path) -> None:
    workers = AnalysisPool(2)
    workers.start()
    pids = _wait_alive(workers, 2)
    workers.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(WorkerFailed):
        workers.analyze("a.py", text="x = 1\n")


def test_engine_answers_the_same_with_and_without_workers(tmp_path: Path, root: Path) -> None:
    answers = []
    for n in (0, 2):
        eng = Engine(Settings(analysis_workers=n), tmp_path / f"cache{n}", watch=False)
        try:
            eng.add_folder(path_to_uri(root))
            uri = path_to_uri(root / "app.py")
            first = decoded(eng.get_analysis(uri))
            assert first["source"] == "computed"
            assert decoded(eng.get_file(uri))["source"] == "memory"  # the worker's read was cached too
            again = decoded(eng.get_analysis(uri))
            assert again["source"] == "memory" and {**again, "source": "computed"} == first
            answers.append(first)
            with pytest.raises(PathRefused) as info:
                eng.get_analysis(path_to_uri(root / "data.bin"))
            assert info.value.reason == "binary"
        finally:
            eng.close()
    assert answers[0] == answers[1]


def test_a_worker_grown_past_its_memory_bound_is_replaced(root: Path) -> None:
    small = AnalysisPool(1, max_rss=1)  # every worker is over a 1-byte bound
    try:
        first = small.analyze("util.py", path=root / "util.py", root=root, max_bytes=MAX)
        pid_before = _wait_alive(small, 1)
        deadline = time.monotonic() + 20
        while small.stats()["recycled"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        second = small.analyze("util.py", path=root / "util.py", root=root, max_bytes=MAX)
        assert first.analysis == second.analysis
        assert small.stats()["recycled"] >= 1 and small.pids() != pid_before
        assert small.stats()["failed"] == 0
    finally:
        small.close()


def _without_names(analysis: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in analysis.items() if k != "names"}


def test_a_request_waiting_while_the_request_worker_is_taken_goes_to_the_other(root: Path) -> None:
    """Two requests queued at once on a pool of one request worker and one prefetch worker run
    side by side: the prefetch worker takes the one the busy request worker cannot (a worker
    that takes a job wakes the others when jobs are left over, and queueing one wakes them)."""
    (root / "big.py").write_text(big_python(40_000))
    pair = AnalysisPool(2)
    try:
        pair.start()
        _wait_alive(pair, 2)
        job = {"path": root / "big.py", "root": root, "max_bytes": 10 * MAX}
        t0 = time.perf_counter()
        pair.analyze("big.py", **job)  # type: ignore[arg-type]
        single = time.perf_counter() - t0
        ends: list[float] = []
        lock = threading.Lock()

        def run() -> None:
            pair.analyze("big.py", **job)  # type: ignore[arg-type]
            with lock:
                ends.append(time.perf_counter())

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(ends) == 2
        # one after the other, the second would end a whole job after the first
        assert abs(ends[1] - ends[0]) < 0.6 * single, (ends, single)
    finally:
        pair.close()


def test_every_job_of_a_mixed_burst_is_answered(root: Path) -> None:
    """Requests, prefetch and index jobs queued from many threads at once: none is left waiting
    (a worker is woken whenever a job it may take is queued or left over)."""
    trio = AnalysisPool(3)
    done: list[str] = []
    lock = threading.Lock()
    try:
        def run(i: int) -> None:
            kind = ("request", "prefetch", "index")[i % 3]
            text = big_python(200 + 50 * (i % 7))
            if kind == "index":
                path = root / f"m{i}.py"
                path.write_text(text)
                [one] = trio.index_files([(path.name, path)], root, 1 << 20)
                assert not isinstance(one, Exception)
            else:
                trio.analyze(f"m{i}.py", text=text, prefetch=kind == "prefetch")
            with lock:
                done.append(kind)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(60)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(done) == 60
        assert {k: done.count(k) for k in set(done)} == {"request": 20, "prefetch": 20, "index": 20}
    finally:
        trio.close()
