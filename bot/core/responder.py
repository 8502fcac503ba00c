"""Decide what to say to one patient question, from what NLU found.

This is the decision the FAQ action makes on every question, kept out of the
Rasa action so it can be tested and reused by any channel:

1. a present red flag wins, always (judged by `bot.core.safety` where NLU runs, and passed
   here as the message's `red_flag` summary);
2. a subject the articles don't cover is named and referred, never guessed;
3. otherwise the topic is answered for the procedure named in this message,
   else the one under discussion (the slot), else side by side; a follow-up ("and the
   other one?") answers the last topic again for the named or the other procedure, and
   "why is that?" answers it again in full;
4. only the facts the answer planner matched to the question are used, a name that
   could mean something else ("nerve block") is said to be taken as one procedure, and a
   question about the patient's own case is first told that only the care team can decide.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from bot.core import answers, claims, intents, safety
from bot.core.answers import Reply
from bot.core.facts import FactStore, PartChoice
from bot.core.settings import ClinicSettings

# A follow-up with no topic to follow (the first message): what the procedure is.
FOLLOW_UP_DEFAULT_TOPIC = "what_is"


def procedures_named(entities: Iterable[Mapping], store: FactStore) -> list:
    """Distinct known procedure ids among the message's `procedure` entities."""
    named = []
    for entity in entities:
        value = entity.get("value")
        if entity.get("entity") == "procedure" and value in store.procedures and value not in named:
            named.append(value)
    return named


def _procedure_names(entities: Iterable[Mapping], text: str) -> Iterator[str]:
    """The words of `text` each `procedure` entity covers ("" when it has no offsets)."""
    for entity in entities:
        if entity.get("entity") != "procedure":
            continue
        start, end = entity.get("start"), entity.get("end")
        yield text[start:end] if start is not None and end is not None else ""


def _without_names(entities: Iterable[Mapping], text: str) -> str:
    """`text` with each `procedure` entity's words replaced by as many "x" ("which lasts
    longer, the steroid one or the numbing test?" keeps no medicine's name); the length
    is kept, so a long message's question is still found at the same place."""
    for entity in entities:
        start, end = entity.get("start"), entity.get("end")
        if entity.get("entity") == "procedure" and start is not None and end is not None:
            text = text[:start] + "x" * (end - start) + text[end:]
    return text


def _part_choice(
    store: FactStore, entities: Iterable[Mapping], text: str, asked: str
) -> Optional[PartChoice]:
    """The store's `part_choice` rule when the question `asked` (in `text`) chooses
    between the medicines of one procedure, procedure names set aside; else None."""
    if store.part_choice is None:
        return None
    plain = _without_names(entities, text)
    at = text.find(asked)
    plain_question = plain[at : at + len(asked)] if at >= 0 else plain
    return store.part_choice if store.chooses_between_parts(plain_question, plain) else None


def names_procedure_plainly(entities: Iterable[Mapping], text: str, store: FactStore) -> bool:
    """True when a procedure is named by a name that is not ambiguous.

    "A cortisone shot in my knee" uses a name the store only assumes means the facet
    joint injection (`assumed_aliases`): beside another subject it names no procedure.
    """
    return any(
        not words or store.assumed_meaning(words) is None
        for words in _procedure_names(entities, text)
    )


def other_subject_only(
    entities: Iterable[Mapping], text: str, store: FactStore, question: Optional[str] = None
) -> bool:
    """True when a message asks about a subject outside the procedures and the articles
    (`other_subjects`: another surgery, a knee injection, a named painkiller) and names
    no procedure plainly: out of scope, whatever topic it sounds like. The planner and
    the decline action both decide with this.

    `question` is a long message's question: the subject must be in it, since a physical
    therapist in the story before "what is facet joint syndrome?" does not make the
    question another subject's. A procedure named anywhere in `text` counts.
    """
    return store.other_subject(question or text) is not None and not names_procedure_plainly(
        entities, text, store
    )


