"""GET /webhooks/health/ reports the model, the action server and the tracker store.

Against real servers: all healthy (200), the action server down or refusing Rasa's
token (503), and a tracker store that cannot be opened (503, a loud ERROR at start-up,
and turns refused with the fallback reply). The checks themselves are also tested
on real Rasa tracker store objects, without a server.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain

from bot.server import health
from harness.client import rest
from harness.servers import Servers


def get_health(servers: Servers) -> tuple:
    try:
        with urllib.request.urlopen(servers.url + "/webhooks/health/", timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# --- the checks, on real tracker stores --------------------------------------------------


def _agent(store) -> SimpleNamespace:
    return SimpleNamespace(tracker_store=FailSafeTrackerStore(store))


async def test_sql_store_is_healthy_until_its_table_is_gone(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    agent = _agent(SQLTrackerStore(Domain.empty(), db=str(db)))
    check = await health.check_tracker_store(agent, health.FailureLog())
    assert check.ok and check.extra["type"] == "SQLTrackerStore"
    with sqlite3.connect(db) as connection:
        connection.execute("DROP TABLE events")
    check = await health.check_tracker_store(agent, health.FailureLog())
    assert not check.ok
    assert check.detail == "unreachable: OperationalError"


async def test_in_memory_store_is_reported_as_not_persisted() -> None:
    agent = _agent(InMemoryTrackerStore(Domain.empty()))
    check = await health.check_tracker_store(agent, health.FailureLog())
    assert not check.ok
    assert check.extra["type"] == "InMemoryTrackerStore"
    assert "lost on restart" in check.detail


def _query_only(connection, _record) -> None:
    connection.execute("PRAGMA query_only = ON")  # reads work, every write fails


async def test_a_save_failure_refuses_the_turn_until_writes_work_again(
    tmp_path: Path, caplog
) -> None:
    import sqlalchemy as sa

    db = tmp_path / "c.sqlite3"
    store = SQLTrackerStore(Domain.empty(), db=str(db))
    agent = _agent(store)
    failures = health.FailureLog()
    health.watch_tracker_store(agent, failures)
    # What Rasa's fail-safe wrapper does when a save fails: now the turn fails too.
    with pytest.raises(health.TrackerStoreUnavailable):
        agent.tracker_store.on_tracker_store_error(OSError("disk full"))
    assert failures.count == 1
    assert "TRACKER STORE FAILURE (OSError" in caplog.text
    # The database answers reads but refuses writes: still unhealthy.
    store.engine.dispose()
    sa.event.listen(store.engine, "connect", _query_only)
    check = await health.check_tracker_store(agent, failures)
    assert not check.ok and "OSError" in check.detail
    # Writable again: the write probe sees it, and leaves no row behind.
    sa.event.remove(store.engine, "connect", _query_only)
    store.engine.dispose()
    assert (await health.check_tracker_store(agent, failures)).ok
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM events").fetchone() == (0,)


async def test_no_agent_means_nothing_is_healthy() -> None:
    body = await health.report(None, health.FailureLog(), timeout=1)
    assert body["status"] == "fail"
    assert body["model"]["loaded"] is False
    assert not body["tracker_store"]["ok"] and not body["action_server"]["ok"]


def test_action_base_url() -> None:
    assert health.action_base_url("http://127.0.0.1:5055/webhook") == "http://127.0.0.1:5055"
    assert health.action_base_url("http://a:1/actions/webhook/") == "http://a:1/actions"


# --- real servers ------------------------------------------------------------------------


@pytest.mark.slow
def test_healthy_then_action_server_problems(restartable_servers) -> None:
    servers = restartable_servers
    status, body = get_health(servers)
    assert status == 200, body
    assert body["status"] == "ok"
    assert body["model"]["loaded"] is True
    assert body["model"]["name"] == "spine-faq.tar.gz" and body["model"]["id"]
    assert body["action_server"] == {"ok": True, "detail": "ok", "actions": 9}
    assert body["tracker_store"]["ok"] is True
    assert body["tracker_store"]["type"] == "SQLTrackerStore"

    servers.stop_process("actions")
    status, body = get_health(servers)
    assert status == 503
    assert body["status"] == "fail"
    assert body["action_server"]["ok"] is False
    assert body["action_server"]["detail"].startswith("unreachable")
    assert body["tracker_store"]["ok"] is True  # only the broken part is reported

    # An action server with another secret than Rasa's: every action would fail.
    servers.start_actions(env={"ACTION_SERVER_TOKEN": uuid.uuid4().hex})
    status, body = get_health(servers)
    assert status == 503
    assert body["action_server"]["detail"] == "refuses Rasa's X-Action-Token (HTTP 403)"


def wait_for_log(servers: Servers, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        log = servers.logs["rasa"].read_text()
        if text in log or time.monotonic() > deadline:
            assert text in log, log[-3000:]
            return log
        time.sleep(0.2)


class UnopenableStoreServers(Servers):
    """The tracker store is a SQLite file in a directory that does not exist."""

    @property
    def tracker_db(self) -> Path:
        return self.workdir / "no-such-directory" / "conversations.sqlite3"


@pytest.mark.slow
def test_unavailable_tracker_store_is_loud_and_unhealthy(tmp_path: Path) -> None:
    servers = UnopenableStoreServers(tmp_path, {"CLINIC_CONFIG": ""})
    try:
        servers.start_actions()
        servers.start_rasa()
        # Logged by the start-up check, which runs just after Rasa starts answering.
        log = wait_for_log(servers, "TRACKER STORE UNAVAILABLE (SQLTrackerStore)")
        assert "ERROR    bot.server.health" in log

        status, body = get_health(servers)
        assert status == 503
        assert body["tracker_store"]["ok"] is False
        assert body["tracker_store"]["type"] == "SQLTrackerStore"
        assert body["tracker_store"]["detail"] == "unreachable: OperationalError"
        assert body["model"]["ok"] and body["action_server"]["ok"]

        # A turn that cannot be recorded is refused, never answered from memory alone:
        # the patient is told to try again, and a red flag still gets its advice.
        replies = rest(servers, uuid.uuid4().hex, "does a facet injection hurt?")
        assert replies[0]["text"].startswith("Sorry, I can't answer right now")
        urgent = rest(servers, uuid.uuid4().hex, "I lost control of my bladder after the block")
        assert "911" in urgent[0]["text"] and urgent[0]["custom"]["urgency"] == "emergency"
        status, body = get_health(servers)
        assert status == 503 and body["tracker_store"]["failures"] >= 1
        assert "TRACKER STORE FAILURE" in servers.logs["rasa"].read_text()
    finally:
        servers.stop()
