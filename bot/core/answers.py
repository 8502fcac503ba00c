"""Compose what the assistant says, from the fact store and the clinic settings only.

Every function returns a `Reply`: text, follow-up buttons and the procedure the
conversation is now about. Nothing here invents content: a topic the store has
no fact for gets an honest "the articles don't say" and a referral.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Collection, Iterable, List, Optional, Sequence, Tuple

from bot.core import outcomes
from bot.core.facts import GENERAL, Fact, FactStore, Topic, UncoveredSubject, procedures_in
from bot.core.settings import ClinicSettings

MAX_BUTTONS = 3
# Topics offered when nothing better is known (greeting, fallback, out of scope).
STARTER_TOPICS = ("what_is", "difference", "pain", "duration")
# The `topic` slot after a not-covered answer: this prefix and the subject's id, if any.
NOT_COVERED_TOPIC = "not_covered:"


@dataclass(frozen=True)
class Button:
    """A follow-up question; its payload is plain text so it goes through NLU like typing."""

    title: str
    payload: str

    def as_dict(self) -> dict:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Reply:
    """One message to the patient.

    `urgency` is set only on the advice for a present red flag ("emergency", "crisis" or
    "infection"): every channel shows it (a custom payload, an alert, "URGENT:").
    `outcome` travels with the message as metadata, for the metrics and the staff review.
    """

    text: str
    buttons: Tuple[Button, ...] = ()
    procedure: Optional[str] = None
    topic: Optional[str] = None
    fact_ids: Tuple[str, ...] = field(default=())
    # The procedures a side-by-side answer put next to each other, so "why is that?"
    # explains the comparison, not one of them.
    compared: Tuple[str, ...] = ()
    urgency: Optional[str] = None
    outcome: str = outcomes.ANSWERED  # what the assistant did (bot/core/outcomes.py)

    def custom(self) -> Optional[dict]:
        """The machine-readable part channels send beside the text, if any."""
        return {"urgency": self.urgency} if self.urgency else None


SOURCE_PREFIXES = ("Source: ", "Sources: ")


# A widget vote on an answer is stored in this slot as {"vote": one of VOTES, "answer":
# answer_digest(text)} (bot/channels/feedback.py) and read back by the staff review.
FEEDBACK_SLOT = "feedback"
VOTES = ("up", "down")


def answer_digest(text: str) -> str:
    """A short fingerprint of an answer's text: a widget vote names the answer it rates
    with it (bot/channels/feedback.py), and the staff review finds that answer again."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:16]


def with_note(reply: Reply, note: str) -> Reply:
    """`reply` with one more paragraph, kept above the source line."""
    if not note:
        return reply
    paragraphs = reply.text.split("\n\n")
    at = len(paragraphs) - 1 if paragraphs[-1].startswith(SOURCE_PREFIXES) else len(paragraphs)
    paragraphs.insert(at, note)
    return replace(reply, text="\n\n".join(paragraphs))


def topic_buttons(store: FactStore, topic_ids: Iterable[str]) -> Tuple[Button, ...]:
    """Buttons for up to three topics, each asking the topic's question."""
    buttons = []
    for topic_id in topic_ids:
        topic = store.topics.get(topic_id)
        if topic is not None and len(buttons) < MAX_BUTTONS:
            buttons.append(Button(title=topic.question, payload=topic.question))
    return tuple(buttons)


def cite(store: FactStore, facts: Sequence[Fact]) -> str:
    """The source line: each article title once, with the sections used, in order."""
    sections: dict = {}
    for fact in facts:
        used = sections.setdefault(fact.article, [])
        if fact.section not in used:
            used.append(fact.section)
    parts = []
    for article, names in sections.items():
        label = "section" if len(names) == 1 else "sections"
        quoted = ", ".join(f'"{name}"' for name in names)
        parts.append(f'"{store.sources[article].title}" ({label} {quoted})')
    return ("Source: " if len(parts) == 1 else "Sources: ") + "; ".join(parts) + "."


def procedure_label(store: FactStore, procedure_id: str) -> str:
    """'Facet joint injection (FJI)' style label for side-by-side answers."""
    procedure = store.procedures[procedure_id]
    return f"{procedure.name[0].upper()}{procedure.name[1:]} ({procedure.short})"


