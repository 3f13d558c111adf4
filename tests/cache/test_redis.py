"""RedisTier against real redis-server processes: namespacing, TTL, sharing, outages, cluster."""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartcache_ls.cache import MemoryTier, SqliteTier, TieredCache
from smartcache_ls.cache.redis import PASSWORD_ENV, RedisTier, make_namespace, mask_url

from .clock import FakeClock
from .redis_server import REDIS_CLI, RedisServer, free_port, raw, requires_redis_server

pytestmark = requires_redis_server


def test_get_set_delete_and_ttl(redis_server: RedisServer) -> None:
    tier = RedisTier(redis_server.url, namespace="ns1:", ttl=3600)
    assert tier.get("a") is None
    tier.set("a", {"x": [1, "é"]})
    assert tier.get("a") == {"x": [1, "é"]}
    assert tier.get_with_size("a") == ({"x": [1, "é"]}, len('{"x":[1,"é"]}'.encode()))
    left = raw(redis_server).ttl("ns1:a")
    assert 3500 < left <= 3600  # SET ... EX
    assert tier.delete("a")
    assert not tier.delete("a")
    assert tier.get("a") is None
    st = tier.stats()
    assert st["hits"] == 2 and st["misses"] == 2 and st["available"]
    tier.close()


def test_namespaces_never_see_each_other(redis_server: RedisServer) -> None:
    alice = RedisTier(redis_server.url, namespace=make_namespace("/ws/proj", user="alice"))
    bob = RedisTier(redis_server.url, namespace=make_namespace("/ws/proj", user="bob"))
    other_ws = RedisTier(redis_server.url, namespace=make_namespace("/ws/other", user="alice"))
    alice.set("file:a.py", "alice's")
    bob.set("file:a.py", "bob's")
    assert alice.get("file:a.py") == "alice's"
    assert bob.get("file:a.py") == "bob's"
    assert other_ws.get("file:a.py") is None
    alice.clear()
    assert alice.get("file:a.py") is None
    assert bob.get("file:a.py") == "bob's"
    keys = {k.decode() for k in raw(redis_server).keys("*")}
    assert keys == {bob.namespace + "file:a.py"}


def test_prefix_delete_with_glob_characters(redis_server: RedisServer) -> None:
    tier = RedisTier(redis_server.url, namespace="ns:")
    tier.set_many([("a*[1]/x", 1), ("a*[1]/y", 2), ("ab/z", 3)])
    assert tier.delete_prefix("a*[1]/") == 2
    assert tier.get("ab/z") == 3


def test_writes_are_pipelined_in_batches(redis_server: RedisServer) -> None:
    tier = RedisTier(redis_server.url, namespace="ns:")
    before = int(raw(redis_server).info("stats")["total_commands_processed"])
    ops = [("set", f"k{i}", f'"{i}"', 3) for i in range(300)] + [("delete", "k0")]
    assert tier.apply(ops) == 1
    assert tier.get("k299") == "299" and tier.get("k0") is None
    assert raw(redis_server).dbsize() == 299
    after = int(raw(redis_server).info("stats")["total_commands_processed"])
    assert after - before >= 301  # every command ran (in one round trip, not asserted by time)


def test_shared_analyses_only_when_enabled(redis_server: RedisServer) -> None:
    off = RedisTier(redis_server.url, namespace="a:")
    on_a = RedisTier(redis_server.url, namespace="a:", share_analyses=True)
    on_b = RedisTier(redis_server.url, namespace="b:", share_analyses=True)
    off.set_shared("hash1", {"symbols": []})
    assert on_a.get_shared("hash1", 1000) is None
    on_a.set_shared("hash1", {"symbols": ["f"]})
    assert on_b.get_shared("hash1", 1000) == {"symbols": ["f"]}  # teammate, other namespace
    assert off.get_shared("hash1", 1000) is None  # sharing off: not even read
    assert on_b.get_shared("hash1", 10) is None  # larger than the caller accepts: not decoded
    assert on_b.stats()["sharedRejected"] == 1
    spoof = RedisTier(redis_server.url, namespace=make_namespace(user="shared"), share_analyses=True)
    spoof.clear()  # a user called "shared" clears its own namespace, not the team's analyses
    on_a.clear()  # clearing a namespace keeps shared analyses
    assert on_b.get_shared("hash1", 1000) == {"symbols": ["f"]}