def assumed_names_note(entities: Iterable[Mapping], text: str, store: FactStore) -> str:
    """'(I took "nerve block" to mean ...)' for names that can mean something else."""
    notes = []
    for words in _procedure_names(entities, text):
        if not words:
            continue
        meant = store.assumed_meaning(words)
        if meant is not None:
            note = f'I took "{words.lower()}" to mean a {meant.name} ({meant.short}).'
            if note not in notes:
                notes.append(note)
    return " ".join(notes)


def emergency_reply(
    red_flag: Optional[Mapping[str, Any]], settings: ClinicSettings
) -> Optional[Reply]:
    """The emergency advice when the message's red-flag summary says a sign is present."""
    if not red_flag or red_flag.get("status") != safety.PRESENT:
        return None
    rules = safety.current_rules()
    kinds = rules.kinds(red_flag.get("present") or ())
    return answers.answer_red_flag(
        rules.advice_for(kinds), kinds[0] if kinds else "emergency", settings
    )


def classifier_emergency_reply(settings: ClinicSettings) -> Reply:
    """Only the classifier saw an emergency (no rule did): the general advice, as an alarm."""
    return answers.answer_red_flag(safety.current_rules().advice_for(()), "emergency", settings)


def safety_net(red_flag: Optional[Mapping[str, Any]]) -> str:
    """The calm conditional line for warning signs the patient only asked about, else ''."""
    if not red_flag or red_flag.get("status") != safety.MENTIONED:
        return ""
    rules = safety.current_rules()
    return rules.safety_net_for(rules.kinds(red_flag.get("mentioned") or ()))


def _compared_procedures(
    store: FactStore,
    question: str,
    named: Sequence[str],
    current: Optional[str],
    compared_before: Sequence[str] = (),
    discussed: Sequence[str] = (),
) -> list:
    """The procedures a comparison is about: all of them for "which of the three?"; for
    "which of these procedures?" those compared last, else all of them; for "which one?"
    those compared last, else the two the conversation has been about, else the one
    under discussion and its counterpart when it is not of the usual pair; the one under
    discussion and the one named for "is it better than RFA?"; else those named."""
    if store.asks_all_procedures(question):
        return list(store.procedures)
    if not named and store.asks_about_group(question):
        return list(compared_before) if len(compared_before) > 1 else list(store.procedures)
    if not named and len(compared_before) > 1:
        # "And which one is done first?" right after a side-by-side answer: those two.
        return list(compared_before)
    if not named and len(discussed) == 2:
        # "And which one do they do first?" after a question on the block, then on RFA.
        return list(discussed)
    if len(named) == 1 and current in store.procedures and current != named[0]:
        return [current, named[0]]
    counterpart = store.procedures[current].counterpart if current in store.procedures else None
    if not named and counterpart and current not in store.usual_comparison:
        # "So which one should come first?" after what RFA does: RFA and the block it
        # follows, not the usual pair.
        return [current, counterpart]
    return list(named)


