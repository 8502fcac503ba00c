"""End to end over Rasa's REST channel, with the real action server and model.

This is what a new user does after `make run`: post a question, get a cited,
plain-language answer from the fact store.
"""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from harness.client import rest
from harness.shared import CLINIC_NAME, CLINIC_PHONE

pytestmark = pytest.mark.slow


def test_does_it_hurt(servers, store) -> None:
    replies = rest(servers, uuid.uuid4().hex, "does a facet injection hurt?")
    assert len(replies) == 1
    assert store.fact("pain_during").answer in replies[0]["text"]
    assert "Source:" in replies[0]["text"]
    assert 1 <= len(replies[0]["buttons"]) <= 3


def test_follow_up_keeps_the_procedure(servers, store) -> None:
    sender = uuid.uuid4().hex
    first = rest(servers, sender, "what is a medial branch block")
    assert store.fact("mbb_what_is").answer in first[0]["text"]
    follow_up = rest(servers, sender, "how long does it last?")
    assert follow_up[0]["text"].startswith(store.fact("mbb_duration").answer)
    assert store.fact("fji_duration").answer not in follow_up[0]["text"]


def test_button_payload_is_answered(servers, store) -> None:
    sender = uuid.uuid4().hex
    first = rest(servers, sender, "what is rfa")
    button = first[0]["buttons"][0]
    topic = store.topic_for_question(button["payload"])
    assert topic is not None and button["title"] == topic.question
    second = rest(servers, sender, button["payload"])
    # The button's own topic (for RFA, or what the articles say for the other procedures).
    answers = [fact.answer for fact in store.facts_for(topic.id)]
    assert any(answer in second[0]["text"] for answer in answers), second[0]["text"][:200]


def test_each_question_of_a_message_gets_its_own_answer(servers, store) -> None:
    """Two questions in one message: two messages, in the order asked, the second
    quoting its question; a red flag beside them is one message of advice only."""
    text = "What medicine is in a facet joint injection? And how long is the recovery?"
    replies = rest(servers, uuid.uuid4().hex, text)
    assert len(replies) == 2, [reply["text"][:80] for reply in replies]
    # Read as the recovery question; the other one comes first, where it was asked.
    assert replies[0]["text"].startswith('About "What medicine is in a facet joint injection?":')
    assert store.fact("fji_medication").answer in replies[0]["text"]
    assert "buttons" not in replies[0] and replies[1]["buttons"]
    recovery = [fact.answer for fact in store.facts_for("recovery")]
    assert any(answer in replies[1]["text"] for answer in recovery)
    assert "steroid" not in replies[1]["text"]
    alarming = (
        "What medicine is in a facet joint injection? I can't feel my legs since this morning."
    )
    replies = rest(servers, uuid.uuid4().hex, alarming + " And how long is the recovery?")
    assert len(replies) == 1 and replies[0]["custom"] == {"urgency": "emergency"}


def test_red_flag_gets_emergency_advice(servers) -> None:
    replies = rest(servers, uuid.uuid4().hex, "does it hurt? i also lost control of my bladder")
    assert len(replies) == 1  # text and urgency in one message, not two
    assert "911" in replies[0]["text"]
    assert CLINIC_PHONE in replies[0]["text"]
    assert replies[0]["custom"] == {"urgency": "emergency"}


@pytest.mark.parametrize(
    "text, urgency",
    [
        ("I have been saving up my pills to take tonight", "crisis"),
        ("fever and the injection site is red and swollen", "infection"),
    ],
)
def test_each_kind_of_urgency_is_sent_as_data(servers, text, urgency) -> None:
    replies = rest(servers, uuid.uuid4().hex, text)
    assert [reply.get("custom") for reply in replies] == [{"urgency": urgency}]


@pytest.mark.parametrize(
    "text",
    [
        "does it hurt?",
        "no fever, no numbness - how long is recovery?",
        "could RFA make me lose control of my bladder?",
        "my dad lost feeling in his legs years ago",
    ],
)
def test_no_reply_without_a_present_red_flag_carries_an_urgency(servers, text) -> None:
    replies = rest(servers, uuid.uuid4().hex, text)
    assert replies and not any(reply.get("custom") for reply in replies)


def test_a_question_about_a_sign_gets_the_answer_and_a_calm_safety_net(servers) -> None:
    [reply] = rest(servers, uuid.uuid4().hex, "is leg weakness a side effect of a nerve block?")
    assert "If you ever notice a warning sign like this yourself, call 911" in reply["text"]
    assert "now" not in reply["text"].split("Source")[0].split()


def test_contact_comes_from_the_environment(servers) -> None:
    replies = rest(servers, uuid.uuid4().hex, "can i talk to a real person")
    assert f"{CLINIC_NAME} at {CLINIC_PHONE}" in replies[0]["text"]


def test_rasa_runs_with_the_speedups(servers) -> None:
    """Started as `make run` starts it: through bot.server.launcher (with its speed-ups)."""
    log = servers.logs["rasa"].read_text()
    assert "rasa speed-ups: action reply validator built once; event class lookup cached" in log


def test_a_long_conversation_is_answered_to_the_end(servers, store) -> None:
    """Rasa posts the whole session to the action server every turn.

    Past about 64 KiB of events (some 20 questions) the action server used to refuse
    that request with the public request limit, and every later question got the
    apology (docs/reliability.md, "Load"). The tracker store proves the size reached.
    """
    sender = uuid.uuid4().hex
    questions = ["what is a medial branch block", "does it hurt?", "how long does it last?"]
    for turn in range(36):
        replies = rest(servers, sender, questions[turn % len(questions)])
        assert "Source:" in replies[0]["text"], (turn, replies)
    with sqlite3.connect(f"file:{servers.tracker_db}?mode=ro", uri=True) as db:
        (stored,) = db.execute(
            "SELECT SUM(LENGTH(data)) FROM events WHERE sender_id = ?", (sender,)
        ).fetchone()
    assert stored > 65536


REPHRASE = "Sorry, I'm not sure I understood."


@pytest.mark.parametrize("number", ["1", "2", "3", "4"])
def test_a_bare_number_is_never_answered_as_a_topic(servers, number: str) -> None:
    """REST shows no numbered choices, so a number alone means nothing to answer."""
    sender = uuid.uuid4().hex
    first = rest(servers, sender, number)
    assert first[0]["text"].startswith(REPHRASE)
    assert not any("Source:" in reply.get("text", "") for reply in first)
    rest(servers, sender, "what is a medial branch block")
    after_an_answer = rest(servers, sender, number)
    assert after_an_answer[0]["text"].startswith(REPHRASE)
    assert not any("Source:" in reply.get("text", "") for reply in after_an_answer)


def test_every_follow_up_button_reaches_its_own_topic(servers, store) -> None:
    """A button sends its question back; the store, not the classifier, names its topic."""
    sender = uuid.uuid4().hex
    rest(servers, sender, "what is a medial branch block")
    for topic in store.topics.values():
        replies = rest(servers, sender, topic.question)
        text = " ".join(reply.get("text", "") for reply in replies)
        answers = [fact.answer for fact in store.facts_for(topic.id)]
        assert any(answer in text for answer in answers), (topic.id, text[:200])
