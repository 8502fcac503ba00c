"""bot/server/rasa_internals.py: every private name we use exists on the pinned versions,
and the three speed-ups are indistinguishable from Rasa's own code.

The fixes replace three Rasa methods, so those tests compare the replacement with the
original on the same input: same accepted replies, same errors, same classes, the same
intent rankings from the trained model. Every patch is undone when this module's tests
end, so no other test runs with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, Dict, Iterator, List

import jsonschema
import pytest

from bot.core.paths import PROJECT_ROOT
from bot.server import rasa_internals

pytest.importorskip("rasa")  # the project venv always has it; a clear reason otherwise

from rasa.core.actions.action import RemoteAction  # noqa: E402
from rasa.shared.core import events as rasa_events  # noqa: E402
from rasa.shared.utils.common import all_subclasses  # noqa: E402
from rasa.utils.endpoints import EndpointConfig  # noqa: E402
from rasa.utils.tensorflow.models import RasaModel  # noqa: E402

VALID_REPLIES: List[Dict[str, Any]] = [
    {},
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "timestamp": None, "name": "procedure", "value": "mbb"}],
        "responses": [{"text": "An answer.", "buttons": [{"title": "More", "payload": "more"}]}],
    },
    {"events": [{"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}}]},
]
INVALID_REPLIES: List[Dict[str, Any]] = [
    {"events": "not a list"},
    {"events": [{"timestamp": 1.0}]},  # no event name
    {"events": [{"event": "slot", "name": 5}]},
    {"responses": "text"},
    {"events": [{"event": "user", "timestamp": "yesterday"}]},
]


def _original_outcome(reply: Dict[str, Any]) -> Any:
    """What Rasa 3.6.21's own code does: jsonschema.validate on the spec."""
    try:
        jsonschema.validate(reply, RemoteAction.action_response_format_spec())
    except jsonschema.ValidationError as error:
        return ("invalid", error.message, list(error.path))
    return "valid"


def _patched_outcome(action: RemoteAction, reply: Dict[str, Any]) -> Any:
    try:
        assert action._validate_action_result(reply) is True
    except jsonschema.ValidationError as error:
        # Rasa appends its explanation to the message; the error itself is unchanged.
        message = error.message.split(". Failed to validate Action server response")[0]
        return ("invalid", message, list(error.path))
    return "valid"


@pytest.fixture(scope="module")
def installed() -> Iterator[List[str]]:
    validate = RemoteAction._validate_action_result
    resolve = rasa_events.Event.__dict__["resolve_by_type"]
    load = RasaModel.__dict__["load"]
    try:
        yield rasa_internals.install()
    finally:
        RemoteAction._validate_action_result = validate
        rasa_events.Event.resolve_by_type = resolve
        RasaModel.load = load


def test_the_pinned_versions_have_every_private_name_we_use() -> None:
    assert rasa_internals.check() == []


def test_check_names_a_changed_version_and_a_vanished_name(monkeypatch) -> None:
    import engineio

    monkeypatch.setitem(rasa_internals.MEASURED, "rasa", "3.6.20")
    monkeypatch.setattr(engineio.AsyncServer, "_cors_headers", None)
    assert rasa_internals.check() == [
        "rasa 3.6.21 (measured on 3.6.20)",
        "engineio.AsyncServer._cors_headers is gone",
    ]


def test_log_privacy_comes_back_after_rasa_configures_logging(monkeypatch) -> None:
    import rasa.__main__ as rasa_cli

    configured, called = [], []
    monkeypatch.setattr(rasa_cli, "configure_structlog", lambda level=None: configured.append(1))
    assert rasa_internals.after_rasa_configures_logging(lambda: called.append(1))
    assert rasa_internals.after_rasa_configures_logging(lambda: called.append(2))  # once only
    rasa_cli.configure_structlog(20)
    assert configured == [1] and called == [1]


def test_tracker_store_behind_the_fail_safe_wrapper() -> None:
    from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
    from rasa.shared.core.domain import Domain

    inner = InMemoryTrackerStore(Domain.empty())
    wrapped = FailSafeTrackerStore(inner)
    assert rasa_internals.inner_tracker_store(wrapped) is inner
    assert rasa_internals.inner_tracker_store(inner) is inner
    errors: List[Exception] = []
    assert rasa_internals.route_tracker_store_errors(wrapped, errors.append)
    wrapped._on_tracker_store_error(RuntimeError("down"))
    assert [str(e) for e in errors] == ["down"]
    assert not rasa_internals.route_tracker_store_errors(None, errors.append)