def test_password_from_env_and_never_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cret-pw"
    with RedisServer(tmp_path / "r", None, "--requirepass", secret) as srv:
        monkeypatch.setenv(PASSWORD_ENV, secret)
        tier = RedisTier(srv.url, namespace="ns:")
        tier.set("a", 1)
        assert tier.get("a") == 1
        monkeypatch.delenv(PASSWORD_ENV)
        url = f"redis://:{secret}@127.0.0.1:{srv.port}/0"
        tier2 = RedisTier(url, namespace="ns:", backoff_base=0.01)
        assert tier2.get("a") == 1
        assert secret not in tier2.url and "***" in tier2.url
        with caplog.at_level(logging.DEBUG, logger="smartcache_ls.cache.redis"):
            wrong = RedisTier(f"redis://:wrong@127.0.0.1:{srv.port}/0", namespace="ns:")
            assert wrong.get("a") is None
            srv.kill()
            assert tier2.get("a") is None
        text = "\n".join(r.getMessage() for r in caplog.records)
        assert "***" in text
        assert secret not in text and ":wrong@" not in text
    assert mask_url("redis://user:pw@h:1/0") == "redis://user:***@h:1/0"
    assert mask_url("redis://h:1/0") == "redis://h:1/0"


def test_outage_degrades_logs_once_and_recovers(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(100.0)
    tier = RedisTier(redis_server.url, namespace="ns:", backoff_base=1.0, backoff_max=8.0, clock=clock)
    tier.set("a", 1)
    assert tier.get("a") == 1
    with caplog.at_level(logging.WARNING, logger="smartcache_ls.cache.redis"):
        redis_server.kill()
        for i in range(20):  # every call answers at once: None / dropped
            assert tier.get("a") is None
            tier.set(f"b{i}", i)
            clock.now += 0.4
        downs = [r for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(downs) == 1
        st = tier.stats()
        assert not st["available"] and st["droppedWrites"] >= 20 and st["outages"] == 1
        # exponential backoff: while the circuit is open nothing reaches the network
        errors = st["errors"]
        assert errors < 20
        redis_server.start()  # Redis is back (empty: no persistence)
        clock.now += 10  # past the longest backoff
        assert tier.get("a") is None  # a real round trip: miss, circuit closed
        assert tier.stats()["available"]
        tier.set("a", 2)
        assert tier.get("a") == 2
        assert any("back" in r.getMessage() for r in caplog.records)


def test_backoff_grows_exponentially(redis_server: RedisServer) -> None:
    clock = FakeClock(100.0)
    tier = RedisTier(redis_server.url, namespace="ns:", backoff_base=1.0, backoff_max=4.0, clock=clock)
    redis_server.kill()
    tier.get("a")  # trips the breaker: retry in 1s
    tries = 0
    for _ in range(200):  # 20 s of calls every 0.1 s: tries at +1, +2, +4, +4, +4 ...
        clock.now += 0.1
        before = tier.stats()["errors"]
        tier.get("a")
        tries += tier.stats()["errors"] - before
    assert 4 <= tries <= 7


def test_tiered_cache_with_redis_survives_outage(redis_server: RedisServer, tmp_path: Path) -> None:
    redis_tier = RedisTier(redis_server.url, namespace="team:", backoff_base=0.05)
    cache = TieredCache(MemoryTier(1_000_000), SqliteTier(tmp_path / "c.db", 10_000_000), redis_tier)
    cache.put("a", b'{"v":1}')
    cache.flush()
    assert redis_tier.get("a") == {"v": 1}
    # another machine (fresh memory and sqlite) finds it in Redis, promotes it to its own tiers
    other = TieredCache(
        MemoryTier(1_000_000),
        SqliteTier(tmp_path / "d.db", 10_000_000),
        RedisTier(redis_server.url, namespace="team:"),
    )
    assert other.get("a") == (b'{"v":1}', "redis")
    assert other.get("a") == (b'{"v":1}', "memory")
    other.flush()
    assert other.sqlite is not None and other.sqlite.get("a") == {"v": 1}
    cache.invalidate("a")
    cache.flush()
    assert redis_tier.get("a") is None
    redis_server.kill()
    cache.put("b", b"2")  # dropped by the Redis tier, kept by the others
    cache.flush()
    cache.clear("memory")
    assert cache.get("b") == (b"2", "sqlite")
    assert cache.get_or_load("c", lambda: (b"3", "computed")) == (b"3", "computed")
    cache.close()
    other.close()


def test_unreachable_at_startup_plain_and_cluster(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port(bus=True)
    with caplog.at_level(logging.WARNING, logger="smartcache_ls.cache.redis"):
        for url in (f"redis://127.0.0.1:{port}/0", f"redis+cluster://127.0.0.1:{port}"):
            clock = FakeClock(100.0)
            tier = RedisTier(url, namespace="ns:", backoff_base=1.0, clock=clock)
            assert tier.get("a") is None
            tier.set("a", 1)  # dropped, no exception
            assert tier.get_shared("h", 1000) is None
            assert not tier.stats()["available"]
            clock.now += 5  # past the backoff: one more (failed) try, which re-arms the breaker
            assert tier.get("a") is None
            errors = tier.stats()["errors"]
            for _ in range(50):
                assert tier.get("a") is None
            assert tier.stats()["errors"] == errors  # no connection attempt per call
            tier.close()
    assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 2
    assert make_namespace(user="u") == "smartcache:u:"
    assert make_namespace("/ws", user="u").startswith("smartcache:u:")
    assert make_namespace("/ws", user="u") != make_namespace("/other", user="u")


def _cluster_ready(port: int) -> bool:
    assert REDIS_CLI is not None
    out = subprocess.run(
        [REDIS_CLI, "-p", str(port), "cluster", "info"], capture_output=True, text=True, timeout=10
    ).stdout
    return "cluster_state:ok" in out


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[RedisServer]]:
    if REDIS_CLI is None:
        pytest.skip("redis-cli not installed")
    nodes: list[RedisServer] = []
    try:
        for i in range(3):
            port = free_port(bus=True)
            conf = tmp_path / f"node{i}" / "nodes.conf"
            node = RedisServer(
                tmp_path / f"node{i}",
                port,
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(conf),
                "--cluster-node-timeout", "2000",
            )
            nodes.append(node.start())
        subprocess.run(
            [REDIS_CLI, "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in nodes),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )
        deadline = time.monotonic() + 30
        while not all(_cluster_ready(n.port) for n in nodes):
            assert time.monotonic() < deadline, "cluster did not become ready"
            time.sleep(0.1)
        yield nodes
    finally:
        for n in nodes:
            n.kill()


def test_redis_cluster(cluster: list[RedisServer]) -> None:
    url = f"redis+cluster://127.0.0.1:{cluster[0].port}"
    tier = RedisTier(url, namespace=make_namespace("/ws", user="u"), ttl=600)
    assert tier.cluster
    tier.set_many([(f"file:{i}.py", {"i": i}) for i in range(200)])
    assert all(tier.get(f"file:{i}.py") == {"i": i} for i in range(200))
    # the keys really are spread over the three nodes
    import redis

    counts = [redis.Redis(port=n.port).dbsize() for n in cluster]
    assert sum(counts) == 200 and all(c > 0 for c in counts)
    other = RedisTier(url, namespace=make_namespace("/ws", user="v"))
    other.set("file:1.py", "other")
    assert tier.delete_prefix("file:") == 200
    assert tier.get("file:5.py") is None
    assert other.get("file:1.py") == "other"
    plain = RedisTier(f"redis://127.0.0.1:{cluster[1].port}", namespace="x:", cluster=True)
    assert plain.cluster and plain.get("nothing") is None
    tier.close()
    other.close()
    plain.close()


def test_urls_with_an_ipv6_host_keep_their_brackets() -> None:
    """Masking the password for logs, and moving it out of the URL we connect with, must
    leave an IPv6 host in brackets (without them the port is read as part of the host)."""
    import redis

    from smartcache_ls.redact import split_credentials

    assert mask_url("rediss://u:p@[::1]:7/0") == "rediss://u:***@[::1]:7/0"
    stripped, password = split_credentials("rediss://u:p@[::1]:7/0")
    assert (stripped, password) == ("rediss://u@[::1]:7/0", "p")
    kwargs = redis.ConnectionPool.from_url(stripped).connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["username"]) == ("::1", 7, "u")