def _varies_by_procedure(facts: Sequence[Fact]) -> bool:
    """True when the facts speak about separate procedures (no shared fact)."""
    sets = [set(fact.procedures) - {GENERAL} for fact in facts]
    if len(sets) < 2 or not all(sets):
        return False
    return all(a.isdisjoint(b) for i, a in enumerate(sets) for b in sets[i + 1 :])


def _side_by_side(store: FactStore, facts: Sequence[Fact]) -> str:
    lines = []
    for fact in facts:
        label = " / ".join(procedure_label(store, p) for p in fact.procedures)
        lines.append(f"- {label}: {fact.answer}")
    return "\n".join(lines)


def _shared(store: FactStore, facts: Sequence[Fact], scope: Sequence[str]) -> str:
    """'The same for both FJI and MBB: ' when facts about each compared procedure answer a
    comparison ("side effects of FJI vs MBB, same or different?"), else '' (also when the
    topic's facts say how the procedures relate: "the block comes before RFA")."""
    if any(store.topics[fact.topic].relates_procedures for fact in facts):
        return ""
    covered = [p for p in scope if all(fact.is_about(p) for fact in facts)]
    if len(covered) < 2:
        return ""
    return f"The same for both {spoken_list([store.procedures[p].short for p in covered])}: "


def same_as_before(
    store: FactStore, reply: Reply, procedure: Optional[str], before: Optional[str]
) -> str:
    """'The same as for the facet joint injection.' when every fact of `reply`, the
    answer for `procedure`, also answers for the procedure `before` it; else ''. Not
    for a topic whose facts say how the procedures relate, nor when the facts are not
    about `procedure` ("the articles don't cover this for RFA")."""
    facts = [store.fact(fact_id) for fact_id in reply.fact_ids]
    if before not in store.procedures or not facts or procedure in (None, before):
        return ""
    if any(store.topics[fact.topic].relates_procedures for fact in facts):
        return ""
    if not all(
        fact.is_about(before) and fact.is_about(procedure) and GENERAL not in fact.procedures
        for fact in facts
    ):
        return ""
    return f"The same as for the {store.procedures[before].name}."


def _join(facts: Sequence[Fact]) -> str:
    return " ".join(fact.answer for fact in facts)


def _pick(pool: Sequence[Fact], chosen: Optional[Collection[str]]) -> List[Fact]:
    """The facts of `pool` the planner chose (with the facts they need), or all of them
    when it chose none there."""
    picked = {fact.id for fact in pool if chosen and fact.id in chosen}
    if not picked:
        return list(pool)
    wanted = picked | {needed for fact in pool if fact.id in picked for needed in fact.needs}
    return [fact for fact in pool if fact.id in wanted]


def _answerable(facts: Sequence[Fact], chosen: Optional[Collection[str]]) -> List[Fact]:
    """`facts` without those said only when asked, unless the planner chose them: "what
    is in a facet injection?" gets the injection's medicines, and "facet shot vs nerve
    block meds" each one's, not also the line setting them side by side; "do both use
    numbing medicine?" gets that line."""
    return [fact for fact in facts if not fact.only_when_asked or (chosen and fact.id in chosen)]


def _compared(
    store: FactStore,
    facts: Sequence[Fact],
    scope: Sequence[str],
    named: Sequence[str],
    chosen: Optional[Collection[str]],
) -> List[Fact]:
    """Facts for a side-by-side answer: the chosen ones, at least one per procedure.

    A fact about exactly the named pair wins ("how is RFA different from a block?").
    """
    if len(named) > 1:
        covering = [fact for fact in facts if set(named) <= set(fact.procedures)]
        if covering:
            return _pick(covering, chosen)
    used: List[Fact] = []
    for procedure in scope:
        in_scope = [
            fact
            for fact in facts
            if fact.is_about(procedure) and set(fact.procedures) - {GENERAL} <= set(scope)
        ]
        used.extend(fact for fact in _pick(in_scope, chosen) if fact not in used)
    # A fact that needs another ("a step on the way to a treatment that lasts longer"
    # needs the one naming RFA) brings it even when that one is about a procedure
    # outside the comparison.
    needed = [store.fact(n) for fact in used for n in fact.needs]
    used.extend(fact for fact in dict.fromkeys(needed) if fact not in used)
    return used or _pick(facts, chosen)


