"""Read a short question that points back together with the patient's previous one.

"Does it matter how many I get?" after "does insurance cover a medial branch block?"
is an insurance question; "do my scans matter for that?" after "how does the doctor pick
which procedure I get?" is about choosing. Read alone, such a question has too few words
of its own for the classifier, which guessed a neighbouring topic or asked to rephrase.
`bot.nlu.focus` already keeps the sentence before a short pointing-back question inside
one message; this does the same across two turns: the previous question and this one are
read as one question ("does insurance cover a medial branch block, does it matter how
many I get?"), and that reading's intent is used when it is a topic.

Only the intent and the facts that answer come from the reading in context; the
procedures named, the red-flag summary and everything else stay this message's own, so
a warning sign in the previous message never alarms twice. Pure Python: the Rasa hook
that runs both readings is in `bot.server.rasa_internals`.
"""

from __future__ import annotations

import re
from typing import AbstractSet, Any, Dict, Mapping, Optional

from bot.core import intents
from bot.nlu.focus import points_back

# A question of fewer words than this that points back ("is that safe?", "what do they
# look at for that?") is read with the previous one.
CONTEXT_WORDS = 10
# A question that only makes sense after the previous one without pointing back at it:
# "like what factors?", "what else?", "such as?", a bare "what factors?", and a bare
# "why?" (asked about the previous message only when no answer came before it).
ELLIPTICAL = re.compile(
    r"^\W*(?:(?:and|so|ok|okay|but)\W+)?(?:(?:like|such as|what else|what other|which other"
    r"|any other|how so|for example)\b|(?:what|which) [a-z]+s\W*$|(?:why|how come)\W*$)",
    re.IGNORECASE,
)
# Parse data keys taken from another reading of a message (in context, or one of its
# questions alone); the rest stay the message's own.
FROM_OTHER_READING = ("intent", "intent_ranking", "answer_plan")
# Marks a message read with the previous one (kept with the conversation, for review).
READ_IN_CONTEXT = "read_in_context"
# ...and only when the message's own reading is unsure: "what if it doesn't help at
# all?" after "I heard about facet joint injections" is plainly about no relief (0.93),
# "does it matter how many I get?" is not about anything on its own (0.19). The same
# bar as the answer planner's `weak_confidence`.
UNSURE_BELOW = 0.6
# What this message's own reading may be for the reading in context to replace it: a
# topic guessed from too few words, the fallback, "not covered", or an unsure "tell me
# more" ("who gets that?" after "what's RFA?" is who is a candidate; tuning +1, none
# lost). Follow-ups, greetings, personal questions, red flags and the rest keep theirs.
REPLACEABLE = frozenset({intents.FALLBACK, intents.UNCOVERED, intents.ELABORATE})
# The slot that holds the topic of the last answer (set by the actions).
LAST_TOPIC_SLOT = "topic"


def text_in_context(previous: Optional[str], current: str) -> Optional[str]:
    """The two questions as one ("does insurance cover it, does it matter how many?"),
    or None when `current` stands on its own or there is no previous question.

    They are joined inside one sentence so that `bot.nlu.focus` reads them together;
    the previous message's story, if any, is still set aside by it.
    """
    if not previous or not previous.strip():
        return None
    if len(current.split()) >= CONTEXT_WORDS:
        return None
    if not points_back(current) and not ELLIPTICAL.search(current):
        return None
    return f"{previous.strip().rstrip('.?! ')}, {current.strip()}"


def _intent(parse: Mapping[str, Any]) -> Optional[str]:
    return (parse.get("intent") or {}).get("name")


def may_replace(
    own: Mapping[str, Any],
    topic_intents: AbstractSet[str],
    nothing_to_explain: bool = False,
    says_a_fact_at: Optional[float] = None,
) -> bool:
    """True when a message's own reading may give way to the reading in context: it is a
    topic, the fallback, "not covered" or "tell me more", guessed unsurely, or "tell me
    more" when no answer came before to explain (`nothing_to_explain`), and the message
    names no procedure (a named procedure says what it is about). A topic guessed with
    one of its facts at least `says_a_fact_at` close keeps its reading: "so is it
    surgery?" after "what is a block used for?" is the outpatient fact (1.0), not what
    the block is for (the store's `context_prior.unless_fact_at_least`, the same bar that
    keeps such a guess from leaning to the last answer's topic)."""
    if any(entity.get("entity") == "procedure" for entity in own.get("entities") or ()):
        return False
    # "Why?" with no answer before it to explain ("my doctor wants two blocks." - "why?")
    # asks about the previous message, however sure its own reading.
    if nothing_to_explain and _intent(own) == intents.ELABORATE:
        return True
    confidence = float((own.get("intent") or {}).get("confidence") or 0.0)
    plan = own.get("answer_plan") or {}
    fact = float(plan.get("best_fact_similarity") or 0.0)
    if says_a_fact_at is not None and _intent(own) in topic_intents and fact >= says_a_fact_at:
        return False
    # Unread but for a personal cue ("so what else could it be?"): unsure too.
    unread = plan.get("reason") == intents.PERSONAL_CUE_REASON
    return confidence < UNSURE_BELOW and (_intent(own) in topic_intents | REPLACEABLE or unread)


def merged(
    own: Mapping[str, Any],
    in_context: Mapping[str, Any],
    topic_intents: AbstractSet[str],
    nothing_to_explain: bool = False,
    says_a_fact_at: Optional[float] = None,
) -> Dict[str, Any]:
    """`own` parse data, with the reading in context's intent and facts when `own` may be
    replaced (`may_replace`) and that reading is a topic (or "not covered")."""
    if not may_replace(own, topic_intents, nothing_to_explain, says_a_fact_at):
        return dict(own)
    if _intent(in_context) not in topic_intents | {intents.UNCOVERED}:
        return dict(own)
    return adopted(own, in_context, READ_IN_CONTEXT)


def adopted(own: Mapping[str, Any], other: Mapping[str, Any], mark: str) -> Dict[str, Any]:
    """`own` parse data with the intent, ranking and facts of the `other` reading of
    the same message (`FROM_OTHER_READING`), marked with `mark` for review; the text,
    procedures and red-flag summary stay the message's own."""
    result = dict(own)
    for key in FROM_OTHER_READING:
        if key in other:
            result[key] = other[key]
    result[mark] = True
    return result
