"""Cache simulation figures on traces small enough to work out by hand."""

from __future__ import annotations

import pytest

from smartcache_ls.predict.simulate import (
    cache_report,
    compulsory_ceiling,
    lru_hits,
    opt_hits,
    prefetch_lru,
)

TRACE = ["A", "B", "C", "A", "B", "D", "A"]


def test_lru_by_hand() -> None:
    # size 2: A B | C evicts A | A evicts B | B evicts C | D evicts A | A misses -> no hits
    assert lru_hits(TRACE, 2) == 0
    # size 3: A B C, A hit, B hit, D evicts C, A hit
    assert lru_hits(TRACE, 3) == 3
    assert lru_hits(TRACE, None) == 3
    assert lru_hits(["A", "A", "A"], 1) == 2


def test_opt_by_hand() -> None:
    # size 2: A B, C evicts B (next use 4, A's is 3), A hit, B evicts C (never again),
    # D evicts B (never again; A next at 6), A hit -> 2 hits
    assert opt_hits(TRACE, 2) == 2
    assert opt_hits(TRACE, 3) == 3
    assert opt_hits(TRACE, 1) == 0
    assert opt_hits(TRACE, None) == 3
    assert opt_hits([], 3) == 0


def test_opt_never_worse_than_lru() -> None:
    seq = [str((i * 7919) % 13 + (i % 5)) for i in range(400)]
    for size in (1, 2, 3, 5, 8, 13):
        opt = opt_hits(seq, size)
        assert opt >= lru_hits(seq, size)
        assert opt <= len(seq) - len(set(seq))  # every first access misses


def test_compulsory() -> None:
    assert compulsory_ceiling(TRACE) == pytest.approx(1 - 4 / 7)
    assert compulsory_ceiling([]) == 0.0


def perfect(seq: list[str]) -> list[list[tuple[str, float]]]:
    return [[(seq[i + 1], 0.9)] if i + 1 < len(seq) else [] for i in range(len(seq))]


def test_prefetch_with_a_perfect_oracle() -> None:
    res = prefetch_lru(TRACE, perfect(TRACE), size=2, k=1)
    # every access but the first was prefetched just before it; with room for only the
    # current file and one more, each prefetch pushes out an older file, so all six are issued
    assert res.hits == 6
    assert res.issued == 6
    assert res.used == 6
    assert res.accuracy == 1.0
    roomy = prefetch_lru(TRACE, perfect(TRACE), size=None, k=1)
    assert roomy.hits == 6
    assert roomy.issued == 3  # B, C and D; A and B were still cached when predicted again


def test_prefetch_threshold_and_useless_predictions() -> None:
    none = prefetch_lru(TRACE, perfect(TRACE), size=2, k=1, threshold=0.95)
    assert none.issued == 0 and none.hits == lru_hits(TRACE, 2)
    wrong = [[("Z", 0.9)] for _ in TRACE]
    res = prefetch_lru(TRACE, wrong, size=3, k=1)
    assert res.used == 0 and res.issued >= 1
    assert res.hits <= lru_hits(TRACE, 3)


def test_prefetch_never_evicts_the_file_just_opened() -> None:
    preds = [[("X", 1.0), ("Y", 1.0), ("Z", 1.0)] for _ in range(3)]
    res = prefetch_lru(["A", "A", "A"], preds, size=2, k=3)
    assert res.hits == 2  # A stays; only one prefetch fits beside it


def test_cache_report_fields() -> None:
    report = cache_report(TRACE, perfect(TRACE), 2, k=1)
    assert report["lru"] == 0.0
    assert report["opt"] == pytest.approx(2 / 7)
    assert report["compulsory"] == pytest.approx(3 / 7)
    assert report["prefetch"] == pytest.approx(6 / 7)
    assert report["coverage"] == pytest.approx(6 / 7)  # LRU missed 7, we miss 1
    assert report["prefetchAccuracy"] == 1.0