def answer_topic(
    store: FactStore,
    topic_id: str,
    procedure: Optional[str] = None,
    compare: bool = False,
    named: Sequence[str] = (),
    chosen: Optional[Collection[str]] = None,
    selecting: bool = False,
) -> Reply:
    """Answer a topic, for one procedure or side by side.

    `procedure` is the procedure the patient named or was already talking about;
    `compare` asks for several procedures even so ("which lasts longer?"): those `named`
    when two or more are, else the store's usual comparison (and `procedure`). `chosen`
    are the fact ids the answer planner matched to the question; the others of the topic
    are left out, so a question about one detail gets that detail. `selecting` marks a
    comparison asking which procedure has something ("which one comes before RFA?"):
    when only some of those named have facts, the answer says it is about those only.
    """
    topic: Topic = store.topics[topic_id]
    facts = _answerable(store.facts_for(topic_id), chosen)
    known = [p for p in procedures_in(facts) if p != GENERAL]
    paragraphs: List[str] = []
    kept_procedure = procedure

    if procedure and not compare and known:
        about = [fact for fact in facts if fact.is_about(procedure)]
        if about:
            used = _pick(about, chosen)
            own = [fact for fact in about if fact.procedures == (procedure,)]
            if own and all(fact.only_when_asked and len(fact.procedures) > 1 for fact in used):
                # "What's in the shot?" about the block alone: the block's own medicines,
                # not the line setting them beside the facet injection's it sounded like.
                used = own
            if any(fact.procedures == (procedure,) for fact in used):
                # The procedure's own fact says it already: no line setting it beside
                # another ("both use numbing medicine...") after its own medicines.
                used = [fact for fact in used if not fact.only_when_asked]
            paragraphs.append(_join(used))
        elif bridge := store.bridge_for(topic_id, procedure):
            # "Does that mean the burning one won't help either?" after "what if neither
            # helps?": what the topic says, then what the articles say about that one.
            used = [*facts, *bridge]
            paragraphs.append(_join(facts))
            paragraphs.append(_join(bridge))
        else:
            used = facts
            name = store.procedures[procedure].name if procedure in store.procedures else procedure
            others = ", ".join(store.procedures[p].short for p in known)
            paragraphs.append(
                f"The articles I answer from don't cover this for {name}. "
                f"Here is what they say for {others}:"
            )
            paragraphs.append(
                _side_by_side(store, facts) if _varies_by_procedure(facts) else _join(facts)
            )
            paragraphs.append(f"Please ask your care team how this applies to {name}.")
    elif compare and known:
        scope = list(named) if len(named) > 1 else list(store.usual_comparison)
        # A procedure named or under discussion is always among those compared ("is the
        # burning one longer lasting?" brings RFA into the usual pair).
        scope.extend(p for p in dict.fromkeys([*named, procedure]) if p and p not in scope)
        used = _compared(store, facts, scope, named, chosen)
        if _varies_by_procedure(used):
            paragraphs.append(_side_by_side(store, used))
        else:
            paragraphs.append(_shared(store, used, scope) + _join(used))
        general = any(GENERAL in fact.procedures for fact in facts)
        bridges = {p: store.bridge_for(topic_id, p) for p in named if p not in known}
        bridged = [p for p, bridge in bridges.items() if bridge]
        for bridged_procedure in bridged:
            # "If neither helps, does that mean I need the ablation?": what the articles
            # say about the ablation, not "they don't cover it".
            bridge = bridges[bridged_procedure]
            used = [*used, *(fact for fact in bridge if fact not in used)]
            paragraphs.append(_join(bridge))
        missing = (
            []
            if general
            else [store.procedures[p].name for p in named if p not in known and p not in bridged]
        )
        spoken = [store.procedures[p].name for p in named if p in known]
        if missing and selecting and spoken:
            # "Which one comes before RFA, the injection or the block?": the one they name.
            paragraphs.append(
                f"The articles talk about this only for the {spoken_list(spoken)}. They say"
                f" nothing about it for the {spoken_list(missing)}."
            )
        elif missing:
            # "Does the ablation hurt more than the block?": say what the articles leave out.
            paragraphs.append(
                f"The articles I answer from don't cover this for {spoken_list(missing)}, so"
                " I can't compare. Please ask your care team."
            )
    else:
        used = _pick(facts, chosen)
        paragraphs.append(_side_by_side(store, used) if _varies_by_procedure(used) else _join(used))

    side_by_side = _varies_by_procedure(used) or (compare and len(known) > 1)
    compared = tuple(p for p in procedures_in(used) if p != GENERAL) if side_by_side else ()
    answered_as_asked = procedure is None or any(fact.is_about(procedure) for fact in used)
    if topic.leads_to and answered_as_asked and any(topic.leads_to in f.procedures for f in used):
        kept_procedure = topic.leads_to
    if topic.limits:
        paragraphs.append(topic.limits)
    paragraphs.append(cite(store, used))
    return Reply(
        text="\n\n".join(paragraphs),
        buttons=topic_buttons(store, topic.follow_ups),
        procedure=kept_procedure,
        topic=topic_id,
        fact_ids=tuple(fact.id for fact in used),
        compared=compared,
    )