INSTALLED = [
    "action reply validator built once",
    "event class lookup cached",
    "DIET weights built eagerly at load",
]


def test_install_reports_every_fix_and_is_idempotent(installed) -> None:
    assert installed == INSTALLED
    validate = RemoteAction._validate_action_result
    resolve = rasa_events.Event.resolve_by_type
    load = RasaModel.__dict__["load"]
    assert rasa_internals.install() == installed
    assert RemoteAction._validate_action_result is validate  # not wrapped twice
    assert rasa_events.Event.resolve_by_type is resolve
    assert RasaModel.__dict__["load"] is load


CONTEXT_READING = "a short question pointing back read with the previous one"
EACH_QUESTION = "each question of a message asking several read on its own"


@pytest.fixture(scope="module")
def reading_in_context() -> Iterator[List[str]]:
    from rasa.core.processor import MessageProcessor

    parse = MessageProcessor._parse_message_with_graph
    try:
        yield rasa_internals.install_context_reading()
    finally:
        MessageProcessor._parse_message_with_graph = parse


def test_context_reading_is_installed_once_and_only_on_the_measured_rasa(
    reading_in_context,
) -> None:
    from rasa.core.processor import MessageProcessor

    assert reading_in_context == [CONTEXT_READING, EACH_QUESTION]
    patched = MessageProcessor._parse_message_with_graph
    assert getattr(patched, "__wrapped__", None) is not None
    assert rasa_internals.install_context_reading() == reading_in_context
    assert MessageProcessor._parse_message_with_graph is patched
    assert rasa_internals.install_context_reading(rasa_version="3.7.0") == []


def test_the_previous_question_is_the_last_one_of_this_session() -> None:
    from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    def tracker(*events: Any) -> DialogueStateTracker:
        return DialogueStateTracker.from_events("patient", list(events))

    start = [ActionExecuted("action_session_start"), SessionStarted()]
    assert rasa_internals.previous_question(tracker()) is None
    assert rasa_internals.previous_question(tracker(*start)) is None
    asked = [*start, UserUttered("does the block hurt?"), ActionExecuted("action_listen")]
    assert rasa_internals.previous_question(tracker(*asked)) == "does the block hurt?"
    assert rasa_internals.previous_question(tracker(*asked, *start)) is None


def test_a_message_turning_to_a_new_subject_is_read_alone() -> None:
    """ "Switching gears: ..." (`new_subject_cues` in data/facts.yml) is parsed once, on
    its own; the same question without the cue is read with the previous one too."""
    from types import SimpleNamespace

    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    parsed: List[str] = []

    def original(processor: Any, message: Any, tracker: Any, only_output: bool = True) -> Any:
        parsed.append(message.text)
        unsure = {"name": "ask_recovery", "confidence": 0.4}
        return {"text": message.text, "intent": unsure, "entities": []}

    parse = rasa_internals._parse_in_context(original)
    metadata = object()
    processor = SimpleNamespace(model_metadata=metadata)
    setattr(processor, rasa_internals._MARK, (metadata, True))
    previous = "how long does the joint injection last?"
    tracker = DialogueStateTracker.from_events("patient", [UserUttered(previous)])

    turning = "ok switching gears. what's recovery like for it?"
    parse(processor, SimpleNamespace(text=turning), tracker)
    assert parsed == [turning]
    parsed.clear()
    parse(processor, SimpleNamespace(text="what's recovery like for it?"), tracker)
    assert len(parsed) == 2 and parsed[1].startswith(previous.rstrip("?"))


def test_each_question_of_a_message_asking_several_is_read_on_its_own() -> None:
    """The message's own reading, then Rasa's parse of each question sentence alone; a
    sure reading of another topic is kept under `further_questions` with its place in
    the message. A message asking one thing is parsed once."""
    from types import SimpleNamespace

    parsed: List[str] = []
    topics = {"Does the block hurt?": "ask_pain"}

    def raw(processor: Any, message: Any, tracker: Any, only_output: bool = True) -> Any:
        parsed.append(message.text)
        intent = {"name": topics.get(message.text, "ask_recovery"), "confidence": 0.9}
        return {"text": message.text, "intent": intent, "entities": []}

    parse = rasa_internals._parse_each_question(raw, raw)
    metadata = object()
    processor = SimpleNamespace(model_metadata=metadata)
    setattr(processor, rasa_internals._MARK, (metadata, True))
    text = "Does the block hurt? And how long is the recovery?"
    reading = parse(processor, SimpleNamespace(text=text), None)
    assert parsed == [text, "Does the block hurt?", "And how long is the recovery?"]
    assert reading["intent"]["name"] == "ask_recovery"
    assert [(f["intent"], f["start"]) for f in reading["further_questions"]] == [
        ("ask_pain", 0),
        ("ask_recovery", 21),
    ]
    parsed.clear()
    reading = parse(processor, SimpleNamespace(text="Does the block hurt?"), None)
    assert parsed == ["Does the block hurt?"] and "further_questions" not in reading


