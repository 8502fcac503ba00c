"""`make` retrains when the training data's content changes, not when a file is touched.

Runs the real Makefile in a scratch folder where `rasa` and `python` are stand-ins that
only record being called, so the rule is checked in a second, not a training run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from bot.core.paths import PROJECT_ROOT

INPUTS = (
    "config.yml",
    "domain.yml",
    "data/nlu.yml",
    "data/rules.yml",
    "data/stories.yml",
    "bot/nlu/components.py",
    "bot/nlu/focus.py",
    "bot/nlu/planner.py",
)
# Everything the model's order-only prerequisites (venv, spaCy pipeline, encoder) look at,
# oldest first, so that only the training rule can be out of date.
OLDER = (
    "requirements.txt",
    "requirements-build.txt",
    "constraints.txt",
    "pyproject.toml",
    ".venv/.installed",
    "data/facts.yml",
    "bot/core/facts.py",
    "bot/nlu/spacy_pipeline.py",
    "bot/nlu/encoder_export.py",
    "build/spacy_model/meta.json",
    "build/encoder/model.onnx",
)
STAND_IN = """#!/bin/sh
echo "$(basename "$0") $*" >> "$(dirname "$0")/../../calls.log"
case "$*" in *train*) mkdir -p models && : > models/spine-faq.tar.gz ;; esac
"""

pytestmark = pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("sha256sum") is None,
    reason="needs make and sha256sum",
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(PROJECT_ROOT / "Makefile", tmp_path / "Makefile")
    stamp = time.time() - 1000
    for index, name in enumerate(OLDER + INPUTS):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{name}\n")
        os.utime(path, (stamp + index, stamp + index))
    for tool in ("python", "rasa"):
        path = tmp_path / ".venv" / "bin" / tool
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(STAND_IN)
        path.chmod(0o755)
    return tmp_path


def trainings(project: Path) -> int:
    """Runs `make train` and says how many trainings have happened so far."""
    subprocess.run(["make", "--no-print-directory", "train"], cwd=project, check=True)
    log = project / "calls.log"
    calls = log.read_text().splitlines() if log.exists() else []
    return sum(call.startswith("rasa train") for call in calls)


def test_touching_does_not_retrain_but_editing_does(project: Path) -> None:
    assert trainings(project) == 1  # no model yet
    assert trainings(project) == 1  # up to date
    time.sleep(0.01)
    for name in INPUTS:
        (project / name).touch()
    assert trainings(project) == 1  # touched, same content
    with (project / "data" / "nlu.yml").open("a") as handle:
        handle.write("- intent: new\n")
    assert trainings(project) == 2  # content changed
    assert trainings(project) == 2
    with (project / "bot" / "nlu" / "components.py").open("a") as handle:
        handle.write("# changed\n")
    assert trainings(project) == 3
