"""Decide what a question is really asking, with sentence vectors, before anything is said.

The intent classifier (DIET) picks the nearest *kind* of question from the features it
learnt. The planner checks and completes that guess with the question's meaning (its
all-MiniLM-L6-v2 vector, bot/nlu/encoder.py) against two things the project holds as data:

- every training example of `data/nlu.yml`: its nearest neighbours vote for their intents.
  The final intent is the best of DIET's confidence and the neighbours' vote together; when
  neither is sure, the patient is asked to rephrase (`nlu_fallback`).
- each fact's `questions` in `data/facts.yml`, compared with procedure names set aside:
  - a question much closer to a fact of another topic goes to that topic ("is it a big
    operation?" is about recovery), and when neither DIET nor the neighbours are sure, a
    close match still gives the topic;
  - a topic question whose specifics no fact of the topic matches, and which the
    neighbours place among the questions the articles do not answer, becomes
    `ask_uncovered` ("which steroid brand?" gets "the articles don't cover that", never
    the neighbouring fact);
  - when one fact of the topic clearly matches best, only it (and those close to it) is
    answered, so a question about one detail gets that detail.

In a long message only its question is read, by DIET and here alike (bot/nlu/focus.py).
Pure numpy; the Rasa component that runs it is in bot/nlu/components.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from bot.core import intents
from bot.core.facts import GENERAL, Fact, FactStore, Topic

# Besides the topics' intents, the intents that ask something about the procedures.
ASKING_INTENTS = frozenset(
    {
        intents.UNCOVERED,
        intents.FALLBACK,
        intents.PERSONAL_ADVICE,
        intents.FOLLOW_UP,
        intents.ELABORATE,
    }
)


def limit_blas_threads() -> None:
    """Run numpy's BLAS on one thread, process-wide.

    The planner's products are of one vector with a few thousand rows: a second thread
    gains nothing, and OpenBLAS's idle threads spin (`sched_yield`) between calls. Under
    load in the Rasa server that spinning burnt most of the second core, which the
    action server needs (docs/benchmarks.md, "Where a turn's time goes").
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


@dataclass(frozen=True)
class PlannerSettings:
    """Thresholds, from the component's config (tuned on tests/conversations_tuning.yml)."""

    neighbours: int = 10
    # Weight of DIET's confidence against the neighbours' vote.
    classifier_weight: float = 0.8
    # Below this combined score the patient is asked to rephrase.
    fallback_threshold: float = 0.2
    # When neither is sure, a fact this similar (procedure names set aside) gives the topic.
    rescue_similarity: float = 0.8
    # A fact of another topic this similar, and this much closer than the predicted
    # topic's best fact, moves the question to that topic.
    retopic_similarity: float = 0.75
    retopic_margin: float = 0.15
    # When DIET is unsure (below `weak_confidence`), a looser match moves it too: a
    # comparison's wording ("X vs Y, same or different?") can drown its topic words, and
    # an unsure "not covered" with a fact this close and no uncovered subject is covered.
    weak_confidence: float = 0.6
    weak_retopic_similarity: float = 0.55
    weak_retopic_margin: float = 0.15
    # DIET this sure of the topic keeps it: no fact match moves it ("My doctor mentions a
    # block. What happens after it?" sounds like "what is it?" with the names set aside).
    sure_classifier: float = 0.98
    # Not covered: this share of the vote for ask_uncovered and no fact of the topic
    # at least `fact_match` similar.
    uncovered_share: float = 0.4
    fact_match: float = 0.62
    # Facts are narrowed only when the best one is at least this similar; then the
    # facts within `fact_margin` of it are answered.
    specific_fact: float = 0.7
    fact_margin: float = 0.08
    # Covered after all: DIET says not covered, but a fact is this similar, DIET's
    # runner-up is that fact's topic with at least this confidence, and no not-covered
    # subject is named ("is the facet injection done under x-ray?" is about imaging).
    covered_similarity: float = 0.78
    covered_runner_up: float = 0.15
    # A topic about the spine itself (facet joints, their nerves) chosen for a question
    # naming a procedure must be this close to the topic's own question with the names set
    # aside: "facet joint inj, MBB, RFA - in what order?" sounds like the joints only
    # through the injection's name.
    spine_topic_without_names: float = 0.5
    # A personal question telling what happened (this many words or more) and this close
    # to a fact gets that fact, after the line saying only the care team can decide for
    # the patient; a bare decision ("should I get the injection?") stays personal.
    personal_fact: float = 0.75
    personal_fact_words: int = 10

    @classmethod
    def from_config(cls, config: Mapping) -> PlannerSettings:
        known = cls.__dataclass_fields__
        return cls(**{key: value for key, value in config.items() if key in known})