def test_why_with_no_answer_to_explain_is_read_with_the_previous_message() -> None:
    """ "My doctor wants two blocks." - "why?": a sure "tell me more" with no answer
    before it to explain is read with the previous message; after an answer (the actions'
    `topic` slot is set) it explains that answer, read alone."""
    from types import SimpleNamespace

    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    parsed: List[str] = []

    def original(processor: Any, message: Any, tracker: Any, only_output: bool = True) -> Any:
        parsed.append(message.text)
        if message.text == "why?":
            return {"text": message.text, "intent": {"name": "ask_more", "confidence": 0.97}}
        return {"text": message.text, "intent": {"name": "ask_why_two_blocks", "confidence": 0.9}}

    parse = rasa_internals._parse_in_context(original)
    metadata = object()
    processor = SimpleNamespace(model_metadata=metadata)
    setattr(processor, rasa_internals._MARK, (metadata, True))
    told = [UserUttered("My doctor wants me to do two medial branch blocks.")]

    no_answer = DialogueStateTracker.from_events("patient", told)
    reading = parse(processor, SimpleNamespace(text="why?"), no_answer)
    assert len(parsed) == 2 and reading["intent"]["name"] == "ask_why_two_blocks"
    parsed.clear()
    answered = DialogueStateTracker.from_events("patient", [*told, SlotSet("topic", "pain")])
    reading = parse(processor, SimpleNamespace(text="why?"), answered)
    assert parsed == ["why?"] and reading["intent"]["name"] == "ask_more"


@pytest.mark.slow
def test_a_short_question_is_read_with_the_previous_one_in_a_conversation(
    reading_in_context,
) -> None:
    """Through Rasa's own message handling: the second message's own reading is unsure,
    so the intent is the one of both questions read together, and everything else (the
    text, procedures, red-flag summary) stays the message's own."""
    import asyncio

    from rasa.core.agent import Agent

    from bot.nlu import context
    from harness.servers import MODEL_FILE

    agent = Agent.load(str(MODEL_FILE))
    first, second = "is a medial branch block covered by insurance?", "what do they base that on?"

    async def converse() -> Any:
        own = await agent.parse_message(second)  # no conversation: read alone
        joined = await agent.parse_message(context.text_in_context(first, second) or "")
        await agent.handle_text(first, sender_id="context-test")
        await agent.handle_text(second, sender_id="context-test")
        tracker = await agent.tracker_store.retrieve("context-test")
        return own, joined, tracker.latest_message.parse_data

    own, joined, final = asyncio.run(converse())
    assert own["intent"]["confidence"] < context.UNSURE_BELOW, own["intent"]
    assert final[context.READ_IN_CONTEXT] is True
    assert final["intent"]["name"] == joined["intent"]["name"] == "ask_insurance"
    assert final["text"] == second and final["entities"] == own["entities"] == []
    assert final["red_flag"] == own["red_flag"]


def test_another_rasa_version_is_left_alone(installed) -> None:
    validate = RemoteAction._validate_action_result
    assert rasa_internals.install(rasa_version="3.7.0") == []
    assert RemoteAction._validate_action_result is validate


@pytest.mark.parametrize(
    "reply, valid", [(r, True) for r in VALID_REPLIES] + [(r, False) for r in INVALID_REPLIES]
)
def test_validation_outcome_equals_rasas(installed, reply, valid) -> None:
    action = RemoteAction("action_answer_question", EndpointConfig("http://127.0.0.1:1"))
    expected = _original_outcome(reply)
    assert (expected == "valid") is valid
    assert _patched_outcome(action, reply) == expected


def test_invalid_reply_keeps_rasas_explanation(installed) -> None:
    action = RemoteAction("action_answer_question", EndpointConfig("http://127.0.0.1:1"))
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server"):
        action._validate_action_result({"events": "not a list"})


