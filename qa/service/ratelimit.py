"""Per-client token buckets over the costly endpoints, keyed by the client's address.

Behind a trusted proxy the client is the right-most X-Forwarded-For hop that is not a proxy.
Addresses are parsed, not compared as text: ports and brackets are stripped, IPv6 is written one
way, and an IPv6 client is keyed by its /64 (one subscriber is usually given a whole /64, so
keying single addresses would hand one client 2^64 buckets).
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time

from starlette.datastructures import Headers

from qa.service.guards import send_error


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


class RateLimit:
    """Token bucket per client over /v1/ask, /v1/documents and /v1/vocabulary (a corpus-sized reply):
    429 with Retry-After when empty."""

    MAX_CLIENTS = 10_000

    def __init__(self, app, per_minute: float, burst: int, proxies: list):
        self.app, self.rate, self.burst, self.proxies = app, per_minute / 60.0, burst, proxies
        self.buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)
        self.lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
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

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        key = client_key(scope, self.proxies)
        scope["qa.client"] = key
        path = scope.get("path", "")
        limited = self.rate > 0 and scope["method"] != "OPTIONS" and (
            path in ("/v1/ask", "/v1/documents", "/v1/vocabulary") or path.startswith(("/v1/documents/", "/v1/admin/")))
        if limited:
            wait = self.take(key)
            if wait > 0:
                return await send_error(scope, send, 429, "rate_limited",
                                        "too many requests from this client; try again shortly",
                                        {"retry-after": str(max(1, math.ceil(wait)))})
        await self.app(scope, receive, send)
