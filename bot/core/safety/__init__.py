"""The red-flag layer: on every message, before and regardless of the classifier.

The intent classifier is statistical: it can miss an emergency worded in a way it never
saw, and it cannot tell "I can't feel my groin" from "could it make my groin numb?". This
layer can: medspaCy finds the warning signs of `data/safety.yml` and its ConText component
reads how they are said (`data/safety_context.yml`). The result is an `Assessment`:

- present  -> the emergency advice first, with `urgency` on every channel;
- mentioned (a question or hypothetical) -> the answer, plus a calm safety-net line;
- otherwise (negated, past, chronic, someone else's, or nothing found) -> the answer.

`assess()` needs spaCy and runs where NLU runs (the Rasa process). Its `summary()` travels
with the message's parse data, so the action server composes the reply from
`current_rules()` (plain data) without loading any model. Both files are re-read when
they change (one `stat` each per message); a broken edit is logged and the last good
rules keep working.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Optional

from bot.core.paths import SAFETY_CONTEXT_FILE, SAFETY_FILE
from bot.core.reloading import Reloading
from bot.core.safety.detector import (
    ABSENT,
    MENTIONED,
    NO_FINDINGS,
    PRESENT,
    Assessment,
    Detector,
    Finding,
)
from bot.core.safety.rules import SafetyRules, SafetyRulesError, load_safety_rules

__all__ = [
    "ABSENT",
    "MENTIONED",
    "NO_FINDINGS",
    "PRESENT",
    "Assessment",
    "Detector",
    "Finding",
    "SafetyRules",
    "SafetyRulesError",
    "assess",
    "current_rules",
    "load_safety_rules",
]


@lru_cache(maxsize=1)
def _rules() -> Reloading[SafetyRules]:
    return Reloading(
        lambda: load_safety_rules(SAFETY_FILE, SAFETY_CONTEXT_FILE),
        (SAFETY_FILE, SAFETY_CONTEXT_FILE),
        errors=(SafetyRulesError,),
        what="Red-flag rules",
    )


def current_rules() -> SafetyRules:
    """The rules in force (concepts, advice texts), re-read when the files changed."""
    return _rules().get()


_detector: Optional[Detector] = None


def assess(text: str) -> Assessment:
    """Judge every warning sign in one patient message with the current rules."""
    global _detector
    rules = current_rules()
    if _detector is None or _detector.rules is not rules:
        _detector = Detector(rules)
    return _detector.assess(text)
