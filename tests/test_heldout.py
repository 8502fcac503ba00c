"""Held-out NLU evaluation: questions written separately and never trained on.

Scores the trained model on `tests/nlu_heldout.yml` every run, writes
`reports/heldout.json` (printed in pytest's summary) and fails below 0.90 accuracy.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest
from rasa.shared.nlu.training_data.loading import load_data
from sklearn.metrics import accuracy_score, f1_score

from bot.core.paths import PROJECT_ROOT

HELDOUT_FILE = PROJECT_ROOT / "tests" / "nlu_heldout.yml"
TRAINING_FILE = PROJECT_ROOT / "data" / "nlu.yml"
REPORT_FILE = PROJECT_ROOT / "reports" / "heldout.json"
MODEL_FILE = PROJECT_ROOT / "models" / "spine-faq.tar.gz"
MIN_ACCURACY = 0.90


def test_heldout_set_is_large_enough() -> None:
    """Never trained on: tests/test_training_apart.py checks every test set against data/."""
    heldout = {e.get("text") for e in load_data(str(HELDOUT_FILE)).intent_examples}
    assert len(heldout) >= 150


def test_heldout_covers_every_trained_intent() -> None:
    heldout = Counter(e.get("intent") for e in load_data(str(HELDOUT_FILE)).intent_examples)
    training = {e.get("intent") for e in load_data(str(TRAINING_FILE)).intent_examples}
    assert set(heldout) == training
    assert min(heldout.values()) >= 5


@pytest.fixture(scope="module")
def agent():
    if not MODEL_FILE.exists():
        pytest.fail(f"no trained model at {MODEL_FILE}: run `make train` first")
    from rasa.core.agent import Agent

    return Agent.load(str(MODEL_FILE))


@pytest.mark.slow  # loads the trained model
def test_heldout_accuracy(agent) -> None:
    examples = load_data(str(HELDOUT_FILE)).intent_examples

    async def parse_all():
        return [await agent.parse_message(e.get("text")) for e in examples]

    parsed = asyncio.run(parse_all())
    gold = [e.get("intent") for e in examples]
    predicted = [p["intent"]["name"] for p in parsed]
    labels = sorted(set(gold))
    accuracy = accuracy_score(gold, predicted)
    macro_f1 = f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)
    errors = [
        {"text": e.get("text"), "expected": g, "predicted": p}
        for e, g, p in zip(examples, gold, predicted, strict=False)
        if g != p
    ]
    REPORT_FILE.parent.mkdir(exist_ok=True)
    REPORT_FILE.write_text(
        json.dumps(
            {
                "examples": len(gold),
                "intents": len(labels),
                "accuracy": round(accuracy, 4),
                "macro_f1": round(macro_f1, 4),
                "sent_to_fallback": predicted.count("nlu_fallback"),
                "errors": errors,
            },
            indent=2,
        )
    )
    assert accuracy >= MIN_ACCURACY, f"held-out accuracy {accuracy:.3f} < {MIN_ACCURACY}"
