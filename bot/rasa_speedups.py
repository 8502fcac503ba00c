"""Two measured fixes for per-turn CPU that Rasa 3.6 spends on work it repeats.

Profiling a REST turn (docs/benchmarks.md, "Where a turn's time goes") found more than
half of Rasa's CPU outside NLU and policies, in two places:

- validating the action server's reply: `RemoteAction._validate_action_result` calls
  `jsonschema.validate`, which first checks Rasa's 3.8 kB response schema against the
  JSON Schema metaschema, on every call (about 45 ms of a 60-80 ms turn here). The
  schema never changes, so the validator is built and checked once per action class.
  A reply the cached validator accepts is one `jsonschema.validate` accepts (same
  schema, same validator class); any other reply goes to Rasa's own method, so a broken
  reply fails exactly as before, with Rasa's message.
- loading a conversation: `Event.resolve_by_type` walks every `Event` subclass to find
  the class of each stored event (about 0.05 ms per event, so 5-15 ms per turn and
  growing with the session). Found classes are remembered by type name; unknown names
  still go through Rasa's lookup (and its error or default).

Nothing is patched on import: `install()` is called by the launcher
(`python -m bot.rasa_launcher`, used by `make run`, `make shell` and the tests) before
Rasa starts. Both fixes depend on Rasa internals, so `install()` checks the Rasa version
and leaves Rasa untouched, with a warning, on any version it was not measured on.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional

logger = logging.getLogger(__name__)

# The Rasa release whose internals these fixes were written and measured against.
SUPPORTED_RASA_VERSIONS = frozenset({"3.6.21"})
_MARK = "_spine_faq_speedup"


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


def install(rasa_version: Optional[str] = None) -> List[str]:
    """Apply both fixes once; returns their names (empty when Rasa is not supported)."""
    import rasa
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import Event

    version = rasa_version or rasa.__version__
    if version not in SUPPORTED_RASA_VERSIONS:
        logger.warning(
            "rasa speed-ups: not installed, measured on Rasa %s only, this is %s",
            ", ".join(sorted(SUPPORTED_RASA_VERSIONS)),
            version,
        )
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
    # Reported by the caller (bot/rasa_launcher.py prints it): Rasa has not configured
    # logging yet when this runs, so an INFO record here would be dropped.
    return installed
