"""Conversations survive a Rasa restart: the SQLite tracker store keeps them."""

from __future__ import annotations

import json
import sqlite3
import uuid

import pytest

from harness.client import rest

pytestmark = pytest.mark.slow


def user_texts(db, sender: str) -> list:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
            (sender,),
        ).fetchall()
    return [json.loads(data)["text"] for (data,) in rows]


def test_history_and_procedure_survive_a_restart(restartable_servers, store) -> None:
    servers = restartable_servers
    sender = uuid.uuid4().hex
    first = rest(servers, sender, "what is a medial branch block")
    assert store.fact("mbb_what_is").answer in first[0]["text"]

    servers.stop_rasa()
    servers.start_rasa()

    follow_up = rest(servers, sender, "how long does it last?")
    assert follow_up[0]["text"].startswith(store.fact("mbb_duration").answer)
    assert user_texts(servers.tracker_db, sender) == [
        "what is a medial branch block",
        "how long does it last?",
    ]