def answer_question(
    store: FactStore,
    settings: ClinicSettings,
    intent: Optional[str],
    text: str,
    entities: Sequence[Mapping] = (),
    current_procedure: Optional[str] = None,
    red_flag: Optional[Mapping[str, Any]] = None,
    plan: Optional[Mapping[str, Any]] = None,
    last_topic: Optional[str] = None,
    question: Optional[str] = None,
    last_compared: Sequence[str] = (),
    ranking: Sequence[Mapping[str, Any]] = (),
    discussed: Sequence[str] = (),
) -> Reply:
    """The reply to a question classified as `intent`.

    `plan` is the answer planner's summary (bot/nlu/planner.py): the facts that match
    the question. `last_topic` is the topic answered last, for follow-ups ("and the other
    one?", "same for RFA?"); `last_compared` the procedures the last answer put side by
    side, `discussed` every procedure answered about so far, in the order they came up
    ("back to the first one"). `question` is the question of a long message (the story
    before it set aside, bot/nlu/focus.py): a subject the articles don't cover that the
    question asks about gets the not-covered answer; one only the story mentions ("since
    my second pregnancy") gets the answer and a line saying the articles don't cover it,
    so no subject the patient raised goes unanswered. `ranking` is the NLU's intent ranking:
    a message naming no procedure that it guessed unsurely as an unrelated topic leans
    to the last answer's topics (`FactStore.intent_in_context`).
    """
    urgent = emergency_reply(red_flag, settings)
    if urgent is not None:
        return urgent

    named = procedures_named(entities, store)
    if store.starts_new_subject(question or text):
        # "Switching gears: what's recovery like?": nothing said before colours it.
        last_topic = None
    if not named:
        similarity = float((plan or {}).get("best_fact_similarity") or 0.0)
        intent = store.intent_in_context(ranking, last_topic, similarity) or intent
        sequel = store.sequel_topic(question or text, last_topic)
        if sequel is not None:
            # "And then what?" after what a block is for: what comes after the block.
            intent = store.topics[sequel].intent
    if not named:
        # "The first one, is it just a test?" after a side-by-side answer; else "back to
        # the first one" among those the conversation went through.
        in_place = store.procedure_in_place(
            question or text, last_compared
        ) or store.procedure_in_place(question or text, discussed)
        named = [in_place] if in_place else named
    chosen = None
    if intent in (intents.FOLLOW_UP, intents.ELABORATE):
        not_covered, subject = answers.not_covered_subject(store, last_topic)
        if not_covered:
            # "and for the block?" after "the articles don't cover that": nor for the block.
            return answers.answer_uncovered(store, settings, subject)
    if intent == intents.ELABORATE:
        # Every fact of the last topic (the planner may have picked one before), so the
        # reasons come along; with nothing said yet there is nothing to explain.
        topic = store.topics.get(last_topic or "")
        if topic is None:
            return answers.answer_rephrase(store)
        if not named:
            named = [p for p in last_compared if p in store.procedures]
    elif intent == intents.FOLLOW_UP:
        topic = store.topics.get(last_topic or "") or store.topics[FOLLOW_UP_DEFAULT_TOPIC]
        if not named and not store.asks_about_a_part(question or text):
            counterpart = store.procedures.get(current_procedure or "")
            named = [counterpart.counterpart] if counterpart and counterpart.counterpart else []
    elif not named and store.points_back(question or text, intent or "", last_topic):
        # "How long does that last?" right after the soreness: still about the soreness.
        topic = store.topics[last_topic or ""]
    else:
        topic = store.topic_for_intent(intent or "")
        if plan and plan.get("intent") == intent:
            chosen = set(plan.get("facts") or ()) or None
        if not named and store.points_to_other_procedure(question or text):
            # "And the other one, how long?": the counterpart of the one under discussion.
            counterpart = store.procedures.get(current_procedure or "")
            named = [counterpart.counterpart] if counterpart and counterpart.counterpart else []
    redirect = store.treatment_topic(question or text, topic.id) if topic else None
    if redirect is not None:
        # "Which injection treats that?" after facet joint syndrome: how the doctor
        # chooses, which says the facet injection treats the inflamed joint itself.
        topic, chosen = store.topics[redirect], None
    # "The block has no steroid, right?": yes or no first, when the articles settle it;
    # then the topic that answers what was said ("is RFA a test too?" is what it is for).
    confirmed = claims.current_claims(store)
    verdict = confirmed.verdict(question or text, claims.names_in(entities, text, question or text))
    if verdict is not None and verdict.topic and topic is not None and verdict.topic != topic.id:
        topic, chosen = store.topics[verdict.topic], None
    topic_id = topic.id if topic else None
    subject = store.uncovered_subject(question or text, topic_id)
    if subject is not None or topic is None:
        return answers.answer_uncovered(store, settings, subject)
    in_story = store.uncovered_subject(text, topic_id) if question else None

    asked = question or text
    rule = _part_choice(store, entities, text, asked) if len(named) < 2 else None
    parts = rule is not None
    if rule is not None:
        # "Which works faster, the steroid or the anesthetic?": the medicines of one
        # procedure, not a comparison of procedures; every fact, so each medicine's part.
        topic, chosen = store.topics[rule.topic], None
        named = named or [current_procedure or rule.procedure]
    # A follow-up compares too when it names the other procedure ("is that the same as
    # a facet injection?" after "what is an MBB?").
    compare = not parts and (
        len(named) > 1 or (intent != intents.ELABORATE and store.is_comparison(asked))
    )
    compared_before = [p for p in last_compared if p in store.procedures]
    if not named and not compare and current_procedure is None and len(compared_before) > 1:
        # "How long does that one last?" after a side-by-side answer with no procedure
        # singled out: the procedures just compared, not every procedure of the topic.
        named, compare = compared_before, True
    lead = ""
    if compare:
        named = _compared_procedures(
            store, asked, named, current_procedure, compared_before, discussed
        )
        # Naming none or one of the two usually compared ("which one puts it into the
        # joint and which one goes on the nerves?" names the block by its place): those two.
        usual = list(store.usual_comparison)
        pair = named if len(named) > 1 or not set(named) <= set(usual) else usual
        better_topic = (
            store.redirected_topic(asked, topic.id) or store.order_topic(asked, topic.id, pair)
            if len(pair) > 1
            else None
        )
        if better_topic is not None:
            # "Is that the same as a facet injection?" after "what is an MBB?"; "where
            # does the needle go in each one?" is where each acts, not the X-ray; "the
            # block or the ablation first?" is what comes after the block.
            topic, chosen = store.topics[better_topic], None
        unpaired = store.topic_for_compared(topic, named)
        if unpaired is not topic:
            # "How is a facet injection different from RFA?": what each one is, saying
            # first that the articles do not compare them.
            lead = topic.unpaired_note or ""
            topic, chosen = unpaired, None
    if named and not compare:
        procedure: Optional[str] = named[0]
    elif current_procedure in store.procedures:
        procedure = current_procedure
    else:
        procedure = None
    reply = answers.answer_topic(
        store,
        topic.id,
        procedure,
        compare=compare,
        named=named,
        chosen=chosen,
        selecting=compare and store.asks_which(asked),
    )
    if intent == intents.ELABORATE or store.asks_why(asked):
        # "Why so short?", "why does one last weeks and the other only hours?": the facts
        # that give the reasons come along.
        for reason in topic.explained_by:
            # Only reasons the articles give for the procedures asked about (the purpose
            # of a facet injection is not explained by what follows a block).
            facts = store.facts_for(reason)
            if procedure and not compare and not any(f.is_about(procedure) for f in facts):
                continue
            asked_about = named or (store.usual_comparison if compare else ())
            about = [p for p in asked_about if any(f.is_about(p) for f in facts)]
            if compare and not about:
                continue
            side_by_side = compare and len(about) > 1
            reasons = answers.answer_topic(
                store,
                reason,
                procedure if not compare else None if side_by_side else about[0],
                compare=side_by_side,
                named=about if compare else named,
            )
            reply = answers.with_reasons(store, reply, reasons)
    notes = [confirmed.reply(verdict), assumed_names_note(entities, text, store), lead]
    if not compare and last_topic == topic.id:
        # "What about the block, same thing?" right after the facet injection's answer:
        # when the same facts answer for both, say so.
        notes.append(answers.same_as_before(store, reply, procedure, current_procedure))
    if store.is_personal(text) or (plan or {}).get("reason") == intents.PERSONAL_FACT_REASON:
        notes.append(answers.personal_note(settings))
    note = " ".join(n for n in notes if n)
    if note:
        reply = replace(reply, text=f"{note}\n\n{reply.text}")
    if in_story is not None:
        reply = answers.with_note(reply, answers.story_subject_note(in_story))
    return reply
