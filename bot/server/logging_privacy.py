"""Keep patient message text out of the logs of the Rasa server and the action server.

Patient messages are health information. At the default INFO level neither Rasa nor
rasa_sdk logs message text during a normal conversation, but some error paths do:

- SQLAlchemy errors (tracker store down, disk full, read-only database) end in
  `[parameters: (...)]`, the values of the failed INSERT: the events, i.e. the text.
  Rasa logs them at ERROR when a conversation cannot be saved or read.
- When an action server answers an error, Rasa's exception says
  `body='...'`, and rasa_sdk's default error body holds the whole tracker.
- Rasa's structlog events (e.g. `rest.message.received.failure`) carry `text=...`.
- Not patient text but a secret: the HTTP API's `?token=...` in Sanic's access log.

We cannot recognise patient text in a log line, so this removes the *places* that
carry it: the parameter list, the response body, and the structlog fields Rasa itself
lists as anonymisable. What stays is what an operator needs: which error, where, the
SQL statement, the traceback.

`install()` is idempotent. The processes install it themselves, whatever credentials.yml
lists: the Rasa launcher (bot/server/launcher.py) before Rasa starts and again once Rasa
has configured its logging, and the action server (bot/server/action_server.py) at
start-up.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any, Callable, Dict, MutableSequence, Optional

REDACTED = "[redacted]"

# (pattern, replacement) applied to every formatted log message and traceback.
_SCRUBBERS = (
    # SQLAlchemy: "[parameters: ('sender', 'user', 1700000000.0, ..., '{\"text\": ...}')]"
    (re.compile(r"\[parameters: [^\n]*\]"), f"[parameters: {REDACTED}]"),
    # rasa.utils.endpoints.ClientResponseError: "500, Internal Server Error, body='...'"
    (re.compile(r"body='[^\n]*'"), f"body='{REDACTED}'"),
    (re.compile(r'body="[^\n]*"'), f'body="{REDACTED}"'),
    # Rasa's HTTP API takes its auth token in the query string (?token=...), which
    # Sanic's access log (LOG_LEVEL_LIBRARIES=INFO) would otherwise print.
    (re.compile(r"([?&]token=)[^&\s\"']+"), rf"\1{REDACTED}"),
)

# Structlog fields that carry message text or conversation state: the keys Rasa's own
# `_anonymizer` (rasa/utils/log_utils.py) lists, which Rasa Open Source leaves as is.
SENSITIVE_FIELDS = frozenset(
    {
        "text",
        "response_text",
        "user_text",
        "slot_values",
        "parse_data_text",
        "parse_data_entities",
        "prediction_events",
        "tracker_latest_message",
        "prefilled_slots",
        "message",
        "response",
        "slot_candidates",
        "rasa_event",
        "rasa_events",
        "tracker_states",
        "current_states",
        "old_states",
        "successes",
        "current_entity",
        "next_entity",
        "states",
        "entity",
        "token_text",
        "user_message",
        "json_message",
    }
)

_installed_factory: Optional[Callable[..., logging.LogRecord]] = None


def scrub(text: str) -> str:
    """`text` with SQL parameters and HTTP response bodies replaced by [redacted]."""
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return text


def format_exception(exc_info: Any) -> str:
    """A traceback as logging.Formatter would render it, scrubbed."""
    return scrub("".join(traceback.format_exception(*exc_info)).rstrip("\n"))


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Replace the record's message and traceback by scrubbed, pre-rendered text.

    Done when the record is created, so it holds for every handler: Rasa, coloredlogs
    and Sanic add theirs at different times, and a handler filter would miss some.
    The formatter uses a pre-set `exc_text` instead of formatting `exc_info` again.
    """
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: logging reports it itself, leave it
        return record
    cleaned = scrub(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = format_exception(record.exc_info)
    return record


class AccessLogFilter(logging.Filter):
    """Scrubs the URL Sanic's access log passes as `extra={"request": ...}`.

    Extra fields are set after the record factory ran, so this is a filter on the
    `sanic.access` logger (which logs its records itself) rather than in the factory.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, str):
            record.request = scrub(request)
        return True


def redact_structlog_fields(_: Any, __: str, event_dict: Dict[str, Any]) -> Dict[str, Any]:
    """Structlog processor: drop message text and turn tracebacks into scrubbed text."""
    for key in SENSITIVE_FIELDS.intersection(event_dict):
        event_dict[key] = REDACTED
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        if exc_info is True:
            import sys

            exc_info = sys.exc_info()
        elif isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        if isinstance(exc_info, tuple) and exc_info[0] is not None:
            event_dict["exception"] = format_exception(exc_info)
    return event_dict


def _install_structlog() -> None:
    """Put the redacting processor first in structlog's chain (Rasa's structlog events).

    The list is changed in place: Rasa configures structlog with caching, and loggers
    already in use keep a reference to this very list.
    """
    try:
        import structlog
    except ImportError:  # the action server does not need structlog
        return
    processors = structlog.get_config()["processors"]
    if redact_structlog_fields in processors:
        return
    if isinstance(processors, MutableSequence):
        processors.insert(0, redact_structlog_fields)
    else:
        structlog.configure(processors=[redact_structlog_fields, *processors])


def install() -> None:
    """Scrub every log record of this process from now on (safe to call repeatedly)."""
    global _installed_factory
    current = logging.getLogRecordFactory()
    if current is not _installed_factory:

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return scrub_record(current(*args, **kwargs))

        _installed_factory = factory
        logging.setLogRecordFactory(factory)
    access = logging.getLogger("sanic.access")
    if not any(isinstance(item, AccessLogFilter) for item in access.filters):
        access.addFilter(AccessLogFilter())
    _install_structlog()
