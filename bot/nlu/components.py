"""Custom Rasa NLU components: procedure entities, the question of a long message,
sentence vectors, the answer planner, and the language and red-flag overrides.

All are registered with Rasa's recipe so `config.yml` can name them as
`bot.nlu.components.<Class>`.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS, TOKENS_NAMES
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.nlu.constants import (
    ENTITIES,
    FEATURE_TYPE_SEQUENCE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.channels.plain_text import parse_choice_number
from bot.core import intents, language, safety
from bot.core.facts import FactStore, ReloadingFactStore
from bot.core.gibberish import is_gibberish, too_short
from bot.core.responder import other_subject_only
from bot.nlu.encoder import shared_encoder
from bot.nlu.focus import question_span
from bot.nlu.planner import (
    AnswerPlanner,
    ExampleIndex,
    FactIndex,
    PlannerSettings,
    limit_blas_threads,
)
from bot.nlu.spacy_pipeline import PROCEDURE_LABEL

logger = logging.getLogger(__name__)

SENTENCE_VECTOR_KEY = "sentence_vector"
# The question of a long message (bot/nlu/focus.py), in the parse output: the actions
# look for subjects the articles don't cover in the question, not in the story before it.
QUESTION_KEY = "question_text"
PLAN_KEY = "answer_plan"
RED_FLAG_KEY = "red_flag"
LANGUAGE_KEY = "language"


class _BuiltFromConfig(GraphComponent):
    """A component with nothing to train or load: built from its config alone."""

    def __init__(self, config: Optional[Dict[str, Any]] = None) -> None:
        self.config = {**self.get_default_config(), **(config or {})}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config)


class _SameOnEveryMessage:
    """A step that changes each message in place (`_apply`), training examples exactly
    as messages at run time, so what DIET learns from is what it later reads."""

    def _apply(self, messages: List[Message]) -> None:
        raise NotImplementedError

    def process(self, messages: List[Message]) -> List[Message]:
        self._apply(messages)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._apply(training_data.training_examples)
        return training_data


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class ProcedureEntityExtractor(_BuiltFromConfig, EntityExtractorMixin):
    """Turns the EntityRuler's procedure matches into `procedure` entities.

    Unlike Rasa's `SpacyEntityExtractor`, the entity value is the canonical id the
    ruler attached (`fji`, `mbb`, `rfa`), not the words the patient typed, so the
    `procedure` slot always holds an id the fact store knows.
    """

    @classmethod
    def required_components(cls) -> List[type]:
        return [SpacyNLP]

    def process(self, messages: List[Message]) -> List[Message]:
        followers = shared_fact_store().get().name_followers
        for message in messages:
            doc = message.get(SPACY_DOCS[TEXT])
            if doc is None:
                continue
            found = [
                {
                    "entity": PROCEDURE_LABEL,
                    "value": ent.ent_id_,
                    "start": ent.start_char,
                    "end": _name_end(ent, followers),
                    "confidence": 1.0,
                }
                for ent in doc.ents
                if ent.label_ == PROCEDURE_LABEL and ent.ent_id_
            ]
            if found:
                message.set(
                    ENTITIES,
                    message.get(ENTITIES, []) + self.add_extractor_name(found),
                    add_to_output=True,
                )
        return messages


def _name_end(ent: Any, followers: FrozenSet[str]) -> int:
    """Where a procedure's name ends: before the punctuation or follower words a
    description ends on only to tell the name from the same words meant otherwise."""
    end = ent.end
    while end - ent.start > 1 and (
        ent.doc[end - 1].is_punct or ent.doc[end - 1].lower_ in followers
    ):
        end -= 1
    return ent.doc[end - 1].idx + len(ent.doc[end - 1].text)


@lru_cache(maxsize=1)
def shared_fact_store() -> ReloadingFactStore:
    """One reloading fact store for the NLU components of this process: the file is
    parsed once and checked once per `get`, however many components read it."""
    return ReloadingFactStore()


def question_text(message: Message) -> str:
    """What the featurizers and the planner read: a long message's question, else its text."""
    return message.get(QUESTION_KEY) or message.get(TEXT) or ""


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class QuestionFocus(_SameOnEveryMessage, _BuiltFromConfig):
    """Keeps only the question's tokens of a long message, for the featurizers after it.

    Placed after the entity extractor (procedures are found in the whole message, which
    also stays the message's text: the red-flag layer and the language check read all of
    it) and before the featurizers, so DIET, the sentence vector and the planner read the
    question alone (bot/nlu/focus.py). Done the same way on training examples.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # Messages shorter than this are read whole; a question shorter than
        # `standalone_words` keeps the sentence before it ("... Is that normal?").
        return {"long_message_words": 12, "standalone_words": 6}

    def _apply(self, messages: List[Message]) -> None:
        for message in messages:
            text = message.get(TEXT)
            tokens = message.get(TOKENS_NAMES[TEXT])
            if not isinstance(text, str) or not tokens:
                continue
            names = [
                (int(entity["start"]), int(entity["end"]))
                for entity in message.get(ENTITIES) or ()
                if entity.get("entity") == PROCEDURE_LABEL
            ]
            span = question_span(
                text,
                int(self.config["long_message_words"]),
                int(self.config["standalone_words"]),
                names,
            )
            if span is None:
                continue
            start, end = span
            kept = [token for token in tokens if token.start >= start and token.end <= end]
            if kept:
                message.set(QUESTION_KEY, text[start:end], add_to_output=True)
                message.set(TOKENS_NAMES[TEXT], kept)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(_SameOnEveryMessage, DenseFeaturizer, GraphComponent):
    """Adds the message's all-MiniLM-L6-v2 vector as dense sentence features.

    DIET reads it beside the sparse features; the vector is also kept on the message
    (not in the parse output) for the answer planner. Only the user's text is encoded
    (of a long message, its question: `QuestionFocus`).
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**DenseFeaturizer.get_default_config()}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        return cls(execution_context.node_name, config)

    def _apply(self, messages: List[Message]) -> None:
        texts = [question_text(message) for message in messages]
        wanted = [i for i, text in enumerate(texts) if isinstance(text, str) and text.strip()]
        if not wanted:
            return
        vectors = shared_encoder().encode([texts[i] for i in wanted])
        for index, vector in zip(wanted, vectors, strict=False):
            message = messages[index]
            message.set(SENTENCE_VECTOR_KEY, vector)
            self.add_features_to_message(None, vector[np.newaxis, :], TEXT, message)

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        """Nothing to check beyond the featurizer alias."""


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceFeaturesOnly(_SameOnEveryMessage, _BuiltFromConfig):
    """Replaces the text's token-level (sequence) features with one empty placeholder.

    DIET without transformer layers classifies the intent from the sentence position
    alone: each position goes through its own feed-forward layers and nothing mixes
    them, so token-level features cannot change an intent. DIET still batches, pads and
    embeds them, which was most of its training time. Its sequence layer insists on
    some token-level feature, so each message keeps one: a single zero, one "token"
    long. Only valid while DIET has `number_of_transformer_layers: 0` and no entity
    recognition, as `config.yml` sets (tests/test_nlu_components.py holds the two
    together).
    """

    @staticmethod
    def _placeholder() -> Features:
        return Features(
            np.zeros((1, 1), dtype=np.float32),
            FEATURE_TYPE_SEQUENCE,
            TEXT,
            SentenceFeaturesOnly.__name__,
        )

    def _apply(self, messages: List[Message]) -> None:
        for message in messages:
            kept = [
                feature
                for feature in message.features
                if not (feature.attribute == TEXT and feature.type == FEATURE_TYPE_SEQUENCE)
            ]
            if len(kept) < len(message.features):
                message.features = kept + [self._placeholder()]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class AnswerPlannerComponent(GraphComponent):
    """Runs `bot.nlu.planner` right after the classifier (it owns the fallback).

    Training stores every training example's vector with its intent (the neighbour
    vote). At run time it sets the final intent (DIET and the neighbours together; a
    question the articles do not answer becomes `ask_uncovered`; keyboard mash and
    unsure guesses become `nlu_fallback`) and adds `answer_plan` to the parse data: the
    fact ids that answer the question, for the action server, which loads no model.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return dict(PlannerSettings().__dict__)

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        examples: Optional[ExampleIndex] = None,
    ) -> None:
        self.settings = PlannerSettings.from_config(config)
        limit_blas_threads()
        self._model_storage = model_storage
        self._resource = resource
        self.examples = examples or ExampleIndex(np.zeros((0, 384), dtype=np.float32), [])
        self._store = shared_fact_store()
        self._facts: Optional[FactIndex] = None

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AnswerPlannerComponent:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> AnswerPlannerComponent:
        try:
            with model_storage.read_from(resource) as directory:
                vectors = np.load(directory / "vectors.npy")
                intents = json.loads((directory / "intents.json").read_text())
        except (ValueError, OSError):
            logger.warning("answer planner: no trained examples found; planning by facts only")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, ExampleIndex(vectors, intents))

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        vectors = [m.get(SENTENCE_VECTOR_KEY) for m in examples]
        if any(vector is None for vector in vectors):
            vectors = list(shared_encoder().encode([question_text(m) for m in examples]))
        intents = [m.get(INTENT) for m in examples]
        with self._model_storage.write_to(self._resource) as directory:
            np.save(directory / "vectors.npy", np.stack(vectors).astype(np.float32))
            (directory / "intents.json").write_text(json.dumps(intents))
        return self._resource

    def _fact_index(self) -> FactIndex:
        store: FactStore = self._store.get()
        if self._facts is None or self._facts.store is not store:
            self._facts = FactIndex(store, shared_encoder().encode)
        return self._facts

    def process(self, messages: List[Message]) -> List[Message]:
        facts = self._fact_index()
        planner = AnswerPlanner(self.examples, facts, self.settings)
        known_words = facts.names
        for message in messages:
            text = message.get(TEXT) or ""
            vector = message.get(SENTENCE_VECTOR_KEY)
            if vector is None:
                continue
            # Keyboard mash, a lone letter, and a bare number that no channel mapped to an
            # offered choice ("2" over REST), are not questions: never a guessed topic.
            unreadable = (
                "gibberish"
                if is_gibberish(text, known_words)
                else "too short"
                if too_short(text)
                else "bare number"
                if parse_choice_number(text) is not None
                else None
            )
            if unreadable:
                _force_intent(message, intents.FALLBACK)
                message.set(PLAN_KEY, {"intent": intents.FALLBACK, "reason": unreadable}, True)
                continue
            button = facts.store.topic_for_question(text)
            if button is not None:
                # A follow-up button (or its exact words): that topic, all of its facts.
                _force_intent(message, button.intent)
                message.set(PLAN_KEY, {"intent": button.intent, "reason": "button"}, True)
                continue
            # The featurizer's vector is of the same text; encode again only when
            # procedure names were set aside (about 7 ms a message saved otherwise).
            asked = question_text(message)
            names = _names_in(message, asked)
            neutral_text = facts.neutral(asked, names)
            neutral = (
                vector if neutral_text == asked else shared_encoder().encode([neutral_text])[0]
            )
            ranking = message.get(INTENT_RANKING_KEY) or []
            plan = planner.plan(
                vector,
                ranking,
                neutral,
                asked,
                other_subject_only=other_subject_only(
                    message.get(ENTITIES) or [], message.get(TEXT) or "", facts.store, asked
                ),
            )
            meant = facts.store.intent_meant(
                plan.intent, asked, ranking, names_procedure=bool(names)
            )
            if meant != plan.intent and meant is not None:
                # "What if it works?" is no "what if it doesn't help?" (a topic's
                # `requires`): the next topic of the ranking, with its own confidence;
                # "I'm getting a block on Friday" asks nothing the articles leave out.
                # A topic giving way to another by the question's words (`yields_to`)
                # hands on the plan's own confidence: the reading was as sure as before.
                yielded = meant == facts.store.yielded_intent(plan.intent, asked)
                confidence = (
                    plan.confidence
                    if yielded
                    else next(
                        (
                            float(item.get(PREDICTED_CONFIDENCE_KEY) or 0)
                            for item in ranking
                            if item.get(INTENT_NAME_KEY) == meant
                        ),
                        plan.confidence,
                    )
                )
                _force_intent(message, meant, confidence=confidence)
                reason = "yields" if yielded else "requires"
                message.set(PLAN_KEY, {"intent": meant, "reason": reason}, True)
                continue
            _force_intent(message, plan.intent, confidence=plan.confidence)
            message.set(PLAN_KEY, plan.summary(), add_to_output=True)
        return messages


def _names_in(message: Message, asked: str) -> List[Tuple[int, int]]:
    """(start, end) in `asked`, the message's question or its whole text, of each
    procedure it names."""
    offset = (message.get(TEXT) or "").find(asked) if asked else -1
    if offset < 0:
        return []
    return [
        (entity["start"] - offset, entity["end"] - offset)
        for entity in message.get(ENTITIES) or ()
        if entity.get("entity") == PROCEDURE_LABEL
        and entity.get("start", -1) >= offset
        and entity.get("end", 0) <= offset + len(asked)
    ]


def _force_intent(message: Message, intent: str, confidence: float = 1.0) -> None:
    """Make `intent` the prediction, ahead of the classifier's ranking."""
    forced = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: float(confidence)}
    ranking = [
        item
        for item in message.get(INTENT_RANKING_KEY) or []
        if item.get(INTENT_NAME_KEY) != intent
    ]
    message.set(INTENT, forced, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [forced] + ranking, add_to_output=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class FollowUpOverride(_BuiltFromConfig):
    """Forces `ask_follow_up` on a bare fragment: "and the block?", "what about the other one?".

    Such a message has no topic words at all, only a procedure (or "the other one") and
    the words of `follow_up_words` in data/facts.yml, so it can only ask the last question
    again; the classifier, which sees no conversation, sometimes guesses a topic from the
    procedure's name instead. Placed after the answer planner and before the language and
    red-flag overrides, which still win.
    """

    def process(self, messages: List[Message]) -> List[Message]:
        store = shared_fact_store().get()
        for message in messages:
            text = message.get(TEXT) or ""
            names = _names_in(message, text)
            confidence = float((message.get(INTENT) or {}).get(PREDICTED_CONFIDENCE_KEY) or 0)
            if store.is_bare_follow_up(text, names) or store.is_tailed_follow_up(
                text, names, confidence
            ):
                _force_intent(message, intents.FOLLOW_UP)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class NonEnglishOverride(_BuiltFromConfig):
    """Forces the `non_english` intent when `bot.core.language` finds another language.

    The classifier only knows English; on Spanish or Chinese it guesses from shared
    letters and would answer a random topic. The deterministic detector catches the
    clear cases (other scripts, foreign function words), while the `non_english`
    training examples let the classifier catch some more. Placed after the fallback
    and before RedFlagOverride, so a red flag still wins. The detected language is
    added to the parse result under `language` for logging and tests.
    """

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            detected = language.detect(message.get(TEXT) or "")
            if detected is None:
                continue
            _force_intent(message, intents.NON_ENGLISH)
            message.set(LANGUAGE_KEY, detected, add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RedFlagOverride(_BuiltFromConfig):
    """Runs the red-flag layer (`bot.core.safety`) on every message and acts on its verdict.

    Placed last in the pipeline, after the classifier and the fallback, so no statistical
    decision can hide an emergency:

    - a warning sign present now forces the `red_flag` intent;
    - a sign the rules found but judged not present (asked about, negated, past, someone
      else's) takes `red_flag` away from the classifier, which cannot read such context:
      the next intent of the ranking is used (or `nlu_fallback` below the threshold);
    - when the rules found nothing, a `red_flag` from the classifier stands (unsure means
      alarm).

    The verdict's summary (status, urgency, concept ids; never text) is added to the parse
    result under `red_flag`: the actions compose the reply from it.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # Below this, the next intent after a demoted red_flag is no answer: the fallback.
        return {"fallback_threshold": 0.3}

    @property
    def fallback_threshold(self) -> float:
        return float(self.config["fallback_threshold"])

    def _demote(self, message: Message) -> None:
        """Replace a classifier `red_flag` with the best other intent."""
        ranking = [
            item
            for item in message.get(INTENT_RANKING_KEY) or []
            if item.get(INTENT_NAME_KEY) not in (intents.RED_FLAG, intents.FALLBACK)
        ]
        best = ranking[0] if ranking else None
        if best is None or (best.get(PREDICTED_CONFIDENCE_KEY) or 0) < self.fallback_threshold:
            best = {INTENT_NAME_KEY: intents.FALLBACK, PREDICTED_CONFIDENCE_KEY: 1.0}
        message.set(INTENT, dict(best), add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            assessment = safety.assess(message.get(TEXT) or "")
            message.set(RED_FLAG_KEY, assessment.summary(), add_to_output=True)
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if assessment.status == safety.PRESENT:
                _force_intent(message, intents.RED_FLAG)
            elif assessment.findings and intent == intents.RED_FLAG:
                self._demote(message)
        return messages
