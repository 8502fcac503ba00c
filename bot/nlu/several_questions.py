"""A message that asks several things gets an answer to each.

"Does the block hurt? And how long is the recovery?" is one message, and Rasa reads one
intent per message: the patient got one answer and no word on the other question. Each
question sentence is therefore also read on its own, through the same pipeline (the hook
is in `bot.server.rasa_internals`); a reading that is a topic other than the message's
own, and sure, is kept in the parse data under `FURTHER_KEY`, and the actions answer it
in a message of its own (`actions/context.py`).

Only sure readings are answered: a story's rhetorical "they can't both be right, can
they?" must not earn an answer nobody asked for. An unsure question that stands alone is
not dropped in silence either: it is marked `unsure`, and the patient is told it was not
understood. Pure Python.
"""

from __future__ import annotations

from typing import AbstractSet, Any, Dict, List, Mapping, Sequence, Set, Tuple

from bot.core import intents
from bot.nlu.context import READ_IN_CONTEXT, adopted
from bot.nlu.focus import points_back, question_sentences

# Parse data key of the further questions' readings.
FURTHER_KEY = "further_questions"
# More questions than this in one message are not each answered (a wall of questions
# reads better as one answer and the buttons).
MAX_QUESTIONS = 3
# A question read alone is answered only when its reading is at least this sure (the
# planner's combined score: on the blind writer Z's 60 messages, 49 right at 0.4, 46 at
# 0.5, 41 at 0.6; none lost on the tuning set at any of them).
SURE_ENOUGH = 0.4
# The message's own reading must answer something for more answers to be added to it
# ("I can only help with these procedures" answers an acupuncture question).
ANSWERING = frozenset({intents.UNCOVERED, intents.PERSONAL_ADVICE, intents.OUT_OF_SCOPE})
# An unsure question this long that doesn't point back is told it was not understood.
STANDALONE_WORDS = 4
# Besides topics, a question alone read as one of these gets its own reply: a subject the
# articles don't cover, or one outside these procedures ("... and can you recommend a
# pizza place?" is told what the assistant is for).
ALSO_ANSWERED = frozenset({intents.UNCOVERED, intents.OUT_OF_SCOPE})
# Marks a message whose own reading was a blend of its questions (kept for review).
READ_AS_LAST_QUESTION = "read_as_last_question"
# A question read alone this close to a fact of its topic is understood, however unsure
# the classifier (the planner's own bar for answering when nobody is sure).
CLOSE_FACT = 0.8
# Marks a message not understood whole that took its surest question's reading.
READ_AS_SURE_QUESTION = "read_as_sure_question"


def questions_to_read(text: str) -> List[Tuple[int, int]]:
    """The (start, end) of each question of a message that asks two or more (up to
    `MAX_QUESTIONS`), else none."""
    spans = question_sentences(text)
    return spans if 2 <= len(spans) <= MAX_QUESTIONS else []


def _intent(parse: Mapping[str, Any]) -> Tuple[str, float]:
    intent = parse.get("intent") or {}
    return str(intent.get("name") or ""), float(intent.get("confidence") or 0.0)


def main_reading(
    own: Mapping[str, Any],
    readings: Sequence[Tuple[Tuple[int, int], Mapping[str, Any]]],
    topic_intents: AbstractSet[str],
) -> Mapping[str, Any]:
    """`own`, unless it is a topic none of its questions is read as alone: then a blend
    of them ("can RFA cause leg numbness? how does RFA work?" read whole as the
    medicines), and the last question's sure reading of a topic is the message's; or a
    request to rephrase when one of its questions is understood alone
    (`_surest_question`). Everything but the intent, its ranking and the facts stays the
    message's own."""
    asked, _ = _intent(own)
    if asked == intents.FALLBACK and readings and not own.get(READ_IN_CONTEXT):
        return _surest_question(own, readings, topic_intents)
    if own.get(READ_IN_CONTEXT) or asked not in topic_intents or not readings:
        return own
    if asked in {_intent(parse)[0] for _, parse in readings}:
        return own
    _, last = max(readings, key=lambda reading: reading[0])
    intent, confidence = _intent(last)
    # "... now it's back. Is that normal?? Did it fail": a last question leaning on the
    # story means little alone, and its reading does not outweigh the whole message's.
    if intent not in topic_intents or confidence < SURE_ENOUGH or not _stands_alone(last):
        return own
    return adopted(own, last, READ_AS_LAST_QUESTION)


