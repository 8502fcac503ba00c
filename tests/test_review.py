"""The staff review, in-process: turns read back from tracker events, clusters, the files.

End to end (real conversations through the servers, then `python -m bot review`) is in
tests/test_review_e2e.py.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import stat
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
import sqlalchemy as sa
import yaml

from bot.__main__ import main
from bot.core.answers import answer_digest
from bot.core.outcomes import ANSWERED, FALLBACK, NOT_COVERED, RED_FLAG
from bot.ops.clusters import cluster_turns
from bot.ops.conversations import turns_from_events
from bot.ops.review import build_review, suggestions_yaml, unanswered_csv, write_report
from bot.ops.review_data import Turn

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.timezone.utc)
Row = Tuple[str, str, float, Optional[str], str]


class Conversation:
    """Tracker events as Rasa's SQL tracker store holds them, written by hand."""

    def __init__(self, sender: str, start: float) -> None:
        self.sender = sender
        self.clock = start
        self.rows: List[Row] = []

    def _add(self, kind: str, data: Dict[str, Any], action: Optional[str] = None) -> None:
        self.clock += 1
        self.rows.append((self.sender, kind, self.clock, action, json.dumps(data)))

    def turn(
        self, text: str, intent: str, confidence: float, action: str, reply: str = "", **slots
    ) -> None:
        parse = {"intent": {"name": intent, "confidence": confidence}, "text": text}
        self._add("user", {"text": text, "parse_data": parse, "input_channel": "rest"})
        self._add("action", {"name": action}, action)
        if reply:
            self._add("bot", {"text": reply})
        for name, value in slots.items():
            self._add("slot", {"name": name, "value": value})
        self._add("action", {"name": "action_listen"}, "action_listen")

    def vote(self, vote: str, answer: str) -> None:
        self._add("slot", {"name": "feedback", "value": {"vote": vote, "answer": answer}})


def test_each_turn_gets_the_outcome_of_the_action_that_answered_it() -> None:
    chat = Conversation("p1", NOW.timestamp() - 3600)
    chat.turn("does it hurt", "ask_pain", 0.95, "action_answer_question", "A.", topic="pain")
    chat.turn("blorp zibble", "nlu_fallback", 0.2, "action_rephrase", "Sorry")
    chat.turn("is it covered by my dental plan", "ask_uncovered", 0.8, "action_explain_uncovered")
    chat.turn("i lost control of my bladder", "red_flag", 1.0, "action_give_red_flag_advice")
    chat.turn("how long does it last", "ask_duration", 0.5, "action_answer_question", "B.")
    turns = turns_from_events(chat.rows)
    assert [(t.outcome, t.queue_reason) for t in turns] == [
        (ANSWERED, None),
        (FALLBACK, FALLBACK),
        (NOT_COVERED, NOT_COVERED),
        (RED_FLAG, None),
        (ANSWERED, "low_confidence"),
    ]
    assert turns[0].topic == "pain" and turns[0].channel == "rest"
    assert turns[0].time == dt.datetime.fromtimestamp(NOW.timestamp() - 3599, dt.timezone.utc)


def test_a_vote_rates_the_answer_it_names_even_after_later_turns() -> None:
    chat = Conversation("p1", NOW.timestamp() - 3600)
    chat.turn("does it hurt", "ask_pain", 0.95, "action_answer_question", "It may sting.")
    chat.turn("how long does it last", "ask_duration", 0.9, "action_answer_question", "Months.")
    chat.vote("down", answer_digest("It may sting."))
    chat.vote("up", answer_digest("Months."))
    chat.vote("sideways", answer_digest("Months."))  # not a vote: ignored
    first, second = turns_from_events(chat.rows)
    assert (first.vote, first.queue_reason) == ("down", "thumbs_down")
    assert (second.vote, second.queue_reason) == ("up", None)


def test_damaged_rows_are_skipped_and_senders_kept_apart() -> None:
    one, two = Conversation("p1", 1000.0), Conversation("p2", 1000.5)
    one.turn("does it hurt", "ask_pain", 0.9, "action_answer_question", "A.")
    two.turn("blorp", "nlu_fallback", 0.1, "action_rephrase")
    rows = one.rows + [("p1", "bot", 5000.0, None, "{not json")] + two.rows
    turns = turns_from_events(rows)
    assert {(t.sender, t.outcome) for t in turns} == {("p1", ANSWERED), ("p2", FALLBACK)}


def _turn(text: str, minutes: int, intent: str = "nlu_fallback", reason: str = FALLBACK) -> Turn:
    return Turn(
        sender=f"s{minutes}",
        time=NOW - dt.timedelta(minutes=minutes),
        channel="rest",
        text=text,
        intent=intent,
        confidence=0.2,
        outcome=FALLBACK if reason == FALLBACK else NOT_COVERED,
        queue_reason=reason,
    )


def test_paraphrases_share_a_cluster_and_other_questions_do_not(encoder) -> None:
    parking = [
        "where do I park for my appointment",
        "is there parking at the clinic",
        "is there a parking lot",
    ]
    turns = [_turn(text, minutes) for minutes, text in enumerate(parking, 1)]
    turns.append(_turn("can I eat before the injection", 10, "ask_preparation", NOT_COVERED))
    clusters = cluster_turns(turns, encoder.encode)
    assert [c.count for c in clusters] == [3, 1]
    assert {t.text for t in clusters[0].turns} == set(parking)
    assert clusters[0].guess == "nlu_fallback" and clusters[1].guess == "ask_preparation"
    assert clusters[0].first_seen == NOW - dt.timedelta(minutes=3)
    assert clusters[0].last_seen == NOW - dt.timedelta(minutes=1)


