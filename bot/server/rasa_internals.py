"""Every use of another package's private names, in one place, behind a version check.

Rasa Open Source 3.6 (and python-engineio, python-socketio and Sanic-CORS under it) has
no public hook for a few things this project needs. Each is reached here, and only here:

- three measured CPU fixes, two per turn (docs/benchmarks.md, "Where a turn's time goes"):
  `RemoteAction._validate_action_result` re-checks Rasa's 3.8 kB reply schema against
  the JSON Schema metaschema on every call (about 45 ms of a 60-80 ms turn), so the
  validator is built once per action class (a reply it accepts is one `jsonschema`
  accepts; any other goes to Rasa's own method and fails with Rasa's message); and
  `Event.resolve_by_type` walks every `Event` subclass for each stored event, so found
  classes are remembered (unknown names still go through Rasa); and one at start-up:
  `RasaModel.load` builds DIET's weights by fitting one example, and traced Keras's
  whole training step into a graph for that single step (about 3-4 s of a 20 s start),
  so that step runs eagerly; the trained weights are then loaded and prediction is
  traced as before;
- a short question pointing back read with the patient's previous one
  (`MessageProcessor._parse_message_with_graph`, which has the conversation's tracker
  that NLU components never see; the rule is `bot/nlu/context.py`), and each question of
  a message that asks several read on its own (`bot/nlu/several_questions.py`);
- log privacy after Rasa's command line replaces structlog's processors
  (`rasa.__main__.configure_structlog`);
- the configured tracker store inside Rasa's fail-safe wrapper, and its error callback
  (`FailSafeTrackerStore._tracker_store`, `._on_tracker_store_error`), for health;
- the console's printer and prompt (`rasa.core.channels.console._print_bot_output`,
  `._get_user_input`), for `make shell`;
- the origins Rasa's `--cors` allows (Sanic-CORS's `app.ctx.sanic_cors`, `try_match`,
  `get_cors_origins`), and the two engine hooks our socket.io server overrides
  (`engineio.AsyncServer._cors_headers`, `socketio.AsyncServer._engineio_server_class`).

`MEASURED` names the versions all of this was written and tested against; `check()`
lists what differs on the installed ones (a version, or a private name that is gone).
The launcher logs that list at start-up, and on another Rasa version it patches
nothing. tests/test_rasa_internals.py runs `check()` and every use against the pinned
versions.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib import metadata
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple

logger = logging.getLogger(__name__)

# Package (as pip names it) -> the version these uses were written and measured against.
MEASURED = {
    "rasa": "3.6.21",
    "python-engineio": "4.7.1",
    "python-socketio": "5.9.0",
    "Sanic-Cors": "2.0.1",
}
# The Rasa release whose internals the fixes were written and measured against.
SUPPORTED_RASA_VERSIONS = frozenset({MEASURED["rasa"]})
_MARK = "_spine_faq_internal"


def installed_version(package: str) -> Optional[str]:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def rasa_supported(rasa_version: Optional[str] = None) -> bool:
    """True on the Rasa release the private uses were measured on."""
    return (rasa_version or installed_version("rasa")) in SUPPORTED_RASA_VERSIONS


def _supported_or_warn(what: str, rasa_version: Optional[str]) -> bool:
    """True on the supported Rasa; else logs that `what` is left out, and why."""
    if rasa_supported(rasa_version):
        return True
    logger.warning(
        "%s: not installed, written for Rasa %s only, this is %s",
        what,
        MEASURED["rasa"],
        rasa_version or installed_version("rasa"),
    )
    return False


def _private_names() -> List[Tuple[str, Callable[[], bool]]]:
    """(name, probe) for every private name used here; a probe is True when it exists."""

    def failsafe_store() -> Any:
        from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
        from rasa.shared.core.domain import Domain

        return FailSafeTrackerStore(InMemoryTrackerStore(Domain.empty()))

    def attribute(module: str, path: str) -> Callable[[], bool]:
        def probe() -> bool:
            import importlib

            target: Any = importlib.import_module(module)
            for part in path.split("."):
                target = getattr(target, part, None)
                if target is None:
                    return False
            return True

        return probe

    return [
        (
            "RemoteAction._validate_action_result",
            attribute("rasa.core.actions.action", "RemoteAction._validate_action_result"),
        ),
        ("Event.resolve_by_type", attribute("rasa.shared.core.events", "Event.resolve_by_type")),
        ("rasa.__main__.configure_structlog", attribute("rasa.__main__", "configure_structlog")),
        (
            "FailSafeTrackerStore._tracker_store",
            lambda: hasattr(failsafe_store(), "_tracker_store"),
        ),
        (
            "FailSafeTrackerStore._on_tracker_store_error",
            lambda: hasattr(failsafe_store(), "_on_tracker_store_error"),
        ),
        ("console._print_bot_output", attribute("rasa.core.channels.console", "_print_bot_output")),
        ("console._get_user_input", attribute("rasa.core.channels.console", "_get_user_input")),
        ("engineio.AsyncServer._cors_headers", attribute("engineio", "AsyncServer._cors_headers")),
        (
            "socketio.AsyncServer._engineio_server_class",
            attribute("socketio", "AsyncServer._engineio_server_class"),
        ),
        ("sanic_cors.core.try_match", attribute("sanic_cors.core", "try_match")),
        ("sanic_cors.core.get_cors_origins", attribute("sanic_cors.core", "get_cors_origins")),
        (
            "MessageProcessor._parse_message_with_graph",
            attribute("rasa.core.processor", "MessageProcessor._parse_message_with_graph"),
        ),
    ]


def check() -> List[str]:
    """What differs from the measured setup: versions, and private names that are gone."""
    problems = []
    for package, measured in MEASURED.items():
        version = installed_version(package)
        if version != measured:
            problems.append(f"{package} {version or 'missing'} (measured on {measured})")
    for name, probe in _private_names():
        try:
            present = probe()
        except Exception:  # noqa: BLE001 - a probe that cannot run means the name is gone
            present = False
        if not present:
            problems.append(f"{name} is gone")
    return problems


# --- the speed-ups -----------------------------------------------------------------------


def _cached_validation(original: Callable[[Any, Dict[str, Any]], bool]) -> Callable:
    """RemoteAction._validate_action_result with the schema validator built once."""
    from jsonschema.validators import validator_for

    validators: Dict[type, Any] = {}

    def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
        validator = validators.get(type(self))
        if validator is None:
            schema = self.action_response_format_spec()
            validator_class = validator_for(schema)
            validator_class.check_schema(schema)
            validator = validators[type(self)] = validator_class(schema)
        if validator.is_valid(result):
            return True
        # Rasa's own path: the same error, with its explanation appended, is raised.
        return original(self, result)

    setattr(_validate_action_result, _MARK, True)
    return _validate_action_result


def _cached_event_lookup(original: Callable[..., Optional[type]]) -> Callable:
    """Event.resolve_by_type remembering the classes it has found."""
    found: Dict[str, type] = {}

    def resolve_by_type(type_name: str, default: Optional[type] = None) -> Optional[type]:
        cls = found.get(type_name)
        if cls is not None:
            return cls
        cls = original(type_name, default)
        if cls is not None and getattr(cls, "type_name", None) == type_name:
            found[type_name] = cls
        return cls

    setattr(resolve_by_type, _MARK, True)
    return resolve_by_type


def _eager_build_load(original: Callable[..., Any]) -> Callable:
    """RasaModel.load (Rasa 3.6.21's body) with its one building step run eagerly.

    The same Keras calls in the same order: only `run_eagerly` differs while the
    weights are built, then it is set back to the model's own setting before the
    trained weights are used.
    """
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator

    def load(
        cls: Any,
        model_file_name: str,
        model_data_example: Any,
        predict_data_example: Any = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        model = cls(*args, **kwargs)
        learning_rate = kwargs.get("config", {}).get(LEARNING_RATE, 0.001)
        run_eagerly = kwargs.get("config", {}).get(RUN_EAGERLY)
        model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), run_eagerly=True)
        model.fit(RasaBatchDataGenerator(model_data_example, batch_size=1), verbose=False)
        model.run_eagerly = run_eagerly
        model.load_weights(model_file_name)
        if not finetune_mode and predict_data_example:
            model.run_inference(predict_data_example)
        return model

    setattr(load, _MARK, True)
    load.__wrapped__ = original  # type: ignore[attr-defined]
    return load


def install(rasa_version: Optional[str] = None) -> List[str]:
    """Apply the speed-ups once; returns their names (empty when Rasa is not supported)."""
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import Event
    from rasa.utils.tensorflow.models import RasaModel

    if not _supported_or_warn("rasa speed-ups", rasa_version):
        return []
    installed = []
    validate = RemoteAction._validate_action_result
    if not getattr(validate, _MARK, False):
        RemoteAction._validate_action_result = _cached_validation(validate)
    installed.append("action reply validator built once")
    resolve = Event.resolve_by_type
    if not getattr(resolve, _MARK, False):
        Event.resolve_by_type = staticmethod(_cached_event_lookup(resolve))
    installed.append("event class lookup cached")
    load = RasaModel.__dict__["load"].__func__
    if not getattr(load, _MARK, False):
        RasaModel.load = classmethod(_eager_build_load(load))
    installed.append("DIET weights built eagerly at load")
    # Reported by the caller (bot/server/launcher.py prints it): Rasa has not configured
    # logging yet when this runs, so an INFO record here would be dropped.
    return installed


# --- reading a short question with the previous one ---------------------------------------


def previous_question(tracker: Any) -> Optional[str]:
    """The text of the patient's message before the one being parsed, in this session.

    Rasa parses a message before logging it, so the tracker's last user message is the
    previous one; a session start or restart after it means there is none.
    """
    from rasa.shared.core.events import Restarted, SessionStarted, UserUttered

    for event in reversed(getattr(tracker, "events", None) or ()):
        if isinstance(event, UserUttered):
            return event.text
        if isinstance(event, SessionStarted | Restarted):
            return None
    return None


def _last_topic(tracker: Any) -> Optional[str]:
    """The topic of the last answer in this conversation (the actions' slot), if any."""
    from bot.nlu import context

    get_slot = getattr(tracker, "get_slot", None)
    value = get_slot(context.LAST_TOPIC_SLOT) if callable(get_slot) else None
    return value if isinstance(value, str) and value else None


def _has_answer_planner(processor: Any) -> bool:
    """True when the processor's model runs our answer planner: only that pipeline's
    parse has the topics and facts the reading in context chooses between (the stock
    pipeline served through the launcher for the benchmark is left as Rasa parses it)."""
    cached = getattr(processor, _MARK, None)
    if cached is not None and cached[0] is processor.model_metadata:
        return cached[1]
    nodes = processor.model_metadata.predict_schema.nodes.values()
    found = any(node.uses.__name__ == "AnswerPlannerComponent" for node in nodes)
    setattr(processor, _MARK, (processor.model_metadata, found))
    return found


def _parse_in_context(original: Callable[..., Dict[str, Any]]) -> Callable:
    """MessageProcessor._parse_message_with_graph that also reads a short question
    pointing back with the previous one (bot/nlu/context.py) and keeps that reading's
    intent when it is a topic. Rasa's own parse runs once more, on the joined text."""
    import copy

    from bot.nlu import context

    def _parse_message_with_graph(
        self: Any, message: Any, tracker: Any, only_output_properties: bool = True
    ) -> Dict[str, Any]:
        own = original(self, message, tracker, only_output_properties)
        nothing_to_explain = _last_topic(tracker) is None
        store = _fact_store()
        prior = store.context_prior
        bar = prior.unless_fact_at_least if prior is not None else None
        if not _has_answer_planner(self) or not context.may_replace(
            own, _topic_intents(), nothing_to_explain, bar
        ):
            return own
        if store.starts_new_subject(message.text or ""):
            # "Switching gears: ...": the patient says it stands on its own.
            return own
        text = context.text_in_context(previous_question(tracker), message.text or "")
        if text is None:
            return own
        joined = copy.copy(message)
        joined.text = text
        in_context = original(self, joined, tracker, only_output_properties)
        return context.merged(own, in_context, _topic_intents(), nothing_to_explain, bar)

    setattr(_parse_message_with_graph, _MARK, True)
    _parse_message_with_graph.__wrapped__ = original  # type: ignore[attr-defined]
    return _parse_message_with_graph


def _parse_each_question(reading: Callable[..., Dict[str, Any]], raw: Callable) -> Callable:
    """MessageProcessor._parse_message_with_graph that, besides the message's own
    `reading`, reads each question of a message that asks several on its own with Rasa's
    `raw` parse, and keeps the sure readings of other topics (bot/nlu/several_questions.py)
    under `FURTHER_KEY`. A message asking one thing is parsed as before."""
    import copy

    from bot.nlu import several_questions

    def _parse_message_with_graph(
        self: Any, message: Any, tracker: Any, only_output_properties: bool = True
    ) -> Dict[str, Any]:
        own = reading(self, message, tracker, only_output_properties)
        text = message.text or ""
        spans = several_questions.questions_to_read(text) if _has_answer_planner(self) else []
        readings = []
        for start, end in spans:
            alone = copy.copy(message)
            alone.text = text[start:end]
            readings.append(((start, end), raw(self, alone, tracker, only_output_properties)))
        own = several_questions.main_reading(own, readings, _topic_intents())
        further = several_questions.further_questions(own, readings, _topic_intents())
        return {**own, several_questions.FURTHER_KEY: further} if further else own

    setattr(_parse_message_with_graph, _MARK, True)
    _parse_message_with_graph.__wrapped__ = raw  # type: ignore[attr-defined]
    return _parse_message_with_graph


def _fact_store() -> Any:
    """The fact store the NLU components already read."""
    from bot.nlu.components import shared_fact_store

    return shared_fact_store().get()


@lru_cache(maxsize=1)
def _topic_intents() -> FrozenSet[str]:
    """The intents that ask a topic (fixed by the trained model, so read once)."""
    return _fact_store().topic_intents()


def install_context_reading(rasa_version: Optional[str] = None) -> List[str]:
    """Read short pointing-back questions with the previous one, and each question of a
    message asking several on its own (Rasa 3.6.21 only)."""
    from rasa.core.processor import MessageProcessor

    if not _supported_or_warn("context reading", rasa_version):
        return []
    parse = MessageProcessor._parse_message_with_graph
    if not getattr(parse, _MARK, False):
        MessageProcessor._parse_message_with_graph = _parse_each_question(
            _parse_in_context(parse), parse
        )
    return [
        "a short question pointing back read with the previous one",
        "each question of a message asking several read on its own",
    ]


# --- log privacy ---------------------------------------------------------------------------


def after_rasa_configures_logging(callback: Callable[[], None]) -> bool:
    """Run `callback` each time Rasa's command line (re)configures structlog.

    Rasa replaces structlog's processors once its command starts, after the launcher
    ran; the redaction of bot/server/logging_privacy.py must come back on top.
    """
    import rasa.__main__ as rasa_cli

    original = rasa_cli.configure_structlog
    if getattr(original, _MARK, False):
        return True

    def configure_structlog(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        callback()

    setattr(configure_structlog, _MARK, True)
    rasa_cli.configure_structlog = configure_structlog
    return True


# --- the tracker store behind Rasa's fail-safe wrapper -------------------------------------


def inner_tracker_store(store: Any) -> Any:
    """The configured store inside Rasa's FailSafe/Awaitable wrappers."""
    seen = 0
    while hasattr(store, "_tracker_store") and seen < 5:
        store = store._tracker_store
        seen += 1
    return store


def route_tracker_store_errors(store: Any, callback: Callable[[Exception], None]) -> bool:
    """Send the fail-safe store's errors to `callback`; False when the store has no hook."""
    if store is None or not hasattr(store, "_on_tracker_store_error"):
        return False
    store._on_tracker_store_error = callback
    return True


# --- the console of `rasa shell` -----------------------------------------------------------


def replace_console(
    print_bot_output: Callable[..., Any],
    make_get_user_input: Callable[[], Callable[..., Any]],
    rasa_version: Optional[str] = None,
) -> bool:
    """Swap the console's printer and prompt once; False (untouched) on another Rasa."""
    from rasa.core.channels import console

    if not rasa_supported(rasa_version):
        return False
    if not getattr(console._get_user_input, _MARK, False):
        get_user_input = make_get_user_input()
        setattr(get_user_input, _MARK, True)
        console._print_bot_output = print_bot_output
        console._get_user_input = get_user_input
    return True


# --- Rasa's --cors, as Sanic-CORS resolved it ----------------------------------------------


def cors_flag_allows(request: Any, origin: str) -> bool:
    """True when Rasa's `--cors` (Sanic-CORS) allows `origin` for this request's path."""
    try:
        from sanic_cors.core import get_cors_origins, try_match

        context = getattr(request.app.ctx, "sanic_cors", None)
        for pattern, options in getattr(context, "resources", None) or []:
            if try_match(request.path, pattern):
                allowed = get_cors_origins(options, origin)
                return bool(allowed) and allowed != [""]
    except Exception:  # noqa: BLE001 - an unreadable CORS setup allows nothing extra
        logger.debug("socketio: could not read Rasa's --cors setting", exc_info=True)
    return False
