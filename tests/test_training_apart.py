"""No test message is a training example: a set the model learned measures nothing.

Every message of the held-out NLU set, the blind and tuning conversation sets and the
red-flag suites is compared with every example in data/nlu.yml, ignoring case, spacing
and the punctuation around it ("Does it hurt?" is "does it hurt"). The classifier reads
only the question of a long message (bot/nlu/focus.py), so each sentence of a
conversation's messages is compared too.
"""

from __future__ import annotations

import re
from typing import Iterator, Tuple

import yaml
from rasa.shared.nlu.training_data.loading import load_data

from bot.core.paths import PROJECT_ROOT

TRAINING_FILE = PROJECT_ROOT / "data" / "nlu.yml"
TESTS = PROJECT_ROOT / "tests"


def normalised(text: str) -> str:
    """Lower case, single spaces, no punctuation at either end."""
    return re.sub(r"^[\W_]+|[\W_]+$", "", " ".join(text.lower().split()))


def test_set_messages() -> Iterator[Tuple[str, str]]:
    """(file, message) for every patient message of every test set."""
    for example in load_data(str(TESTS / "nlu_heldout.yml")).intent_examples:
        yield "nlu_heldout.yml", example.get("text")
    for name in ("conversations_blind.yml", "conversations_tuning.yml"):
        for conversation in yaml.safe_load((TESTS / name).read_text())["conversations"]:
            for turn in conversation["turns"]:
                yield name, turn
    for name in ("red_flags.yml", "red_flags_tuning.yml"):
        document = yaml.safe_load((TESTS / name).read_text())
        for case in document["present"] + document["mentions"]:
            yield name, case["text"]


test_set_messages.__test__ = False  # a generator of data, not a test

_SENTENCE = re.compile(r"[^.?!]+[.?!]*")


def training_examples() -> set:
    return {normalised(e.get("text")) for e in load_data(str(TRAINING_FILE)).intent_examples}


def test_no_test_message_is_a_training_example() -> None:
    training = training_examples()
    messages = list(test_set_messages())
    assert len(messages) > 1500  # every set was read
    trained_on = sorted({(name, m) for name, m in messages if normalised(m) in training})
    assert trained_on == []


def test_no_sentence_of_a_conversation_is_a_training_example() -> None:
    training = training_examples()
    sentences = {
        (name, normalised(sentence))
        for name, message in test_set_messages()
        if name.startswith("conversations_")
        for sentence in _SENTENCE.findall(message)
        if len(sentence.split()) >= 4
    }
    assert len(sentences) > 600
    assert sorted((name, s) for name, s in sentences if s in training) == []
