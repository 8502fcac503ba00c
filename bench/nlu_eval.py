"""Held-out intent evaluation, the fallback-threshold sweep and the TF-IDF baseline.

Every system is reduced to the same thing per example: the intent it would act on
(with its own fallback applied) and its raw ranking of real intents. Scores and the
threshold sweep are then computed identically for all of them, so the table compares
classifiers, not scoring code.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import aiohttp
import yaml

FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
SWEEP_THRESHOLDS = [round(0.1 * step, 1) for step in range(1, 10)]
# `[text](entity)` and `[text]{"entity": ...}` annotations keep only their text.
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass
class Example:
    text: str
    intent: str


@dataclass
class Prediction:
    """What a system did with one example: the intent acted on, and its raw ranking."""

    intent: str
    ranking: List[Tuple[str, float]]

    def top(self) -> Tuple[str, float]:
        return self.ranking[0] if self.ranking else (FALLBACK, 0.0)


def load_examples(path: Path) -> List[Example]:
    """Intent examples of a Rasa NLU YAML file (the `examples: |` list format).

    Parsed here rather than with Rasa's loader so the baseline and the scoring run
    without importing Rasa or TensorFlow.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples: List[Example] = []
    for block in data.get("nlu") or []:
        intent = block.get("intent")
        if not intent:
            continue
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                examples.append(Example(_ANNOTATION.sub(r"\1", line[2:].strip()), intent))
    return examples


def prediction_from_parse(parsed: Dict[str, Any]) -> Prediction:
    """A Rasa parse result: the intent as deployed, the ranking without `nlu_fallback`."""
    ranking = [
        (item["name"], float(item.get("confidence") or 0.0))
        for item in parsed.get("intent_ranking") or []
        if item.get("name") and item["name"] != FALLBACK
    ]
    intent = (parsed.get("intent") or {}).get("name") or FALLBACK
    return Prediction(intent, ranking)


def scores(examples: Sequence[Example], predictions: Sequence[Prediction]) -> Dict[str, Any]:
    """Accuracy and macro-F1 (as deployed: a fallback is wrong unless it was out of scope
    for the out-of-scope rate), out-of-scope handling and in-scope accuracy."""
    from sklearn.metrics import accuracy_score, f1_score

    gold = [example.intent for example in examples]
    predicted = [prediction.intent for prediction in predictions]
    labels = sorted(set(gold))
    out_of_scope = [p for g, p in zip(gold, predicted, strict=True) if g == OUT_OF_SCOPE]
    in_scope = [(g, p) for g, p in zip(gold, predicted, strict=True) if g != OUT_OF_SCOPE]
    handled = sum(1 for p in out_of_scope if p in (OUT_OF_SCOPE, FALLBACK))
    return {
        "examples": len(gold),
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "macro_f1": round(
            float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)), 4
        ),
        "out_of_scope_examples": len(out_of_scope),
        "out_of_scope_handled": round(handled / len(out_of_scope), 4) if out_of_scope else None,
        "out_of_scope_to_fallback": sum(1 for p in out_of_scope if p == FALLBACK),
        "in_scope_accuracy": round(sum(g == p for g, p in in_scope) / len(in_scope), 4)
        if in_scope
        else None,
        "in_scope_to_fallback": sum(1 for _, p in in_scope if p == FALLBACK),
        "errors": [
            {"text": e.text, "expected": g, "predicted": p}
            for e, g, p in zip(examples, gold, predicted, strict=True)
            if g != p
        ],
    }


def sweep(
    examples: Sequence[Example],
    predictions: Sequence[Prediction],
    thresholds: Sequence[float] = SWEEP_THRESHOLDS,
) -> List[Dict[str, float]]:
    """In-scope accuracy against out-of-scope recall for each fallback threshold.

    Applied offline to each system's raw top intent: below the threshold the answer is
    the fallback. An out-of-scope question counts as handled when it ends in the
    fallback or in `out_of_scope`; an in-scope question only when its intent is right.
    """
    points = []
    for threshold in thresholds:
        in_scope_right = in_scope = oos_handled = oos = 0
        for example, prediction in zip(examples, predictions, strict=True):
            name, confidence = prediction.top()
            acted = name if confidence >= threshold else FALLBACK
            if example.intent == OUT_OF_SCOPE:
                oos += 1
                oos_handled += acted in (OUT_OF_SCOPE, FALLBACK)
            else:
                in_scope += 1
                in_scope_right += acted == example.intent
        points.append(
            {
                "threshold": threshold,
                "in_scope_accuracy": round(in_scope_right / in_scope, 4) if in_scope else 0.0,
                "out_of_scope_recall": round(oos_handled / oos, 4) if oos else 0.0,
            }
        )
    return points


class TfidfBaseline:
    """TF-IDF over word 1-2-grams and character 2-5-grams, then logistic regression.

    The strongest cheap classical baseline for short texts: the character n-grams
    absorb the typos and abbreviations patients type ("wat is a mbb"), which is the
    job the char_wb CountVectorsFeaturizer does in the Rasa pipelines.
    """

    def __init__(self, threshold: float = 0.3, seed: int = 42) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union

        self.threshold = threshold
        self.pipeline = make_pipeline(
            make_union(
                TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            ),
            LogisticRegression(C=20.0, max_iter=5000, random_state=seed),
        )
        self.train_s = 0.0

    def fit(self, examples: Sequence[Example]) -> TfidfBaseline:
        started = time.perf_counter()
        self.pipeline.fit([e.text.lower() for e in examples], [e.intent for e in examples])
        self.train_s = time.perf_counter() - started
        return self

    def predict(self, texts: Sequence[str]) -> List[Prediction]:
        """Probabilities from predict_proba; below the threshold the answer is the fallback."""
        probabilities = self.pipeline.predict_proba([text.lower() for text in texts])
        classes = list(self.pipeline.classes_)
        predictions = []
        for row in probabilities:
            ranking = sorted(zip(classes, map(float, row), strict=True), key=lambda x: -x[1])
            name, confidence = ranking[0]
            predictions.append(
                Prediction(name if confidence >= self.threshold else FALLBACK, ranking[:10])
            )
        return predictions

    def size_bytes(self) -> int:
        """Size of the pickled fitted pipeline: the baseline's "model file"."""
        import pickle

        return len(pickle.dumps(self.pipeline))


async def parse_over_http(
    base_url: str, token: str, texts: Sequence[str], concurrency: int = 4
) -> List[Dict[str, Any]]:
    """Rasa's /model/parse for each text (the deployed NLU pipeline, overrides included)."""
    limit = asyncio.Semaphore(concurrency)
    url = base_url.rstrip("/") + "/model/parse"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def one(text: str) -> Dict[str, Any]:
            async with limit:
                async with session.post(url, params={"token": token}, json={"text": text}) as r:
                    r.raise_for_status()
                    return await r.json()

        return list(await asyncio.gather(*(one(text) for text in texts)))
