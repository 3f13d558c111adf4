"""Optional Redis tier: a team- or machine-wide cache behind memory and SQLite.

* Enabled by a URL: ``redis://[user:password@]host:port/db``, ``rediss://...`` (TLS), or
  ``redis+cluster://host:port`` (Redis Cluster through redis-py's ``RedisCluster``; the
  ``cluster=True`` option does the same for a plain URL). ``redis`` is imported lazily:
  it is an optional dependency (``smartcache-ls[redis]``, hiredis recommended).
* The password comes from ``SMARTCACHE_REDIS_PASSWORD`` if set, else from the URL
  (userinfo or ``?password=``); the client gets it as an argument and a URL without it,
  and ``redact`` masks it everywhere it could show (``url`` here is already masked).
* Every key lives under a namespace prefix (user and workspace), so two namespaces never
  see each other's entries; values are compact JSON with a TTL (``SET ... EX``).
* Analyses can be shared across a team by content hash (``get_shared``/``set_shared``),
  only when ``share_analyses`` is on, under ``SHARED_ROOT``, outside every user namespace;
  what ``get_shared`` returns is unverified, bounded in size (``cache/shared.py`` checks it).
* Writes are pipelined in batches (``apply``). If Redis is down or goes away, reads
  return None and writes are dropped; the outage is logged once, and a circuit breaker
  retries with exponential backoff until Redis answers again.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from ..redact import mask_url, register_secret, split_credentials
from .batched import BatchedTier
from .codec import CodecError, decode, encode
from .codec import loads as _loads

__all__ = ["PASSWORD_ENV", "RedisTier", "RedisUnavailable", "make_namespace", "mask_url"]

log = logging.getLogger(__name__)

PASSWORD_ENV = "SMARTCACHE_REDIS_PASSWORD"
KEY_ROOT = "smartcache"
# Shared analyses live under a root of their own: no user namespace (``smartcache:<user>:``,
# even for a user called "shared") can reach them, and an operator can grant them apart (ACL).
SHARED_ROOT = "smartcache-shared:"
SCAN_COUNT = 500


class RedisUnavailable(RuntimeError):
    """The redis package is not installed (install smartcache-ls[redis])."""


def make_namespace(workspace: str = "", user: str | None = None) -> str:
    """A key prefix for one user's cache (of one workspace, if given; its id is hashed)."""
    if user is None:
        try:
            user = getpass.getuser()
        except Exception:  # no login name in some containers
            user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    prefix = f"{KEY_ROOT}:{quote(user, safe='')}:"
    if not workspace:
        return prefix
    ws = hashlib.blake2b(workspace.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
    return f"{prefix}{ws}:"


class RedisTier(BatchedTier):
    """A namespaced, TTL'd JSON cache in Redis that degrades to a no-op when Redis is away.

    ``clear()`` drops this namespace's entries; shared analyses stay.
    """

    def __init__(
        self,
        url: str,
        *,
        namespace: str,
        ttl: float | None = None,
        cluster: bool | None = None,
        share_analyses: bool = False,
        password: str | None = None,
        socket_timeout: float = 0.5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not namespace:
            raise ValueError("RedisTier needs a namespace prefix")
        self.namespace = namespace
        self.shared_prefix = SHARED_ROOT
        self.ttl = max(1, int(ttl)) if ttl and ttl > 0 else None
        self.share_analyses = share_analyses
        scheme = urlsplit(url).scheme.lower()
        self.cluster = bool(cluster) or scheme.startswith("redis+cluster") or scheme == "rediss+cluster"
        if scheme.endswith("+cluster"):
            url = scheme[: -len("+cluster")] + url[len(scheme) :]
        self.url = mask_url(url)
        connect_url, url_password = split_credentials(url)
        pw = os.environ.get(PASSWORD_ENV) or password or url_password
        register_secret(pw)  # masked in every log line from now on
        self._socket_timeout = socket_timeout
        self._clock = clock
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._backoff = backoff_base
        self._retry_at = 0.0
        self._down = False
        self._state_lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._errors = 0
        self._dropped = 0
        self._writes = 0
        self._outages = 0
        self._shared_hits = 0
        self._shared_rejected = 0
        self._connect_url = connect_url  # no password in it: redis-py's errors cannot show one
        self._password = pw
        self._client: Any = None
        self._get: Callable[[str], Any] = self._connect_and_get
        try:  # a plain client connects lazily; a cluster client asks for the slot map now
            self._connect()
        except RedisUnavailable:
            raise
        except Exception as exc:
            self._failed(exc)

    def _connect(self) -> None:
        client = self._make_client(self._connect_url, self._password)
        self._client = client
        self._get = client.get

    def _connect_and_get(self, key: str) -> Any:
        self._connect()
        return self._get(key)

    # client -----------------------------------------------------------------------------
    def _make_client(self, url: str, password: str | None) -> Any:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RedisUnavailable(
                "the redis package is not installed: pip install 'smartcache-ls[redis]'"
            ) from exc
        common: dict[str, Any] = {
            "socket_timeout": self._socket_timeout,
            "socket_connect_timeout": self._socket_timeout,
            "retry": Retry(NoBackoff(), 0),  # the circuit breaker does the retrying
        }
        if password is not None:
            common["password"] = password
        if self.cluster:
            from redis.cluster import RedisCluster

            return RedisCluster.from_url(url, **common)
        return redis.Redis.from_url(url, **common)

    def _connection_errors(self) -> tuple[type[BaseException], ...]:
        import redis.exceptions as rx

        return (
            rx.ConnectionError,
            rx.TimeoutError,
            rx.ClusterError,
            rx.RedisClusterException,  # e.g. no reachable startup node
            OSError,
        )

    # circuit breaker --------------------------------------------------------------------
    def available(self) -> bool:
        """False while the circuit is open (Redis failed recently and the backoff has not passed)."""
        return not self._down or self._clock() >= self._retry_at

    def _failed(self, exc: BaseException) -> None:
        with self._state_lock:
            self._errors += 1
            if not self._down:
                self._down = True
                self._outages += 1
                self._backoff = self._backoff_base
                log.warning(
                    "Redis cache at %s unavailable (%s: %s); continuing without it, retrying with backoff",
                    self.url,
                    type(exc).__name__,
                    exc,
                )
            else:
                self._backoff = min(self._backoff * 2, self._backoff_max)
                log.debug("Redis at %s still unavailable; next try in %.1fs", self.url, self._backoff)
            self._retry_at = self._clock() + self._backoff

    def _recovered(self) -> None:
        with self._state_lock:
            if self._down:
                self._down = False
                self._backoff = self._backoff_base
                log.warning("Redis cache at %s is back", self.url)

    def _error(self, exc: BaseException) -> None:
        """A connection error trips the breaker; any other (a Redis error reply) is counted
        and logged, and does not."""
        if isinstance(exc, self._connection_errors()):
            self._failed(exc)
        else:
            self._errors += 1
            log.debug("Redis at %s: %s", self.url, exc)

    def _call(self, fn: Callable[[], Any], default: Any) -> Any:
        if not self.available():
            return default
        try:
            if self._client is None:
                self._connect()
            result = fn()
        except Exception as exc:
            self._error(exc)
            return default
        if self._down:
            self._recovered()
        return result

    # reads ------------------------------------------------------------------------------
    def get_with_size(
        self, key: str, *, count: bool = True, raw: bool = False
    ) -> tuple[Any, int] | None:
        if not self.available():
            if count:
                self._misses += 1
            return None
        try:
            found = self._get(self.namespace + key)
        except Exception as exc:
            self._error(exc)
            found = None
        else:
            if self._down:
                self._recovered()
        if found is None:
            if count:
                self._misses += 1
            return None
        try:
            value = bytes(found) if raw else _loads(found)
        except ValueError:
            if count:
                self._misses += 1
            return None
        if count:
            self._hits += 1
        return value, len(found)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return bool(self._call(lambda: self._client.exists(self.namespace + key), False))

    def ttl_of(self, key: str) -> int | None:
        """Seconds left on a key (None if missing, unreachable or without TTL)."""
        left = self._call(lambda: self._client.ttl(self.namespace + key), None)
        return int(left) if left is not None and left >= 0 else None

    # writes -----------------------------------------------------------------------------
    def set(self, key: str, value: Any) -> None:
        text = encode(value)
        self.apply((("set", key, text, len(text)),))

    def set_many(self, items: Sequence[tuple[str, Any]]) -> None:
        self.apply([("set", k, encode(v), 0) for k, v in items])

    def apply(self, ops: Sequence[tuple[Any, ...]]) -> int:
        """Run a batch of ("set", key, text, size) / ("delete", key) / ("delete_prefix", p)
        in one pipeline (prefix deletions scan first). Returns keys deleted; 0 when dropped."""
        if not ops:
            return 0
        result = self._call(lambda: self._apply(ops), None)
        if result is None:
            self._dropped += len(ops)
            return 0
        return int(result)

    def _apply(self, ops: Sequence[tuple[Any, ...]]) -> int:
        client = self._client
        ns = self.namespace
        ex = self.ttl
        removed = 0
        writes = 0
        pipe = client.pipeline(transaction=False)
        kinds: list[str] = []
        for op in ops:
            kind = op[0]
            if kind == "set":
                pipe.set(ns + op[1], op[2], ex=ex)
                kinds.append(kind)
                writes += 1
            elif kind == "delete":
                pipe.delete(ns + op[1])
                kinds.append(kind)
            elif kind == "delete_prefix":
                if kinds:  # keep the order: earlier writes land first
                    removed += _deleted(kinds, pipe.execute())
                    pipe = client.pipeline(transaction=False)
                    kinds = []
                removed += self._delete_matching(ns + op[1])
            else:
                raise ValueError(f"unknown cache op {kind!r}")
        if kinds:
            removed += _deleted(kinds, pipe.execute())
        self._writes += writes
        return removed

    def _delete_matching(self, prefix: str) -> int:
        pattern = _glob_escape(prefix) + "*"
        removed = 0
        batch: list[bytes] = []
        for key in self._client.scan_iter(match=pattern, count=SCAN_COUNT):
            batch.append(key)
            if len(batch) >= SCAN_COUNT:
                removed += self._unlink(batch)
                batch = []
        if batch:
            removed += self._unlink(batch)
        return removed

    def _unlink(self, keys: list[bytes]) -> int:
        pipe = self._client.pipeline(transaction=False)
        for k in keys:  # one key per command: keys may live in different cluster slots
            pipe.unlink(k)
        return sum(int(r) for r in pipe.execute() if isinstance(r, int))

    # shared analyses (by content hash) --------------------------------------------------------
    def get_shared(self, content_hash: str, max_bytes: int) -> Any | None:
        """A teammate's analysis of identical content, if sharing is on, UNVERIFIED (the
        caller checks it: see cache/shared.py). Redis sends at most ``max_bytes`` + 1 bytes of
        it; a larger value, or one that is not JSON, counts as rejected."""
        if not self.share_analyses:
            return None
        key = self.shared_prefix + content_hash
        raw = self._call(lambda: self._client.getrange(key, 0, max_bytes), None)
        if not raw:  # GETRANGE of a missing key is b""
            return None
        if len(raw) > max_bytes:
            self.reject_shared()
            return None
        try:
            return decode(raw)
        except CodecError:
            self.reject_shared()
            return None

    def accept_shared(self) -> None:
        self._shared_hits += 1

    def reject_shared(self) -> None:
        """Count a shared analysis that was not served (too large, malformed, not ours)."""
        self._shared_rejected += 1

    def set_shared(self, content_hash: str, value: Any) -> None:
        if not self.share_analyses:
            return
        text = encode(value)
        key = self.shared_prefix + content_hash
        if self._call(lambda: self._client.set(key, text, ex=self.ttl), None) is None:
            self._dropped += 1

    # stats, lifecycle ---------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        n = self._hits + self._misses
        return {
            "hits": self._hits,
            "misses": self._misses,
            "requests": n,
            "hitRatio": self._hits / n if n else 0.0,
            "writes": self._writes,
            "droppedWrites": self._dropped,
            "errors": self._errors,
            "outages": self._outages,
            "available": not self._down,
            "url": self.url,
            "cluster": self.cluster,
            "namespace": self.namespace,
            "shareAnalyses": self.share_analyses,
            "sharedHits": self._shared_hits,
            "sharedRejected": self._shared_rejected,
        }

    def close(self) -> None:
        if self._client is None:
            return
        try:
            self._client.close()
        except Exception as exc:
            log.debug("closing Redis client: %s", exc)


def _deleted(kinds: list[str], results: list[Any]) -> int:
    return sum(int(r) for k, r in zip(kinds, results, strict=False) if k == "delete" and isinstance(r, int))


def _glob_escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in "*?[]\\":
            out.append("\\")
        out.append(ch)
    return "".join(out)
