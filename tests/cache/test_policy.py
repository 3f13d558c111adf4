"""FrequencySketch and the adaptive window of the memory tier."""

from __future__ import annotations

import random

from smartcache_ls.cache.codec import CodecError, decode, encode, encode_sized, size_of
from smartcache_ls.cache.memory import MemoryTier
from smartcache_ls.cache.policy import TAG_SHIFT, FrequencySketch, GhostList
from smartcache_ls.cache.stats import CacheStats, PrefetchStats
from smartcache_ls.predict.simulate import lru_hits


def test_sketch_counts_and_saturates() -> None:
    s = FrequencySketch(1000)
    for _ in range(5):
        s.increment("a")
    s.increment("b")
    assert s.frequency("a") == 5
    assert s.frequency("b") == 1
    assert s.frequency("never") == 0
    for _ in range(40):
        s.increment("a")
    assert s.frequency("a") == 15


def test_sketch_increment_returns_the_estimate() -> None:
    s = FrequencySketch(1000)
    assert [s.increment("k") for _ in range(4)] == [1, 2, 3, 4]


def test_sketch_ages_by_halving() -> None:
    s = FrequencySketch(16)  # sample size 20 x 16 increments
    for _ in range(8):
        s.increment("hot")
    resets = s.resets
    rng = random.Random(1)
    while s.resets == resets:
        s.increment(f"noise{rng.random()}")
    assert s.frequency("hot") == 4


def test_sketch_grow_lengthens_the_sample_and_keeps_counts() -> None:
    s = FrequencySketch(16)
    for _ in range(6):
        s.increment("keep")
    s.grow(10_000)
    assert s.capacity == 10_000 and s.sample_size == 20 * 10_000
    assert s.frequency("keep") == 6
    s.grow(100)  # never shrinks
    assert s.capacity == 10_000


def test_sketch_tags_survive_aging_until_dropped() -> None:
    s = FrequencySketch(16)
    s.put("ghost", (2 << TAG_SHIFT) | 1)  # tag 2, count 1
    s.put("stale", (1 << TAG_SHIFT) | 3)
    s.put("plain", 1)
    assert s.frequency("ghost") == 1  # the tag is not part of the count
    s.age(lambda key, tag: key == "ghost")
    assert s.counts == {"ghost": 2 << TAG_SHIFT, "stale": 1}  # counts halved; stale tag gone
    assert s.take("ghost") == 2 << TAG_SHIFT and "ghost" not in s.counts
    assert s.take("never") == 0
    assert s.put("zero", 0) is False and "zero" not in s.counts


def test_sketch_put_asks_for_aging_past_max_keys() -> None:
    s = FrequencySketch(16)  # max_keys = 160
    asked = [s.put(f"k{i}", 2) for i in range(161)]
    assert asked[-1] and not any(asked[:-1])


def _replay(m: MemoryTier, keys: list[str]) -> float:
    hits = 0
    for k in keys:
        if m.get(k) is None:
            m.set(k, k, 1)
        else:
            hits += 1
    return hits / len(keys)


def test_window_grows_on_a_recency_workload() -> None:
    """Every key is used twice, 70 requests apart, never again: only recency helps (LRU of 100
    hits every second use); rejected newcomers come back, so the window grows."""
    keys: list[str] = []
    for i in range(20_000):
        keys.append(f"k{i}")
        if i >= 35:
            keys.append(f"k{i - 35}")
    m = MemoryTier(100)
    ratio = _replay(m, keys)
    assert m.stats()["windowMaxBytes"] > 70
    assert ratio > 0.45  # close to LRU's 0.5


def test_window_shrinks_on_a_frequency_workload() -> None:
    rng = random.Random(3)
    weights = [1 / (i + 1) for i in range(5000)]
    keys = [f"z{k}" for k in rng.choices(range(5000), weights=weights, k=100_000)]
    m = MemoryTier(200)
    _replay(m, keys)
    assert m.stats()["windowMaxBytes"] < 50


def test_adaptive_matches_or_beats_lru_on_a_loop() -> None:
    """A loop slightly larger than the cache: LRU gets nothing, frequency admission keeps a part."""
    keys = [f"l{i % 120}" for i in range(24_000)]
    ours = _replay(MemoryTier(100), keys)
    assert lru_hits(keys, 100) == 0
    assert ours > 0.5


def test_update_in_place_is_not_an_access() -> None:
    m = MemoryTier(100)
    m.set("a", 1, 1)
    m.set("a", 2, 1)
    m.set("a", 3, 1)
    assert m.get("a") == 3
    assert m.frequency("a") == 2  # the first store and the read


def test_codec_round_trip_and_sizes() -> None:
    value = {"text": "héllo\n", "n": [1, 2.5, None, True], "nested": {"k": []}}
    text = encode(value)
    assert text == '{"text":"héllo\\n","n":[1,2.5,null,true],"nested":{"k":[]}}'
    assert decode(text) == value
    assert decode(text.encode()) == value
    assert encode_sized(value) == (text, len(text.encode()))
    assert size_of("é") == 4  # '"é"' is 4 UTF-8 bytes
    for bad in (float("nan"), {1, 2}, object()):
        try:
            encode(bad)
        except CodecError:
            pass
        else:
            raise AssertionError(f"{bad!r} encoded")
    try:
        decode("{not json")
    except CodecError:
        pass
    else:
        raise AssertionError("bad JSON decoded")


def test_stats_value_objects() -> None:
    s = CacheStats(hits=3, misses=1, loads=2, load_failures=1, total_load_time=3.0)
    assert s.hit_ratio == 0.75 and s.miss_ratio == 0.25
    assert s.average_load_penalty == 1.0
    d = s.plus(CacheStats(hits=1, misses=3)).as_dict()
    assert d["hits"] == 4 and d["misses"] == 4 and d["hitRatio"] == 0.5
    assert CacheStats().hit_ratio == 0.0
    p = PrefetchStats(issued=4, used=1, wasted=2, demand_misses=3)
    assert p.accuracy == 0.25 and p.coverage == 0.25
    assert p.as_dict()["coverage"] == 0.25


def test_ghost_list_is_a_fifo_bounded_by_bytes() -> None:
    g = GhostList(limit=10)
    a, b, c = g.add(4), g.add(4), g.add(4)  # 12 bytes > 10: the oldest goes
    assert not g.holds(a) and g.holds(b) and g.holds(c)
    assert (g.nbytes, g.count) == (8, 2)
    assert g.remove(b) == 4 and g.remove(b) == -1  # taken out once
    d = g.add(6)  # 10 bytes: fits, since b's bytes left with it
    assert g.holds(c) and g.holds(d) and g.nbytes == 10
    assert g.remove(a) == -1  # gone for good, even with room now


def test_ghost_list_stays_small_when_ghosts_return_fast() -> None:
    g = GhostList(limit=1_000_000)
    for _ in range(10_000):
        assert g.remove(g.add(1)) == 1  # every ghost comes back at once (a loop)
    assert g.count == 0 and g.nbytes == 0
    assert len(g.sizes) <= 200  # the holes were passed over and dropped
    g.clear()
    assert not g.holds(g.base - 1) and g.holds(g.add(1))