@dataclass(frozen=True)
class Plan:
    """What the planner concluded for one message (kept in its parse data)."""

    intent: str
    confidence: float
    facts: Tuple[str, ...] = ()
    reason: str = "classifier"
    best_fact_similarity: Optional[float] = None

    def summary(self) -> Dict[str, object]:
        return {
            "intent": self.intent,
            "confidence": round(float(self.confidence), 3),
            "facts": list(self.facts),
            "reason": self.reason,
            "best_fact_similarity": None
            if self.best_fact_similarity is None
            else round(float(self.best_fact_similarity), 3),
        }


class ExampleIndex:
    """Training examples as unit vectors with their intents, for a neighbour vote."""

    def __init__(self, vectors: np.ndarray, intents: Sequence[str]) -> None:
        if len(vectors) != len(intents):
            raise ValueError("one intent per example vector")
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.intents = list(intents)

    def vote(self, vector: np.ndarray, k: int) -> Dict[str, float]:
        """Similarity-weighted share of each intent among the k nearest examples."""
        if not self.intents:
            return {}
        # A float64 vector would make numpy convert the whole matrix on every call.
        similarities = self.vectors @ np.asarray(vector, dtype=self.vectors.dtype)
        k = min(k, len(self.intents))
        top = np.argpartition(-similarities, k - 1)[:k]
        nearest = top[np.argsort(-similarities[top], kind="stable")]
        weights: Dict[str, float] = {}
        for index in nearest:
            weight = max(float(similarities[index]), 0.0)
            weights[self.intents[index]] = weights.get(self.intents[index], 0.0) + weight
        total = sum(weights.values()) or 1.0
        return {intent: weight / total for intent, weight in weights.items()}


# An article before a procedure name goes with the name ("the nerve one" -> "it").
_ARTICLE = r"(?:a|an|the|my|this|that|your)"
_ARTICLE_BEFORE = re.compile(rf"\b{_ARTICLE} $", re.IGNORECASE)


class FactIndex:
    """Each fact's question phrasings as unit vectors, with procedure names set aside.

    Procedure names dominate a sentence vector ("what if the facet injection does not
    help?" is close to "what is a facet injection?"), so names are replaced by "it" on
    both sides: the match is on what is asked, the procedure is chosen elsewhere.
    """

    def __init__(self, store: FactStore, encode) -> None:  # noqa: ANN001 - texts -> array
        self.store = store
        aliases = sorted(store.alias_table(), key=len, reverse=True)
        # Every procedure name and alias, for the gibberish check's known words.
        self.names: List[str] = aliases
        self._names = re.compile(
            rf"\b(?:{_ARTICLE} )?(?:" + "|".join(re.escape(alias) for alias in aliases) + r")s?\b",
            re.IGNORECASE,
        )
        self._rows: List[Tuple[Fact, int, int]] = []
        texts: List[str] = []
        for fact in store.facts:
            phrasings = [self.neutral(question) for question in fact.questions] or [
                self.neutral(fact.answer)
            ]
            self._rows.append((fact, len(texts), len(texts) + len(phrasings)))
            texts.extend(phrasings)
        facts_end = len(texts)
        # Each topic's own question (its button text) and `whole_questions` ask for the
        # whole topic: kept apart, so a fact match never multiplies them.
        self._topic_rows: Dict[str, Tuple[int, int]] = {}
        for topic in store.topics.values():
            phrasings = [self.neutral(q) for q in (topic.question, *topic.whole_questions)]
            start = len(texts) - facts_end
            self._topic_rows[topic.id] = (start, start + len(phrasings))
            texts.extend(phrasings)
        encoded = encode(texts)
        self.vectors, self.topic_vectors = encoded[:facts_end], encoded[facts_end:]

    def neutral(self, text: str, names: Sequence[Tuple[int, int]] = ()) -> str:
        """`text` with every procedure name replaced by "it": the (start, end) `names` the
        entity extractor found in it (descriptions such as "the medial branch one" too,
        which no alias spells) and every alias."""
        for start, end in sorted(names, reverse=True):
            article = _ARTICLE_BEFORE.search(text[:start])
            text = text[: article.start() if article else start] + "it" + text[end:]
        return self._names.sub("it", text)

    def similarities(self, vector: np.ndarray) -> List[Tuple[Fact, float]]:
        """(fact, best similarity of its phrasings) for every fact."""
        scores = self.vectors @ np.asarray(vector, dtype=self.vectors.dtype)
        return [(fact, float(scores[start:end].max())) for fact, start, end in self._rows]

    def whole_topic_similarity(self, vector: np.ndarray, topic_id: str) -> float:
        """How close a question is to asking `topic_id` as a whole (its own questions)."""
        start, end = self._topic_rows[topic_id]
        rows = self.topic_vectors[start:end]
        return float((rows @ np.asarray(vector, dtype=rows.dtype)).max())


