"""The fact store: load `data/facts.yml`, validate it, and look facts up.

The store is the single source of every answer. It is validated as a whole when
loaded, so a broken edit fails at once with a message naming the file, the
fact (or other entry) and the field, instead of surfacing as a bad answer later.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.core import intents
from bot.core.paths import FACTS_FILE
from bot.core.reloading import Reloading

logger = logging.getLogger(__name__)

GENERAL = "general"
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class FactStoreError(ValueError):
    """A fact store file is missing or does not match the schema."""

    def __init__(self, path: Path, where: str, field_name: str, problem: str) -> None:
        self.path = path
        self.where = where
        self.field_name = field_name
        self.problem = problem
        super().__init__(f"{path}: {where}: field '{field_name}': {problem}")


def _question_key(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


@dataclass(frozen=True)
class Source:
    """One article the facts are written from."""

    id: str
    title: str
    sections: Tuple[str, ...]
    # A few words that still name the article, for channels billed by the character
    # (SMS); the full title when the source gives none.
    short_title: str = ""


@dataclass(frozen=True)
class Procedure:
    """A procedure patients ask about, with the words they use for it."""

    id: str
    name: str
    short: str
    aliases: Tuple[str, ...]
    # Names that could mean something else too ("nerve block"): the answer says which
    # procedure it took them to mean.
    assumed_aliases: Tuple[str, ...] = ()
    # What "the other one" means while this procedure is discussed.
    counterpart: Optional[str] = None
    # How patients misspell its names ("facit injection"): recognised like aliases.
    misspellings: Tuple[str, ...] = ()
    # How patients describe it instead of naming it ("the shot that goes into the
    # joint"), as spaCy token patterns for the entity ruler.
    descriptions: Tuple[Tuple[Mapping[str, Any], ...], ...] = ()


@dataclass(frozen=True)
class Topic:
    """A kind of question the store can answer."""

    id: str
    question: str
    intent: Optional[str] = None
    follow_ups: Tuple[str, ...] = ()
    limits: Optional[str] = None
    # Ways of asking the topic as a whole ("what's the difference between them?"), besides
    # `question`: a question as close to one of these as to any one fact gets every fact.
    whole_questions: Tuple[str, ...] = ()
    # The procedure its answers lead the conversation to ("what comes after the block?"
    # is answered with RFA): it becomes the procedure under discussion, so "how does
    # that one work?" is about it.
    leads_to: Optional[str] = None
    # Its facts about several procedures say how they relate (one leads to the other,
    # how to choose), so such a fact is never "the same for both".
    relates_procedures: bool = False
    # Topics whose facts give the reasons behind this one's ("why so short?" after how
    # long a block lasts: it holds numbing medicine only, and it is a test).
    explained_by: Tuple[str, ...] = ()
    # Intents that, asked right after this topic's answer and pointing back at it ("how
    # long does that last?" after the soreness), stay on this topic.
    points_back_for: Tuple[str, ...] = ()
    # A comparison of procedures that no fact of this topic speaks of together ("how is
    # a facet injection different from RFA?") is answered with this topic side by side
    # for them, not with a fact about another pair.
    unpaired_topic: Optional[str] = None
    # Said first in such an answer, so the patient knows the articles never compare them.
    unpaired_note: Optional[str] = None
    # For a procedure none of this topic's facts speaks of, facts of other topics that say
    # what the articles do about it ("what if neither helps?" asked for RFA: RFA becomes
    # an option only once a block shows where the pain comes from), instead of "the
    # articles don't cover this for RFA".
    bridges: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)
    # A question of this topic always holds a match of this pattern ("what if it does
    # NOT help?"): one without it ("what if it works?") is not this topic, whatever the
    # classifier's confidence; the next topic of its ranking is taken.
    requires: Optional[re.Pattern[str]] = None
    # What "and then what?" right after this topic's answer asks ("what's the block for?
    # ... and then what?" is what comes after the block); may be this topic itself.
    then: Optional[str] = None
    # A question of this topic that matches `yields_when` asks `yields_to` instead ("if
    # the block no work, what the doctor do next?" is what happens when it fails).
    yields_to: Optional[str] = None
    yields_when: Optional[re.Pattern[str]] = None


@dataclass(frozen=True)
class Fact:
    """One plain-language answer with its source."""

    id: str
    topic: str
    procedures: Tuple[str, ...]
    answer: str
    article: str
    section: str
    # Ways of asking what this fact answers (for the answer planner).
    questions: Tuple[str, ...] = ()
    # Facts of the same topic this one only makes sense beside ("a step on the way to a
    # treatment that lasts longer" needs the fact that names RFA): given with it.
    needs: Tuple[str, ...] = ()
    # Said only when the answer planner matched the question to it ("do both use numbing
    # medicine?"), never added to an answer that gives each procedure's own facts.
    only_when_asked: bool = False

    def is_about(self, procedure: str) -> bool:
        """True when this fact speaks about `procedure`."""
        return procedure in self.procedures


@dataclass(frozen=True)
class UncoveredSubject:
    """A subject patients ask about that the articles do not cover."""

    id: str
    label: str
    patterns: Tuple[re.Pattern[str], ...]
    except_topics: Tuple[str, ...] = ()

    def matches(
        self,
        text: str,
        topic: Optional[str] = None,
        unless_after: Optional[re.Pattern[str]] = None,
    ) -> bool:
        """True when `text` names this subject; with `unless_after`, not where the words
        just before it match ("already tried physical therapy")."""
        if topic is not None and topic in self.except_topics:
            return False
        lowered = text.lower()
        return any(
            unless_after is None
            or not unless_after.search(lowered[max(0, match.start() - 40) : match.start()])
            for pattern in self.patterns
            for match in pattern.finditer(lowered)
        )


@dataclass(frozen=True)
class ComparisonRule:
    """On one of `from_topics`, a question with one of `cues` comparing two procedures
    really asks `topic`: "is that the same as X?" asks how they differ
    (`comparison_redirects`),
    "the block or the ablation first?" what comes after the block (`order`)."""

    cues: Tuple[str, ...]
    from_topics: Tuple[str, ...]
    topic: str


@dataclass(frozen=True)
class PartChoice:
    """ "Which works faster, the steroid or the anesthetic?": a choice between the
    medicines of one procedure (words of two `kinds` side by side, joined by "or", "vs"
    or "and", each perhaps followed by one of `nouns`; or one of `plurals`), not between
    procedures. It gets `topic` for the procedure named or under discussion, else
    `procedure`."""

    cues: Tuple[str, ...]
    kinds: Tuple[FrozenSet[str], ...]
    nouns: FrozenSet[str]
    plurals: FrozenSet[str]
    topic: str
    procedure: str

    def sets_side_by_side(self, words: Sequence[str]) -> bool:
        """True when `words` put two kinds of medicine side by side as the choice ("the
        steroid part or the numbing one"), not as what each procedure has ("which is
        just numbing medicine and which has steroid too?")."""
        joiners = {"or", "vs", "versus", "and"}
        for at, word in enumerate(words):
            first = next((kind for kind in self.kinds if word in kind), None)
            if first is None:
                continue
            rest = words[at + 1 : at + 5]
            if rest and rest[0] in self.nouns:
                rest = rest[1:]
            if not rest or rest[0] not in joiners:
                continue
            rest = rest[1:]
            if rest and rest[0] == "the":
                rest = rest[1:]
            if rest and any(rest[0] in kind for kind in self.kinds if kind is not first):
                return True
        return False


@dataclass(frozen=True)
class PointingBack:
    """Words that point back at the last answer's subject ("that", "this"), and word
    beginnings that keep a question on the procedure instead ("relief", "work")."""

    words: FrozenSet[str]
    unless_word_starts: Tuple[str, ...]
    # "How many days tho?": a question made only of these words names no subject of its
    # own, so it asks about the last answer's.
    bare_words: FrozenSet[str] = frozenset()


@dataclass(frozen=True)
class TailedFollowUp:
    """ "And the block he's booked for next?": an opener, a procedure, no question of its
    own, read unsurely (below `below_confidence`)."""

    openers: Tuple[str, ...]
    wh_words: FrozenSet[str]
    auxiliaries: FrozenSet[str]
    below_confidence: float
    # Words that may come before the opener ("ok and the steroid one?").
    fillers: FrozenSet[str] = frozenset()


@dataclass(frozen=True)
class Sequel:
    """ "And then what?": a short message (at most `max_words` words) holding one of
    `cues`, asked right after an answer, asks what comes next."""

    cues: Tuple[str, ...]
    max_words: int


@dataclass(frozen=True)
class ContextPrior:
    """Right after an answer, an unsure guess (combined score below `below_confidence`)
    at an unrelated topic gives way to that answer's topic or one it offers next, when
    DIET ranked it at least `runner_up_at_least`."""

    below_confidence: float
    runner_up_at_least: float
    # ...unless the guess has a fact this close to the question ("is it surgery?" after
    # what a block is: the outpatient fact says so in those words).
    unless_fact_at_least: float = 1.01


# Words that may stand between a follow-up's opener and the procedure ("and *the* block").
_DETERMINERS = frozenset(
    {"the", "a", "an", "my", "his", "her", "their", "our", "your", "this", "that"}
)


def _words(text: str) -> List[str]:
    """The lower-cased words of `text` ("don't" is one word)."""
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower())


