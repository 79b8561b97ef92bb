"""Per-client token buckets over the costly endpoints, keyed by the client's address.

Behind a trusted proxy the client is the right-most X-Forwarded-For hop that is not a proxy.
Addresses are parsed, not compared as text: ports and brackets are stripped, IPv6 is written one
way, and an IPv6 client is keyed by its /64 (one subscriber is usually given a whole /64, so
keying single addresses would hand one client 2^64 buckets).

The buckets live in this process (`LocalBuckets`) or, with QA_REDIS_URL, in Redis (`RedisBuckets`),
shared by every replica; a Redis that fails falls back to the process's own buckets.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from typing import Protocol

import anyio
from starlette.datastructures import Headers

from qa.service.guards import send_error

log = logging.getLogger("qa.api")


def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as a proxy or a socket may write it: ``203.0.113.7:5555``, ``[2001:db8::1]:443``,
    ``[2001:DB8::1]``, ``::ffff:203.0.113.7`` (IPv4-mapped: the IPv4 address). None for garbage.

    >>> [str(parse_address(t)) for t in ("203.0.113.7:5555", "[2001:DB8::1]:443", "::ffff:203.0.113.7")]
    ['203.0.113.7', '2001:db8::1', '203.0.113.7']
    """
    t = text.strip()
    if t.startswith("["):  # [v6] or [v6]:port
        t = t[1:t.index("]")] if "]" in t else ""
    elif t.count(":") == 1:  # v4:port (a bare v6 address has at least two colons)
        t = t.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(t.split("%", 1)[0])  # a zone id (fe80::1%eth0) names no other host
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def bucket_key(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """IPv4: the address; IPv6: its /64.

    >>> bucket_key(parse_address("2001:db8:0:0:dead::1")), bucket_key(parse_address("2001:db8::beef"))
    ('2001:db8::/64', '2001:db8::/64')
    """
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_key(scope, proxies: list) -> str:
    """The peer; behind a trusted proxy, the right-most X-Forwarded-For hop that is not one."""
    peer_text = (scope.get("client") or ("unknown",))[0]
    peer = parse_address(str(peer_text))
    if peer is None:
        return str(peer_text)  # a unix socket or a test client: one bucket for all of it

    def trusted(ip) -> bool:
        return any(ip in net for net in proxies)

    client = peer
    if proxies and trusted(peer):
        hops = [h for v in Headers(scope=scope).getlist("x-forwarded-for") for h in v.split(",") if h.strip()]
        for hop in reversed(hops):
            ip = parse_address(hop)
            if ip is None:
                break  # garbage from the client side: stop at the last address we could check
            client = ip
            if not trusted(ip):
                break
    return bucket_key(client)


class Buckets(Protocol):
    """Where the token buckets live: `take` answers 0 (go ahead) or the seconds to wait."""

    def take(self, key: str, now: float | None = None) -> float: ...


class LocalBuckets:
    """This process's buckets: a dict behind a lock, at most MAX_CLIENTS of them.

    >>> b = LocalBuckets(per_minute=60, burst=2)
    >>> [b.take("a", now=0), b.take("a", now=0), b.take("a", now=0), b.take("a", now=1.0)]
    [0.0, 0.0, 1.0, 0.0]
    """

    MAX_CLIENTS = 10_000

    def __init__(self, per_minute: float, burst: int):
        self.rate, self.burst = per_minute / 60.0, burst
        self.buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)
        self.lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self.lock:
            tokens, last = self.buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self.buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self.buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            if len(self.buckets) > self.MAX_CLIENTS:
                self._prune(now)
        return wait

    def _prune(self, now: float) -> None:
        full = [k for k, (t, last) in self.buckets.items() if t + (now - last) * self.rate >= self.burst]
        for k in full:
            del self.buckets[k]
        while len(self.buckets) > self.MAX_CLIENTS:  # still too many: drop the oldest
            del self.buckets[min(self.buckets, key=lambda k: self.buckets[k][1])]


# Refill and take in one script: Redis runs a script alone, so two replicas can never both take
# the last token. TIME is the server's clock, so replicas with skewed clocks agree. Lua turns a
# number reply into an integer, hence the wait comes back as a string.
TAKE_LUA = """
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, last = tonumber(b[1]) or burst, tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return string.format('%.17g', wait)
"""


def _redis_module():
    try:
        import redis
    except ImportError:
        raise RuntimeError("QA_REDIS_URL is set but the redis package is not installed: "
                           "run .venv/bin/pip install -e '.[cluster]'") from None
    return redis


