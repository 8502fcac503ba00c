"""Command line: `python -m bot <command>`.

Commands:
  build-spacy   build the project's spaCy pipeline into build/spacy_model
  check-facts   validate data/facts.yml and data/safety.yml, print a summary
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from bot.paths import FACTS_FILE, SPACY_MODEL_DIR


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build-spacy", help="build the spaCy pipeline")
    build.add_argument("--output", type=Path, default=SPACY_MODEL_DIR)
    build.add_argument("--facts", type=Path, default=FACTS_FILE)
    build.add_argument(
        "--base", default=None, help="an installed spaCy model to add the ruler to (default: blank)"
    )
    check = commands.add_parser("check-facts", help="validate the fact store and safety rules")
    check.add_argument("--facts", type=Path, default=FACTS_FILE)
    args = parser.parse_args(argv)

    if args.command == "build-spacy":
        from bot.spacy_pipeline import write_pipeline

        path = write_pipeline(args.output, args.facts, args.base)
        print(f"spaCy pipeline written to {path}")
        return 0
    if args.command == "check-facts":
        from bot.facts import FactStoreError, load_fact_store
        from bot.safety import SafetyRulesError, load_safety_rules

        try:
            store = load_fact_store(args.facts)
            rules = load_safety_rules()
        except (FactStoreError, SafetyRulesError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(
            f"{args.facts}: {len(store.facts)} facts, {len(store.topics)} topics, "
            f"{len(store.procedures)} procedures; {len(rules.rules)} red-flag rules"
        )
        return 0
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
