"""`python -m bot review`: what patients asked, what went unanswered, how it is going.

    python -m bot review --since 7d --out DIR [--db FILE | --endpoints FILE]
                         [--include-red-flags]

reads the period's conversations from the tracker store (the one endpoints.yml names,
SQLite or PostgreSQL) and writes three files into DIR:

- review.html: volume per day, outcomes, top topics with widget votes, and the review
  queue (not understood, not covered, sent to the care team, rated not helpful, answered
  with low confidence) in clusters of similar wording;
- unanswered.csv: the queue, one row per message, for a spreadsheet;
- suggestions.yml: per cluster, draft training examples and a draft "not covered"
  subject for a person to accept into data/. Nothing is ever applied automatically.

The files hold patient text: it is redacted of what can be recognised (bot/ops/redaction.py),
each file says so on its first line, and they are created readable by their owner only.
Red-flag messages appear as counts and times, never text, unless --include-red-flags.
Rasa never serves DIR. Exit code 2: bad arguments, no database, or an empty period.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import yaml

from bot.core.outcomes import RED_FLAG
from bot.ops.review_data import QUEUE_REASONS, Cluster, Review, Turn
from bot.ops.tracker_db import TrackerDbError, add_source_arguments, engine_for, parse_age

WARNING = (
    "CONTAINS PATIENT INFORMATION: messages patients typed, redacted of what could be"
    " recognised. Keep it private and delete it when the review is done."
)
EXAMPLES_PER_SUGGESTION = 8
FILE_MODE = 0o600
DIR_MODE = 0o700


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since",
        type=parse_age,
        required=True,
        metavar="AGE",
        help="the period to review, back from now: 7d, 24h",
    )
    parser.add_argument("--out", type=Path, required=True, help="directory for the report files")
    add_source_arguments(parser)
    parser.add_argument(
        "--include-red-flags",
        action="store_true",
        help="also list red-flag messages' text (default: counts and times only)",
    )


def _write_private(path: Path, text: str) -> None:
    """Create or replace `path` readable by its owner only, whatever the umask."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
        stream.write(text)
    os.chmod(path, FILE_MODE)  # an existing file keeps its old mode through os.open


def unanswered_csv(turns: Sequence[Turn], redact: Callable[[str], str]) -> str:
    """The review queue, one row per message, oldest first."""
    buffer = io.StringIO()
    buffer.write(f"# {WARNING}\n")
    writer = csv.writer(buffer)
    writer.writerow(["time_utc", "channel", "reason", "assistant_guess", "confidence", "text"])
    for turn in sorted(turns, key=lambda t: t.time):
        writer.writerow(
            [
                turn.time.strftime("%Y-%m-%d %H:%M:%S"),
                turn.channel,
                QUEUE_REASONS.get(turn.queue_reason or "", turn.queue_reason),
                turn.intent,
                f"{turn.confidence:.2f}",
                redact(turn.text),
            ]
        )
    return buffer.getvalue()


def _slug(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())[:6]
    return "_".join(words) or "subject"


def suggestions_yaml(clusters: Sequence[Cluster], redact: Callable[[str], str]) -> str:
    """Drafts per cluster: examples for the guessed intent, or a new uncovered subject."""
    drafts: List[Dict[str, Any]] = []
    for number, cluster in enumerate(clusters, 1):
        examples = list(dict.fromkeys(redact(turn.text) for turn in cluster.turns))
        examples = examples[:EXAMPLES_PER_SUGGESTION]
        drafts.append(
            {
                "cluster": number,
                "count": cluster.count,
                "reasons": [QUEUE_REASONS.get(reason, reason) for reason in cluster.reasons],
                "assistant_guess": cluster.guess,
                "if_the_articles_answer_it": {
                    "add_to": "data/nlu.yml",
                    "intent": cluster.guess,
                    "examples": examples,
                },
                "if_they_do_not": {
                    "add_to": "data/facts.yml (uncovered)",
                    "id": _slug(examples[0]) if examples else "subject",
                    "examples": examples,
                },
            }
        )
    header = (
        f"# {WARNING}\n"
        "# DRAFTS for a person to check: reword the examples in fresh words before adding\n"
        "# them to data/ (never paste a patient's message as is); nothing here is applied\n"
        "# automatically.\n"
    )
    return header + yaml.safe_dump({"suggestions": drafts}, sort_keys=False, allow_unicode=True)


def build_review(
    turns: List[Turn],
    start: dt.datetime,
    end: dt.datetime,
    encode: Optional[Callable[[Sequence[str]], Any]],
    include_red_flags: bool = False,
) -> Review:
    """The review of `turns`: the queue clustered by meaning (red flags never queued)."""
    from bot.ops.clusters import cluster_turns

    review = Review(start, end, turns, include_red_flag_text=include_red_flags)
    queue = review.queue()
    if queue and encode is not None:
        review.clusters = cluster_turns(queue, encode)
    return review


def write_report(review: Review, out: Path, generated: dt.datetime) -> List[Path]:
    """Write the three files into `out` (created owner-only); returns their paths."""
    from bot.ops import review_html
    from bot.ops.redaction import redact

    out.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    files = {
        "review.html": review_html.render(review, redact=redact, generated=generated),
        "unanswered.csv": unanswered_csv(review.queue(), redact),
        "suggestions.yml": suggestions_yaml(review.clusters, redact),
    }
    paths = []
    for name, text in files.items():
        path = out / name
        _write_private(path, text)
        paths.append(path)
    return paths


def _encoder() -> Callable[[Sequence[str]], Any]:
    from bot.nlu.encoder import EncoderMissingError, SentenceEncoder

    try:
        encoder = SentenceEncoder()
        encoder.encode(["warm up"])
    except EncoderMissingError as error:
        raise TrackerDbError(f"{error} (run `make encoder`)") from None
    return encoder.encode


def run(args: argparse.Namespace, now: Optional[dt.datetime] = None) -> int:
    """The `review` command; returns the exit code. Prints counts and paths only."""
    from bot.ops.conversations import read_turns

    end = now or dt.datetime.now(dt.timezone.utc)
    start = end - args.since
    period = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    try:
        turns = read_turns(engine_for(args), start)
        if not turns:
            raise TrackerDbError(f"no patient messages from {period}: nothing to review", 2)
        review = build_review(turns, start, end, _encoder(), args.include_red_flags)
        paths = write_report(review, args.out, end)
    except TrackerDbError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    counts = review.outcome_counts()
    print(
        f"{len(turns)} patient message(s) from {period}: {counts['answered']} answered,"
        f" {len(review.queue())} in the review queue ({len(review.clusters)} cluster(s)),"
        f" {counts[RED_FLAG]} red flag(s)"
    )
    for path in paths:
        print(f"wrote {path} (owner-only; contains patient information)")
    return 0
