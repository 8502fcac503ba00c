"""The custom actions. Each one is a few lines: ask `bot` for a reply, send it."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import (
    clinic_settings,
    fact_store,
    latest_intent,
    latest_question,
    latest_red_flag,
    latest_text,
    procedure_before_message,
    send,
)
from bot.core import answers, responder

Events = List[Dict[str, Any]]


class ActionAnswerQuestion(Action):
    """Answer an FAQ topic from the fact store, for the procedure in discussion."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> Events:
        reply = responder.answer_question(
            fact_store(),
            clinic_settings(),
            intent=latest_intent(tracker),
            text=latest_text(tracker),
            entities=tracker.latest_message.get("entities") or [],
            current_procedure=procedure_before_message(tracker),
            red_flag=latest_red_flag(tracker),
            plan=tracker.latest_message.get("answer_plan"),
            last_topic=tracker.get_slot("topic"),
            question=latest_question(tracker),
            last_compared=tracker.get_slot("compared") or (),
            discussed=tracker.get_slot("discussed") or (),
            ranking=tracker.latest_message.get("intent_ranking") or [],
        )
        return send(dispatcher, reply, tracker)


class ActionGreetPatient(Action):
    """Welcome the patient with the short disclaimer."""

    def name(self) -> str:
        return "action_greet_patient"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> Events:
        return send(dispatcher, answers.answer_greeting(fact_store(), clinic_settings()), tracker)


class ActionGiveRedFlagAdvice(Action):
    """Emergency advice: the kind depends on which red flag the rules found.

    The `red_flag` intent is forced by the rules (bot.nlu.components.RedFlagOverride); when
    only the classifier predicted it, the general advice is given: unsure means alarm.
    """

    def name(self) -> str:
        return "action_give_red_flag_advice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> Events:
        settings = clinic_settings()
        reply = responder.emergency_reply(latest_red_flag(tracker), settings)
        return send(dispatcher, reply or responder.classifier_emergency_reply(settings))


class ActionReferPersonalAdvice(Action):
    """Personal medical decisions go to the care team."""

    def name(self) -> str:
        return "action_refer_personal_advice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> Events:
        return send(
            dispatcher, answers.answer_personal_advice(fact_store(), clinic_settings()), tracker
        )


class ActionExplainUncovered(Action):
    """Say plainly that the articles don't cover the subject, and refer."""

    def name(self) -> str:
        return "action_explain_uncovered"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> Events:
        store = fact_store()
        # Named from the question of a long message first, else from anywhere in it.
        question = latest_question(tracker)
        subject = question and store.uncovered_subject(question)
        subject = subject or store.uncovered_subject(latest_text(tracker))
        return send(
            dispatcher, answers.answer_uncovered(store, clinic_settings(), subject), tracker
        )


class ActionShareClinicContact(Action):
    """Give the clinic's contact details from settings."""

    def name(self) -> str:
        return "action_share_clinic_contact"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> Events:
        return send(dispatcher, answers.answer_contact(clinic_settings()), tracker)


class ActionRephrase(Action):
    """Low confidence: ask to rephrase and offer the topics NLU found likeliest."""

    def name(self) -> str:
        return "action_rephrase"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> Events:
        store = fact_store()
        # A subject the articles don't cover ("can I stop my Eliquis?") is named even when
        # the question itself was not understood.
        subject = store.uncovered_subject(latest_text(tracker))
        if subject is not None:
            return send(
                dispatcher, answers.answer_uncovered(store, clinic_settings(), subject), tracker
            )
        # Nor is a question about the patient's own case ("how much ibuprofen can I take?").
        if store.is_personal(latest_text(tracker)):
            return send(
                dispatcher, answers.answer_personal_advice(store, clinic_settings()), tracker
            )
        likely = []
        for ranked in tracker.latest_message.get("intent_ranking") or []:
            topic = store.topic_for_intent(ranked.get("name") or "")
            if topic is not None:
                likely.append(topic.id)
        return send(dispatcher, answers.answer_rephrase(store, likely), tracker)


class ActionDeclineOutOfScope(Action):
    """Politely decline unrelated questions.

    A question the classifier took as unrelated but that names a procedure or a subject
    the articles don't cover ("do I have to fast before the block?") is about the
    procedures after all: it is told that the articles don't cover it, not that the
    assistant only answers questions about the procedures it just asked about. The whole
    of a long message counts here: "my RFA is Tuesday ... can I golf the day after?" asks
    about RFA without naming it again.
    """

    def name(self) -> str:
        return "action_decline_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> Events:
        store, settings = fact_store(), clinic_settings()
        text = latest_text(tracker)
        entities = tracker.latest_message.get("entities") or []
        if responder.other_subject_only(entities, text, store, latest_question(tracker)):
            # "How many ibuprofen a day?" is not about the procedures at all.
            return send(dispatcher, answers.answer_out_of_scope(store, settings), tracker)
        subject = store.uncovered_subject(text)
        if subject is not None or responder.procedures_named(entities, store):
            return send(dispatcher, answers.answer_uncovered(store, settings, subject), tracker)
        return send(dispatcher, answers.answer_out_of_scope(store, settings), tracker)


class ActionExplainEnglishOnly(Action):
    """A question in another language: say politely that answers are English only."""

    def name(self) -> str:
        return "action_explain_english_only"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> Events:
        return send(dispatcher, answers.answer_english_only(clinic_settings()), tracker)