def has_phrase(text: str, phrases: Sequence[str]) -> bool:
    """True when `text` holds one of `phrases` as whole words ("same as", "vs"), any case."""
    lowered = text.lower()
    return any(re.search(rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])", lowered) for p in phrases)


@dataclass(frozen=True)
class FactStore:
    """The validated contents of the fact store file."""

    path: Path
    sources: Mapping[str, Source]
    procedures: Mapping[str, Procedure]
    topics: Mapping[str, Topic]
    facts: Tuple[Fact, ...]
    uncovered: Tuple[UncoveredSubject, ...]
    comparison_cues: Tuple[str, ...] = field(default=())
    follow_up_phrases: Tuple[str, ...] = field(default=())
    follow_up_words: FrozenSet[str] = field(default=frozenset())
    follow_up_pointers: FrozenSet[str] = field(default=frozenset())
    # The procedures a comparison that names none is about ("which lasts longer?").
    usual_comparison: Tuple[str, ...] = field(default=())
    # Patterns that make a question about the patient's own case.
    personal_cues: Tuple[re.Pattern[str], ...] = field(default=())
    # A comparison of every procedure ("which of the three uses heat?").
    all_procedures_cues: Tuple[str, ...] = field(default=())
    # A comparison of "these procedures": those compared last, else every one.
    group_cues: Tuple[str, ...] = field(default=())
    selection_cues: Tuple[str, ...] = field(default=())
    degree_cues: Tuple[str, ...] = field(default=())
    # "Is that the same as X?" asks how they differ; "where does the needle go in each
    # one?" is where each acts, not the X-ray guidance: rules tried in order.
    comparison_redirects: Tuple[ComparisonRule, ...] = ()
    order: Optional[ComparisonRule] = None
    treatment_question: Optional[ComparisonRule] = None
    part_choice: Optional[PartChoice] = None
    # "Why does one last weeks and the other only hours?": a question asking why, whose
    # answer comes with the facts that give the reasons (a topic's `explained_by`).
    why_cues: Tuple[str, ...] = field(default=())
    # "And the other one, how long?": a question with its own topic that points at the
    # other procedure instead of naming it.
    other_procedure_cues: Tuple[str, ...] = field(default=())
    # "I'm getting a medial branch block on Friday": a message asking nothing (no "?",
    # no `tailed_follow_up` question word first, none of these words) that the NLU took
    # for a question the articles don't cover gets `statement_topic` instead.
    statement_topic: Optional[str] = None
    asking_words: FrozenSet[str] = field(default=frozenset())
    # "The first one, is it just a test?": (index among the procedures the last answer
    # compared, cues), from `ordinal_cues`.
    ordinal_cues: Tuple[Tuple[int, Tuple[str, ...]], ...] = field(default=())
    # Health subjects that are not these procedures and that the articles do not discuss
    # (another surgery, a knee injection, a named painkiller): a question about one that
    # names no procedure is out of scope.
    other_subjects: Tuple[UncoveredSubject, ...] = field(default=())
    # "I've already tried physical therapy": another subject as what the patient tried
    # before, a few words after one of these, is their story, not what they ask about.
    tried_cues: Optional[re.Pattern[str]] = None
    # Names that hold a procedure's name but mean another treatment ("knee joint
    # injection", "SI joint block"), as spaCy token patterns: they name no procedure.
    not_procedures: Tuple[Tuple[Mapping[str, Any], ...], ...] = field(default=())
    # Words a description may end on only to tell the name from the same words meant
    # otherwise ("the burning like in the block?", not "the burning pain"): the name
    # found ends before them, as it does before a punctuation mark.
    name_followers: FrozenSet[str] = field(default=frozenset())
    context_prior: Optional[ContextPrior] = None
    pointing_back: Optional[PointingBack] = None
    tailed_follow_up: Optional[TailedFollowUp] = None
    # "Switching gears: ...": a message read on its own, whatever was said before.
    new_subject_cues: Tuple[str, ...] = field(default=())
    sequel: Optional[Sequel] = None

    # -- lookups ---------------------------------------------------------
    def facts_for(self, topic: str) -> List[Fact]:
        """All facts on `topic`, in file order."""
        return [fact for fact in self.facts if fact.topic == topic]

    def _meets_requirement(self, intent: str, text: str) -> bool:
        topic = self.topic_for_intent(intent)
        return topic is None or topic.requires is None or topic.requires.search(text) is not None

    def intent_meant(
        self,
        intent: Optional[str],
        text: str,
        ranking: Sequence[Mapping[str, Any]],
        names_procedure: bool = False,
    ) -> Optional[str]:
        """`intent`, unless its topic `requires` a pattern `text` lacks ("what if it
        works?" is no "what if it doesn't help?"): then the first topic intent of
        `ranking` whose topic finds what it requires; `intent` when none is. A topic
        that `yields_to` another when the text says so gives way to it first. "Not
        covered" for a message that `names_procedure` and asks nothing ("I'm getting a
        block on Friday") is the `statement_topic`, unless it names a subject the
        articles don't cover."""
        if (
            intent == intents.UNCOVERED
            and names_procedure
            and self.statement_topic is not None
            and self.asks_nothing(text)
            and self.uncovered_subject(text) is None
        ):
            return self.topics[self.statement_topic].intent
        intent = self.yielded_intent(intent, text) or intent
        if intent is None or self._meets_requirement(intent, text):
            return intent
        for item in ranking:
            name = str(item.get("name"))
            if self.topic_for_intent(name) is not None and self._meets_requirement(name, text):
                return name
        return intent

    def yielded_intent(self, intent: Optional[str], text: str) -> Optional[str]:
        """The intent `intent`'s topic `yields_to` when `text` says so ("where does the
        needle go for the block?" read as the X-ray asks what the block is), else None."""
        topic = self.topic_for_intent(intent or "")
        if topic is None or topic.yields_when is None or not topic.yields_to:
            return None
        if not topic.yields_when.search(text):
            return None
        return self.topics[topic.yields_to].intent

    def bridge_for(self, topic: str, procedure: str) -> List[Fact]:
        """The facts that answer `topic` for a procedure its own facts don't speak of
        (the topic's `bridges`), or [] when the articles have none."""
        wanted = self.topics[topic].bridges.get(procedure, ())
        return [fact for fact in self.facts if fact.id in wanted]

    def topic_for_compared(self, topic: Topic, procedures: Sequence[str]) -> Topic:
        """`topic`, or its `unpaired_topic` when two procedures are compared and no fact
        of it speaks of both (the articles contrast the facet injection with the block,
        and the block with RFA, but never the injection with RFA). All three compared
        keep the topic: its pair facts together cover them."""
        wanted = set(procedures)
        if topic.unpaired_topic is None or len(wanted) != 2:
            return topic
        if any(wanted <= set(fact.procedures) for fact in self.facts_for(topic.id)):
            return topic
        return self.topics[topic.unpaired_topic]

    def topic_intents(self) -> FrozenSet[str]:
        """The intents that ask a topic (not "not covered", greetings or the rest)."""
        return frozenset(topic.intent for topic in self.topics.values() if topic.intent)

    def topic_for_intent(self, intent: str) -> Optional[Topic]:
        """The topic an NLU intent asks about, if any."""
        for topic in self.topics.values():
            if topic.intent == intent:
                return topic
        return None

    def topic_for_question(self, text: str) -> Optional[Topic]:
        """The topic whose button question `text` is (case, spaces and punctuation aside).

        Follow-up buttons send their question back as the patient's message (it stays
        readable in the transcript and on SMS); the store knows which topic it stands
        for, so it never depends on the classifier.
        """
        wanted = _question_key(text)
        for topic in self.topics.values():
            if _question_key(topic.question) == wanted:
                return topic
        return None

    def fact(self, fact_id: str) -> Fact:
        for fact in self.facts:
            if fact.id == fact_id:
                return fact
        raise KeyError(fact_id)

    def alias_table(self) -> Dict[str, str]:
        """Lower-cased alias → procedure id, for the spaCy EntityRuler."""
        table: Dict[str, str] = {}
        for procedure in self.procedures.values():
            names = (procedure.name, procedure.short, *procedure.aliases)
            for alias in (*names, *procedure.assumed_aliases, *procedure.misspellings):
                table[alias.lower()] = procedure.id
        return table

    def assumed_meaning(self, words: str) -> Optional[Procedure]:
        """The procedure an ambiguous name ("nerve block") was taken to mean, else None."""
        wanted = " ".join(words.lower().split())
        # The entity ruler also finds plurals ("cortisone shots").
        forms = {wanted, wanted[:-1]} if wanted.endswith("s") else {wanted}
        for procedure in self.procedures.values():
            if forms & {alias.lower() for alias in procedure.assumed_aliases}:
                return procedure
        return None

    def uncovered_subject(
        self, text: str, topic: Optional[str] = None
    ) -> Optional[UncoveredSubject]:
        """The first not-covered subject the message mentions, if any.

        `topic` is the topic the message was classified as, if any; subjects that
        list it under `except_topics` are then ignored.
        """
        for subject in self.uncovered:
            if subject.matches(text, topic):
                return subject
        return None

    def other_subject(self, text: str) -> Optional[UncoveredSubject]:
        """The first subject outside the procedures and the articles that `text` names,
        other than as something the patient tried before (`tried_cues`)."""
        for subject in self.other_subjects:
            if subject.matches(text, unless_after=self.tried_cues):
                return subject
        return None

    def asks_nothing(self, text: str) -> bool:
        """True when `text` asks no question: no "?", no question word first (the
        `tailed_follow_up` rule's `wh_words` and `auxiliaries`) and none of the
        `asking_words` ("tell", "explain", "wondering")."""
        rule = self.tailed_follow_up
        words = _after_fillers([word.split("'")[0] for word in _words(text)], rule)
        first = words[0] if words else ""
        opening = rule.wh_words | rule.auxiliaries if rule is not None else frozenset()
        return (
            "?" not in text
            and first not in opening
            and not any(word in self.asking_words for word in words)
        )

    def is_personal(self, text: str) -> bool:
        """True when a question asks about the patient's own case ("is 60 % enough?")."""
        lowered = text.lower()
        return any(cue.search(lowered) for cue in self.personal_cues)

    def points_back(self, text: str, intent: str, last_topic: Optional[str]) -> bool:
        """True when `text`, classified as `intent`, points back at the last answer's
        subject ("how long does that last?" after the soreness): `points_back_for` of the
        last topic, one of the `pointing_back` words, and no word starting with one of its
        exceptions ("how long does that help?" is about the procedure); or a question
        with no subject of its own ("how many days tho?": only `bare_words`)."""
        topic, cues = self.topics.get(last_topic or ""), self.pointing_back
        if topic is None or cues is None or intent not in topic.points_back_for:
            return False
        words = _words(text)
        if words and all(word in cues.bare_words for word in words):
            return True
        return any(word in cues.words for word in words) and not any(
            word.startswith(cues.unless_word_starts) for word in words
        )

    def intent_in_context(
        self,
        ranking: Sequence[Mapping[str, Any]],
        last_topic: Optional[str],
        fact_similarity: float = 0.0,
    ) -> Optional[str]:
        """The intent to answer, given the NLU's `ranking` (its pick first, with the
        planner's combined score), the topic answered last (`context_prior`) and how
        close the pick's best fact is to the question (`fact_similarity`).

        "Why do they matter?" right after the medial branch nerves, guessed unsurely
        as facet joints, stays on the nerves; a topic the last answer offers next counts
        too. Only topics give way to topics, and only to one DIET ranked high enough; a
        guess with a fact that says what was asked almost word for word stays.
        """
        top = ranking[0].get("name") if ranking else None
        prior, last = self.context_prior, self.topics.get(last_topic or "")
        if prior is None or last is None or top is None or self.topic_for_intent(top) is None:
            return top
        if float(ranking[0].get("confidence") or 0.0) >= prior.below_confidence:
            return top
        if fact_similarity >= prior.unless_fact_at_least:
            return top
        near = {last.intent} | {self.topics[t].intent for t in last.follow_ups}
        if top in near:
            return top
        for item in ranking[1:]:
            if item.get("name") in near and float(item.get("confidence") or 0.0) >= (
                prior.runner_up_at_least
            ):
                return item.get("name")
        return top

    def asks_about_a_part(self, text: str) -> bool:
        """True when a follow-up that names no procedure names something else instead,
        and points at no other procedure: "and the numbing part?" after "what does the
        steroid do in a facet injection?" is still about the facet injection."""
        if any(word in self.follow_up_pointers for word in _words(text)):
            return False
        return any(word not in self.follow_up_words for word in self._beyond_phrases(text))

    def _beyond_phrases(self, text: str) -> List[str]:
        """The words of `text` left once its `follow_up_phrases` are taken out."""
        rest = " ".join(_words(text))
        for phrase in self.follow_up_phrases:
            rest = re.sub(rf"\b{re.escape(phrase)}\b", " ", rest)
        return rest.split()

    def is_bare_follow_up(self, text: str, names: Iterable[Tuple[int, int]]) -> bool:
        """True when, besides the procedure names at `names` (start, end), the message only
        has follow-up words ("and the block?"), and names or points at a procedure."""
        spans = sorted(names)
        kept, at = [], 0
        for start, end in spans:
            kept.append(text[at:start])
            at = max(at, end)
        kept.append(text[at:])
        words = self._beyond_phrases(" ".join(kept))
        if not words and not spans:
            return False
        if any(word not in self.follow_up_words for word in words):
            return False
        return bool(spans) or any(word in self.follow_up_pointers for word in words)

    def is_tailed_follow_up(
        self, text: str, names: Iterable[Tuple[int, int]], confidence: float
    ) -> bool:
        """True when a message read with `confidence` opens like a follow-up, names a
        procedure at `names` and asks nothing of its own after the last name
        (`tailed_follow_up`): "and the medial branch block he's booked for next?"."""
        rule = self.tailed_follow_up
        spans = sorted(names)
        if rule is None or not spans or confidence >= rule.below_confidence:
            return False
        opening = _words(text[: spans[0][0]])
        while opening and opening[-1] in _DETERMINERS:
            opening.pop()
        if " ".join(_after_fillers(opening, rule)) not in rule.openers:
            return False
        tail = [word.split("'")[0] for word in _words(text[spans[-1][1] :])]
        if tail and tail[0] in rule.auxiliaries:
            return False
        return not any(word in rule.wh_words for word in tail)

    def is_comparison(self, text: str) -> bool:
        """True when a message asks to compare procedures ("which lasts longer?", "is it
        the same as the block?", "which of the three...?")."""
        return has_phrase(text, self.comparison_cues) or self.asks_all_procedures(text)

    def asks_which(self, text: str) -> bool:
        """True when a comparison asks which procedure has something ("which one comes
        before RFA?"), not which has more of it ("which has more risks?")."""
        return has_phrase(text, self.selection_cues) and not has_phrase(text, self.degree_cues)

    def asks_all_procedures(self, text: str) -> bool:
        """True when a comparison is about every procedure, not the usual pair."""
        return has_phrase(text, self.all_procedures_cues)

    def starts_new_subject(self, text: str) -> bool:
        """True when a message says it turns to a new subject (`new_subject_cues`), so the
        conversation so far must not colour how it is read."""
        return has_phrase(text, self.new_subject_cues)

    def sequel_topic(self, text: str, last_topic: Optional[str]) -> Optional[str]:
        """The topic "and then what?" asks about right after `last_topic`'s answer (its
        `then`), or None when `text` is no such short question or that topic has none."""
        topic, sequel = self.topics.get(last_topic or ""), self.sequel
        if topic is None or topic.then is None or sequel is None:
            return None
        if len(_words(text)) > sequel.max_words or not has_phrase(text, sequel.cues):
            return None
        return topic.then

    def asks_about_group(self, text: str) -> bool:
        """True when a comparison is about "these procedures" (`group_cues`)."""
        return has_phrase(text, self.group_cues)

    def redirected_topic(self, text: str, topic_id: Optional[str]) -> Optional[str]:
        """The topic a comparison read as `topic_id` really asks by the first of the
        `comparison_redirects` whose cue it holds ("is that the same as X?" asks how
        they differ, "where does the needle go in each one?" where each acts), else
        None."""
        for rule in self.comparison_redirects:
            topic = _rule_topic(rule, text, topic_id)
            if topic is not None and topic != topic_id:
                return topic
        return None

    def treatment_topic(self, text: str, topic_id: Optional[str]) -> Optional[str]:
        """The topic "which procedure treats it?" on a topic about the spine rather than
        a procedure (`treatment_question`) really asks: how the doctor chooses."""
        return _rule_topic(self.treatment_question, text, topic_id)

    def asks_why(self, text: str) -> bool:
        """True when a question asks for the reasons (`why_cues`: "why", "how come")."""
        return has_phrase(text, self.why_cues)

    def points_to_other_procedure(self, text: str) -> bool:
        """True when a question points at "the other one" (`other_procedure_cues`)."""
        return has_phrase(text, self.other_procedure_cues)

    def procedure_in_place(self, text: str, compared: Sequence[str]) -> Optional[str]:
        """The procedure "the first one" or "the latter" points at among `compared`, the
        procedures the last answer put side by side in the order they came; None when
        the text has no `ordinal_cues` or fewer than two were compared."""
        if len(compared) < 2:
            return None
        for index, cues in self.ordinal_cues:
            if has_phrase(text, cues) and -len(compared) <= index < len(compared):
                return compared[index]
        return None

    def chooses_between_parts(self, question: str, text: str) -> bool:
        """True when a `question` choosing ("which ...?", "each": the rule's `cues`)
        chooses between the medicines of one procedure (`part_choice`) that its message
        `text` names ("the facet injection has two medicines, right? what does each one
        do?"). Both come with procedure names taken out, so "the steroid one or the
        numbing test" still compares procedures."""
        rule = self.part_choice
        if rule is None or not has_phrase(question, rule.cues):
            return False
        words = _words(text)
        return rule.sets_side_by_side(words) or bool(set(words) & rule.plurals)

    def order_topic(
        self, text: str, topic_id: Optional[str], compared: Sequence[str]
    ) -> Optional[str]:
        """The topic "which comes first, the block or the ablation?" on `topic_id` really
        asks (`order`), when its facts speak of every procedure `compared`; else None
        (the articles give no order for the facet injection and the block: how the
        doctor chooses answers that)."""
        topic = _rule_topic(self.order, text, topic_id)
        if topic is None:
            return None
        spoken = {p for fact in self.facts_for(topic) for p in fact.procedures}
        return topic if set(compared) <= spoken else None


