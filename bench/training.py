"""`rasa train` for each benchmarked config, timed, with a cache keyed on the inputs.

Training runs with Rasa's own training cache disabled (RASA_MAX_CACHE_SIZE=0): a cache
hit from an earlier `make train` would otherwise make the timing meaningless. A
trained model and its measured wall time are kept under build/bench/models/, reused
only while the config, domain, training data and Rasa version are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = PROJECT_ROOT / "build" / "bench" / "models"
TRAINING_INPUTS = ("domain.yml", "data/nlu.yml", "data/rules.yml", "data/stories.yml")
# Project code a config may load at training time (ours names bot.nlu.components).
CODE_INPUTS = (
    "bot/nlu/components.py",
    "bot/nlu/planner.py",
    "bot/nlu/encoder.py",
    "data/safety.yml",
    "data/safety_context.yml",
    "data/facts.yml",
)


@dataclass
class TrainedModel:
    name: str
    config: str
    model: str
    train_s: Optional[float]
    size_bytes: int
    cached: bool
    fingerprint: str
    load_average: Optional[float] = None


def fingerprint(config: Path, extra: Sequence[str] = ()) -> str:
    """Hash of everything that changes the trained model."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"rasa {version('rasa')}\n".encode())
    for path in [config, *(PROJECT_ROOT / p for p in (*TRAINING_INPUTS, *CODE_INPUTS, *extra))]:
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()[:16]


def cached(name: str, config: Path) -> Optional[TrainedModel]:
    """The cached model for `name`, if it was trained from the current inputs."""
    meta_file = CACHE_DIR / f"{name}.json"
    model = CACHE_DIR / f"{name}.tar.gz"
    if not (meta_file.exists() and model.exists()):
        return None
    meta = json.loads(meta_file.read_text())
    if meta.get("fingerprint") != fingerprint(config):
        return None
    return TrainedModel(**{**meta, "cached": True, "model": str(model)})


def train(name: str, config: Path, env: Optional[Dict[str, str]] = None) -> TrainedModel:
    """Train `config` on the project's data into the cache; time the whole command."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    log = CACHE_DIR / f"{name}.train.log"
    run_env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "RASA_MAX_CACHE_SIZE": "0",
        **(env or {}),
    }
    command = [
        str(Path(sys.executable).parent / "rasa"),
        "train",
        "--config",
        str(config),
        "--domain",
        "domain.yml",
        "--data",
        "data",
        "--out",
        str(CACHE_DIR),
        "--fixed-model-name",
        name,
    ]
    inputs = fingerprint(config)  # before training: the data may change while it runs
    load_average = os.getloadavg()[0]
    started = time.perf_counter()
    with log.open("w") as output:
        result = subprocess.run(
            command, cwd=PROJECT_ROOT, env=run_env, stdout=output, stderr=subprocess.STDOUT
        )
    train_s = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"rasa train {name} failed:\n{log.read_text()[-3000:]}")
    model = CACHE_DIR / f"{name}.tar.gz"
    trained = TrainedModel(
        name=name,
        config=str(
            config.relative_to(PROJECT_ROOT) if config.is_relative_to(PROJECT_ROOT) else config
        ),
        model=str(model),
        train_s=round(train_s, 1),
        size_bytes=model.stat().st_size,
        cached=False,
        fingerprint=inputs,
        load_average=round(load_average, 2),
    )
    meta = {k: v for k, v in asdict(trained).items() if k not in ("cached", "model")}
    (CACHE_DIR / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")
    return trained


def existing(name: str, config: Path, model: Path) -> TrainedModel:
    """A model trained elsewhere (quick mode reuses models/spine-faq.tar.gz): no timing."""
    return TrainedModel(
        name=name,
        config=str(config.relative_to(PROJECT_ROOT)),
        model=str(model),
        train_s=None,
        size_bytes=model.stat().st_size,
        cached=True,
        fingerprint="",
    )


if __name__ == "__main__":  # pragma: no cover - manual use: python -m bench.training NAME CONFIG
    print(json.dumps(asdict(train(sys.argv[1], Path(sys.argv[2]).resolve())), indent=2))
