"""The project's own spaCy pipeline: aliases become canonical `procedure` entities."""

from __future__ import annotations

import pytest
import spacy

from bot.core.paths import SPACY_MODEL_DIR
from bot.nlu.spacy_pipeline import PROCEDURE_LABEL


def _procedures(nlp, text: str) -> list:
    return [
        (ent.text, ent.ent_id_) for ent in nlp(text.lower()).ents if ent.label_ == PROCEDURE_LABEL
    ]


def test_every_alias_maps_to_its_procedure(nlp, store) -> None:
    for alias, procedure_id in store.alias_table().items():
        found = _procedures(nlp, f"what is a {alias} exactly")
        assert [pid for _, pid in found] == [procedure_id], alias


@pytest.mark.parametrize(
    "text, expected",
    [
        ("does a facet shot hurt?", ["fji"]),
        ("wat is a mbb", ["mbb"]),
        ("how long do facet injections last", ["fji"]),
        ("Is burning the nerves better than a nerve block?", ["rfa", "mbb"]),
        ("RFA??", ["rfa"]),
        ("medial branch nerve blocks vs facet joint injections", ["mbb", "fji"]),
        ("what are facet joints", []),
        ("what are medial branch nerves", []),
        ("does it hurt", []),
        # Descriptions instead of names (`descriptions` in data/facts.yml).
        ("ok and the shot that goes right into the joint?", ["fji"]),
        ("what about the one on the nerves", ["mbb"]),
        ("is the one that uses heat better?", ["rfa"]),
        ("which one uses heat?", []),
        ("does the block work on the nerves or the joint", ["mbb"]),
        ("does RFA work on the nerves?", ["rfa"]),
        ("and the heat one?", ["rfa"]),
        ("and the medial branch one?", ["mbb"]),
        ("what are medial branch nerves for", []),
        ("the joint one or the burning procedure", ["fji", "rfa"]),
        ("does the joint hurt at all", []),
        # Lay names written blind, and a steroid named with the joint shot.
        ("is the nerve zap worse than the test block", ["rfa", "mbb"]),
        ("and the cortisone facet injection?", ["fji"]),
        ("what about the zap one", ["rfa"]),
        ("what does the steroid do", []),
        # A bare "zap", and a name's words joined by dashes.
        ("is the zap the same thing as the block?", ["rfa", "mbb"]),
        ("block vs zap: which ones the test", ["mbb", "rfa"]),
        ("how is the burning-the-nerves procedure related to it", ["rfa"]),
        ("is a facet-joint-injection painful", ["fji"]),
        ("what is an x-ray", []),
        # Another treatment whose name holds an alias names no procedure (`not_procedures`).
        ("do you do knee joint injections?", []),
        ("si joint block vs facet joint injection", ["fji"]),
        # "The nerve numbing one" beside "the joint shot"; "the burning" before a comparison.
        ("side effects - any different, the joint shot or the nerve numbing one?", ["fji", "mbb"]),
        ("the numbing one or the steroid one?", ["mbb", "fji"]),
        ("medicine in the burning like in the block?", ["rfa", "mbb"]),
        ("the burning pain in my leg", []),
        # "Medial branch" cut short before a comparison word or a mark, never the nerves.
        ("which is the test, the medail branch or the facet injection", ["mbb", "fji"]),
        ("what do the medial branch nerves do", []),
    ],
)
def test_patient_phrasings(nlp, text: str, expected: list) -> None:
    assert [pid for _, pid in _procedures(nlp, text)] == expected


def test_lemmatizer_comes_from_lookup_tables(nlp) -> None:
    assert [token.lemma_ for token in nlp("injections were given")] == ["injection", "be", "give"]


def test_built_pipeline_on_disk_matches_the_store(store) -> None:
    assert (SPACY_MODEL_DIR / "meta.json").exists(), "run `make spacy` to build the pipeline"
    nlp = spacy.load(SPACY_MODEL_DIR)
    assert nlp.pipe_names == ["lemmatizer", "entity_ruler"]
    assert [e.ent_id_ for e in nlp("is a facet shot or ablation better").ents] == ["fji", "rfa"]
