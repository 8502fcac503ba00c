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
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Set, Tuple

import yaml

from bot.core.facts import FactStore
from bot.core.paths import CLAIMS_FILE
from bot.core.reloading import Reloading

# The forms a confirmation is asked in, in the order they are tried.
STATEMENT, QUESTION = "statement", "question"
FORMS = (STATEMENT, QUESTION)
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
    # Holds in part ("the block is mostly a test": it eases pain for a while too).
    partly_for: Tuple[str, ...] = ()

    def holds(self, procedure: str) -> Optional[bool]:
        if procedure in self.true_for:
            return True
        if procedure in self.false_for:
            return False
        return None


@dataclass(frozen=True)
class Verdict:
    """Whether a statement holds, and the form it was asked in (`statement`: "..., right?";
    `question`: "does the block have a steroid?"), which words the yes or no."""

    holds: bool
    form: str
    # The topic that answers what was said, when all of it is of one kind ("is RFA a test
    # too?" is answered by what each one is for).
    topic: Optional[str] = None


@dataclass(frozen=True)
class Claims:
    """The validated contents of data/claims.yml."""

    asks: Mapping[str, Tuple[re.Pattern, ...]]
    unless: Tuple[re.Pattern, ...]
    doubt_after: re.Pattern
    splits: re.Pattern
    negations: re.Pattern
    only_words: re.Pattern
    mainly_words: re.Pattern
    contrasts: re.Pattern
    small_words: FrozenSet[str]
    things: Tuple[Thing, ...]
    # The topic that answers each kind of thing.
    topics: Mapping[str, str]
    replies: Mapping[str, Mapping[bool, str]]

    def verdict(self, text: str, names: Sequence[Name]) -> Optional[Verdict]:
        """Whether the statement `text` asks to confirm holds, when the articles settle
        it; None when it asks no such thing or any part of it cannot be judged."""
        found = self._statement(text)
        if found is None:
            return None
        (start, end), form = found
        statement = text[start:end]
        if any(pattern.search(statement) for pattern in self.unless):
            return None
        if self.doubt_after.search(text[end:]):
            return None
        inside = [(s - start, e - start, p) for s, e, p in names if s >= start and e <= end]
        judged = self._judge(statement, inside)
        if judged is None:
            return None
        holds, kinds = judged
        topics = {self.topics[kind] for kind in kinds}
        return Verdict(holds, form, topics.pop() if len(topics) == 1 else None)

    def reply(self, verdict: Optional[Verdict]) -> str:
        """The line said before the answer ("" when there is no verdict)."""
        return "" if verdict is None else self.replies[verdict.form][verdict.holds]

    def _statement(self, text: str) -> Optional[Tuple[Tuple[int, int], str]]:
        """(start, end) of the last sentence asking for a confirmation, with the
        sentence before it when it is only the tag ("... is just a test. Is that
        right?"), and the form it was asked in."""
        sentences = [m.span() for m in _SENTENCE.finditer(text) if m.group().strip()]
        for index in range(len(sentences) - 1, -1, -1):
            start, end = sentences[index]
            sentence = text[start:end].strip()
            # A yes-or-no question only as the last sentence: the one the answer answers.
            forms = (STATEMENT, QUESTION) if index == len(sentences) - 1 else (STATEMENT,)
            form = next((f for f in forms if self._asks(f, sentence)), None)
            if form is None:
                continue
            if form == STATEMENT and len(sentence.split()) <= 6 and index > 0:
                return (sentences[index - 1][0], end), form
            return (start, end), form
        return None

    def _asks(self, form: str, sentence: str) -> bool:
        return any(pattern.search(sentence) for pattern in self.asks[form])

    def _judge(self, statement: str, names: Sequence[Name]) -> Optional[Tuple[bool, Set[str]]]:
        """The statement is false when any part is; true when every part is; else None.
        With the kinds of the things said."""
        values: List[Optional[bool]] = []
        kinds: Set[str] = set()
        waiting: List[str] = []  # "Both the facet injection | and the block are outpatient"
        last: List[str] = []  # the procedures of the part before
        plain_text = _blank_names(statement, names)
        # Things are read in a name that says something ("the facet injection goes inside
        # the joint" is one name to the NLU), not in a plain name ("the nerve burning") nor
        # in one made of a relative clause ("the shot that goes into the joint" only says
        # which one is meant).
        naming = [name for name in names if not _says_of_itself(statement[name[0] : name[1]])]
        thing_text = _blank_names(statement, naming)
        at = 0
        for cut in [*self.splits.finditer(statement), None]:
            part_end = cut.start() if cut else len(statement)
            own = [p for s, e, p in names if s >= at and e <= part_end]
            plain, whole = plain_text[at:part_end], thing_text[at:part_end]
            contrast = at > 0 and self.contrasts.search(statement[max(0, at - 20) : at])
            at = cut.end() if cut else len(statement)
            said = [thing for thing in self.things if thing.says.search(whole)]
            if contrast and not said:
                continue  # "..., unlike the facet injection": the part before says it all
            if not said:
                more = self._says_more(plain, ())
                if own and not more:
                    waiting = waiting + own
                elif own or more:
                    # "... and the block too": what about it is not said; "the order is:
                    # blocks first": something the file cannot judge.
                    return None
                continue
            procedures = waiting + own
            if not procedures and len(plain.split()) <= 3:
                procedures = last  # "a test and a treatment": the same procedure
            if not procedures:
                return None  # "the burn is the fix": said of something not named
            if self._says_more(plain, said):
                return None  # "the steroid in it raises blood sugar": more than the thing
            waiting, last = [], procedures
            negated = self.negations.search(plain) is not None
            only = self.only_words.search(plain) is not None
            mainly = self.mainly_words.search(plain) is not None
            kinds.update(thing.kind for thing in said)
            for procedure in dict.fromkeys(procedures):
                for thing in said:
                    value = self._holds(thing, procedure, only or mainly, strict=not mainly)
                    values.append(None if value is None else value != negated)
        if waiting or not values:
            return None
        if False in values:
            return False, kinds
        return None if None in values else (True, kinds)

    def _says_more(self, plain: str, said: Sequence[Thing]) -> bool:
        """True when `plain` (a part, names blanked) holds words beyond the things
        `said`, negations, "only" words and `small_words`."""
        for pattern in (
            *(thing.says for thing in said),
            self.negations,
            self.only_words,
            self.mainly_words,
        ):
            plain = pattern.sub(" ", plain)
        words = re.findall(r"[a-z]+(?:'[a-z]+)?", plain.lower())
        return any(word not in self.small_words for word in words)

    def _holds(self, thing: Thing, procedure: str, only: bool, strict: bool) -> Optional[bool]:
        """Whether `thing` holds for `procedure`; with `only`, also that no other thing
        of its kind does ("the block is only numbing medicine"), so "only" is false where
        another thing of the kind holds even if the articles leave this one open. A thing
        that holds in part leaves a `strict` "only" unjudged ("just a test?": mostly, it
        eases pain for a while too) and does not count against "mainly"."""
        value = thing.holds(procedure)
        if not only or value is False:
            return value
        others = [t for t in self.things if t.kind == thing.kind and t is not thing]
        if any(other.holds(procedure) for other in others):
            # "RFA is just numbing medicine": it uses heat, whatever else it may hold.
            return False
        if value is None:
            return None
        if strict and any(procedure in other.partly_for for other in others):
            return None
        return True


