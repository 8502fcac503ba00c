"""Patient turns read back from Rasa's SQL tracker store, each with what the assistant did.

Rasa stores a conversation as a list of events: the patient's message (`user`, with the
NLU result), the action that answered it (`action`), the slots it set (`slot`) and the
bot's messages (`bot`). A turn's outcome is the first of our actions that ran after the
message: `action_answer_question` answered it, `action_rephrase` did not understand it,
and so on (ACTION_OUTCOMES). The topic comes from the `topic` slot the answer set, and a
widget vote from the `feedback` slot (bot/channels/feedback.py), which rates the answer
before it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from bot.core.answers import FEEDBACK_SLOT, NOT_COVERED_TOPIC, VOTES, answer_digest
from bot.core.outcomes import (
    ANSWERED,
    ENGLISH_ONLY,
    FALLBACK,
    NOT_COVERED,
    OUT_OF_SCOPE,
    OUTCOMES,
    PERSONAL_ADVICE,
    RED_FLAG,
    SMALL_TALK,
)
from bot.ops.review_data import Turn
from bot.ops.tracker_db import TrackerDbError

ACTION_OUTCOMES = {
    "action_answer_question": ANSWERED,
    "action_explain_uncovered": NOT_COVERED,
    "action_rephrase": FALLBACK,
    "action_give_red_flag_advice": RED_FLAG,
    "action_refer_personal_advice": PERSONAL_ADVICE,
    "action_decline_out_of_scope": OUT_OF_SCOPE,
    "action_explain_english_only": ENGLISH_ONLY,
    "action_greet_patient": SMALL_TALK,
    "action_share_clinic_contact": SMALL_TALK,
    "utter_goodbye": SMALL_TALK,
    "utter_you_are_welcome": SMALL_TALK,
    "utter_i_am_a_bot": SMALL_TALK,
}
# An answer this unsure is worth a look even though the patient got one. The answer
# planner falls back below about 0.4 (config.yml); 0.6 leaves the clear answers out.
LOW_CONFIDENCE = 0.6


def _utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(timestamp), dt.timezone.utc)


class _Pending:
    """A turn being read: the patient's message until its outcome is known."""

    def __init__(self, sender: str, timestamp: float, data: Dict[str, Any]) -> None:
        parse = data.get("parse_data") or {}
        intent = parse.get("intent") or {}
        self.sender = sender
        self.timestamp = timestamp
        self.channel = str(data.get("input_channel") or "")
        self.text = str(data.get("text") or "")
        self.intent = str(intent.get("name") or "")
        self.confidence = float(intent.get("confidence") or 0.0)
        self.outcome: Optional[str] = None
        self.topic: Optional[str] = None
        self.vote: Optional[str] = None

    def turn(self) -> Turn:
        outcome = self.outcome or FALLBACK
        reason = None
        if outcome in (FALLBACK, NOT_COVERED, PERSONAL_ADVICE):
            reason = outcome
        elif outcome == ANSWERED and self.vote == "down":
            reason = "thumbs_down"
        elif outcome == ANSWERED and self.confidence < LOW_CONFIDENCE:
            reason = "low_confidence"
        return Turn(
            sender=self.sender,
            time=_utc(self.timestamp),
            channel=self.channel,
            text=self.text,
            intent=self.intent,
            confidence=round(self.confidence, 3),
            outcome=outcome,
            topic=self.topic if outcome == ANSWERED else None,
            vote=self.vote,
            queue_reason=reason,
        )


def _vote(data: Dict[str, Any]) -> Tuple[Optional[str], str]:
    """(vote, digest of the rated answer's text) from a feedback slot event."""
    value = data.get("value")
    if not isinstance(value, dict) or value.get("vote") not in VOTES:
        return None, ""
    return value["vote"], str(value.get("answer") or "")


def turns_from_events(rows: Iterable[Tuple[str, str, float, Optional[str], str]]) -> List[Turn]:
    """Turns from (sender_id, type_name, timestamp, action_name, data JSON) rows, each
    sender's events in the order Rasa wrote them.

    A vote rates the answer whose text digest it carries (`answer_digest`), or else the
    sender's latest answered turn.
    """
    read: List[_Pending] = []  # made into Turns at the end: a vote can come much later
    pending: Dict[str, _Pending] = {}
    answered: Dict[Tuple[str, str], _Pending] = {}  # (sender, answer digest) -> its turn
    latest: Dict[str, _Pending] = {}
    for sender, kind, timestamp, action, raw in rows:
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            continue  # a damaged row is skipped, not fatal to the whole report
        if kind == "user":
            pending[sender] = _Pending(sender, timestamp, data)
            read.append(pending[sender])
            continue
        current = pending.get(sender)
        if kind == "action" and current is not None and current.outcome is None:
            current.outcome = ACTION_OUTCOMES.get(action or "", current.outcome)
        elif kind == "slot" and data.get("name") == "topic" and current is not None:
            value = data.get("value")
            # A not-covered answer marks the slot too; it is no fact-store topic.
            if value and not str(value).startswith(NOT_COVERED_TOPIC):
                current.topic = value
        elif kind == "bot" and current is not None:
            # The reply's own outcome (actions/context.py) beats the action's name: an
            # answer action can still end up referring the patient to the care team.
            said = (data.get("metadata") or {}).get("outcome")
            if said in OUTCOMES:
                current.outcome = said
            if current.outcome == ANSWERED:
                answered[(sender, answer_digest(str(data.get("text") or "")))] = current
                latest[sender] = current
        elif kind == "slot" and data.get("name") == FEEDBACK_SLOT:
            vote, digest = _vote(data)
            target = answered.get((sender, digest)) or latest.get(sender)
            if vote is not None and target is not None:
                target.vote = vote
    turns = [item.turn() for item in read]
    return sorted(turns, key=lambda turn: (turn.time, turn.sender))


def _rows(connection: Any, start: float) -> Iterator[Tuple[str, str, float, Optional[str], str]]:
    import sqlalchemy as sa

    senders = sa.text(
        "SELECT DISTINCT sender_id FROM events WHERE type_name = 'user' AND timestamp >= :start"
    )
    events = sa.text(
        "SELECT sender_id, type_name, timestamp, action_name, data FROM events"
        " WHERE sender_id IN :senders AND timestamp >= :start ORDER BY sender_id, id"
    ).bindparams(sa.bindparam("senders", expanding=True))
    active = [row[0] for row in connection.execute(senders, {"start": start})]
    for offset in range(0, len(active), 500):
        batch = active[offset : offset + 500]
        yield from connection.execute(events, {"senders": batch, "start": start})


def read_turns(engine: Any, start: dt.datetime) -> List[Turn]:
    """Every patient turn since `start`, from the tracker store `engine` reaches."""
    import sqlalchemy as sa

    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("events"):
                raise TrackerDbError(
                    "no 'events' table: this is not a Rasa SQL tracker store", exit_code=2
                )
            return turns_from_events(list(_rows(connection, start.timestamp())))
    except sa.exc.SQLAlchemyError as error:
        # The type only: SQLAlchemy's message can carry the statement's parameters.
        raise TrackerDbError(f"tracker store error: {type(error).__name__}") from None
    finally:
        engine.dispose()
