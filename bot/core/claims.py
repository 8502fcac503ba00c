"""Yes or no to a patient checking what they understood, from data/claims.yml.

"So the block is just a test, and the facet shot has the steroid, right?" deserves a yes
before the facts, and "the block uses heat, correct?" a no: the facts alone leave the
patient to work out whether they had it right. A wrong yes is worse than none, so the
check abstains unless every part of the statement names a procedure and says something
whose truth the articles give for it; the answer from the fact store follows either way.

Runs without Rasa: the responder passes the question and the spans of the procedure
names the NLU found (bot/core/responder.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.core.paths import CLAIMS_FILE, FACTS_FILE
from bot.core.reloading import Reloading

# (start, end, procedure id) of a name in the text.
Name = Tuple[int, int, str]
_SENTENCE = re.compile(r"[^.?!]+[.?!]*")


class ClaimsError(ValueError):
    """data/claims.yml is malformed or names a fact the store does not hold."""


@dataclass(frozen=True)
class Thing:
    """One thing a patient may say of a procedure ("has a steroid"), and for which
    procedures the articles make it true or false."""

    kind: str
    name: str
    says: re.Pattern
    true_for: Tuple[str, ...]
    false_for: Tuple[str, ...]

    def holds(self, procedure: str) -> Optional[bool]:
        if procedure in self.true_for:
            return True
        if procedure in self.false_for:
            return False
        return None


@dataclass(frozen=True)
class Claims:
    """The validated contents of data/claims.yml."""

    asks: Tuple[re.Pattern, ...]
    unless: Tuple[re.Pattern, ...]
    doubt_after: re.Pattern
    splits: re.Pattern
    negations: re.Pattern
    only_words: re.Pattern
    contrasts: re.Pattern
    things: Tuple[Thing, ...]
    replies: Mapping[bool, str]

    def verdict(self, text: str, names: Sequence[Name]) -> Optional[bool]:
        """True or False when `text` asks to confirm a statement the articles settle;
        None when it asks no such thing or any part of it cannot be judged."""
        span = self._statement(text)
        if span is None:
            return None
        start, end = span
        statement = text[start:end]
        if any(pattern.search(statement) for pattern in self.unless):
            return None
        if self.doubt_after.search(text[end:]):
            return None
        inside = [(s - start, e - start, p) for s, e, p in names if s >= start and e <= end]
        return self._judge(statement, inside)

    def reply(self, verdict: Optional[bool]) -> str:
        """The line said before the answer ("" when there is no verdict)."""
        return "" if verdict is None else self.replies[verdict]

    def _statement(self, text: str) -> Optional[Tuple[int, int]]:
        """(start, end) of the sentence asking for a confirmation, with the sentence
        before it when it is only the tag ("... is just a test. Is that right?")."""
        sentences = [m.span() for m in _SENTENCE.finditer(text) if m.group().strip()]
        for index in range(len(sentences) - 1, -1, -1):
            start, end = sentences[index]
            sentence = text[start:end].strip()
            if not any(pattern.search(sentence) for pattern in self.asks):
                continue
            if len(sentence.split()) <= 6 and index > 0:
                return sentences[index - 1][0], end
            return start, end
        return None

    def _judge(self, statement: str, names: Sequence[Name]) -> Optional[bool]:
        """The statement is false when any part is; true when every part is; else None."""
        values: List[Optional[bool]] = []
        waiting: List[str] = []  # "Both the facet injection | and the block are outpatient"
        last: List[str] = []  # the procedures of the part before
        plain_text = _blank_names(statement, names)
        at = 0
        for cut in [*self.splits.finditer(statement), None]:
            part_end = cut.start() if cut else len(statement)
            own = [p for s, e, p in names if s >= at and e <= part_end]
            plain = plain_text[at:part_end]
            contrast = at > 0 and self.contrasts.search(statement[max(0, at - 20) : at])
            at = cut.end() if cut else len(statement)
            said = [thing for thing in self.things if thing.says.search(plain)]
            if contrast and not said:
                continue  # "..., unlike the facet injection": the part before says it all
            if not said:
                if own and _names_only(plain):
                    waiting = waiting + own
                elif own:
                    return None  # "... and the block too": what about it is not said
                continue
            procedures = waiting + own
            if not procedures and len(plain.split()) <= 3:
                procedures = last  # "a test and a treatment": the same procedure
            if not procedures:
                return None  # "the burn is the fix": said of something not named
            waiting, last = [], procedures
            negated = self.negations.search(plain) is not None
            only = self.only_words.search(plain) is not None
            for procedure in dict.fromkeys(procedures):
                for thing in said:
                    value = self._holds(thing, procedure, only)
                    values.append(None if value is None else value != negated)
        if waiting or not values:
            return None
        if False in values:
            return False
        return None if None in values else True

    def _holds(self, thing: Thing, procedure: str, only: bool) -> Optional[bool]:
        """Whether `thing` holds for `procedure`; with `only`, also that no other thing
        of its kind does ("the block is only numbing medicine")."""
        value = thing.holds(procedure)
        if not only or not value:
            return value
        others = [t for t in self.things if t.kind == thing.kind and t is not thing]
        return not any(other.holds(procedure) for other in others)


def _blank_names(text: str, names: Sequence[Name]) -> str:
    """`text` with each name's characters blanked ("nerve" in "nerve block" says nothing)."""
    for start, end, _ in names:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


