"""Read and validate the red-flag data: `data/safety.yml` and `data/safety_context.yml`.

Pure data, no spaCy: the concepts (what a warning sign looks like), the ConText modifier
rules (how patients write around it), the sentence cues, and the advice and safety-net
texts. Everything is checked when loaded, so a broken edit fails at once with a message
naming the file, the entry and the field, and every regular expression is compiled here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.core.paths import SAFETY_CONTEXT_FILE, SAFETY_FILE

# The ConText categories the decision policy knows (bot/core/safety/detector.py).
CATEGORIES = (
    "NEGATED",
    "HISTORICAL",
    "CHRONIC",
    "OTHER_PERSON",
    "ACQUAINTANCE",
    "OTHER_SENSE",
    "FIRST_PERSON",
    "CLAUSE",
    "RESOLVED",
    "HYPOTHETICAL",
    "QUESTION",
    "PSEUDO",
    "TERMINATE",
)
DIRECTIONS = ("FORWARD", "BACKWARD", "BIDIRECTIONAL", "PSEUDO", "TERMINATE")
GENERAL_ADVICE = "general"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class SafetyRulesError(ValueError):
    """A red-flag data file is missing or broken."""


@dataclass(frozen=True)
class Concept:
    """One warning sign: the patterns that find it and the advice it gets."""

    id: str
    label: str
    advice: str
    patterns: Tuple[str, ...]


@dataclass(frozen=True)
class ModifierRule:
    """One ConText rule: trigger phrases or patterns, what they mean and where they reach."""

    category: str
    direction: str
    phrases: Tuple[str, ...]
    patterns: Tuple[str, ...]
    max_scope: Optional[int]
    terminated_by: Tuple[str, ...]
    allowed_types: Optional[Tuple[str, ...]]
    excluded_types: Optional[Tuple[str, ...]] = None


@dataclass(frozen=True)
class SafetyRules:
    """Everything the red-flag layer needs, validated."""

    urgency_order: Tuple[str, ...]
    advice: Mapping[str, str]
    safety_net: Mapping[str, str]
    concepts: Tuple[Concept, ...]
    modifiers: Tuple[ModifierRule, ...]
    now_cues: Tuple[re.Pattern[str], ...]
    own_body_cues: Tuple[re.Pattern[str], ...]
    procedure_done_cues: Tuple[re.Pattern[str], ...]
    right_now_cues: Tuple[re.Pattern[str], ...]
    other_now_cues: Tuple[re.Pattern[str], ...]
    # "I feel fine right now": a time word that says the patient is well, not a sign now.
    well_now_cues: Tuple[re.Pattern[str], ...] = ()

    def concept(self, concept_id: str) -> Concept:
        for concept in self.concepts:
            if concept.id == concept_id:
                return concept
        raise KeyError(concept_id)

    def kinds(self, concept_ids: Sequence[str]) -> List[str]:
        """The advice kinds of these concepts, most urgent first (unknown ids are skipped)."""
        known = {concept.id: concept.advice for concept in self.concepts}
        found = {known[concept_id] for concept_id in concept_ids if concept_id in known}
        return sorted(found, key=self.urgency_order.index)

    def advice_for(self, kinds: Sequence[str]) -> str:
        """The emergency advice for these kinds, most urgent first; the general advice if none."""
        return " ".join(self.advice[kind] for kind in kinds) or self.advice[GENERAL_ADVICE]

    def safety_net_for(self, kinds: Sequence[str]) -> str:
        """The calm conditional line(s) for signs that were only asked about."""
        return " ".join(self.safety_net[kind] for kind in kinds)


def _fail(path: Path, where: str, problem: str) -> SafetyRulesError:
    return SafetyRulesError(f"{path}: {where}: {problem}")


def _texts(path: Path, where: str, value: Any, name: str, required: bool = True) -> List[str]:
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise _fail(path, where, f"field '{name}' must be a non-empty list")
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise _fail(path, where, f"field '{name}': every item must be non-empty text")
    return [" ".join(item.split()) if name == "phrases" else item for item in value]


def _compile(path: Path, where: str, pattern: str) -> str:
    try:
        re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        raise _fail(path, where, f"bad regular expression {pattern!r}: {error}") from error
    return pattern


def _texts_by_kind(path: Path, document: Mapping, name: str, kinds: Tuple[str, ...]) -> Dict:
    value = document.get(name)
    if not isinstance(value, Mapping) or set(value) != set(kinds):
        raise _fail(path, name, f"must define exactly {', '.join(kinds)}")
    for kind, text in value.items():
        if not isinstance(text, str) or not text.strip():
            raise _fail(path, f"{name}.{kind}", "must be non-empty text")
    return {kind: " ".join(text.split()) for kind, text in value.items()}


def _expand(path: Path, where: str, pattern: str, vocabulary: Mapping[str, str]) -> str:
    """Insert `{name}` vocabulary entries into a pattern."""

    def insert(match: re.Match) -> str:
        name = match.group(1)
        if name not in vocabulary:
            raise _fail(path, where, f"unknown vocabulary entry {{{name}}} in {pattern!r}")
        return vocabulary[name]

    return _PLACEHOLDER.sub(insert, pattern)


def _parse_concepts(path: Path, document: Mapping, kinds: Tuple[str, ...]) -> List[Concept]:
    raw_vocabulary = document.get("vocabulary") or {}
    if not isinstance(raw_vocabulary, Mapping):
        raise _fail(path, "vocabulary", "must be a mapping of names to lists of alternatives")
    vocabulary = {
        name: "|".join(
            _compile(path, f"vocabulary.{name}", item)
            for item in _texts(path, f"vocabulary.{name}", items, name)
        )
        for name, items in raw_vocabulary.items()
    }
    concepts: List[Concept] = []
    raw = document.get("concepts")
    if not isinstance(raw, list) or not raw:
        raise _fail(path, "concepts", "must be a non-empty list")
    for index, body in enumerate(raw):
        where = f"concept #{index + 1}"
        if not isinstance(body, Mapping):
            raise _fail(path, where, "must be a mapping")
        for key in ("id", "label", "advice"):
            if not isinstance(body.get(key), str) or not body[key].strip():
                raise _fail(path, where, f"field '{key}' must be non-empty text")
        where = f"concept '{body['id']}'"
        if body["advice"] not in kinds:
            raise _fail(path, where, f"field 'advice': unknown kind '{body['advice']}'")
        if any(concept.id == body["id"] for concept in concepts):
            raise _fail(path, where, "field 'id' is used twice")
        patterns = tuple(
            _compile(path, where, _expand(path, where, pattern, vocabulary))
            for pattern in _texts(path, where, body.get("patterns"), "patterns")
        )
        concepts.append(Concept(body["id"], body["label"], body["advice"], patterns))
    return concepts


def _parse_modifiers(path: Path, document: Mapping) -> List[ModifierRule]:
    raw = document.get("modifiers")
    if not isinstance(raw, list) or not raw:
        raise _fail(path, "modifiers", "must be a non-empty list")
    rules = []
    for index, body in enumerate(raw):
        where = f"modifier #{index + 1}"
        if not isinstance(body, Mapping):
            raise _fail(path, where, "must be a mapping")
        category, direction = body.get("category"), body.get("direction")
        if category not in CATEGORIES:
            raise _fail(path, where, f"field 'category' must be one of {', '.join(CATEGORIES)}")
        if direction not in DIRECTIONS:
            raise _fail(path, where, f"field 'direction' must be one of {', '.join(DIRECTIONS)}")
        phrases = _texts(path, where, body.get("phrases"), "phrases", required=False)
        patterns = [
            _compile(path, where, pattern)
            for pattern in _texts(path, where, body.get("patterns"), "patterns", required=False)
        ]
        if not phrases and not patterns:
            raise _fail(path, where, "needs 'phrases' or 'patterns'")
        max_scope = body.get("max_scope")
        if max_scope is not None and (not isinstance(max_scope, int) or max_scope < 1):
            raise _fail(path, where, "field 'max_scope' must be a positive whole number")
        terminated_by = _texts(path, where, body.get("terminated_by"), "terminated_by", False)
        for name in terminated_by:
            if name not in CATEGORIES:
                raise _fail(path, where, f"field 'terminated_by': unknown category '{name}'")
        allowed, excluded = body.get("allowed_types"), body.get("excluded_types")
        for name, value in (("allowed_types", allowed), ("excluded_types", excluded)):
            if value is not None and not isinstance(value, list):
                raise _fail(path, where, f"field '{name}' must be a list of concept ids")
        rules.append(
            ModifierRule(
                category=category,
                direction=direction,
                phrases=tuple(phrases),
                patterns=tuple(patterns),
                max_scope=max_scope,
                terminated_by=tuple(terminated_by),
                allowed_types=None if allowed is None else tuple(allowed),
                excluded_types=None if excluded is None else tuple(excluded),
            )
        )
    return rules


def _parse_cues(path: Path, document: Mapping, name: str) -> Tuple[re.Pattern[str], ...]:
    cues = document.get("sentence_cues")
    if not isinstance(cues, Mapping):
        raise _fail(
            path,
            "sentence_cues",
            "must map now, own_body, procedure_done, right_now, other_now and well_now to patterns",
        )
    where = f"sentence_cues.{name}"
    return tuple(
        re.compile(_compile(path, where, pattern), re.IGNORECASE)
        for pattern in _texts(path, where, cues.get(name), name)
    )


def _read(path: Path) -> Mapping:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SafetyRulesError(f"{path}: cannot be loaded ({error})") from error
    if not isinstance(document, Mapping):
        raise SafetyRulesError(f"{path}: top level must be a mapping")
    return document


def parse_safety_rules(
    path: Path, document: Mapping, context_path: Path, context: Mapping
) -> SafetyRules:
    """Validate both parsed documents and build the rules from them."""
    order = document.get("urgency_order")
    if not isinstance(order, list) or not order or not all(isinstance(k, str) for k in order):
        raise _fail(path, "urgency_order", "must list the advice kinds, most urgent first")
    kinds = tuple(order)
    return SafetyRules(
        urgency_order=kinds,
        advice=_texts_by_kind(path, document, "advice", kinds + (GENERAL_ADVICE,)),
        safety_net=_texts_by_kind(path, document, "safety_net", kinds),
        concepts=tuple(_parse_concepts(path, document, kinds)),
        modifiers=tuple(_parse_modifiers(context_path, context)),
        now_cues=_parse_cues(context_path, context, "now"),
        own_body_cues=_parse_cues(context_path, context, "own_body"),
        procedure_done_cues=_parse_cues(context_path, context, "procedure_done"),
        right_now_cues=_parse_cues(context_path, context, "right_now"),
        other_now_cues=_parse_cues(context_path, context, "other_now"),
        well_now_cues=_parse_cues(context_path, context, "well_now"),
    )


def load_safety_rules(
    path: Path = SAFETY_FILE, context_path: Path = SAFETY_CONTEXT_FILE
) -> SafetyRules:
    """Read and validate the two red-flag files."""
    return parse_safety_rules(Path(path), _read(path), Path(context_path), _read(context_path))
