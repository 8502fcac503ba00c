"""Operations metrics for Prometheus: counts and timings only, never text or sender ids.

Every public channel's turn goes through `bot.channels.fallback.run_turn`, which records
here: the turn by channel and outcome (bot/core/outcomes.py, carried by each reply), the
urgency of red-flag advice, the turns the assistant could not answer (the apology was
sent: timeout, error, or no reply, which is what a down or failing action server looks
like from Rasa), and the reply time. The health channel serves them at
GET /webhooks/health/metrics behind the API token (RASA_AUTH_TOKEN, the token of
Rasa's HTTP API), as `?token=...` or `Authorization: Bearer ...`.

Label values come from fixed sets (channel names, outcomes, urgencies, causes), so the
number of series stays small whatever patients type. One registry of our own, so the
page holds these metrics and the process's, nothing a library registered by chance.
"""

from __future__ import annotations

import hmac
import os
from typing import Optional, Tuple

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.process_collector import ProcessCollector

from bot.core import outcomes

TOKEN_ENV = "RASA_AUTH_TOKEN"
KNOWN_OUTCOMES = frozenset(outcomes.OUTCOMES) | {outcomes.UNREADABLE, outcomes.UNAVAILABLE}
URGENCIES = frozenset({"emergency", "crisis", "infection"})
CAUSES = ("timeout", "error", "no_reply")
# Reply times of a normal turn are well under a second here; the apology comes at the
# time limit (ACTION_REPLY_TIMEOUT, 8 s by default).
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
TURNS = Counter(
    "spine_faq_turns",
    "Patient messages by channel and what the assistant did (bot/core/outcomes.py)",
    ["channel", "outcome"],
    registry=REGISTRY,
)
RED_FLAGS = Counter(
    "spine_faq_red_flags",
    "Red-flag advice sent, by channel and urgency",
    ["channel", "urgency"],
    registry=REGISTRY,
)
FAILURES = Counter(
    "spine_faq_assistant_failures",
    "Turns the assistant could not answer (the apology was sent): timeout, error, no_reply",
    ["channel", "cause"],
    registry=REGISTRY,
)
REPLY_SECONDS = Histogram(
    "spine_faq_reply_seconds",
    "Time from a patient message to the last reply sent for it",
    ["channel"],
    buckets=BUCKETS,
    registry=REGISTRY,
)


def _channel(name: Optional[str]) -> str:
    return (name or "unknown")[:32]


def record_turn(
    channel: Optional[str],
    outcome: Optional[str],
    seconds: float,
    urgency: Optional[str] = None,
    failure: Optional[str] = None,
) -> None:
    """Count one patient message and how it went."""
    label = _channel(channel)
    TURNS.labels(label, outcome if outcome in KNOWN_OUTCOMES else "other").inc()
    REPLY_SECONDS.labels(label).observe(max(seconds, 0.0))
    if urgency:
        RED_FLAGS.labels(label, urgency if urgency in URGENCIES else "other").inc()
    if failure:
        FAILURES.labels(label, failure if failure in CAUSES else "error").inc()


def authorised(token: Optional[str], authorization: Optional[str]) -> Tuple[bool, str]:
    """(allowed, reason) for a metrics request: the API token, as a query or bearer."""
    expected = os.environ.get(TOKEN_ENV, "")
    if not expected:
        return False, f"metrics are served only with {TOKEN_ENV} set (the API token)"
    offered = token or ""
    if not offered and authorization and authorization.lower().startswith("bearer "):
        offered = authorization[7:].strip()
    if offered and hmac.compare_digest(offered.encode(), expected.encode()):
        return True, ""
    return False, "missing or wrong token"


def exposition() -> Tuple[bytes, str]:
    """The metrics page and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