# -- loading and validation ------------------------------------------------


class _Reader:
    """Reads one mapping of the file, reporting problems with file, entry and field."""

    def __init__(self, path: Path, where: str, raw: Any) -> None:
        self.path = path
        self.where = where
        if not isinstance(raw, Mapping):
            raise FactStoreError(path, where, "*", "must be a mapping of fields")
        self.raw = raw

    def fail(self, field_name: str, problem: str) -> FactStoreError:
        return FactStoreError(self.path, self.where, field_name, problem)

    def text(self, name: str, required: bool = True) -> Optional[str]:
        value = self.raw.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, "must be non-empty text")
        return " ".join(value.split())

    def flag(self, name: str) -> bool:
        """An optional true/false field (false when absent)."""
        value = self.raw.get(name, False)
        if not isinstance(value, bool):
            raise self.fail(name, "must be true or false")
        return value

    def text_list(self, name: str, required: bool = True) -> Tuple[str, ...]:
        value = self.raw.get(name)
        if value is None and not required:
            return ()
        if not isinstance(value, list) or not value:
            raise self.fail(name, "must be a non-empty list")
        if not all(isinstance(item, str) and item.strip() for item in value):
            raise self.fail(name, "every item must be non-empty text")
        return tuple(item.strip() for item in value)

    def share(self, name: str) -> float:
        """A number from 0 to 1."""
        value = self.raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise self.fail(name, "must be a number from 0 to 1")
        return float(value)

    def count(self, name: str) -> int:
        """A whole number, at least 1."""
        value = self.raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(name, "must be a whole number, at least 1")
        return value

    def mapping(self, name: str) -> Mapping[str, Any]:
        value = self.raw.get(name)
        if not isinstance(value, Mapping) or not value:
            raise self.fail(name, "must be a non-empty mapping")
        return value


