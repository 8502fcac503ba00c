"""The sentence encoder built from its PyPI wheel: real vectors, offline, cached."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.core.paths import ENCODER_DIR
from bot.nlu.encoder import DIMENSIONS, EncoderMissingError, SentenceEncoder
from bot.nlu.encoder_export import EncoderBuildError, model_zip, unpack


def test_vectors_are_unit_length_and_mean_what_they_say(encoder) -> None:
    vectors = encoder.encode(
        ["does the nerve block hurt?", "is a medial branch block painful", "what is the weather"]
    )
    assert vectors.shape == (3, DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    same, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert same > 0.5 > unrelated + 0.3


def test_batches_and_the_cache_give_the_same_vectors(encoder) -> None:
    texts = [f"question number {i} about the facet injection" for i in range(70)]
    batched = encoder.encode(texts)
    again = encoder.encode(list(reversed(texts)))
    assert np.allclose(batched, again[::-1], atol=1e-6)
    single = SentenceEncoder().encode([texts[5]])[0]
    assert np.allclose(single, batched[5], atol=1e-4)
    assert encoder.encode([]).shape == (0, DIMENSIONS)


def test_the_model_comes_from_the_pinned_wheel(tmp_path) -> None:
    meta = json.loads((ENCODER_DIR / "meta.json").read_text())
    assert meta["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    unpack(model_zip(), tmp_path)
    assert (tmp_path / "model.safetensors").stat().st_size > 80_000_000
    assert (tmp_path / "tokenizer.json").read_bytes() == (
        ENCODER_DIR / "tokenizer.json"
    ).read_bytes()


def test_missing_model_and_broken_archive_say_what_to_do(tmp_path) -> None:
    with pytest.raises(EncoderMissingError, match="make encoder"):
        SentenceEncoder(tmp_path).encode(["hello"])
    archive = tmp_path / "model.zip"
    import zipfile

    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("config.json", "{}")
    with pytest.raises(EncoderBuildError, match="no model.safetensors"):
        unpack(archive, tmp_path)
