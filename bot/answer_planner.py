"""Decide what a question is really asking, with sentence vectors, before anything is said.

The intent classifier (DIET) picks the nearest *kind* of question. Two mistakes follow from
"nearest": a question whose specifics the articles never give ("which steroid brand?") gets
the neighbouring topic's answer, and a topic with several facts answers with all of them
when the question asked for one. The planner looks at the question's meaning (its
all-MiniLM-L6-v2 vector, bot/encoder.py) against two things the project holds as data:

- every training example of `data/nlu.yml`, by intent: its nearest neighbours vote. When
  most of the vote goes to `ask_uncovered` (questions the articles do not answer) and no
  fact of the topic is close, the question is not covered, whatever the classifier said;
  when the classifier gave up (`nlu_fallback`) but close neighbours agree, their intent is
  used.
- each fact's own `questions` in `data/facts.yml`: the facts of the topic that match the
  question best are the ones answered.

Pure numpy: the Rasa component that runs it lives in bot/nlu_components.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from bot.facts import Fact, FactStore

UNCOVERED_INTENT = "ask_uncovered"
FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True)
class PlannerSettings:
    """Thresholds, from the component's config (tuned on tests/conversations_tuning.yml)."""

    neighbours: int = 10
    # Not covered: this share of the neighbours' vote for ask_uncovered...
    uncovered_share: float = 0.5
    # ...unless a fact of the predicted topic is at least this similar to the question.
    fact_match: float = 0.62
    # Facts within this similarity of the best one are answered together.
    fact_margin: float = 0.08
    # A fallback is replaced by the neighbours' intent when the nearest one is this close
    # and they agree this much.
    rescue_similarity: float = 0.75
    rescue_share: float = 0.6

    @classmethod
    def from_config(cls, config: Mapping) -> PlannerSettings:
        known = cls.__dataclass_fields__
        return cls(**{key: value for key, value in config.items() if key in known})


@dataclass(frozen=True)
class Plan:
    """What the planner concluded for one message (kept in its parse data)."""

    intent: str
    facts: Tuple[str, ...] = ()
    reason: str = "classifier"
    votes: Dict[str, float] = field(default_factory=dict)
    best_fact_similarity: Optional[float] = None

    def summary(self) -> Dict[str, object]:
        return {
            "intent": self.intent,
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

    def vote(self, vector: np.ndarray, k: int) -> Tuple[Dict[str, float], float]:
        """Similarity-weighted share of each intent among the k nearest, and the top one."""
        if not self.intents:
            return {}, 0.0
        similarities = self.vectors @ vector
        nearest = np.argsort(-similarities)[:k]
        weights: Dict[str, float] = {}
        for index in nearest:
            weight = max(float(similarities[index]), 0.0)
            weights[self.intents[index]] = weights.get(self.intents[index], 0.0) + weight
        total = sum(weights.values()) or 1.0
        shares = {intent: weight / total for intent, weight in weights.items()}
        return shares, float(similarities[nearest[0]])


class FactIndex:
    """Each fact's question phrasings (and its answer) as unit vectors."""

    def __init__(self, store: FactStore, encode) -> None:  # noqa: ANN001 - encode: texts -> array
        self.store = store
        self._rows: List[Tuple[Fact, int, int]] = []
        texts: List[str] = []
        for fact in store.facts:
            phrasings = [*fact.questions, fact.answer]
            self._rows.append((fact, len(texts), len(texts) + len(phrasings)))
            texts.extend(phrasings)
        self.vectors = encode(texts) if texts else np.zeros((0, 1), dtype=np.float32)

    def similarities(self, vector: np.ndarray, topic: str) -> List[Tuple[Fact, float]]:
        """(fact, best similarity of its phrasings) for the facts of `topic`."""
        scores = self.vectors @ vector
        return [
            (fact, float(scores[start:end].max()))
            for fact, start, end in self._rows
            if fact.topic == topic
        ]


class AnswerPlanner:
    """Applies the settings to one message's vector and classifier result."""

    def __init__(self, examples: ExampleIndex, facts: FactIndex, settings: PlannerSettings) -> None:
        self.examples = examples
        self.facts = facts
        self.settings = settings

    def plan(self, vector: np.ndarray, intent: str) -> Plan:
        settings = self.settings
        votes, nearest = self.examples.vote(vector, settings.neighbours)
        store = self.facts.store
        if intent == FALLBACK_INTENT:
            best = max(votes, key=votes.get) if votes else None
            if (
                best is not None
                and best != FALLBACK_INTENT
                and nearest >= settings.rescue_similarity
                and votes[best] >= settings.rescue_share
            ):
                return Plan(best, reason="neighbours", votes=votes)
            return Plan(intent, votes=votes)
        topic = store.topic_for_intent(intent)
        if topic is None:
            return Plan(intent, votes=votes)
        scored = self.facts.similarities(vector, topic.id)
        best_similarity = max((score for _, score in scored), default=0.0)
        if (
            votes.get(UNCOVERED_INTENT, 0.0) >= settings.uncovered_share
            and best_similarity < settings.fact_match
        ):
            return Plan(
                UNCOVERED_INTENT,
                reason="not covered",
                votes=votes,
                best_fact_similarity=best_similarity,
            )
        chosen = tuple(
            fact.id for fact, score in scored if score >= best_similarity - settings.fact_margin
        )
        return Plan(
            intent,
            facts=chosen,
            reason="facts",
            votes=votes,
            best_fact_similarity=best_similarity,
        )