def _check_id(reader: _Reader, name: str, value: Any) -> str:
    if not isinstance(value, str) or not _ID_PATTERN.match(value):
        raise reader.fail(name, f"{value!r} is not a snake_case id")
    return value


def _parse_sources(path: Path, raw: Mapping[str, Any]) -> Dict[str, Source]:
    sources = {}
    for source_id, body in raw.items():
        reader = _Reader(path, f"source '{source_id}'", body)
        _check_id(reader, "id", source_id)
        title = reader.text("title")
        sources[source_id] = Source(
            id=source_id,
            title=title,
            sections=reader.text_list("sections"),
            short_title=reader.text("short_title", required=False) or title,
        )
    return sources


def _token_patterns(reader: _Reader, name: str) -> Tuple[Tuple[Mapping[str, Any], ...], ...]:
    """An optional list of spaCy token patterns: each a non-empty list of mappings."""
    value = reader.raw.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise reader.fail(name, "must be a non-empty list of token patterns")
    for pattern in value:
        if not isinstance(pattern, list) or not pattern:
            raise reader.fail(name, "every pattern must be a non-empty list of tokens")
        if not all(isinstance(token, Mapping) and token for token in pattern):
            raise reader.fail(name, "every token must be a non-empty mapping")
        if any(_holds_true_or_false(token) for token in pattern):
            # YAML reads a bare on, off, yes or no as true or false.
            raise reader.fail(name, "a word list holds true or false: quote on, off, yes, no")
    return tuple(tuple(pattern) for pattern in value)


