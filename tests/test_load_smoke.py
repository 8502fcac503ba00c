"""A small load test (5 conversations x 4 messages) with the code `make load` runs.

Correctness only: concurrent conversations must each get every reply, addressed to
them, and each tracker must hold exactly that conversation's messages in order. No
timing is asserted (this machine's speed is not a property of the code).
"""

from __future__ import annotations

import asyncio

import pytest

from bench.load import (
    Conversation,
    StoredTurn,
    Turn,
    check_conversation,
    check_run,
    read_tracker,
    run_conversations,
)


def _answered(text: str, sender: str = "p1", reply: str = "answer") -> Turn:
    return Turn(text, status=200, replies=[{"recipient_id": sender, "text": reply}], latency_s=0.1)


def test_checker_accepts_an_exact_tracker() -> None:
    conversation = Conversation("p1", [_answered("a", reply="ra"), _answered("b", reply="rb")])
    check = check_conversation(conversation, [StoredTurn("a", ["ra"]), StoredTurn("b", ["rb"])])
    assert check.ok
    assert (check.sent, check.replies, check.trackers_exact) == (2, 2, 1)


def test_checker_counts_lost_duplicated_reordered_and_misrouted() -> None:
    conversation = Conversation(
        "p1",
        [
            _answered("a", reply="ra"),
            _answered("b", reply="rb"),
            _answered("c", sender="p2", reply="rc"),
            Turn("d", error="HTTP 500"),
        ],
    )
    stored = [
        StoredTurn("b", ["rb"]),
        StoredTurn("a", ["ra"]),
        StoredTurn("a", ["ra"]),
        StoredTurn("c", ["something else"]),
        StoredTurn("x", []),
    ]
    check = check_conversation(conversation, stored)
    assert not check.ok
    assert check.errors == 1
    assert check.lost == 1  # "d" got no reply and is not stored
    assert check.duplicated == 1
    assert check.reordered == 2
    assert check.misrouted == 1  # "c" was answered to another sender ...
    assert check.wrong_reply == 1  # ... with a text the tracker does not hold for it
    assert check.foreign == 1
    assert check.trackers_exact == 0


def test_checker_catches_a_reply_meant_for_another_turn() -> None:
    conversation = Conversation("p1", [_answered("a", reply="rb"), _answered("b", reply="ra")])
    check = check_conversation(conversation, [StoredTurn("a", ["ra"]), StoredTurn("b", ["rb"])])
    assert check.wrong_reply == 2
    assert not check.ok


@pytest.mark.slow
def test_concurrent_conversations_are_answered_exactly(servers) -> None:
    run = asyncio.run(run_conversations(servers.url, conversations=5, messages=4, seed=7))
    stored = {
        conversation.sender: read_tracker(servers.tracker_db, conversation.sender)
        for conversation in run.conversations
    }
    check = check_run(run, stored.__getitem__)
    assert (check.sent, check.replies, check.conversations) == (20, 20, 5)
    assert check.ok, check
    assert len({conversation.sender for conversation in run.conversations}) == 5
    for conversation in run.conversations:
        assert [turn.text for turn in stored[conversation.sender]] == [
            turn.text for turn in conversation.turns
        ]
        assert all(turn.reply_texts for turn in conversation.turns)
