"""Decide what to say to one patient question, from what NLU found.

This is the decision the FAQ action makes on every question, kept out of the
Rasa action so it can be tested and reused by any channel:

1. a red flag anywhere in the text wins, always;
2. a subject the articles don't cover is named and referred, never guessed;
3. otherwise the topic is answered for the procedure named in this message,
   else the one under discussion (the slot), else side by side.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional, Sequence

from bot import answers, safety
from bot.answers import Reply
from bot.facts import FactStore
from bot.settings import ClinicSettings


def procedures_named(entities: Iterable[Mapping], store: FactStore) -> list:
    """Distinct known procedure ids among the message's `procedure` entities."""
    named = []
    for entity in entities:
        value = entity.get("value")
        if entity.get("entity") == "procedure" and value in store.procedures and value not in named:
            named.append(value)
    return named


def answer_question(
    store: FactStore,
    settings: ClinicSettings,
    intent: Optional[str],
    text: str,
    entities: Sequence[Mapping] = (),
    current_procedure: Optional[str] = None,
) -> Reply:
    """The reply to a question classified as `intent`."""
    flag = safety.check(text)
    if flag is not None:
        return answers.answer_red_flag(flag, flag.advice, settings)

    topic = store.topic_for_intent(intent or "")
    subject = store.uncovered_subject(text, topic.id if topic else None)
    if subject is not None or topic is None:
        return answers.answer_uncovered(store, settings, subject)

    named = procedures_named(entities, store)
    compare = len(named) > 1 or store.is_comparison(text)
    if named and not compare:
        procedure: Optional[str] = named[0]
    elif current_procedure in store.procedures:
        procedure = current_procedure
    else:
        procedure = None
    return answers.answer_topic(store, topic.id, procedure, compare=compare)