def _confidence_of(ranking: Sequence[Mapping], intent: str) -> float:
    """DIET's own confidence in `intent` (0 when it is not ranked)."""
    for item in ranking:
        if item.get("name") == intent:
            return float(item.get("confidence") or 0.0)
    return 0.0


def _in_topic(scored: Sequence[Tuple[Fact, float]], topic_id: str) -> List[Tuple[Fact, float]]:
    """The (fact, similarity) pairs of one topic."""
    return [(fact, score) for fact, score in scored if fact.topic == topic_id]


class AnswerPlanner:
    """Applies the settings to one message's vector and the classifier's ranking."""

    def __init__(self, examples: ExampleIndex, facts: FactIndex, settings: PlannerSettings) -> None:
        self.examples = examples
        self.facts = facts
        self.settings = settings
        # Intents that ask about the procedures (topics, not covered, personal...).
        self._asking = facts.store.topic_intents() | ASKING_INTENTS
        # Topics about the spine, whose every fact is general (facet joints, their nerves).
        self._spine_topics = {
            topic.intent: topic.id
            for topic in facts.store.topics.values()
            if topic.intent
            and all(GENERAL in fact.procedures for fact in facts.store.facts_for(topic.id))
        }

    def _combined(
        self, ranking: Sequence[Mapping], votes: Mapping[str, float], weight: float
    ) -> Tuple[str, float]:
        scores: Dict[str, float] = {}
        for item in ranking:
            name = item.get("name")
            if name and name != intents.FALLBACK:
                scores[name] = weight * float(item.get("confidence") or 0.0)
        for name, share in votes.items():
            scores[name] = scores.get(name, 0.0) + (1 - weight) * share
        if not scores:
            return intents.FALLBACK, 0.0
        best = max(scores, key=scores.get)
        return best, scores[best]

    def plan(
        self,
        vector: np.ndarray,
        ranking: Sequence[Mapping],
        neutral_vector: np.ndarray,
        question: str = "",
        other_subject_only: bool = False,
    ) -> Plan:
        """`vector` is the question's meaning; `neutral_vector` the same with names set
        aside; `question` its text, for the fact store's subjects; `other_subject_only`
        whether it is about a subject outside the procedures and names none of them
        (`responder.other_subject_only`).

        Such a question is out of scope, whatever the topic it sounds like: the articles
        say nothing about it. Greetings, thanks and the like keep their intent.
        """
        plan = self._plan(vector, ranking, neutral_vector, question)
        if not other_subject_only or plan.intent not in self._asking:
            return plan
        return Plan(intents.OUT_OF_SCOPE, plan.confidence, (), "other subject")

    def _plan(
        self,
        vector: np.ndarray,
        ranking: Sequence[Mapping],
        neutral_vector: np.ndarray,
        question: str,
    ) -> Plan:
        settings = self.settings
        store = self.facts.store
        votes = self.examples.vote(vector, settings.neighbours)
        intent, confidence = self._combined(ranking, votes, settings.classifier_weight)
        if self._spine_topic_only_by_name(intent, vector, neutral_vector):
            ranking = [item for item in ranking if item.get("name") != intent]
            votes = {name: share for name, share in votes.items() if name != intent}
            intent, confidence = self._combined(ranking, votes, settings.classifier_weight)
        scored = self.facts.similarities(neutral_vector)
        best_fact, best_any = max(scored, key=lambda pair: pair[1], default=(None, 0.0))
        best_topic = store.topics[best_fact.topic] if best_fact is not None else None
        if (
            intent == intents.PERSONAL_ADVICE
            and best_topic is not None
            and best_topic.intent
            and best_any >= settings.personal_fact
            and len(question.split()) >= settings.personal_fact_words
        ):
            # "The block worked for 6 hours and now it's back, did it fail?": the general
            # fact answers it; the responder says first that the decision is the team's.
            return self._topic_plan(
                best_topic, confidence, scored, best_any, intents.PERSONAL_FACT_REASON
            )
        if confidence < settings.fallback_threshold:
            if (
                best_topic is not None
                and best_topic.intent
                and best_any >= settings.rescue_similarity
            ):
                return self._topic_plan(best_topic, confidence, scored, best_any, "fact match")
            if store.is_personal(question):
                # "I had chest pain last month but I was cleared. Can I still do the facet
                # joint injection?": unread, but plainly the patient's own decision.
                return Plan(intents.PERSONAL_ADVICE, confidence, (), intents.PERSONAL_CUE_REASON)
            return Plan(intents.FALLBACK, confidence)
        if intent == intents.UNCOVERED and self._covered_after_all(
            ranking, best_topic, best_any, question, confidence
        ):
            return self._topic_plan(best_topic, confidence, scored, best_any, "covered after all")
        topic = store.topic_for_intent(intent)
        if topic is None:
            return Plan(intent, confidence)
        in_topic = _in_topic(scored, topic.id)
        best_in_topic = max((score for _, score in in_topic), default=0.0)
        margin = best_any - best_in_topic
        closer = (
            best_any >= settings.retopic_similarity and margin >= settings.retopic_margin
        ) or (
            confidence < settings.weak_confidence
            and best_any >= settings.weak_retopic_similarity
            and margin >= settings.weak_retopic_margin
            # A fact said only when asked is too narrow to pull an unsure guess loosely.
            and best_fact is not None
            and not best_fact.only_when_asked
        )
        sure = _confidence_of(ranking, intent) >= settings.sure_classifier
        if (
            closer
            and not sure
            and best_topic is not None
            and best_topic.id != topic.id
            and best_topic.intent
        ):
            return self._topic_plan(best_topic, confidence, scored, best_any, "fact match")
        if (
            votes.get(intents.UNCOVERED, 0.0) >= settings.uncovered_share
            and best_in_topic < settings.fact_match
        ):
            return Plan(intents.UNCOVERED, confidence, (), "not covered", best_in_topic)
        if self.facts.whole_topic_similarity(neutral_vector, topic.id) >= (
            best_in_topic - settings.fact_margin
        ):
            # "How is the nerve test different from the steroid shot?" asks the whole
            # topic, as its own question does, not the one fact it sounds most like.
            return Plan(intent, confidence, (), "whole topic", best_in_topic)
        return self._facts_plan(intent, confidence, in_topic, best_in_topic, "facts")

    def _spine_topic_only_by_name(
        self, intent: str, vector: np.ndarray, neutral_vector: np.ndarray
    ) -> bool:
        """True when `intent` is a topic about the spine itself that the question, with
        the procedures' names set aside, does not ask: the words of a name ("facet joint"
        in "facet joint injection") made it sound like one."""
        topic_id = self._spine_topics.get(intent)
        if topic_id is None or np.array_equal(neutral_vector, vector):
            return False
        similarity = self.facts.whole_topic_similarity(neutral_vector, topic_id)
        return similarity < self.settings.spine_topic_without_names

    def _covered_after_all(
        self,
        ranking: Sequence[Mapping],
        best_topic: Optional[Topic],
        best_any: float,
        question: str,
        confidence: float,
    ) -> bool:
        """True when a question DIET put among the not-covered ones is answered by the
        closest fact after all, and names no subject the articles don't cover: it matches
        closely and DIET's own runner-up is that fact's topic, or DIET was unsure (below
        `weak_confidence`) and the fact is as close as an unsure guess may move to
        (`weak_retopic_similarity`: "are both done as outpatients?" is the recovery fact)."""
        settings = self.settings
        if best_topic is None or not best_topic.intent:
            return False
        unsure_and_close = (
            confidence < settings.weak_confidence and best_any >= settings.weak_retopic_similarity
        )
        if not unsure_and_close and not self._runner_up_agrees(ranking, best_topic, best_any):
            return False
        return self.facts.store.uncovered_subject(question, best_topic.id) is None

    def _runner_up_agrees(
        self, ranking: Sequence[Mapping], best_topic: Topic, best_any: float
    ) -> bool:
        """The closest fact matches closely and DIET's runner-up is that fact's topic."""
        settings = self.settings
        if best_any < settings.covered_similarity:
            return False
        others = [
            item
            for item in ranking
            if item.get("name") not in (intents.UNCOVERED, intents.FALLBACK)
        ]
        return (
            bool(others)
            and others[0].get("name") == best_topic.intent
            and float(others[0].get("confidence") or 0.0) >= settings.covered_runner_up
        )

    def _topic_plan(
        self,
        topic: Topic,
        confidence: float,
        scored: Sequence[Tuple[Fact, float]],
        best: float,
        reason: str,
    ) -> Plan:
        """The plan for `topic` (one with an intent, not the one DIET predicted), with
        its matching facts."""
        intent = topic.intent or intents.FALLBACK
        return self._facts_plan(intent, confidence, _in_topic(scored, topic.id), best, reason)

    def _facts_plan(
        self,
        intent: str,
        confidence: float,
        in_topic: Sequence[Tuple[Fact, float]],
        best: float,
        reason: str,
    ) -> Plan:
        chosen: Tuple[str, ...] = ()
        if best >= self.settings.specific_fact:
            cut = best - self.settings.fact_margin
            chosen = tuple(fact.id for fact, score in in_topic if score >= cut)
        return Plan(intent, confidence, chosen, reason, best)
