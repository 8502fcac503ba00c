"""Where the project's files live, relative to this code (never to the working dir)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data"
FACTS_FILE = DATA_DIR / "facts.yml"
CLAIMS_FILE = DATA_DIR / "claims.yml"
SAFETY_FILE = DATA_DIR / "safety.yml"
SAFETY_CONTEXT_FILE = DATA_DIR / "safety_context.yml"
SPACY_MODEL_DIR = PROJECT_ROOT / "build" / "spacy_model"
ENCODER_DIR = PROJECT_ROOT / "build" / "encoder"
