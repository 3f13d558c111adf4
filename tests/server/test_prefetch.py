from __future__ import annotations

import threading
import time

from smartcache_ls.prefetch import PLAN, REPLAN, Job, Prefetcher


def test_runs_jobs_in_order_dedupes_and_supersedes() -> None:
    gate, started = threading.Event(), threading.Event()
    seen: list[str] = []

    def warm(job: Job) -> None:
        started.set()
        gate.wait(5)
        seen.append(job.rel)

    worker = Prefetcher(warm)
    worker.start()
    try:
        assert worker.submit([Job("ws", "blocker")]) == 1
        assert started.wait(5)
        # While the worker holds 'blocker', queue work and supersede part of it.
        assert worker.submit([Job("ws", "a"), Job("ws", "a"), Job("ws", "b")]) == 2
        assert worker.submit([Job("ws", "keep", sticky=True)]) == 1
        assert worker.submit([Job("ws", "c"), Job("ws", "keep")], supersede=True) == 1
        gate.set()
        assert worker.wait_idle(5)
        assert seen == ["blocker", "keep", "c"]
        stats = worker.stats()
        assert stats["superseded"] == 2 and stats["completed"] == 3 and stats["queued"] == 0
    finally:
        worker.stop()


def test_a_replan_goes_first_and_is_the_queued_plan_of_its_switch() -> None:
    gate, started = threading.Event(), threading.Event()
    seen: list[tuple[str, str]] = []

    def warm(job: Job) -> None:
        started.set()
        gate.wait(5)
        seen.append((job.reason, job.rel))

    worker = Prefetcher(warm, quiet=0.0)
    worker.start()
    try:
        assert worker.submit([Job("ws", "blocker")]) == 1
        assert started.wait(5)
        assert worker.submit([Job("ws", "a.py", reason=PLAN)]) == 1
        # the switch's plan is still queued: it will plan with what the request learnt
        assert worker.submit([Job("ws", "a.py", reason=REPLAN)], first=True) == 0
        assert worker.submit([Job("ws", "x.py"), Job("ws", "y.py")]) == 2
        assert worker.submit([Job("ws", "b.py", reason=REPLAN)], first=True) == 1
        gate.set()
        assert worker.wait_idle(5)
        assert seen == [
            ("predicted", "blocker"),
            (REPLAN, "b.py"),
            (PLAN, "a.py"),
            ("predicted", "x.py"),
            ("predicted", "y.py"),
        ]
    finally:
        worker.stop()


def test_failures_do_not_kill_the_worker_and_queue_is_bounded() -> None:
    gate, started = threading.Event(), threading.Event()
    done: list[str] = []

    def warm(job: Job) -> None:
        started.set()
        gate.wait(5)
        if job.rel.startswith("bad"):
            raise FileNotFoundError(job.rel)
        done.append(job.rel)

    worker = Prefetcher(warm, max_queue=3)
    worker.start()
    try:
        worker.submit([Job("ws", "bad0")])
        assert started.wait(5)
        queued = worker.submit([Job("ws", f"f{i}") for i in range(10)])
        assert queued == 3 and worker.stats()["dropped"] == 7
        gate.set()
        assert worker.wait_idle(5)
        assert done == ["f0", "f1", "f2"] and worker.stats()["failed"] == 1
    finally:
        worker.stop()


def test_drop_forgets_a_workspace() -> None:
    worker = Prefetcher(lambda job: None)
    worker.submit([Job("a", "x"), Job("b", "y")])
    worker.drop("a")
    assert worker.stats()["queued"] == 1
    worker.stop()


def test_prefetch_waits_for_requests_in_flight_but_is_never_starved() -> None:
    started: list[float] = []
    worker = Prefetcher(lambda job: started.append(time.monotonic()), quiet=0.05)
    worker.start()
    try:
        with worker.yielding():
            t0 = time.monotonic()
            worker.submit([Job("ws", "a")])
            time.sleep(0.3)
            assert not started  # held back while the request is in flight
        assert worker.wait_idle(5)
        assert started[0] - t0 >= 0.3 + 0.05 - 0.01  # after it ended, and a quiet spell
        with worker.yielding():  # a request that never ends (or a steady stream of them)
            t1 = time.monotonic()
            worker.submit([Job("ws", "b")])
            assert worker.wait_idle(5)
        assert 0.9 <= started[1] - t1 < 3  # MAX_YIELD, then it goes anyway
        assert worker.stats()["yieldedSeconds"] >= 1.2
    finally:
        worker.stop()


def test_prefetch_stops_yielding_to_a_request_that_waits_for_it() -> None:
    """The request in flight waits on the very work prefetch holds: prefetch must go on."""
    worker = Prefetcher(lambda job: None, quiet=0.05)
    waiting = threading.Event()
    with worker.yielding():
        threading.Timer(0.1, waiting.set).start()
        t0 = time.monotonic()
        worker.wait_quiet(limit=5.0, until=waiting.is_set)
        assert time.monotonic() - t0 < 2.0  # not the 5 s limit
    worker.stop()