_FILLER = re.compile(
    r"\b(?:so|ok|okay|and|both|the|a|an|my|your|this|that|these|those|one|is|are|too|also)\b",
    re.IGNORECASE,
)


def _names_only(plain: str) -> bool:
    """True when a part holds nothing but names and small words ("Both the facet shot")."""
    return not _FILLER.sub(" ", plain).strip(" ,;-?!.")


def _compile(where: str, pattern: Any) -> re.Pattern:
    if not isinstance(pattern, str) or not pattern:
        raise ClaimsError(f"{CLAIMS_FILE.name}: {where} must be a regular expression")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        raise ClaimsError(f"{CLAIMS_FILE.name}: {where}: {error}") from error


def _procedure_ids(where: str, value: Any, known: Sequence[str]) -> Tuple[str, ...]:
    ids = tuple(value or ())
    unknown = [p for p in ids if p not in known]
    if unknown:
        raise ClaimsError(f"{CLAIMS_FILE.name}: {where} names unknown procedures {unknown}")
    return ids


def parse_claims(raw: Mapping[str, Any], procedures: Sequence[str], facts: Sequence[str]) -> Claims:
    """Validate data/claims.yml against the fact store's procedure and fact ids."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("kinds"), Mapping):
        raise ClaimsError(f"{CLAIMS_FILE.name}: needs `kinds` of things said of procedures")
    things = []
    for kind, entries in raw["kinds"].items():
        for name, entry in (entries or {}).items():
            where = f"kinds.{kind}.{name}"
            true_for = _procedure_ids(f"{where}.true_for", entry.get("true_for"), procedures)
            false_for = _procedure_ids(f"{where}.false_for", entry.get("false_for"), procedures)
            if set(true_for) & set(false_for):
                raise ClaimsError(f"{CLAIMS_FILE.name}: {where} is both true and false")
            missing = [f for f in entry.get("facts") or () if f not in facts]
            if not entry.get("facts") or missing:
                raise ClaimsError(f"{CLAIMS_FILE.name}: {where}.facts must name facts {missing}")
            says = _compile(f"{where}.says", entry.get("says"))
            things.append(Thing(kind, name, says, true_for, false_for))
    replies = raw.get("replies") or {}
    if not all(isinstance(replies.get(key), str) for key in ("true", "false")):
        raise ClaimsError(f"{CLAIMS_FILE.name}: replies needs 'true' and 'false' texts")
    return Claims(
        asks=tuple(_compile("asks", p) for p in raw.get("asks") or ()),
        unless=tuple(_compile("unless", p) for p in raw.get("unless") or ()),
        doubt_after=_compile("doubt_after", raw.get("doubt_after")),
        splits=_compile("splits", raw.get("splits")),
        negations=_compile("negations", raw.get("negations")),
        only_words=_compile("only_words", raw.get("only_words")),
        contrasts=_compile("contrasts", raw.get("contrasts")),
        things=tuple(things),
        replies={True: replies["true"], False: replies["false"]},
    )


def load_claims(path: Path, procedures: Sequence[str], facts: Sequence[str]) -> Claims:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ClaimsError(f"{path}: cannot be loaded ({error})") from error
    return parse_claims(raw, procedures, facts)


@lru_cache(maxsize=1)
def _claims() -> Reloading[Claims]:
    from bot.core.facts import load_fact_store  # the store's ids, to validate against

    def load() -> Claims:
        store = load_fact_store()
        return load_claims(CLAIMS_FILE, list(store.procedures), [f.id for f in store.facts])

    # Both files: a fact renamed in the store is caught as soon as it changes.
    return Reloading(load, (CLAIMS_FILE, FACTS_FILE), errors=(ClaimsError,), what="Claims")


def current_claims() -> Claims:
    """The claims in force, re-read when data/claims.yml changed."""
    return _claims().get()


def names_in(entities: Sequence[Mapping[str, Any]], text: str, question: str) -> List[Name]:
    """The `procedure` entities of `text` as spans of `question` (a part of `text`)."""
    offset = text.find(question)
    if offset < 0:
        return []
    names: Dict[Tuple[int, int], str] = {}
    for entity in entities:
        start, end, value = entity.get("start"), entity.get("end"), entity.get("value")
        if entity.get("entity") != "procedure" or start is None or end is None:
            continue
        if offset <= start and end <= offset + len(question):
            names[(start - offset, end - offset)] = str(value)
    return [(start, end, value) for (start, end), value in sorted(names.items())]
