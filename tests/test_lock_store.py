"""The conversation lock across replicas, on the real local Redis (bot/server/lock_store.py).

Two store objects with their own connections stand for two Rasa replicas. Skipped with
a reason when Redis is not running; under CI a missing Redis fails the run.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import List

import pytest
from rasa.core.lock_store import LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from bot.server.lock_store import AtomicRedisLockStore

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix() -> str:
    return "test-" + uuid.uuid4().hex[:8]


@pytest.fixture
def replicas(prefix):
    """Two lock stores on the same Redis, as two replicas hold them; keys removed after."""
    import redis

    from tests.conftest import require_redis

    probe = redis.Redis.from_url(require_redis(REDIS_URL), socket_timeout=2)
    yield [AtomicRedisLockStore(url=REDIS_URL, key_prefix=prefix) for _ in range(2)]
    for key in probe.scan_iter(f"{prefix}:*"):
        probe.delete(key)
    probe.close()


async def test_one_conversation_is_served_one_message_at_a_time_in_order(replicas) -> None:
    inside: List[int] = []
    served: List[int] = []

    async def message(number: int) -> None:
        store = replicas[number % 2]  # alternate replicas, as a random balancer would
        async with store.lock("patient-1") as lock:
            inside.append(number)
            assert len(inside) == 1, "two messages of one conversation ran at once"
            served.append(lock.now_serving)
            await asyncio.sleep(0.005)
            inside.remove(number)

    await asyncio.gather(*(message(n) for n in range(40)))
    assert len(served) == 40
    assert served == sorted(served), "not served in ticket (arrival) order"


async def test_other_conversations_do_not_wait(replicas) -> None:
    first, second = replicas
    async with first.lock("patient-a"):
        started = time.monotonic()
        async with second.lock("patient-b"):
            pass
        assert time.monotonic() - started < 5  # a bound: it did not wait for patient-a


async def test_a_crashed_holder_frees_the_lock_after_its_lifetime(replicas) -> None:
    crashed, alive = replicas
    keys = crashed._keys("patient-2")
    await crashed._issue(keys=keys, args=[300])  # a ticket never released: 0.3 s lifetime
    started = time.monotonic()
    async with alive.lock("patient-2"):
        waited = time.monotonic() - started
    assert 0.25 <= waited < 15, waited


async def test_the_keys_go_with_the_last_ticket(replicas, prefix) -> None:
    import redis

    async with replicas[0].lock("patient-3"):
        pass
    probe = redis.Redis.from_url(REDIS_URL)
    assert list(probe.scan_iter(f"{prefix}:*")) == []
    probe.close()


async def test_an_unreachable_redis_is_a_clear_error_not_a_skipped_lock() -> None:
    store = AtomicRedisLockStore(url="redis://127.0.0.1:1/0")
    with pytest.raises(LockError, match="lock store unavailable"):
        async with store.lock("patient-4"):
            pytest.fail("the lock was skipped")


def test_rasa_creates_it_from_endpoints_yml(prefix) -> None:
    config = EndpointConfig(
        url=REDIS_URL, type="bot.server.lock_store.AtomicRedisLockStore", key_prefix=prefix
    )
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    assert (store.url, store.prefix) == (REDIS_URL, prefix)


WORKER = """
import asyncio, sys
import redis
from bot.server.lock_store import AtomicRedisLockStore

prefix, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
log = redis.Redis.from_url("redis://127.0.0.1:6379/0")
store = AtomicRedisLockStore(url="redis://127.0.0.1:6379/0", key_prefix=prefix)

async def message(n):
    async with store.lock("patient-x") as lock:
        log.rpush(prefix + ":log", f"enter {name}{n} {lock.now_serving}")
        await asyncio.sleep(0.002)
        log.rpush(prefix + ":log", f"exit {name}{n}")

async def main():
    await asyncio.gather(*(message(n) for n in range(count)))