def _holds_true_or_false(token: Mapping[str, Any]) -> bool:
    """True when one of a token's word lists ({"LOWER": {"IN": [...]}}) holds a boolean."""
    return any(
        isinstance(word, bool)
        for condition in token.values()
        if isinstance(condition, Mapping)
        for words in condition.values()
        if isinstance(words, list)
        for word in words
    )


def _parse_procedures(path: Path, raw: Mapping[str, Any]) -> Dict[str, Procedure]:
    procedures = {}
    seen_aliases: Dict[str, str] = {}
    for procedure_id, body in raw.items():
        reader = _Reader(path, f"procedure '{procedure_id}'", body)
        _check_id(reader, "id", procedure_id)
        if procedure_id == GENERAL:
            raise reader.fail("id", f"'{GENERAL}' is reserved for facts about no one procedure")
        aliases = reader.text_list("aliases")
        assumed = reader.text_list("assumed_aliases", required=False)
        misspellings = reader.text_list("misspellings", required=False)
        for alias in (*aliases, *assumed, *misspellings):
            other = seen_aliases.setdefault(alias.lower(), procedure_id)
            if other != procedure_id:
                raise reader.fail("aliases", f"'{alias}' is already an alias of '{other}'")
        procedures[procedure_id] = Procedure(
            id=procedure_id,
            name=reader.text("name"),
            short=reader.text("short"),
            aliases=aliases,
            assumed_aliases=assumed,
            counterpart=reader.text("counterpart", required=False),
            misspellings=misspellings,
            descriptions=_token_patterns(reader, "descriptions"),
        )
    for procedure in procedures.values():
        if procedure.counterpart is not None and procedure.counterpart not in procedures:
            reader = _Reader(path, f"procedure '{procedure.id}'", raw[procedure.id])
            raise reader.fail("counterpart", f"'{procedure.counterpart}' is not a procedure")
    return procedures