class RedisBuckets:
    """Buckets in Redis, shared by every replica that names the same server: one hash per client
    (``<prefix><key>``: tokens, last refill in server time) that expires once it would be full
    again, so an idle client costs nothing. Raises redis.RedisError when Redis fails; `RateLimit`
    turns that into a fall back to its own buckets. ``now`` is ignored: the server's clock rules.
    """

    TIMEOUT_S = 0.25  # connect and read: a Redis that does not answer delays a request this long at most
    MARGIN_MS = 1000  # kept past the full refill, so a bucket never expires while it is not yet full

    def __init__(self, url: str, per_minute: float, burst: int, prefix: str = "qa:rl:"):
        redis = _redis_module()
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.rate, self.burst, self.prefix = per_minute / 60.0, burst, prefix
        self.ttl_ms = math.ceil(burst / self.rate * 1000) + self.MARGIN_MS
        # no retries: a failure falls back at once; the pool is thread-safe (takes run in worker threads)
        self.client = redis.Redis.from_url(url, socket_connect_timeout=self.TIMEOUT_S,
                                           socket_timeout=self.TIMEOUT_S, retry=Retry(NoBackoff(), 0))
        self.script = self.client.register_script(TAKE_LUA)  # EVALSHA, loading the script on NOSCRIPT

    def take(self, key: str, now: float | None = None) -> float:
        reply = self.script(keys=[self.prefix + key], args=[self.burst, self.rate, self.ttl_ms])
        return float(reply.decode() if isinstance(reply, bytes) else reply)


class RateLimit:
    """Token bucket per client over /v1/ask, /v1/documents and /v1/vocabulary (a corpus-sized reply):
    429 with Retry-After when empty.

    With ``redis_url`` the buckets live in Redis (`RedisBuckets`), so replicas share one budget per
    client. If Redis cannot be reached or errors, the request is counted in this process's buckets
    instead (fail open: a dead Redis never turns into a 500 or stops answering); a warning is logged
    at most once a minute, and Redis is tried again RETRY_S later.
    """

    WARN_EVERY_S = 60.0
    RETRY_S = 1.0  # after a failure: a Redis that hangs costs one request its timeout a second, not all
    THREADS = 16  # Redis takes run in worker threads, never on the event loop

    def __init__(self, app, per_minute: float, burst: int, proxies: list, redis_url: str | None = None,
                 redis_prefix: str = "qa:rl:"):
        self.app, self.rate, self.burst, self.proxies = app, per_minute / 60.0, burst, proxies
        self.local = LocalBuckets(per_minute, burst)
        self.shared: Buckets | None = None
        if redis_url and self.rate > 0:
            self.shared = RedisBuckets(redis_url, per_minute, burst, prefix=redis_prefix)
        self._retry_at = 0.0
        self._warned_at = float("-inf")
        self._failing = False
        self._fail_lock = threading.Lock()  # takes run in several threads: one warning a minute, not one each
        self._limiter: anyio.CapacityLimiter | None = None  # made in the server's event loop

    def take(self, key: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds until it may (``now``: the in-process
        buckets' clock, for tests; Redis uses its own)."""
        if self.shared is not None and time.monotonic() >= self._retry_at:
            try:
                wait = self.shared.take(key)
            except Exception as e:  # noqa: BLE001  (any Redis failure must fail open, never a 500)
                self._shared_failed(e)
            else:
                if self._failing:
                    self._failing = False
                    log.info("rate limit: Redis answers again; buckets are shared",
                             extra={"fields": {"event": "ratelimit_redis_ok"}})
                return wait
        return self.local.take(key, now)

    def _shared_failed(self, error: Exception) -> None:
        now = time.monotonic()
        with self._fail_lock:
            self._retry_at, self._failing = now + self.RETRY_S, True
            warn = now - self._warned_at >= self.WARN_EVERY_S
            if warn:
                self._warned_at = now
        if warn:
            # the error's class and text name host and port, never the URL's password
            log.warning("rate limit: Redis unavailable (%s: %s); counting in this process's buckets",
                        type(error).__name__, error, extra={"fields": {"event": "ratelimit_redis_unavailable"}})

    async def _take_async(self, key: str) -> float:
        if self.shared is None:
            return self.take(key)  # a dict lookup: no thread needed
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.THREADS)
        return await anyio.to_thread.run_sync(self.take, key, limiter=self._limiter)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        key = client_key(scope, self.proxies)
        scope["qa.client"] = key
        path = scope.get("path", "")
        limited = self.rate > 0 and scope["method"] != "OPTIONS" and (
            path in ("/v1/ask", "/v1/documents", "/v1/vocabulary") or path.startswith(("/v1/documents/", "/v1/admin/")))
        if limited:
            wait = await self._take_async(key)
            if wait > 0:
                return await send_error(scope, send, 429, "rate_limited",
                                        "too many requests from this client; try again shortly",
                                        {"retry-after": str(max(1, math.ceil(wait)))})
        await self.app(scope, receive, send)
