"""Two Rasa replicas behind nginx on PostgreSQL and Redis, as `make cluster` starts them.

Real servers throughout: the cluster is bot/server/cluster.py's own (harness/cluster.py
only picks ports and gives it a database and a Redis that a test may take down; the
`cluster` fixture in conftest.py, shared with the widget's browser test). Skipped with a
reason when PostgreSQL, redis-server or nginx is missing, except under CI, where that
fails the run.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, List, Tuple

import pytest

from bench.load import check_run, run_conversations, sql_tracker_reader
from bot.channels.signed_webhook import sign
from harness.client import new_sender, post, rest
from harness.shared import WEBHOOK_SECRET

pytestmark = pytest.mark.slow


def health(url: str) -> Tuple[int, Dict[str, Any]]:
    try:
        with urllib.request.urlopen(url + "/webhooks/health/", timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for_health(url: str, status: int, timeout: float = 60) -> Dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            got, body = health(url)
        except (OSError, ValueError):
            got, body = 0, {}
        if got == status or time.monotonic() > deadline:
            assert got == status, body
            return body
        time.sleep(0.5)


def stored_user_texts(cluster, sender: str) -> List[str]:
    return [turn.text for turn in sql_tracker_reader(cluster.database_url)(sender)]


def test_health_through_nginx_reports_postgresql_and_redis(cluster) -> None:
    status, body = health(cluster.url)
    assert status == 200, body
    assert body["tracker_store"]["ok"] and body["tracker_store"]["type"] == "SQLTrackerStore"
    assert body["lock_store"] == {"ok": True, "detail": "ok", "type": "AtomicRedisLockStore"}
    for index in range(2):
        assert health(cluster.replica(index).url)[0] == 200


def test_fifty_conversations_on_randomly_chosen_replicas_stay_exact(cluster) -> None:
    """50 conversations x 20 messages, each message to a replica picked at random."""
    replicas = [cluster.replica(0).url, cluster.replica(1).url]
    run = asyncio.run(run_conversations(replicas, conversations=50, messages=20, seed=7))
    check = check_run(run, sql_tracker_reader(cluster.database_url))
    assert check.ok, check.problems
    assert check.sent == check.replies == 1000
    assert check.trackers_exact == 50


QUESTIONS = [
    "does a facet injection hurt?",
    "how long does a medial branch block last?",
    "what medicine is in a facet joint injection?",
    "what is radiofrequency ablation?",
    "do they use x-ray for the block?",
    "why would I need two blocks?",
    "what are facet joints?",
    "is the block a test or a treatment?",
]


def send_to_both(cluster, sender: str, questions: List[str], gap_s: float) -> Dict[int, Any]:
    """Each question from its own thread, alternately to replica 0 and 1, `gap_s` apart."""
    replies: Dict[int, List[Dict[str, Any]]] = {}

    def send(index: int) -> None:
        replies[index] = rest(cluster.replica(index % 2), sender, questions[index])

    threads = []
    for index in range(len(questions)):
        threads.append(threading.Thread(target=send, args=(index,)))
        threads[-1].start()
        time.sleep(gap_s)
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(replies) == list(range(len(questions)))
    return replies


def test_a_burst_to_both_replicas_is_processed_one_at_a_time(cluster) -> None:
    sender = new_sender()
    replies = send_to_both(cluster, sender, QUESTIONS, gap_s=0.0)
    stored = sql_tracker_reader(cluster.database_url)(sender)
    assert sorted(turn.text for turn in stored) == sorted(QUESTIONS)
    for turn in stored:
        # Each reply is stored right after its own message: no two turns interleaved.
        sent = replies[QUESTIONS.index(turn.text)]
        assert turn.bot_texts == [r["text"] for r in sent if r.get("text")]


def test_messages_to_alternating_replicas_are_processed_in_arrival_order(cluster) -> None:
    """Sent 0.3 s apart without waiting for answers: stored in the order they arrived."""
    sender = new_sender()
    send_to_both(cluster, sender, QUESTIONS[:5], gap_s=0.3)
    assert stored_user_texts(cluster, sender) == QUESTIONS[:5]


def test_one_message_id_sent_to_both_replicas_at_once_is_processed_once(cluster) -> None:
    sender, message_id = new_sender(), uuid.uuid4().hex
    body = json.dumps(
        {"message_id": message_id, "sender": sender, "text": "does a facet injection hurt?"}
    ).encode()
    headers = {"Content-Type": "application/json", "X-Signature-SHA256": sign(WEBHOOK_SECRET, body)}
    results: Dict[int, Tuple[int, bytes]] = {}

    def deliver(index: int) -> None:
        results[index] = post(
            cluster.replica(index), "/webhooks/signed_webhook/webhook", body, headers
        )

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [results[i][0] for i in range(2)] == [200, 200], results
    assert json.loads(results[0][1]) == json.loads(results[1][1])
    assert stored_user_texts(cluster, sender) == ["does a facet injection hurt?"]


def test_sms_choices_offered_by_one_replica_are_answered_by_the_other(cluster, store) -> None:
    phone = "+1555" + str(uuid.uuid4().int)[:7]

    def sms(replica: int, text: str) -> str:
        before = cluster.outbox.read_text().count("\n") if cluster.outbox.exists() else 0
        sid = "SM" + uuid.uuid4().hex
        fields = {"From": phone, "To": "+15550009999", "Body": text, "MessageSid": sid}
        status, raw = post(
            cluster.replica(replica),
            "/webhooks/twilio_sms/webhook",
            urllib.parse.urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 204, raw
        lines = cluster.outbox.read_text().splitlines()[before:]
        return "\n".join(json.loads(line)["body"] for line in lines if phone in line)

    offered = sms(0, "what is a medial branch block")
    assert "Reply 1, 2 or 3." in offered
    second = [store.topics[t].question for t in store.topics["what_is"].follow_ups][1]
    assert f"2. {second}" in offered
    sms(1, "2")
    assert stored_user_texts(cluster, phone) == ["what is a medial branch block", second]


def test_a_killed_replica_leaves_the_other_answering_through_nginx(cluster) -> None:
    """SIGKILL one replica in the middle of a run through nginx: later turns all get
    answers from the other one, and no stored conversation is damaged."""

    async def run():
        return await run_conversations(cluster.url, conversations=8, messages=12, think_s=0.3)

    result: Dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.setdefault("run", asyncio.run(run())))
    runner.start()
    time.sleep(2.0)
    killed_at = time.perf_counter()
    cluster.cluster.stop_replica(1)
    runner.join(timeout=300)
    try:
        run_result = result["run"]
        reader = sql_tracker_reader(cluster.database_url)
        failed = 0
        for conversation in run_result.conversations:
            stored = reader(conversation.sender)
            answered = [turn for turn in conversation.turns if turn.error is None]
            failed += len(conversation.turns) - len(answered)
            # At most the one turn in flight at the kill failed, per conversation.
            assert len(conversation.turns) - len(answered) <= 1
            # Every answered turn is stored once with the reply the patient got.
            texts = [turn.text for turn in stored]
            for turn in answered:
                assert texts.count(turn.text) == 1
                assert stored[texts.index(turn.text)].bot_texts == turn.reply_texts
        assert failed <= 8
        assert health(cluster.url)[0] == 200  # nginx now sends everything to replica 0
        assert "Source" in rest(cluster, new_sender(), "does it hurt?")[0]["text"]
        assert time.perf_counter() - killed_at < 280
    finally:
        cluster.cluster.start_replica(1)
        wait_for_health(cluster.replica(1).url, 200, timeout=180)


def test_redis_down_is_a_clear_503_and_service_returns_after(cluster) -> None:
    cluster.redis.stop()
    try:
        body = wait_for_health(cluster.url, 503)
        assert not body["lock_store"]["ok"]
        status, raw = post(
            cluster,
            "/webhooks/rest/webhook",
            json.dumps({"sender": new_sender(), "message": "does it hurt?"}).encode(),
        )
        assert status == 200 and "Sorry" in raw.decode()  # an apology, never silence
    finally:
        cluster.redis.start()
    wait_for_health(cluster.url, 200)
    sender = new_sender()
    assert "Source" in rest(cluster, sender, "does a facet injection hurt?")[0]["text"]
    assert stored_user_texts(cluster, sender) == ["does a facet injection hurt?"]


def test_postgresql_down_is_a_clear_503_and_nothing_is_lost(cluster) -> None:
    sender = new_sender()
    assert "Source" in rest(cluster.replica(0), sender, "does a facet injection hurt?")[0]["text"]
    cluster.database_proxy.cut()
    try:
        body = wait_for_health(cluster.replica(0).url, 503)
        assert not body["tracker_store"]["ok"]
        status, raw = post(
            cluster.replica(0),
            "/webhooks/rest/webhook",
            json.dumps({"sender": sender, "message": "how long does it last?"}).encode(),
        )
        # Refused, not answered from memory: the patient is told to send it again.
        assert status == 200 and "try again in a few minutes" in raw.decode()
    finally:
        cluster.database_proxy.restore()
    for index in range(2):
        wait_for_health(cluster.replica(index).url, 200, timeout=90)
    rest(cluster.replica(1), sender, "what is a medial branch block?")
    # The conversation goes on where it was; the refused message was never half-stored.
    assert stored_user_texts(cluster, sender) == [
        "does a facet injection hurt?",
        "what is a medial branch block?",
    ]


def test_make_cluster_runs_in_the_foreground_and_ctrl_c_stops_everything(tmp_path) -> None:
    """`python -m bot.server.cluster` (what `make cluster` runs) as a user starts it:
    it says where it is once ready, and SIGINT (Ctrl-C) stops every process it started."""
    import signal
    import socket
    import subprocess
    import sys

    from harness.cluster import free_port_block
    from harness.postgres import database_url, drop_database
    from harness.servers import free_port
    from harness.shared import shared_env

    name = "cluster_cli_" + uuid.uuid4().hex[:10]
    port, rasa_port = free_port(), free_port_block(2)
    env = {
        **os.environ,
        **shared_env(tmp_path),
        "CLUSTER_PORT": str(port),
        "CLUSTER_RASA_PORT": str(rasa_port),
        "CLUSTER_ACTION_PORT": str(free_port_block(2)),
        "DATABASE_URL": database_url(name),
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.server.cluster"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: List[str] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Cluster ready:"):
                break
        assert any(f"Cluster ready: http://127.0.0.1:{port}" in line for line in lines), lines
        assert health(f"http://127.0.0.1:{port}")[0] == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        for listening in (port, rasa_port, rasa_port + 1):
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", listening)) != 0, f"{listening} still open"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        drop_database(name)