def _compile_one(reader: _Reader, name: str) -> Optional[re.Pattern[str]]:
    """An optional regular expression field, compiled case-insensitively."""
    raw = reader.text(name, required=False)
    return None if raw is None else _compiled(reader, name, raw, re.IGNORECASE)


def _parse_bridges(reader: _Reader) -> Dict[str, Tuple[str, ...]]:
    """A topic's `bridges`: procedure id -> fact ids (checked once all facts are read)."""
    raw = reader.raw.get("bridges")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(ids, list) and all(isinstance(i, str) for i in ids) for ids in raw.values()
    ):
        raise reader.fail("bridges", "must map procedures to lists of fact ids")
    return {str(procedure): tuple(ids) for procedure, ids in raw.items()}


def _parse_topics(path: Path, raw: Mapping[str, Any]) -> Dict[str, Topic]:
    topics = {}
    for topic_id, body in raw.items():
        reader = _Reader(path, f"topic '{topic_id}'", body)
        _check_id(reader, "id", topic_id)
        topics[topic_id] = Topic(
            id=topic_id,
            question=reader.text("question"),
            whole_questions=reader.text_list("whole_questions", required=False),
            intent=reader.text("intent", required=False),
            follow_ups=reader.text_list("follow_ups", required=False),
            limits=reader.text("limits", required=False),
            leads_to=reader.text("leads_to", required=False),
            relates_procedures=reader.flag("relates_procedures"),
            explained_by=reader.text_list("explained_by", required=False),
            points_back_for=reader.text_list("points_back_for", required=False),
            unpaired_topic=reader.text("unpaired_topic", required=False),
            unpaired_note=reader.text("unpaired_note", required=False),
            bridges=_parse_bridges(reader),
            requires=_compile_one(reader, "requires"),
            then=reader.text("then", required=False),
            yields_to=reader.text("yields_to", required=False),
            yields_when=_compile_one(reader, "yields_when"),
        )
    for topic in topics.values():
        for field_name in ("follow_ups", "explained_by", "unpaired_topic"):
            others = getattr(topic, field_name)
            for other in (others,) if isinstance(others, str) else others or ():
                if other not in topics or other == topic.id:
                    reader = _Reader(path, f"topic '{topic.id}'", raw[topic.id])
                    raise reader.fail(field_name, f"'{other}' is not another known topic")
    for topic in topics.values():
        if topic.then is not None and not _asks_topic(topics, topic.then):
            reader = _Reader(path, f"topic '{topic.id}'", raw[topic.id])
            raise reader.fail("then", f"'{topic.then}' is not a known topic with an intent")
        if (topic.yields_to is None) != (topic.yields_when is None) or (
            topic.yields_to is not None and not _asks_topic(topics, topic.yields_to)
        ):
            reader = _Reader(path, f"topic '{topic.id}'", raw[topic.id])
            raise reader.fail(
                "yields_to", "needs yields_when and a known topic with an intent, together"
            )
    intents = [topic.intent for topic in topics.values() if topic.intent]
    if len(intents) != len(set(intents)):
        raise FactStoreError(path, "topics", "intent", "two topics share one intent")
    for topic in topics.values():
        for intent in topic.points_back_for:
            if intent not in intents:
                reader = _Reader(path, f"topic '{topic.id}'", raw[topic.id])
                raise reader.fail("points_back_for", f"'{intent}' is no topic's intent")
    return topics


def _parse_fact(
    path: Path,
    index: int,
    body: Any,
    sources: Mapping[str, Source],
    procedures: Mapping[str, Procedure],
    topics: Mapping[str, Topic],
) -> Fact:
    fact_id = body.get("id") if isinstance(body, Mapping) else None
    reader = _Reader(path, f"fact '{fact_id}'" if fact_id else f"fact #{index + 1}", body)
    _check_id(reader, "id", fact_id)
    topic = reader.text("topic")
    if topic not in topics:
        raise reader.fail("topic", f"'{topic}' is not a topic defined under 'topics'")
    fact_procedures = reader.text_list("procedures")
    for procedure in fact_procedures:
        if procedure != GENERAL and procedure not in procedures:
            raise reader.fail("procedures", f"'{procedure}' is not a known procedure")
    if GENERAL in fact_procedures and len(fact_procedures) > 1:
        raise reader.fail(
            "procedures", f"'{GENERAL}' stands alone: a fact is general or about procedures"
        )
    source = _Reader(path, reader.where, reader.raw.get("source"))
    article = source.text("article")
    section = source.text("section")
    if article not in sources:
        raise reader.fail("source.article", f"'{article}' is not a known source")
    if section not in sources[article].sections:
        raise reader.fail("source.section", f"'{section}' is not a section of '{article}'")
    return Fact(
        id=fact_id,
        topic=topic,
        procedures=fact_procedures,
        answer=reader.text("answer"),
        article=article,
        section=section,
        questions=reader.text_list("questions", required=False),
        needs=reader.text_list("needs", required=False),
        only_when_asked=reader.flag("only_when_asked"),
    )


def _tried_cues(cues: Sequence[str]) -> Optional[re.Pattern[str]]:
    """One of `cues` at most three words before the end of a text ("tried lots of ...")."""
    if not cues:
        return None
    words = "|".join(re.escape(cue.lower()) for cue in cues)
    return re.compile(rf"\b(?:{words})\b(?:\W+\w+){{0,3}}\W*$")