def with_reasons(store: FactStore, reply: Reply, reasons: Reply) -> Reply:
    """`reply` followed by the facts that explain it (a topic's `explained_by`).

    One list of sources for both; the first topic's `limits` line stays last; a paragraph
    already said is not said again.
    """
    topic = store.topics.get(reply.topic or "")
    limits = topic.limits if topic else None

    def body(text: str) -> List[str]:
        return [p for p in text.split("\n\n") if not p.startswith(SOURCE_PREFIXES)]

    first = [p for p in body(reply.text) if p != limits]
    extra = [p for p in body(reasons.text) if p not in first and p != limits]
    facts = [store.fact(fact_id) for fact_id in dict.fromkeys(reply.fact_ids + reasons.fact_ids)]
    paragraphs = first + extra + ([limits] if limits else []) + [cite(store, facts)]
    return replace(reply, text="\n\n".join(paragraphs), fact_ids=tuple(fact.id for fact in facts))


def answer_uncovered(
    store: FactStore, settings: ClinicSettings, subject: Optional[UncoveredSubject] = None
) -> Reply:
    """An in-domain question the articles don't answer: say so, never guess."""
    what = subject.label if subject else "that question"
    text = (
        f"The articles I answer from don't cover {what}, so I can't give you a reliable"
        f" answer. Please ask your care team. {settings.contact_line()}"
    )
    return Reply(
        text=text,
        buttons=topic_buttons(store, ("recovery", "pain", "what_is")),
        # Remembered as the last topic, so "and for the block?" is not covered either.
        topic=NOT_COVERED_TOPIC + (subject.id if subject else ""),
        outcome=outcomes.NOT_COVERED,
    )


def story_subject_note(subject: UncoveredSubject) -> str:
    """A line for a not-covered subject the patient mentioned before their question."""
    return (
        f"Your message also touches on {subject.label}. The articles I answer from don't"
        " cover that, so please ask your care team about it."
    )


def not_covered_subject(
    store: FactStore, topic: Optional[str]
) -> Tuple[bool, Optional[UncoveredSubject]]:
    """Whether `topic` (the slot) records a not-covered answer, and for which subject."""
    if not topic or not topic.startswith(NOT_COVERED_TOPIC):
        return False, None
    wanted = topic[len(NOT_COVERED_TOPIC) :]
    return True, next((s for s in store.uncovered if s.id == wanted), None)


def personal_note(settings: ClinicSettings) -> str:
    """Said before general facts when the question is about the patient's own case."""
    return (
        "I can't tell what is right for you: only your care team can decide that with you."
        f" {settings.contact_line()} In general, the articles say:"
    )


def answer_personal_advice(store: FactStore, settings: ClinicSettings) -> Reply:
    """A decision about the patient's own care: general information and a referral."""
    text = (
        "I can't tell what is right or safe for you. That depends on your health, and only"
        " your care team can decide it with you. Please ask them before you change any"
        f" plan or medicine. {settings.contact_line()} I can share general information"
        " from the articles, for example:"
    )
    return Reply(
        outcome=outcomes.PERSONAL_ADVICE,
        text=text,
        buttons=topic_buttons(store, ("which_procedure", "side_effects", "difference")),
    )


