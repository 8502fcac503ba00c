"""CPU per sentence of the sentence encoder: ONNX Runtime (what runs) vs TensorFlow.

    python -m bench.encoder_cost [--repeats 200]

The same all-MiniLM-L6-v2 weights, the same tokenizer and pooling, timed on one short
patient question at a time (as a chat turn encodes it) with `time.process_time`, so the
figure is CPU, not wall time on a busy machine. TensorFlow runs the model through
transformers' TFBertModel inside a `tf.function`, as bot/nlu/encoder_export.py builds it,
once with TensorFlow's default threads and once on one thread. Also checks that both
runtimes give the same vectors. Results go to docs/benchmarks.md ("Sentence encoder").
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

from bot.nlu.encoder import SentenceEncoder
from bot.nlu.encoder_export import model_zip, unpack

SENTENCE = "my doctor wants me to have a facet joint injection next week, does it hurt a lot?"


def cpu_ms(run: Callable[[], object], repeats: int) -> float:
    run()  # warm up (graph tracing, first allocation)
    started = time.process_time()
    for _ in range(repeats):
        run()
    return 1000 * (time.process_time() - started) / repeats


def tensorflow_encoder(source: Path, threads: Optional[int]) -> Callable[[List[str]], np.ndarray]:
    import tensorflow as tf
    from tokenizers import Tokenizer
    from transformers import TFBertModel

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    model = TFBertModel.from_pretrained(str(source))
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    spec = [tf.TensorSpec([None, None], tf.int32)] * 3

    @tf.function(input_signature=spec)
    def embed(ids, mask, types):  # noqa: ANN001, ANN202
        tokens = model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        weights = tf.cast(tf.expand_dims(mask, -1), tokens.dtype)
        mean = tf.reduce_sum(tokens * weights, 1) / tf.maximum(tf.reduce_sum(weights, 1), 1e-9)
        return tf.math.l2_normalize(mean, axis=1)

    def encode(texts: List[str]) -> np.ndarray:
        found = tokenizer.encode_batch(texts)
        arrays = [
            np.array([getattr(e, name) for e in found], dtype=np.int32)
            for name in ("ids", "attention_mask", "type_ids")
        ]
        return embed(*arrays).numpy()

    return encode


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--tf-threads", type=int, default=None, help="only this TF setting")
    args = parser.parse_args(argv)
    results: Dict[str, float] = {}
    onnx = SentenceEncoder()
    onnx.encode(["warm up"])  # loads the model (lazily, on first use)
    onnx_vector = onnx._run([SENTENCE])[0]
    results["onnx runtime, 1 thread"] = cpu_ms(lambda: onnx._run([SENTENCE]), args.repeats)
    with tempfile.TemporaryDirectory() as scratch:
        unpack(model_zip(), Path(scratch))
        label = f"tensorflow, {args.tf_threads or 'default'} thread(s)"
        encode = tensorflow_encoder(Path(scratch), args.tf_threads)
        results[label] = cpu_ms(lambda: encode([SENTENCE]), args.repeats)
        gap = float(np.abs(encode([SENTENCE])[0] - onnx_vector).max())
    for name, value in results.items():
        print(f"{name:32} {value:6.1f} ms CPU per sentence")
    print(f"largest difference between the two runtimes' vectors: {gap:.2e}")
    return results


if __name__ == "__main__":
    main()