def _parse_uncovered(
    path: Path, raw: Any, topics: Mapping[str, Topic], section: str = "uncovered"
) -> Tuple[UncoveredSubject, ...]:
    if not isinstance(raw, list):
        raise FactStoreError(path, section, "*", "must be a list")
    subjects = []
    for index, body in enumerate(raw):
        reader = _Reader(path, f"{section} #{index + 1}", body)
        subject_id = _check_id(reader, "id", reader.raw.get("id"))
        compiled = []
        for pattern in reader.text_list("patterns"):
            try:
                compiled.append(re.compile(pattern))
            except re.error as error:
                raise reader.fail(
                    "patterns", f"bad regular expression {pattern!r}: {error}"
                ) from error
        except_topics = reader.text_list("except_topics", required=False)
        for topic in except_topics:
            if topic not in topics:
                raise reader.fail("except_topics", f"'{topic}' is not a known topic")
        subjects.append(
            UncoveredSubject(
                id=subject_id,
                label=reader.text("label"),
                patterns=tuple(compiled),
                except_topics=except_topics,
            )
        )
    return tuple(subjects)


def _compiled(reader: _Reader, name: str, pattern: str, flags: int = 0) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as error:
        raise reader.fail(name, f"bad regular expression {pattern!r}: {error}") from error


def _compile_patterns(reader: _Reader, name: str) -> Tuple[re.Pattern[str], ...]:
    return tuple(
        _compiled(reader, name, pattern) for pattern in reader.text_list(name, required=False)
    )


def _parse_usual_comparison(top: _Reader, procedures: Mapping[str, Procedure]) -> Tuple[str, ...]:
    usual = top.text_list("usual_comparison", required=False) or tuple(procedures)
    for procedure in usual:
        if procedure not in procedures:
            raise top.fail("usual_comparison", f"'{procedure}' is not a known procedure")
    return usual


def _parse_part_choice(
    path: Path, raw: Any, topics: Mapping[str, Topic], procedures: Mapping[str, Procedure]
) -> Optional[PartChoice]:
    if raw is None:
        return None
    reader = _Reader(path, "part_choice", raw)
    kinds = raw.get("kinds")
    if (
        not isinstance(kinds, list)
        or len(kinds) < 2
        or not all(
            isinstance(kind, list) and kind and all(isinstance(w, str) for w in kind)
            for kind in kinds
        )
    ):
        raise reader.fail("kinds", "must be at least two lists of words")
    rule = PartChoice(
        cues=reader.text_list("cues"),
        kinds=tuple(frozenset(word.lower() for word in kind) for kind in kinds),
        nouns=frozenset(word.lower() for word in reader.text_list("nouns")),
        plurals=frozenset(word.lower() for word in reader.text_list("plurals")),
        topic=reader.text("topic") or "",
        procedure=reader.text("procedure") or "",
    )
    if rule.topic not in topics:
        raise reader.fail("topic", f"'{rule.topic}' is not a known topic")
    if rule.procedure not in procedures:
        raise reader.fail("procedure", f"'{rule.procedure}' is not a known procedure")
    return rule


def _after_fillers(words: List[str], rule: Optional[TailedFollowUp]) -> List[str]:
    """`words` without the `tailed_follow_up` rule's fillers at their start ("ok", "so")."""
    fillers = rule.fillers if rule is not None else frozenset()
    start = 0
    while start < len(words) and words[start] in fillers:
        start += 1
    return words[start:]


def _asks_topic(topics: Mapping[str, Topic], topic_id: Optional[str]) -> bool:
    """True when `topic_id` is a known topic with an intent (one a question can ask)."""
    return topic_id in topics and bool(topics[topic_id].intent)


def _rule_topic(
    rule: Optional[ComparisonRule], text: str, topic_id: Optional[str]
) -> Optional[str]:
    """`rule.topic` when `text`, asked on one of its `from_topics`, holds one of its cues."""
    if rule is None or topic_id not in rule.from_topics or not has_phrase(text, rule.cues):
        return None
    return rule.topic


def _parse_comparison_rule(
    path: Path, raw: Any, topics: Mapping[str, Topic], where: str
) -> Optional[ComparisonRule]:
    if raw is None:
        return None
    reader = _Reader(path, where, raw)
    rule = ComparisonRule(
        cues=reader.text_list("cues"),
        from_topics=reader.text_list("from_topics"),
        topic=reader.text("topic"),
    )
    for topic in (*rule.from_topics, rule.topic):
        if topic not in topics:
            raise reader.fail("topic", f"'{topic}' is not a known topic")
    return rule


