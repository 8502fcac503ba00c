"""The answers to the other questions of a message that asks several.

NLU reads each question sentence of such a message on its own and keeps the sure
readings (`bot.nlu.several_questions`); the main answer is the message's own. Here each
further reading becomes a reply of its own, quoting its question, so the patient sees
which answer goes with which question. Pure Python: the actions call it
(`actions/context.py`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from bot.core import answers, intents, responder
from bot.core.answers import Reply
from bot.core.facts import FactStore
from bot.core.settings import ClinicSettings

# A further question is quoted up to this many characters above its answer.
QUOTED_CHARACTERS = 80


def further_replies(
    store: FactStore,
    settings: ClinicSettings,
    further: Sequence[Mapping[str, Any]],
    main: Reply,
    main_at: Optional[int],
    procedure: Optional[str],
) -> Tuple[List[Reply], List[Reply]]:
    """Replies to the `further` readings, without buttons: those asked before the main
    answer's question (at `main_at` in the message, when known) and those after it.

    None after a red flag's advice: nothing comes between the patient and it. None for
    the topic the main answer gave, nor for a subject already said to be not covered (nor
    a topic question naming it), nor "only these procedures" twice. A question that names
    no procedure is about `procedure`.
    """
    if main.urgency is not None:
        return [], []
    if main_at is None:
        # The message was read whole: its question is the sentence of the main topic.
        main_at = next(
            (
                int(asked.get("start") or 0)
                for asked in further
                if _topic_of(store, asked.get("intent")) == main.topic
            ),
            0,
        )
    before: List[Reply] = []
    after: List[Reply] = []
    for asked in further:
        text = str(asked.get("text") or "")
        said = (main, *before, *after)
        if asked.get("unsure"):
            # Unsure, but perhaps what the main answer gave: no doubt cast on it then.
            if _topic_of(store, asked.get("intent")) == main.topic:
                continue
            reply = answers.answer_unsure_part()
        elif asked.get("intent") == intents.UNCOVERED:
            subject = store.uncovered_subject(text)
            reply = answers.answer_uncovered(store, settings, subject)
            # Said once: a subject already named, or "that question" twice.
            what = subject.label if subject is not None else reply.text
            if any(what in reply_said.text for reply_said in said):
                continue
        elif asked.get("intent") == intents.OUT_OF_SCOPE:
            reply = answers.answer_out_of_scope(store, settings)
            if any(reply.text in reply_said.text for reply_said in said):
                continue
        elif _topic_of(store, asked.get("intent")) == main.topic or _said_not_covered(
            store, text, said
        ):
            continue
        else:
            reply = responder.answer_question(
                store,
                settings,
                intent=asked.get("intent"),
                text=text,
                entities=asked.get("entities") or [],
                current_procedure=procedure,
                plan=asked.get("answer_plan"),
                last_compared=main.compared,
            )
        reply = replace(reply, text=f"{quoted(text)}\n\n{reply.text}", buttons=())
        (before if int(asked.get("start") or 0) < main_at else after).append(reply)
    return before, after


def _said_not_covered(store: FactStore, question: str, said: Sequence[Reply]) -> bool:
    """True when `question` names a subject the replies `said` already called not
    covered: "what percent of patients are pain free after RFA?", read alone as who is a
    candidate, must not get the one figure the articles give (for a block's relief) under
    the message's "the articles don't cover exact numbers"."""
    subject = store.uncovered_subject(question)
    return subject is not None and any(subject.label in reply.text for reply in said)


def _topic_of(store: FactStore, intent: Any) -> Optional[str]:
    topic = store.topic_for_intent(str(intent or ""))
    return topic.id if topic is not None else None


def quoted(question: str) -> str:
    """'About "Does the block hurt?":', cut at a word when long."""
    question = " ".join(question.split())
    if len(question) > QUOTED_CHARACTERS:
        question = question[:QUOTED_CHARACTERS].rsplit(" ", 1)[0] + "..."
    return f'About "{question}":'