def test_validation_is_cheaper_once_built(installed) -> None:
    """The reason the fix exists: the metaschema check no longer runs per reply.

    Counted, not timed: `check_schema` is what `jsonschema.validate` runs every call.
    """
    action = RemoteAction("action_answer_question", EndpointConfig("http://127.0.0.1:1"))
    action._validate_action_result(VALID_REPLIES[2])  # built here at the latest
    validator_class = jsonschema.validators.validator_for(action.action_response_format_spec())
    calls = []
    original = validator_class.check_schema
    validator_class.check_schema = classmethod(  # type: ignore[method-assign]
        lambda cls, schema, *a, **k: calls.append(1) or original(schema, *a, **k)
    )
    try:
        for _ in range(5):
            action._validate_action_result(VALID_REPLIES[2])
        jsonschema.validate(VALID_REPLIES[2], action.action_response_format_spec())
    finally:
        validator_class.check_schema = original  # type: ignore[method-assign]
    assert len(calls) == 1  # only the unpatched call checked the schema


def test_every_event_class_resolves_as_before(installed) -> None:
    event = rasa_events.Event
    for cls in all_subclasses(event):
        name = getattr(cls, "type_name", None)
        if not isinstance(name, str):
            continue
        first = next(c for c in all_subclasses(event) if c.type_name == name)
        assert event.resolve_by_type(name) is first
        assert event.resolve_by_type(name) is first  # and again, from the cache


def test_unknown_event_names_behave_as_before(installed) -> None:
    event = rasa_events.Event
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        event.resolve_by_type("no_such_event")
    assert event.resolve_by_type("no_such_event", default=rasa_events.UserUttered) is (
        rasa_events.UserUttered
    )
    assert event.resolve_by_type("topic") is None
    with pytest.raises(ValueError):  # a default once given is not remembered
        event.resolve_by_type("no_such_event")


def test_stored_events_deserialise_to_the_same_events(installed) -> None:
    stored = [
        {"event": "action", "name": "action_listen", "timestamp": 1.0},
        {"event": "user", "text": "does it hurt", "parse_data": {"intent": {"name": "ask_pain"}}},
        {"event": "slot", "name": "procedure", "value": "rfa", "timestamp": 2.0},
        {"event": "bot", "text": "An answer.", "data": {}, "timestamp": 3.0},
        {"event": "session_started", "timestamp": 4.0},
    ]
    restored = rasa_events.deserialise_events(stored)
    assert [type(e).__name__ for e in restored] == [
        "ActionExecuted",
        "UserUttered",
        "SlotSet",
        "BotUttered",
        "SessionStarted",
    ]
    assert restored[2].key == "procedure" and restored[2].value == "rfa"


def test_launcher_installs_the_fixes_then_runs_rasa() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.server.launcher", "--version"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"rasa speed-ups: {'; '.join(INSTALLED)}" in result.stderr
    assert f"rasa understanding: {CONTEXT_READING}" in result.stderr
    assert "Rasa Version      :         3.6.21" in result.stdout, result.stdout


@pytest.mark.slow
def test_eagerly_built_diet_predicts_exactly_as_rasas_load(installed) -> None:
    """The trained model loaded both ways ranks every intent of every message the same,
    and the patched load leaves prediction traced (not eager), as Rasa's does."""
    import asyncio

    from rasa.core.agent import Agent

    from harness.servers import MODEL_FILE

    texts = [
        "does it hurt?",
        "which lasts longer, the block or the ablation?",
        "wat is a mbb",
        "can I drive home after RFA",
        "my legs went numb and I can't pee",
        "the injection, the pain go away for how many time?",
    ]
    patched = RasaModel.__dict__["load"]
    assert getattr(patched.__func__, "__wrapped__", None) is not None

    def rankings() -> List[Any]:
        agent = Agent.load(str(MODEL_FILE))
        diet = [
            node._component
            for node in agent.processor.graph_runner._instantiated_nodes.values()
            if type(node._component).__name__ == "DIETClassifier"
        ]
        assert len(diet) == 1 and diet[0].model.run_eagerly is False
        parsed = [asyncio.run(agent.parse_message(text)) for text in texts]
        return [[(i["name"], i["confidence"]) for i in p["intent_ranking"]] for p in parsed]

    with_patch = rankings()
    RasaModel.load = classmethod(patched.__func__.__wrapped__)
    try:
        without = rankings()
    finally:
        RasaModel.load = patched
    assert [[name for name, _ in r] for r in with_patch] == [
        [name for name, _ in r] for r in without
    ]
    for ours, theirs in zip(with_patch, without, strict=True):
        assert [c for _, c in ours] == pytest.approx([c for _, c in theirs], abs=1e-6)