_RELATIVE = re.compile(r"\b(?:that|which|who|where)\b", re.IGNORECASE)
_VERB = re.compile(r"\b(?:goes|go|is|are|gets|get|puts|put|has|have|uses|use)\b", re.IGNORECASE)


def _says_of_itself(name: str) -> bool:
    """True for a name with a verb of its own and no relative clause ("injection goes
    inside the joint"), which says something of the procedure it names."""
    return _VERB.search(name) is not None and _RELATIVE.search(name) is None


def _blank_names(text: str, names: Sequence[Name]) -> str:
    """`text` with each name's characters blanked ("nerve" in "nerve block" says nothing)."""
    for start, end, _ in names:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


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


def parse_claims(
    raw: Mapping[str, Any],
    procedures: Sequence[str],
    facts: Sequence[str],
    topic_ids: Sequence[str] = (),
) -> Claims:
    """Validate data/claims.yml against the fact store's procedure, fact and topic ids."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("kinds"), Mapping):
        raise ClaimsError(f"{CLAIMS_FILE.name}: needs `kinds` of things said of procedures")
    things, topics = [], {}
    for kind, entries in raw["kinds"].items():
        entries = dict(entries or {})
        topic = entries.pop("topic", None)
        if topic not in topic_ids:
            raise ClaimsError(f"{CLAIMS_FILE.name}: kinds.{kind}.topic must be a topic id")
        topics[kind] = topic
        for name, entry in entries.items():
            where = f"kinds.{kind}.{name}"
            true_for = _procedure_ids(f"{where}.true_for", entry.get("true_for"), procedures)
            false_for = _procedure_ids(f"{where}.false_for", entry.get("false_for"), procedures)
            partly_for = _procedure_ids(f"{where}.partly_for", entry.get("partly_for"), procedures)
            if len({*true_for, *false_for, *partly_for}) < len(true_for + false_for + partly_for):
                raise ClaimsError(f"{CLAIMS_FILE.name}: {where} is both true and false")
            missing = [f for f in entry.get("facts") or () if f not in facts]
            if not entry.get("facts") or missing:
                raise ClaimsError(f"{CLAIMS_FILE.name}: {where}.facts must name facts {missing}")
            says = _compile(f"{where}.says", entry.get("says"))
            things.append(Thing(kind, name, says, true_for, false_for, partly_for))
    asks = raw.get("asks")
    if not isinstance(asks, Mapping) or set(asks) != set(FORMS):
        raise ClaimsError(f"{CLAIMS_FILE.name}: asks needs patterns for {list(FORMS)}")
    small_words = raw.get("small_words") or ()
    if any(not isinstance(word, str) for word in small_words):
        # YAML reads a bare yes, no, on or off as true or false.
        raise ClaimsError(f"{CLAIMS_FILE.name}: small_words must be words: quote yes, no, on, off")
    replies = raw.get("replies") or {}
    for form in FORMS:
        texts = replies.get(form) or {}
        if not all(isinstance(texts.get(key), str) for key in ("true", "false")):
            raise ClaimsError(f"{CLAIMS_FILE.name}: replies.{form} needs 'true' and 'false'")
    return Claims(
        asks={form: tuple(_compile(f"asks.{form}", p) for p in asks[form] or ()) for form in FORMS},
        unless=tuple(_compile("unless", p) for p in raw.get("unless") or ()),
        doubt_after=_compile("doubt_after", raw.get("doubt_after")),
        splits=_compile("splits", raw.get("splits")),
        negations=_compile("negations", raw.get("negations")),
        only_words=_compile("only_words", raw.get("only_words")),
        mainly_words=_compile("mainly_words", raw.get("mainly_words")),
        contrasts=_compile("contrasts", raw.get("contrasts")),
        small_words=frozenset(word.lower() for word in small_words),
        things=tuple(things),
        topics=topics,
        replies={
            form: {True: replies[form]["true"], False: replies[form]["false"]} for form in FORMS
        },
    )


def load_claims(
    path: Path, procedures: Sequence[str], facts: Sequence[str], topic_ids: Sequence[str]
) -> Claims:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ClaimsError(f"{path}: cannot be loaded ({error})") from error
    return parse_claims(raw, procedures, facts, topic_ids)


# The claims in force and the fact store they were checked against.
_loaded: Tuple[Optional[FactStore], Optional[Reloading[Claims]]] = (None, None)


def current_claims(store: FactStore) -> Claims:
    """The claims in force, checked against `store` (the one the responder answers from,
    so data/facts.yml is not parsed a second time) and re-read when data/claims.yml or
    the store changed."""
    global _loaded
    known, reloading = _loaded
    if known is not store or reloading is None:
        facts = [fact.id for fact in store.facts]
        procedures, topics = list(store.procedures), list(store.topics)
        reloading = Reloading(
            lambda: load_claims(CLAIMS_FILE, procedures, facts, topics),
            (CLAIMS_FILE,),
            errors=(ClaimsError,),
            what="Claims",
        )
        _loaded = (store, reloading)
    return reloading.get()


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
