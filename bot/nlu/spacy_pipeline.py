"""Build the project's own spaCy pipeline: no model download needed.

Official spaCy models cannot be fetched on the clinic's build machines, so the
pipeline Rasa's `SpacyNLP` loads is made here from parts that ship with pip
packages: a blank English tokenizer, the lookup lemmatizer from
`spacy-lookups-data`, and an EntityRuler whose patterns are the procedure
aliases from the fact store. Each match carries the canonical procedure id as
its `ent_id_`, so "facet shot" and "FJI" both come out as `fji`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

import spacy
from spacy.language import Language

from bot.core.facts import FactStore, load_fact_store
from bot.core.paths import FACTS_FILE, SPACY_MODEL_DIR

PROCEDURE_LABEL = "procedure"
# Another treatment whose name holds a procedure's ("knee joint injection"): matched so
# that the longer match wins over the alias inside it, and never made a procedure entity.
NOT_PROCEDURE_LABEL = "not_procedure"
PIPELINE_NAME = "en_spine_faq"


def _token_variants(token: str) -> List[str]:
    """A token and its plural spellings, so 'facet injections' still matches."""
    variants = [token]
    if token.isalpha() and len(token) > 2:
        variants += [token + "s", token + "es"]
    return variants


# Patients join a name's words with dashes ("the burning-the-nerves procedure"), which
# the tokenizer splits off as tokens of their own.
_JOINING_DASH = {"ORTH": {"IN": ["-", "–", "—"]}, "OP": "?"}


def alias_patterns(nlp: Language, store: FactStore) -> List[Dict]:
    """EntityRuler token patterns for every alias, lower-cased, plural-tolerant, its
    words optionally joined by dashes, for every description ("the shot that goes into
    the joint") as the store gives it, and for the other treatments whose names hold an
    alias (`not_procedures`)."""
    patterns = []
    for alias, procedure_id in sorted(store.alias_table().items()):
        tokens = [token.lower_ for token in nlp.make_doc(alias)]
        pattern: List[Dict] = []
        for token in tokens:
            if pattern and token != "-":
                pattern.append(dict(_JOINING_DASH))
            pattern.append({"LOWER": {"IN": _token_variants(token)}})
        patterns.append({"label": PROCEDURE_LABEL, "pattern": pattern, "id": procedure_id})
    for procedure in store.procedures.values():
        for description in procedure.descriptions:
            patterns.append(
                {
                    "label": PROCEDURE_LABEL,
                    "pattern": [dict(token) for token in description],
                    "id": procedure.id,
                }
            )
    for pattern in store.not_procedures:
        patterns.append(
            {"label": NOT_PROCEDURE_LABEL, "pattern": [dict(token) for token in pattern]}
        )
    return patterns


def build_pipeline(store: FactStore, base: Optional[str] = None) -> Language:
    """Blank English + lookup lemmatizer + EntityRuler fed from the fact store.

    With `base` (an installed spaCy model such as `en_core_web_md`), the ruler is
    added to that model instead, before its statistical NER so procedure names win.
    """
    if base:
        nlp = spacy.load(base)
        before = {"before": "ner"} if "ner" in nlp.pipe_names else {}
        ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": None}, **before)
    else:
        nlp = spacy.blank("en")
        nlp.meta["name"] = PIPELINE_NAME.split("_", 1)[1]
        nlp.meta["description"] = "Spine FAQ pipeline built from data/facts.yml (no download)."
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": None})
        nlp.initialize()  # loads the lookup tables from spacy-lookups-data
    ruler.add_patterns(alias_patterns(nlp, store))
    return nlp


def write_pipeline(
    output_dir: Path = SPACY_MODEL_DIR, facts_file: Path = FACTS_FILE, base: Optional[str] = None
) -> Path:
    """Build the pipeline from `facts_file` and save it where `config.yml` expects it."""
    nlp = build_pipeline(load_fact_store(facts_file), base)
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output_dir)
    return output_dir
