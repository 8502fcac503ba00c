"""What the assistant did with a patient message: the outcome every reply carries.

Set where a reply is built (bot/core/answers.py), sent with the bot message as metadata
(actions/context.py), counted by the metrics (bot/server/metrics.py) and read back by
the staff review (bot/ops/conversations.py): one vocabulary for all of them.
"""

from __future__ import annotations

ANSWERED = "answered"
NOT_COVERED = "not_covered"
FALLBACK = "fallback"  # not understood: asked to rephrase
RED_FLAG = "red_flag"
PERSONAL_ADVICE = "personal_advice"
OUT_OF_SCOPE = "out_of_scope"
ENGLISH_ONLY = "english_only"
SMALL_TALK = "small_talk"
# Conversations hold these; the next two never reach Rasa, so only the metrics see them.
OUTCOMES = (
    ANSWERED,
    NOT_COVERED,
    FALLBACK,
    RED_FLAG,
    PERSONAL_ADVICE,
    OUT_OF_SCOPE,
    ENGLISH_ONLY,
    SMALL_TALK,
)
UNREADABLE = "unreadable"  # too long, or no words: answered by the channel itself
UNAVAILABLE = "unavailable"  # the apology when the assistant could not answer in time