def answer_red_flag(advice: str, urgency: str, settings: ClinicSettings) -> Reply:
    """Emergency advice for a present red flag, with the clinic's contact and its urgency."""
    return Reply(
        text=f"{advice} {settings.contact_line()}", urgency=urgency, outcome=outcomes.RED_FLAG
    )


def answer_greeting(store: FactStore, settings: ClinicSettings) -> Reply:
    """Welcome, with the short disclaimer from the store."""
    disclaimer = store.facts_for("disclaimer")
    text = f"{settings.welcome} {_join(disclaimer)}"
    return Reply(
        text=text, buttons=topic_buttons(store, STARTER_TOPICS), outcome=outcomes.SMALL_TALK
    )


def answer_contact(settings: ClinicSettings) -> Reply:
    """How to reach a person at the clinic."""
    return Reply(
        outcome=outcomes.SMALL_TALK,
        text=f"{settings.contact_line()} If this is an emergency, call 911 or go to the nearest"
        " emergency room.",
    )


def answer_rephrase(store: FactStore, likely_topics: Sequence[str] = ()) -> Reply:
    """Low NLU confidence: ask to rephrase and offer the likeliest topics."""
    offered = [t for t in likely_topics if t in store.topics] + list(STARTER_TOPICS)
    unique = list(dict.fromkeys(offered))
    return Reply(
        outcome=outcomes.FALLBACK,
        text="Sorry, I'm not sure I understood. Could you ask it another way? Or pick a topic:",
        buttons=topic_buttons(store, unique),
    )


def answer_unsure_part() -> Reply:
    """One question of a message asking several was not understood: said so, not
    dropped in silence, with no guess."""
    return Reply(
        outcome=outcomes.FALLBACK,
        text="I'm not sure I understood this question. Could you ask it again on its own, "
        "in other words?",
    )


def spoken_list(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def answer_out_of_scope(store: FactStore, settings: ClinicSettings) -> Reply:
    """Something unrelated to these procedures."""
    names = spoken_list([p.name + "s" for p in store.procedures.values()])
    return Reply(
        outcome=outcomes.OUT_OF_SCOPE,
        text=f"I can only answer questions about {names}. For anything else, please contact"
        f" your care team. {settings.contact_line()}",
        buttons=topic_buttons(store, STARTER_TOPICS),
    )


EMERGENCY_LINE = "If this is an emergency, call 911 or go to the nearest emergency room."


def answer_english_only(settings: ClinicSettings) -> Reply:
    """A question in another language: the articles and answers are English only.

    Simple English (the patient may be reading it with a translator), the clinic
    contact so they can ask a person in their language, the emergency line because an
    emergency described in another language is not caught by the English red-flag
    rules, and one short Spanish line for the clinic's most common other language.
    """
    return Reply(
        outcome=outcomes.ENGLISH_ONLY,
        text="Sorry, I can only answer questions written in English. Please ask your question"
        f" in English, or ask the clinic. {settings.contact_line()} {EMERGENCY_LINE}"
        "\n\nLo siento, solo puedo responder en inglés. Por favor, llame a la clínica.",
    )


def answer_too_long(limit: int) -> Reply:
    """A message over the length limit: ask for one short question, without guessing."""
    return Reply(
        outcome=outcomes.UNREADABLE,
        text=f"Your message is too long for me (over {limit:,} characters). Please ask one"
        " short question at a time, in a sentence or two.",
    )


def answer_unreadable(store: Optional[FactStore] = None) -> Reply:
    """Only punctuation, emoji or invisible characters: ask for a question in words."""
    return Reply(
        outcome=outcomes.UNREADABLE,
        text="I can only read questions typed in words. Please type your question, or pick"
        " one of these:"
        if store is not None
        else "I can only read questions typed in words. Please type your question.",
        buttons=topic_buttons(store, STARTER_TOPICS) if store is not None else (),
    )


def answer_unavailable(settings: ClinicSettings) -> Reply:
    """The assistant could not answer (action server down, slow or failing).

    Said instead of silence: the patient learns it is not their fault, when to try
    again and how to reach a person now.
    """
    return Reply(
        outcome=outcomes.UNAVAILABLE,
        text="Sorry, I can't answer right now because of a technical problem. Please try"
        f" again in a few minutes. {settings.contact_line()} {EMERGENCY_LINE}",
    )