def _surest_question(
    own: Mapping[str, Any],
    readings: Sequence[Tuple[Tuple[int, int], Mapping[str, Any]]],
    topic_intents: AbstractSet[str],
) -> Mapping[str, Any]:
    """A message not understood whole ("Why the block first, then RFA? Why not go
    straight to burning the nerves and save me a trip"): the surest reading of a topic
    among its questions, when one is sure; else `own`, the request to rephrase."""
    sure = [
        parse
        for _, parse in readings
        if _intent(parse)[0] in topic_intents
        and (_intent(parse)[1] >= SURE_ENOUGH or _fact_match(parse) >= CLOSE_FACT)
    ]
    if not sure:
        return own
    return adopted(own, max(sure, key=_fact_match), READ_AS_SURE_QUESTION)


def _fact_match(parse: Mapping[str, Any]) -> float:
    """How close the question came to a fact of its topic (the answer planner's)."""
    plan = parse.get("answer_plan") or {}
    return float(plan.get("best_fact_similarity") or 0.0)


def further_questions(
    own: Mapping[str, Any],
    readings: Sequence[Tuple[Tuple[int, int], Mapping[str, Any]]],
    topic_intents: AbstractSet[str],
) -> List[Dict[str, Any]]:
    """The questions of a message that may need an answer besides its own reading
    `own`: each ((start, end), parse) of `readings` that is sure (`SURE_ENOUGH`) and
    either a topic not read before it, a question the articles don't cover (each may
    name another subject) or one outside these procedures, in the message's order.

    The reading of `own`'s topic stays: the actions skip the topic their answer gave,
    which is not always `own`'s ("how much is the block? does insurance cover it?" is
    read as insurance, and answered as the cost the articles don't cover).
    """
    asked, _ = _intent(own)
    if asked not in topic_intents | ANSWERING:
        return []
    answered: Set[str] = set()
    further = []
    for (start, end), parse in sorted(readings, key=lambda reading: reading[0]):
        intent, confidence = _intent(parse)
        repeated = intent in answered and intent != intents.UNCOVERED
        wanted = intent in topic_intents | ALSO_ANSWERED
        procedures = [
            entity for entity in parse.get("entities") or () if entity.get("entity") == "procedure"
        ]
        # After a question on another subject, "how long do those last?" points back at
        # that subject ("cortisone shots in the knee"), not at a procedure of ours.
        about_other_subject = (
            asked == intents.OUT_OF_SCOPE
            and not procedures
            and points_back(str(parse.get("text") or ""))
        )
        question = {"text": parse.get("text") or "", "start": start, "end": end, "intent": intent}
        unsure = confidence < SURE_ENOUGH
        if unsure and _asks_us(intent, asked, topic_intents) and _stands_alone(parse):
            # Not silently dropped: the patient is told this question was not understood.
            further.append({**question, "unsure": True})
            continue
        if unsure or repeated or not wanted or about_other_subject:
            continue
        answered.add(intent)
        further.append(
            {
                **question,
                "confidence": round(confidence, 3),
                "answer_plan": parse.get("answer_plan"),
                "entities": procedures,
            }
        )
    return further


def _stands_alone(parse: Mapping[str, Any]) -> bool:
    """True for a question that means something on its own: "is that typical?" or
    "they can't both be right, can they?" lean on the story, and "... and which the
    joint" on the question before; those are no question to say we didn't understand."""
    text = str(parse.get("text") or "")
    return len(text.split()) >= STANDALONE_WORDS and not points_back(text)


def _asks_us(intent: str, asked: str, topic_intents: AbstractSet[str]) -> bool:
    """True when an unsure reading `intent` of a question is still a question for us (a
    topic, not covered, or not understood at all), and not the message's own `asked`,
    which the main answer may have given."""
    return intent != asked and intent in topic_intents | {intents.UNCOVERED, intents.FALLBACK}