asyncio.run(main())
"""


def test_two_processes_never_hold_one_conversation_at_once(replicas, prefix) -> None:
    """Real replicas are processes: two of them, 25 messages each, all at once."""
    import subprocess
    import sys

    import redis

    from bot.core.paths import PROJECT_ROOT

    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, prefix, name, "25"], cwd=PROJECT_ROOT)
        for name in ("a", "b")
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0]
    probe = redis.Redis.from_url(REDIS_URL)
    log = [line.decode() for line in probe.lrange(prefix + ":log", 0, -1)]
    probe.delete(prefix + ":log")
    probe.close()
    assert len(log) == 100
    tickets = []
    for enter, leave in zip(
        log[::2], log[1::2], strict=False
    ):  # strictly enter, exit, enter, exit ...
        _, who, ticket = enter.split()
        assert leave == f"exit {who}", "two processes held the lock at once"
        tickets.append(int(ticket))
    assert tickets == sorted(tickets) and len(set(tickets)) == 50


# --- the health check, and Rasa really using the store ----------------------------------


async def test_the_health_check_probes_the_lock_store(replicas) -> None:
    from rasa.core.lock_store import InMemoryLockStore

    from bot.server.health import check_lock_store

    def agent(store):
        return type("Agent", (), {"lock_store": store})()

    ok = await check_lock_store(agent(replicas[0]))
    assert (ok.ok, ok.detail, ok.extra["type"]) == (True, "ok", "AtomicRedisLockStore")
    down = await check_lock_store(agent(AtomicRedisLockStore(url="redis://127.0.0.1:1/0")))
    assert not down.ok and down.detail.startswith("unreachable")
    local = await check_lock_store(agent(InMemoryLockStore()))
    assert local.ok and "one Rasa process" in local.detail


@pytest.fixture
def own_redis(tmp_path, replicas):
    """A Redis of this test's own (harness/own_redis.py), which the test may stop and start."""
    from harness.own_redis import OwnRedis

    own = OwnRedis(tmp_path)
    own.start()
    yield own
    own.stop()


@pytest.mark.slow
def test_rasa_takes_every_turn_through_it_and_reports_redis_down(tmp_path, own_redis) -> None:
    """Rasa loads the store from endpoints.yml; one patient's burst is answered in full;
    with Redis stopped the health check says so (503) and turns get the safe reply."""
    import json
    import urllib.error
    import urllib.request

    from harness.client import new_sender, post
    from harness.servers import Servers

    def health():
        try:
            with urllib.request.urlopen(servers.url + "/webhooks/health/", timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    servers = Servers(tmp_path, {"CLINIC_CONFIG": ""})
    servers.extra_endpoints = (
        f"lock_store:\n  type: bot.server.lock_store.AtomicRedisLockStore\n"
        f"  url: {own_redis.url}\n"
    )
    try:
        servers.start_actions()
        servers.start_rasa()
        status, body = health()
        assert status == 200, body
        assert body["lock_store"] == {"ok": True, "detail": "ok", "type": "AtomicRedisLockStore"}

        sender = new_sender()
        questions = ["does it hurt?", "how long does it last?", "what is a medial branch block"]

        async def burst():
            async def one(text):
                body = json.dumps({"sender": sender, "message": text}).encode()
                return await asyncio.to_thread(post, servers, "/webhooks/rest/webhook", body)

            return await asyncio.gather(*(one(text) for text in questions * 3))

        answers = asyncio.run(burst())
        assert [status for status, _ in answers] == [200] * 9
        assert all("Source" in raw.decode() for _, raw in answers)

        own_redis.stop()
        status, body = health()
        assert status == 503 and body["lock_store"]["detail"].startswith("unreachable")
        apology = post(
            servers,
            "/webhooks/rest/webhook",
            json.dumps({"sender": new_sender(), "message": "does it hurt?"}).encode(),
        )
        assert apology[0] == 200 and "Sorry" in apology[1].decode()  # never a silent drop

        own_redis.start()
        status, body = health()
        assert status == 200, body
    finally:
        servers.stop()
