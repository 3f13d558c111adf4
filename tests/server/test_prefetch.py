from __future__ import annotations

import threading

from smartcache_ls.prefetch import Job, Prefetcher


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