def test_csv_and_suggestions_are_marked_redacted_and_complete() -> None:
    turns = [_turn("call me at 555-867-5309 about parking", 5), _turn("blorp", 3)]

    def redact(text: str) -> str:
        return text.replace("555-867-5309", "[phone]")

    text = unanswered_csv(turns, redact)
    assert text.startswith("# CONTAINS PATIENT INFORMATION")
    rows = list(csv.DictReader(io.StringIO(text.split("\n", 1)[1])))
    assert [row["text"] for row in rows] == ["call me at [phone] about parking", "blorp"]
    assert rows[0]["reason"] == "not understood (asked to rephrase)"
    assert "555-867-5309" not in text

    review = build_review(turns, NOW - dt.timedelta(days=1), NOW, lambda texts: _same(texts))
    drafts = suggestions_yaml(review.clusters, redact)
    assert drafts.startswith("# CONTAINS PATIENT INFORMATION")
    assert "nothing here is applied" in drafts
    [draft] = yaml.safe_load(drafts)["suggestions"]  # _same puts both in one cluster
    assert draft["count"] == 2 and "555-867-5309" not in drafts
    examples = ["call me at [phone] about parking", "blorp"]  # oldest first
    assert draft["if_the_articles_answer_it"]["examples"] == examples


def _same(texts):
    """An 'encoder' that finds every text alike (one cluster)."""
    import numpy as np

    return np.ones((len(texts), 3)) / np.sqrt(3)


def test_red_flags_are_never_queued_nor_written_as_text(tmp_path: Path) -> None:
    # Even marked for review (as no reader sets it), a red flag is never queued.
    red = Turn("s", NOW, "rest", "I lost control of my bladder", "red_flag", 1.0, RED_FLAG)
    red = dataclasses.replace(red, queue_reason=FALLBACK)
    review = build_review([red, _turn("blorp", 1)], NOW - dt.timedelta(days=1), NOW, _same)
    assert [c.count for c in review.clusters] == [1]
    paths = write_report(review, tmp_path / "out", NOW)
    for path in paths:
        assert "bladder" not in path.read_text(), path.name


def test_report_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    review = build_review([_turn("blorp", 1)], NOW - dt.timedelta(days=1), NOW, _same)
    out = tmp_path / "report"
    out.mkdir(mode=0o755)
    (out / "review.html").write_text("old")
    (out / "review.html").chmod(0o644)
    paths = write_report(review, out, NOW)
    assert sorted(p.name for p in paths) == ["review.html", "suggestions.yml", "unanswered.csv"]
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        assert "PATIENT INFORMATION" in path.read_text().splitlines()[0], path.name


def _empty_store(path: Path) -> Path:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT,"
                " timestamp FLOAT, intent_name TEXT, action_name TEXT, data TEXT)"
            )
        )
    engine.dispose()
    return path


def test_an_empty_period_or_a_missing_database_is_exit_code_2(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    empty = _empty_store(tmp_path / "empty.sqlite3")
    assert main(["review", "--since", "7d", "--out", str(out), "--db", str(empty)]) == 2
    assert "no patient messages from" in capsys.readouterr().err
    missing = tmp_path / "nope.sqlite3"
    assert main(["review", "--since", "7d", "--out", str(out), "--db", str(missing)]) == 2
    assert "no such database file" in capsys.readouterr().err
    assert not out.exists()  # nothing written for an empty period
    with pytest.raises(SystemExit) as exit_info:
        main(["review", "--since", "0d", "--out", str(out), "--db", str(empty)])
    assert exit_info.value.code == 2


# --- on PostgreSQL, named by an endpoints file as Rasa reads it ---------------------------


@pytest.fixture
def postgres_store(postgres_database, tmp_path) -> Path:
    """One conversation in a fresh PostgreSQL database; the endpoints file naming it."""
    engine, endpoints = postgres_database
    chat = Conversation("p1", time.time() - 600)  # within the last day, whenever run
    chat.turn("does it hurt", "ask_pain", 0.95, "action_answer_question", "It may sting.")
    chat.turn("where do I park", "nlu_fallback", 0.2, "action_rephrase", "Sorry")
    with engine.begin() as connection:
        for sender, kind, timestamp, action, data in chat.rows:
            connection.execute(
                sa.text(
                    "INSERT INTO events (sender_id, type_name, timestamp, action_name, data)"
                    " VALUES (:s, :k, :t, :a, :d)"
                ),
                {"s": sender, "k": kind, "t": timestamp, "a": action, "d": data},
            )
    return endpoints


def test_review_reads_a_postgresql_tracker_store(postgres_store, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert (
        main(["review", "--since", "1d", "--out", str(out), "--endpoints", str(postgres_store)])
        == 0
    )
    assert "2 patient message(s)" in capsys.readouterr().out
    rows = (out / "unanswered.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[-1].endswith(",where do I park")  # warning, header, one miss
