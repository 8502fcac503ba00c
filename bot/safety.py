"""Deterministic red-flag detection, run on every message before anything else.

The intent classifier is statistical and can miss an emergency worded in a way it
never saw. These rules cannot: they are plain regular-expression groups read from
`data/safety.yml`, and when one fires the assistant gives emergency advice no
matter what the classifier thought the message was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, List, Mapping, Optional, Tuple

import yaml

from bot.paths import SAFETY_FILE

# Advice kinds in order of urgency: when several rules fire, the first kind wins.
URGENCY = ("crisis", "emergency", "infection", "general")


class SafetyRulesError(ValueError):
    """The red-flag rules file is broken."""


@dataclass(frozen=True)
class RedFlagRule:
    """One red flag: every group must have at least one matching pattern."""

    id: str
    label: str
    advice: str
    groups: Tuple[Tuple[re.Pattern[str], ...], ...]

    def matches(self, text: str) -> bool:
        return all(any(p.search(text) for p in group) for group in self.groups)


@dataclass(frozen=True)
class RedFlag:
    """What the check found: which rules fired and the advice to give."""

    rule_ids: Tuple[str, ...]
    labels: Tuple[str, ...]
    advice_kind: str
    advice: str


@dataclass(frozen=True)
class SafetyRules:
    """All red-flag rules and the advice texts they point to."""

    rules: Tuple[RedFlagRule, ...]
    advice: Mapping[str, str]

    def check(self, text: str) -> Optional[RedFlag]:
        """Return the red flag in `text`, or None when the message is ordinary."""
        normalised = normalise(text)
        fired = [rule for rule in self.rules if rule.matches(normalised)]
        if not fired:
            return None
        kind = min((rule.advice for rule in fired), key=URGENCY.index)
        labels: List[str] = []
        for rule in fired:
            if rule.label not in labels:
                labels.append(rule.label)
        return RedFlag(
            rule_ids=tuple(rule.id for rule in fired),
            labels=tuple(labels),
            advice_kind=kind,
            advice=self.advice[kind],
        )


def normalise(text: str) -> str:
    """Lower-case, straighten quotes and drop invisible characters before matching."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"[\u200b-\u200f\u2060\ufeff]", "", text)
    return " ".join(text.lower().split())


def parse_safety_rules(path: Path, document: Any) -> SafetyRules:
    """Validate the parsed rules file and compile its patterns."""
    if not isinstance(document, Mapping):
        raise SafetyRulesError(f"{path}: top level must be a mapping")
    advice = document.get("advice")
    if not isinstance(advice, Mapping) or set(advice) != set(URGENCY):
        raise SafetyRulesError(f"{path}: 'advice' must define exactly {', '.join(URGENCY)}")
    rules = []
    for index, raw in enumerate(document.get("red_flags") or []):
        where = (
            f"{path}: rule '{raw.get('id', index + 1) if isinstance(raw, Mapping) else index + 1}'"
        )
        if not isinstance(raw, Mapping):
            raise SafetyRulesError(f"{where}: must be a mapping")
        for key in ("id", "label", "advice"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise SafetyRulesError(f"{where}: field '{key}' must be non-empty text")
        if raw["advice"] not in advice:
            raise SafetyRulesError(f"{where}: field 'advice': unknown kind '{raw['advice']}'")
        groups = raw.get("all_of")
        if not isinstance(groups, list) or not groups:
            raise SafetyRulesError(f"{where}: field 'all_of' must be a non-empty list")
        compiled = []
        for group in groups:
            if not isinstance(group, list) or not group:
                raise SafetyRulesError(f"{where}: field 'all_of': each group must be a list")
            try:
                compiled.append(tuple(re.compile(pattern) for pattern in group))
            except (re.error, TypeError) as error:
                raise SafetyRulesError(f"{where}: field 'all_of': bad pattern ({error})") from error
        rules.append(RedFlagRule(raw["id"], raw["label"], raw["advice"], tuple(compiled)))
    if not rules:
        raise SafetyRulesError(f"{path}: 'red_flags' must list at least one rule")
    return SafetyRules(
        rules=tuple(rules), advice={k: " ".join(v.split()) for k, v in advice.items()}
    )


def load_safety_rules(path: Path = SAFETY_FILE) -> SafetyRules:
    """Read and validate a red-flag rules file."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SafetyRulesError(f"{path}: cannot be loaded ({error})") from error
    return parse_safety_rules(Path(path), document)


@lru_cache(maxsize=1)
def default_rules() -> SafetyRules:
    """The project's rules, loaded once per process on first use."""
    return load_safety_rules(SAFETY_FILE)


def check(text: str) -> Optional[RedFlag]:
    """Check one message against the project's red-flag rules."""
    return default_rules().check(text)