def _parse_comparison_redirects(
    path: Path, raw: Any, topics: Mapping[str, Topic]
) -> Tuple[ComparisonRule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise FactStoreError(path, "comparison_redirects", "*", "must be a list of rules")
    where = "comparison_redirects entry {}"
    return tuple(
        rule
        for index, item in enumerate(raw, 1)
        if (rule := _parse_comparison_rule(path, item, topics, where.format(index)))
    )


def parse_fact_store(path: Path, document: Any) -> FactStore:
    """Validate a parsed YAML document and build the store from it."""
    top = _Reader(path, "top level", document)
    sources = _parse_sources(path, top.mapping("sources"))
    procedures = _parse_procedures(path, top.mapping("procedures"))
    topics = _parse_topics(path, top.mapping("topics"))
    for topic in topics.values():
        if topic.leads_to is not None and topic.leads_to not in procedures:
            reader = _Reader(path, f"topic '{topic.id}'", top.mapping("topics")[topic.id])
            raise reader.fail("leads_to", f"'{topic.leads_to}' is not a procedure")
    raw_facts = top.raw.get("facts")
    if not isinstance(raw_facts, list) or not raw_facts:
        raise top.fail("facts", "must be a non-empty list")
    facts = tuple(
        _parse_fact(path, index, body, sources, procedures, topics)
        for index, body in enumerate(raw_facts)
    )
    seen = set()
    for fact in facts:
        if fact.id in seen:
            raise FactStoreError(path, f"fact '{fact.id}'", "id", "is used by more than one fact")
        seen.add(fact.id)
    by_id = {fact.id: fact for fact in facts}
    for fact in facts:
        for needed in fact.needs:
            if needed not in by_id or by_id[needed].topic != fact.topic or needed == fact.id:
                raise FactStoreError(
                    path,
                    f"fact '{fact.id}'",
                    "needs",
                    f"'{needed}' is not another fact of its topic",
                )
    for topic in topics.values():
        if not any(fact.topic == topic.id for fact in facts):
            raise FactStoreError(path, f"topic '{topic.id}'", "facts", "no fact has this topic")
        for procedure, fact_ids in topic.bridges.items():
            known = procedure in procedures and fact_ids
            if not known or any(
                fact_id not in by_id or not by_id[fact_id].is_about(procedure)
                for fact_id in fact_ids
            ):
                raise FactStoreError(
                    path,
                    f"topic '{topic.id}'",
                    "bridges",
                    f"'{procedure}' needs a known procedure and facts that speak of it",
                )
    return FactStore(
        path=path,
        sources=sources,
        procedures=procedures,
        topics=topics,
        facts=facts,
        uncovered=_parse_uncovered(path, top.raw.get("uncovered", []), topics),
        comparison_cues=top.text_list("comparison_cues", required=False),
        follow_up_phrases=top.text_list("follow_up_phrases", required=False),
        follow_up_words=frozenset(top.text_list("follow_up_words", required=False)),
        follow_up_pointers=frozenset(top.text_list("follow_up_pointers", required=False)),
        usual_comparison=_parse_usual_comparison(top, procedures),
        personal_cues=_compile_patterns(top, "personal_cues"),
        all_procedures_cues=top.text_list("all_procedures_cues", required=False),
        group_cues=top.text_list("group_cues", required=False),
        selection_cues=top.text_list("selection_cues", required=False),
        degree_cues=top.text_list("degree_cues", required=False),
        comparison_redirects=_parse_comparison_redirects(
            path, top.raw.get("comparison_redirects"), topics
        ),
        order=_parse_comparison_rule(path, top.raw.get("order"), topics, "order"),
        treatment_question=_parse_comparison_rule(
            path, top.raw.get("treatment_question"), topics, "treatment_question"
        ),
        part_choice=_parse_part_choice(path, top.raw.get("part_choice"), topics, procedures),
        why_cues=top.text_list("why_cues", required=False),
        other_procedure_cues=top.text_list("other_procedure_cues", required=False),
        ordinal_cues=_parse_ordinal_cues(path, top.raw.get("ordinal_cues")),
        statement_topic=_known_topic(top, "statement_topic", topics),
        asking_words=frozenset(w.lower() for w in top.text_list("asking_words", required=False)),
        other_subjects=_parse_uncovered(
            path, top.raw.get("other_subjects", []), topics, "other_subjects"
        ),
        tried_cues=_tried_cues(top.text_list("tried_cues", required=False)),
        not_procedures=_token_patterns(top, "not_procedures"),
        name_followers=frozenset(
            w.lower() for w in top.text_list("name_followers", required=False)
        ),
        context_prior=_parse_context_prior(path, top.raw.get("context_prior")),
        pointing_back=_parse_pointing_back(path, top.raw.get("pointing_back")),
        new_subject_cues=top.text_list("new_subject_cues", required=False),
        tailed_follow_up=_parse_tailed_follow_up(path, top.raw.get("tailed_follow_up")),
        sequel=_parse_sequel(path, top.raw.get("sequel")),
    )


def _parse_sequel(path: Path, raw: Any) -> Optional[Sequel]:
    if raw is None:
        return None
    reader = _Reader(path, "sequel", raw)
    return Sequel(cues=reader.text_list("cues"), max_words=reader.count("max_words"))


def _known_topic(reader: _Reader, name: str, topics: Mapping[str, Topic]) -> Optional[str]:
    """An optional field naming a topic with an intent."""
    value = reader.text(name, required=False)
    if value is not None and not _asks_topic(topics, value):
        raise reader.fail(name, f"'{value}' is not a known topic with an intent")
    return value


# The places `ordinal_cues` may name, as indexes into the procedures compared.
_PLACES = {"first": 0, "second": 1, "last": -1}


def _parse_ordinal_cues(path: Path, raw: Any) -> Tuple[Tuple[int, Tuple[str, ...]], ...]:
    if raw is None:
        return ()
    reader = _Reader(path, "ordinal_cues", raw)
    unknown = sorted(set(raw) - set(_PLACES))
    if unknown:
        raise reader.fail(unknown[0], f"must be one of {', '.join(_PLACES)}")
    return tuple((_PLACES[place], reader.text_list(place)) for place in raw)


def _parse_context_prior(path: Path, raw: Any) -> Optional[ContextPrior]:
    if raw is None:
        return None
    reader = _Reader(path, "context_prior", raw)
    return ContextPrior(
        below_confidence=reader.share("below_confidence"),
        runner_up_at_least=reader.share("runner_up_at_least"),
        unless_fact_at_least=(
            reader.share("unless_fact_at_least")
            if "unless_fact_at_least" in reader.raw
            else ContextPrior.unless_fact_at_least
        ),
    )


def _parse_tailed_follow_up(path: Path, raw: Any) -> Optional[TailedFollowUp]:
    if raw is None:
        return None
    reader = _Reader(path, "tailed_follow_up", raw)
    return TailedFollowUp(
        openers=tuple(" ".join(_words(opener)) for opener in reader.text_list("openers")),
        wh_words=frozenset(word.lower() for word in reader.text_list("wh_words")),
        auxiliaries=frozenset(word.lower() for word in reader.text_list("auxiliaries")),
        below_confidence=reader.share("below_confidence"),
        fillers=frozenset(word.lower() for word in reader.text_list("fillers", required=False)),
    )


def _parse_pointing_back(path: Path, raw: Any) -> Optional[PointingBack]:
    if raw is None:
        return None
    reader = _Reader(path, "pointing_back", raw)
    return PointingBack(
        words=frozenset(word.lower() for word in reader.text_list("words")),
        unless_word_starts=tuple(word.lower() for word in reader.text_list("unless_word_starts")),
        bare_words=frozenset(
            word.lower() for word in reader.text_list("bare_words", required=False)
        ),
    )


def load_fact_store(path: Path = FACTS_FILE) -> FactStore:
    """Read and validate a fact store file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise FactStoreError(
            Path(path), "file", "*", f"cannot be read ({error.strerror})"
        ) from error
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise FactStoreError(Path(path), "file", "*", f"is not valid YAML ({error})") from error
    return parse_fact_store(Path(path), document)


class ReloadingFactStore(Reloading[FactStore]):
    """Hands out the store, re-reading the file when it changed on disk.

    This is what lets a clinic fix an answer's wording without retraining or
    restarting: the action server calls `get()` per message, which costs one
    `stat` when nothing changed. A broken edit is logged and the last good store
    is kept, so patients keep getting known-good answers while it is fixed.
    """

    def __init__(self, path: Path = FACTS_FILE) -> None:
        self.path = Path(path)
        super().__init__(
            lambda: load_fact_store(self.path), (self.path,), (FactStoreError,), "Fact store"
        )


def procedures_in(facts: Sequence[Fact]) -> List[str]:
    """Distinct procedure ids the facts speak about, in order of appearance."""
    seen: List[str] = []
    for fact in facts:
        for procedure in fact.procedures:
            if procedure not in seen:
                seen.append(procedure)
    return seen
