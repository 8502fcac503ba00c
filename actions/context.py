"""What every action needs: the fact store (reloaded on change) and clinic settings."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.core import responder
from bot.core.answers import Reply, with_note
from bot.core.facts import FactStore, ReloadingFactStore
from bot.core.further_answers import further_replies
from bot.core.settings import ClinicSettings, current_settings
from bot.nlu.several_questions import FURTHER_KEY


@lru_cache(maxsize=1)
def _reloading_store() -> ReloadingFactStore:
    return ReloadingFactStore()


def fact_store() -> FactStore:
    """The current fact store, re-read when `data/facts.yml` changes."""
    return _reloading_store().get()


def clinic_settings() -> ClinicSettings:
    """The current clinic settings, re-read when the settings file changes."""
    return current_settings()


def send(
    dispatcher: CollectingDispatcher, reply: Reply, tracker: Optional[Tracker] = None
) -> List[Dict[str, Any]]:
    """Hand a reply to the dispatcher; return the slot events it implies.

    When the patient only asked about a warning sign, whatever the answer, it ends with
    the calm safety-net line (`bot.core.responder.safety_net`).
    """
    if tracker is not None and reply.urgency is None:
        reply = with_note(reply, responder.safety_net(latest_red_flag(tracker)))
    before, after = further_answers(tracker, reply) if tracker is not None else ([], [])
    for message in (*before, reply, *after):
        _utter(dispatcher, message)
    slots: Dict[str, Any] = {}
    if reply.procedure is not None:
        slots["procedure"] = reply.procedure
    if reply.topic is not None:
        slots["topic"] = reply.topic
        slots["compared"] = list(reply.compared) or None
    discussed = list((tracker.get_slot("discussed") if tracker is not None else None) or ())
    for procedure in (*reply.compared, reply.procedure):
        if procedure is not None and procedure not in discussed:
            discussed.append(procedure)
    if discussed:
        slots["discussed"] = discussed
    # A slot that already holds its value gets no event: each event is a row the tracker
    # store writes once and reads back on every later turn of the conversation.
    return [
        SlotSet(name, value)
        for name, value in slots.items()
        if tracker is None or tracker.get_slot(name) != value
    ]


def _utter(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    """One reply as one bot message."""
    dispatcher.utter_message(
        text=reply.text,
        buttons=[button.as_dict() for button in reply.buttons] or None,
        json_message=reply.custom(),
        # Rasa keeps extra keys as the bot message's metadata: stored with the
        # conversation and seen by the channels, which never show it to the patient.
        outcome=reply.outcome,
    )


def further_answers(tracker: Tracker, main: Reply) -> Tuple[List[Reply], List[Reply]]:
    """Replies to the other questions of a message that asks several
    (`bot.core.further_answers`): those asked before the main one, and those after. A
    further question that names no procedure is about the one the main answer was about,
    else the first the message names, else the one under discussion."""
    further = tracker.latest_message.get(FURTHER_KEY)
    if not isinstance(further, list):
        return [], []
    store = fact_store()
    text, question = latest_text(tracker), latest_question(tracker)
    at = text.find(question) if question else -1
    named = responder.procedures_named(tracker.latest_message.get("entities") or [], store)
    procedure = main.procedure or (named[0] if named else None)
    return further_replies(
        store,
        clinic_settings(),
        [asked for asked in further if isinstance(asked, Mapping)],
        main,
        at if at >= 0 else None,
        procedure or procedure_before_message(tracker),
    )


def procedure_before_message(tracker: Tracker) -> Optional[str]:
    """The procedure under discussion before the latest message.

    The `procedure` slot is also filled from the message's own entity (domain.yml), so
    read as it is, "is it the same as a facet injection?" after "what is an MBB?" would
    compare the injection with itself. The value is the last `procedure` slot event
    before the latest user message; the slot as it is when the history holds none (a
    conversation's first message, or a tracker built without its events).
    """
    events = list(tracker.events or [])
    users = [index for index, event in enumerate(events) if event.get("event") == "user"]
    if users:
        for event in reversed(events[: users[-1]]):
            kind = event.get("event")
            if kind in ("session_started", "restart"):
                return None
            if kind == "slot" and event.get("name") == "procedure":
                return event.get("value")
    return tracker.get_slot("procedure")


def latest_text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def latest_question(tracker: Tracker) -> Optional[str]:
    """The question of a long message, the story before it set aside (bot/nlu/focus.py);
    None when the message was read whole."""
    question = tracker.latest_message.get("question_text")
    return question if isinstance(question, str) and question.strip() else None


def latest_red_flag(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The red-flag summary NLU attached to the latest message (see bot.nlu.components)."""
    summary = tracker.latest_message.get("red_flag")
    return summary if isinstance(summary, dict) else None


def latest_intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")
