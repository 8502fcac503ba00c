"""`python -m bot purge`: old conversations leave Rasa's SQL tracker store, recent stay.

The store is a real SQLite tracker store written by Rasa's SQLTrackerStore, with
conversations whose events carry chosen timestamps, as Rasa would have stored them.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.__main__ import main
from bot.core.paths import PROJECT_ROOT
from bot.ops.tracker_db import TrackerDbError, engine_from_endpoints, parse_age

DAY = 24 * 3600.0
NOW = time.time()


async def _save_conversation(store: SQLTrackerStore, sender: str, days_ago: List[float]) -> None:
    """A conversation with one patient turn (message + answer) per entry of `days_ago`."""
    events = []
    for age in days_ago:
        at = NOW - age * DAY
        events += [
            ActionExecuted("action_listen", timestamp=at),
            UserUttered("does it hurt?", timestamp=at),
            BotUttered("Most people handle it well.", timestamp=at + 1),
        ]
    await store.save(DialogueStateTracker.from_events(sender, events))


@pytest.fixture
async def tracker_db(tmp_path: Path) -> Path:
    """Conversations last active 90, 40 (started 100 days ago), 10 and 0 days ago."""
    db = tmp_path / "conversations.sqlite3"
    store = SQLTrackerStore(Domain.empty(), db=str(db))
    await _save_conversation(store, "old-90", [95, 90])
    await _save_conversation(store, "old-40", [100, 40])
    await _save_conversation(store, "active", [100, 10])  # old history, recent turn
    await _save_conversation(store, "today", [0])
    store.engine.dispose()
    return db


def event_counts(db: Path) -> Dict[str, int]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT sender_id, COUNT(*) FROM events GROUP BY sender_id"
        ).fetchall()
    return dict(rows)


def test_parse_age() -> None:
    assert parse_age("30d").total_seconds() == 30 * DAY
    assert parse_age(" 12H ").total_seconds() == 12 * 3600
    for bad in ("30", "d", "30w", "-1d", "0d", "1.5d", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_age(bad)


def test_purge_deletes_whole_conversations_whose_last_event_is_old(tracker_db, capsys) -> None:
    before = event_counts(tracker_db)
    assert set(before) == {"old-90", "old-40", "active", "today"}

    assert main(["purge", "--older-than", "30d", "--db", str(tracker_db)]) == 0

    after = event_counts(tracker_db)
    assert set(after) == {"active", "today"}
    # A conversation still in use keeps its whole history, the 100-day-old turn too.
    assert after == {"active": before["active"], "today": before["today"]}
    output = capsys.readouterr().out
    deleted = before["old-90"] + before["old-40"]
    assert f"deleted 2 conversation(s), {deleted} event(s)" in output
    assert "2 kept" in output
    assert "does it hurt" not in output and "old-90" not in output  # counts only


def test_hours_and_a_shorter_age(tracker_db) -> None:
    assert main(["purge", "--older-than", "241h", "--db", str(tracker_db)]) == 0
    assert set(event_counts(tracker_db)) == {"active", "today"}  # active: 240h ago
    assert main(["purge", "--older-than", "239h", "--db", str(tracker_db)]) == 0
    assert set(event_counts(tracker_db)) == {"today"}


def test_dry_run_deletes_nothing(tracker_db, capsys) -> None:
    before = event_counts(tracker_db)
    assert main(["purge", "--older-than", "30d", "--db", str(tracker_db), "--dry-run"]) == 0
    assert event_counts(tracker_db) == before
    assert "would delete 2 conversation(s)" in capsys.readouterr().out


def test_reads_the_store_from_an_endpoints_file(tracker_db, tmp_path, monkeypatch) -> None:
    # Like the project's endpoints.yml; the action server's secret is not needed to purge.
    monkeypatch.delenv("ACTION_SERVER_TOKEN", raising=False)
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        'action_endpoint:\n  url: "http://127.0.0.1:5055/webhook"\n'
        "  headers:\n    X-Action-Token: ${ACTION_SERVER_TOKEN}\n"
        "tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: conversations.sqlite3\n"
    )
    assert main(["purge", "--older-than", "50d", "--endpoints", str(endpoints)]) == 0
    assert set(event_counts(tracker_db)) == {"old-40", "active", "today"}


def test_a_database_server_url_is_built_like_rasa_does(tmp_path) -> None:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: db.example.org\n"
        "  port: 5432\n  db: rasa\n  username: ${DB_USER}\n  password: ${DB_PASSWORD}\n"
    )
    environ = {"DB_USER": "rasa", "DB_PASSWORD": "pw"}
    engine = engine_from_endpoints(endpoints, environ)  # does not connect
    assert engine.url.render_as_string(hide_password=False) == (
        "postgresql://rasa:pw@db.example.org:5432/rasa"
    )
    with pytest.raises(TrackerDbError, match="DB_PASSWORD"):
        engine_from_endpoints(endpoints, {"DB_USER": "rasa"})


def test_a_whole_database_url_in_the_endpoints_is_taken_as_it_is(tmp_path) -> None:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: ${DATABASE_URL}\n"
    )
    environ = {"DATABASE_URL": "postgresql://rasa:pw@db.example.org:5433/spine_faq"}
    engine = engine_from_endpoints(endpoints, environ)  # does not connect
    assert engine.url.render_as_string(hide_password=False) == environ["DATABASE_URL"]


def test_webhook_delivery_records_are_purged_too(tracker_db, tmp_path, capsys) -> None:
    webhook_db = tmp_path / "webhook.sqlite3"
    with sqlite3.connect(webhook_db) as connection:
        connection.execute(
            "CREATE TABLE deliveries (message_id TEXT PRIMARY KEY, sender TEXT NOT NULL,"
            " text_sha256 TEXT NOT NULL, response TEXT NOT NULL, created_at REAL NOT NULL)"
        )
        for message_id, age in (("m-old", 60), ("m-new", 1)):
            connection.execute(
                "INSERT INTO deliveries VALUES (?, 's', 'x', '{}', ?)",
                (message_id, NOW - age * DAY),
            )
    args = [
        "purge",
        "--older-than",
        "30d",
        "--db",
        str(tracker_db),
        "--webhook-db",
        str(webhook_db),
    ]
    assert main(args) == 0
    with sqlite3.connect(webhook_db) as connection:
        assert connection.execute("SELECT message_id FROM deliveries").fetchall() == [("m-new",)]
    assert "deleted 1 signed webhook delivery record(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--older-than", "30 days"], "is not an age like 30d"),
        (["--older-than", "0d"], "at least 1"),
        ([], "the following arguments are required: --older-than"),
        (["--older-than", "30d", "--db", "a.db", "--endpoints", "e.yml"], "not allowed with"),
        (["--older-than", "30d", "--db", "/nonexistent/c.sqlite3"], "no such database file"),
    ],
)
def test_bad_arguments_exit_with_2_and_say_why(arguments, message) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "purge", *arguments],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_a_store_of_another_type_is_refused(tmp_path, capsys) -> None:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: redis\n  url: localhost\n")
    assert main(["purge", "--older-than", "30d", "--endpoints", str(endpoints)]) == 2
    assert "SQL tracker store only" in capsys.readouterr().err


def test_a_database_that_is_not_a_tracker_store_fails_cleanly(tmp_path, capsys) -> None:
    db = tmp_path / "other.sqlite3"
    sqlite3.connect(db).close()
    assert main(["purge", "--older-than", "30d", "--db", str(db)]) == 1
    assert "no 'events' table" in capsys.readouterr().err


def test_webhook_delivery_records_are_purged_on_postgresql(postgres_database, capsys) -> None:
    """Replicas share their webhook claims in PostgreSQL (WEBHOOK_DB as a URL)."""
    import sqlalchemy as sa

    from bot.channels.signed_webhook import CREATE_DELIVERIES

    engine, endpoints = postgres_database
    with engine.begin() as connection:
        connection.execute(sa.text(CREATE_DELIVERIES))
        for message_id, age in (("m-old", 60), ("m-new", 1)):
            connection.execute(
                sa.text("INSERT INTO deliveries VALUES (:id, 's', 'x', '{}', :at)"),
                {"id": message_id, "at": time.time() - age * DAY},
            )
    url = engine.url.render_as_string(hide_password=False)
    arguments = ["purge", "--older-than", "30d", "--endpoints", str(endpoints)]
    assert main([*arguments, "--webhook-db", url, "--dry-run"]) == 0
    assert "would delete 1 signed webhook delivery record(s)" in capsys.readouterr().out
    assert main([*arguments, "--webhook-db", url]) == 0
    assert "deleted 1 signed webhook delivery record(s)" in capsys.readouterr().out
    with engine.connect() as connection:
        left = connection.execute(sa.text("SELECT message_id FROM deliveries")).all()
    assert left == [("m-new",)]


async def test_purge_works_on_postgresql(postgres_database, capsys) -> None:
    """The same purge on Rasa's own SQL tracker store, here on the local PostgreSQL."""
    import sqlalchemy as sa

    engine, endpoints = postgres_database
    name = engine.url.database
    store = SQLTrackerStore(
        Domain.empty(),
        dialect="postgresql",
        host="127.0.0.1",
        port=5432,
        db=name,
        username="postgres",
    )
    await _save_conversation(store, "old-90", [95, 90])
    await _save_conversation(store, "active", [100, 10])
    store.engine.dispose()
    assert main(["purge", "--older-than", "30d", "--endpoints", str(endpoints)]) == 0
    assert "deleted 1 conversation(s), 6 event(s)" in capsys.readouterr().out
    with engine.connect() as connection:
        left = connection.execute(
            sa.text("SELECT sender_id, COUNT(*) FROM events GROUP BY sender_id")
        ).all()
    assert dict(left) == {"active": 6}
