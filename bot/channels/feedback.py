"""Widget votes on answers ("Was this helpful? Yes / No"), kept in the conversation they rate.

A vote is not a message: sent through NLU it would become a turn, and a channel that
let a client write events would let it set any slot or intent. So a vote carries only
{"vote": "up" | "down", "answer": <the rated answer's text>}, and the channel writes one
fixed kind of event itself, under the conversation's lock: `SlotSet("feedback", {"vote",
"answer": <digest of that text>})`. The slot does not influence the dialogue
(domain.yml), the text itself is not stored again, and only an answer the assistant
really gave in that conversation can be rated. `python -m bot review` reads the votes
back (bot/ops/conversations.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional

from bot.core.answers import FEEDBACK_SLOT, VOTES, answer_digest

logger = logging.getLogger(__name__)

# Longer than any answer the fact store gives; anything bigger is not one of ours.
MAX_ANSWER_CHARS = 6000


@dataclass(frozen=True)
class Vote:
    """A checked vote: "up" or "down", and the digest of the answer it rates."""

    vote: str
    answer: str


def parse_vote(data: Any) -> Optional[Vote]:
    """The vote in a client's payload, or None when it is anything else."""
    if not isinstance(data, dict):
        return None
    vote, answer = data.get("vote"), data.get("answer")
    if vote not in VOTES or not isinstance(answer, str) or not answer.strip():
        return None
    if len(answer) > MAX_ANSWER_CHARS:
        return None
    return Vote(vote=vote, answer=answer_digest(answer))


async def record_vote(agent: Any, sender_id: str, vote: Vote) -> bool:
    """Append the vote to `sender_id`'s conversation; False when there is no such answer."""
    from rasa.shared.core.events import BotUttered, SlotSet

    async with agent.lock_store.lock(sender_id):
        tracker = await agent.tracker_store.retrieve(sender_id)
        if tracker is None:
            return False
        given = {
            answer_digest(event.text or "")
            for event in tracker.events
            if isinstance(event, BotUttered)
        }
        if vote.answer not in given:
            return False
        tracker.update(SlotSet(FEEDBACK_SLOT, {"vote": vote.vote, "answer": vote.answer}))
        await agent.tracker_store.save(tracker)
    logger.info("feedback: a %s vote recorded", vote.vote)
    return True
