"""The rate limit shared by replicas through Redis (QA_REDIS_URL), against the real server on
127.0.0.1:6379: two limiters or two apps stand in for two replicas. Every key this module writes
carries a per-run uuid and is deleted afterwards. Skipped when redis-py or the server is missing."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
import uuid

import anyio
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from qa.service.app import create_app
from qa.service.ratelimit import RateLimit, RedisBuckets
from qa.service.settings import Settings

redis = pytest.importorskip("redis", reason="redis-py is not installed (pip install -e '.[cluster]')")

URL = "redis://127.0.0.1:6379/0"
try:
    redis.Redis.from_url(URL, socket_connect_timeout=0.5, socket_timeout=0.5).ping()
except redis.RedisError as e:
    pytest.skip(f"no Redis answers a PING on 127.0.0.1:6379 ({e})", allow_module_level=True)

RUN = uuid.uuid4().hex
PREFIX = f"qa:test-rl:{RUN}:"  # the limiters built here; the apps use qa:rl:<client> with RUN in <client>
DEAD_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture(scope="module", autouse=True)
def cleanup():
    r = redis.Redis.from_url(URL)
    yield r
    for key in list(r.scan_iter(match=f"*{RUN}*", count=1000)):
        r.delete(key)
    r.close()


def limiter(per_minute: float, burst: int, url: str = URL) -> RateLimit:
    return RateLimit(None, per_minute=per_minute, burst=burst, proxies=[], redis_url=url, redis_prefix=PREFIX)


def fresh_key() -> str:
    return uuid.uuid4().hex


# -- two replicas, one budget ------------------------------------------------------------------

def test_two_replicas_share_one_budget_and_the_wait_is_right(cleanup):
    burst, key = 4, fresh_key()
    a, b = limiter(6, burst), limiter(6, burst)  # 0.1 token a second: no refill worth a token here
    waits = [(a if i % 2 == 0 else b).take(key) for i in range(2 * burst)]
    assert waits[:burst] == [0.0] * burst
    # the bucket is empty: the next token is 10 s away (less the few ms the test has run)
    assert all(9.5 < w <= 10.0 for w in waits[burst:]), waits
    assert cleanup.exists(PREFIX + key)  # counted in Redis, not in either process
    assert not a.local.buckets and not b.local.buckets


def test_a_bucket_expires_once_it_would_be_full_again(cleanup):
    key = fresh_key()
    limiter(60, 5).take(key)  # refills fully in 5 s
    ttl = cleanup.pttl(PREFIX + key)
    assert 5_000 < ttl <= 5_000 + RedisBuckets.MARGIN_MS, ttl
    tokens, ts = cleanup.hmget(PREFIX + key, "tokens", "ts")
    assert float(tokens) == pytest.approx(4.0, abs=0.01)
    server_now = sum(int(x) / d for x, d in zip(cleanup.time(), (1, 1_000_000)))
    assert abs(float(ts) - server_now) < 1.0  # the server's clock, not this process's monotonic one


def test_takes_at_once_from_two_replicas_never_exceed_the_burst():
    burst, key = 10, fresh_key()
    replicas = [limiter(0.6, burst), limiter(0.6, burst)]  # 0.01 token a second
    granted, errors = [], []
    start = threading.Barrier(16)

    def hammer(rl: RateLimit) -> None:
        try:
            start.wait()
            granted.extend(w for w in (rl.take(key) for _ in range(10)) if w == 0)
        except Exception as e:  # noqa: BLE001  (reported by the assertion below)
            errors.append(e)

    threads = [threading.Thread(target=hammer, args=(replicas[i % 2],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors and len(granted) == burst, (errors, len(granted))
    assert not any(rl.local.buckets for rl in replicas)  # every take went to Redis, none fell back


def test_the_bucket_refills_with_time_and_never_past_the_burst():
    key = fresh_key()
    a, b = limiter(600, 2), limiter(600, 2)  # 10 tokens a second
    assert [a.take(key), b.take(key)] == [0.0, 0.0]
    wait = a.take(key)
    assert 0.05 < wait <= 0.1
    time.sleep(wait + 0.05)
    assert b.take(key) == 0.0 and a.take(key) > 0
    time.sleep(0.4)  # 4 tokens' worth, but the bucket holds 2
    assert [a.take(key), b.take(key)] == [0.0, 0.0] and a.take(key) > 0


def test_the_middleware_asks_redis_off_the_event_loop():
    async def ok(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    rl = RateLimit(ok, per_minute=6, burst=1, proxies=[], redis_url=URL, redis_prefix=PREFIX)
    real, where = rl.shared.take, []

    def take(key, now=None):
        try:
            asyncio.get_running_loop()
            where.append("event loop")
        except RuntimeError:
            where.append("worker thread")
        return real(key, now)

    rl.shared.take = take

    async def status() -> int:
        sent = []

        async def send(m):
            sent.append(m)

        async def receive():
            return {"type": "http.request", "body": b""}

        scope = {"type": "http", "method": "POST", "path": "/v1/ask", "headers": [], "client": (fresh_key(), 1)}
        await rl(scope, receive, send)
        return sent[0]["status"]

    assert anyio.run(status) == 200 and where == ["worker thread"]


# -- a Redis that fails ------------------------------------------------------------------------

def test_an_unreachable_redis_fails_open_to_local_buckets(caplog):
    rl = limiter(6, 3, url=DEAD_URL)
    rl.RETRY_S = 0.0  # every take tries Redis again and fails again: still one warning a minute
    with caplog.at_level(logging.WARNING, logger="qa.api"):
        started = time.monotonic()
        waits = [rl.take("client") for _ in range(6)]
    assert waits[:3] == [0.0] * 3 and all(9.5 < w <= 10.0 for w in waits[3:]), waits
    assert time.monotonic() - started < 1.0
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1 and "127.0.0.1:1" in warnings[0].getMessage()


def test_a_redis_that_never_answers_costs_one_timeout_then_goes_local():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel accepts connections; nobody ever replies
    try:
        rl = limiter(6, 3, url=f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        times = []
        for _ in range(5):
            t0 = time.monotonic()
            rl.take("client")
            times.append(time.monotonic() - t0)
    finally:
        silent.close()
    assert 0.2 <= times[0] < 0.75, times  # the read timeout, once
    assert max(times[1:]) < 0.05, times  # then the process's buckets until RETRY_S has passed
    assert rl.local.buckets["client"][0] == pytest.approx(0.0, abs=0.01)  # the 4th and 5th waited


def test_the_app_answers_429_not_500_when_redis_is_down(fake_engine):
    app = create_app(Settings(rate_limit_per_minute=6, rate_limit_burst=2, redis_url=DEAD_URL), engine=fake_engine)
    with TestClient(app, client=(f"down-{RUN}", 1)) as c:
        codes = [c.post("/v1/ask", json={"question": "infant ALL"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


# -- the full app: two replicas behind one Redis -------------------------------------------------

def test_two_app_replicas_share_the_burst_and_answer_the_standard_429(fake_engine, cleanup):
    s = Settings(rate_limit_per_minute=6, rate_limit_burst=3, redis_url=URL)
    peer = (f"client-{RUN}", 1)  # not an address: keyed as given, so this run's bucket is its own
    with TestClient(create_app(s, engine=fake_engine), client=peer) as one, \
            TestClient(create_app(s, engine=fake_engine), client=peer) as two:
        replies = [(one if i % 2 == 0 else two).post("/v1/ask", json={"question": "infant ALL"})
                   for i in range(6)]
    assert [r.status_code for r in replies] == [200, 200, 200, 429, 429, 429]
    for r in replies[3:]:
        body = r.json()
        assert set(body) == {"error"} and body["error"]["code"] == "rate_limited", body
        assert body["error"]["request_id"] == r.headers["x-request-id"]
        assert 9 <= int(r.headers["retry-after"]) <= 10  # 0.1 token a second: the next in ~10 s
    assert cleanup.exists(f"qa:rl:client-{RUN}")


# -- settings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", "postgresql://x/y", "redis:/x"])
def test_settings_refuse_a_url_that_is_not_redis(url):
    with pytest.raises(ValidationError, match="QA_REDIS_URL must start with redis://, rediss:// or unix://"):
        Settings(redis_url=url)


def test_settings_take_redis_urls_from_the_environment(monkeypatch):
    for url in ("redis://:pw@cache:6379/2", "REDISS://cache:6380", "unix:///run/redis.sock"):
        monkeypatch.setenv("QA_REDIS_URL", f" {url} ")
        assert Settings().redis_url.get_secret_value() == url
    monkeypatch.setenv("QA_REDIS_URL", "")
    assert Settings().redis_url is None
    monkeypatch.delenv("QA_REDIS_URL")
    assert Settings().redis_url is None
