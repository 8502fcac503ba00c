"""The benchmark cannot rot: its scoring is checked here and a quick run goes end to end.

No timing is asserted: the numbers belong in docs/benchmarks.md (`make bench`), not in
pass/fail tests on a shared machine.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bench import report
from bench.nlu_eval import (
    FALLBACK,
    Example,
    Prediction,
    load_examples,
    prediction_from_parse,
    scores,
    sweep,
)
from bench.stats import percentile
from bot.core.paths import PROJECT_ROOT

STOCK_CONFIG = PROJECT_ROOT / "bench" / "configs" / "stock.yml"


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0], 95) == 3.0


def test_stock_config_is_rasas_default() -> None:
    """The baseline is the pipeline and policies `rasa init` trains with, untouched."""
    rasa_dir = Path(importlib.util.find_spec("rasa").origin).parent  # no TensorFlow import
    default_file = rasa_dir / "engine" / "recipes" / "config_files" / "default_config.yml"
    default = yaml.safe_load(default_file.read_text())
    stock = yaml.safe_load(STOCK_CONFIG.read_text())
    assert stock["pipeline"] == default["pipeline"]
    assert stock["policies"] == default["policies"]
    assert "bot." not in STOCK_CONFIG.read_text()


def test_examples_are_read_like_rasa_reads_them() -> None:
    examples = load_examples(PROJECT_ROOT / "tests" / "nlu_heldout.yml")
    assert len(examples) >= 150
    assert all(e.text and e.intent and "\n" not in e.text for e in examples)
    assert {"out_of_scope", "red_flag"} <= {e.intent for e in examples}


def test_fallback_is_scored_as_handled_only_for_out_of_scope() -> None:
    examples = [Example("a", "ask_pain"), Example("b", "ask_pain"), Example("c", "out_of_scope")]
    predictions = [
        Prediction("ask_pain", [("ask_pain", 0.9)]),
        Prediction(FALLBACK, [("ask_duration", 0.2)]),
        Prediction(FALLBACK, [("ask_pain", 0.25)]),
    ]
    result = scores(examples, predictions)
    assert result["accuracy"] == pytest.approx(1 / 3, abs=1e-3)
    assert result["out_of_scope_handled"] == 1.0
    assert result["in_scope_accuracy"] == 0.5
    assert result["in_scope_to_fallback"] == 1


def test_sweep_trades_in_scope_accuracy_for_out_of_scope_recall() -> None:
    examples = [Example("a", "ask_pain"), Example("b", "out_of_scope")]
    parsed = [
        {
            "intent": {"name": "ask_pain"},
            "intent_ranking": [{"name": "ask_pain", "confidence": 0.6}],
        },
        {
            "intent": {"name": FALLBACK},
            "intent_ranking": [
                {"name": FALLBACK, "confidence": 0.7},
                {"name": "ask_pain", "confidence": 0.3},
            ],
        },
    ]
    predictions = [prediction_from_parse(p) for p in parsed]
    assert predictions[1].top() == ("ask_pain", 0.3)  # the fallback is not a ranked intent
    points = {p["threshold"]: p for p in sweep(examples, predictions, thresholds=[0.2, 0.5, 0.7])}
    assert (points[0.2]["in_scope_accuracy"], points[0.2]["out_of_scope_recall"]) == (1.0, 0.0)
    assert (points[0.5]["in_scope_accuracy"], points[0.5]["out_of_scope_recall"]) == (1.0, 1.0)
    assert (points[0.7]["in_scope_accuracy"], points[0.7]["out_of_scope_recall"]) == (0.0, 1.0)


def test_regenerating_the_doc_keeps_hand_written_text(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    report.write_doc(doc, f"{report.BEGIN}\nfirst\n{report.END}")
    assert "first" in doc.read_text()  # a missing doc is created around the section
    doc.write_text(f"# Title\n\n{report.BEGIN}\nold numbers\n{report.END}\n\n## Tuning\nkept\n")
    report.write_doc(doc, f"{report.BEGIN}\nnew numbers\n{report.END}")
    text = doc.read_text()
    assert "new numbers" in text and "old numbers" not in text
    assert text.startswith("# Title") and text.rstrip().endswith("kept")


def _tables(markdown: str) -> list:
    """Markdown tables as lists of rows of cells."""
    tables, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append([cell.strip() for cell in line.strip("|").split("|")])
        elif current:
            tables.append(current)
            current = []
    return tables + ([current] if current else [])


@pytest.mark.slow
def test_quick_bench_writes_a_well_formed_report(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "scripts" / "bench.py"),
            "--quick",
            "--systems",
            "ours,tfidf",
            "--out-dir",
            str(tmp_path),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    result = json.loads((tmp_path / "bench.json").read_text())
    systems = {system["name"]: system for system in result["systems"]}
    assert set(systems) == {"ours", "tfidf"}
    for system in systems.values():
        assert 0.0 <= system["nlu"]["accuracy"] <= 1.0
        assert [p["threshold"] for p in system["nlu"]["sweep"]] == [
            0.1,
            0.2,
            0.3,
            0.4,
            0.5,
            0.6,
            0.7,
            0.8,
            0.9,
        ]
    e2e = systems["ours"]["e2e"]
    assert [level["concurrency"] for level in e2e["rest"]] == [1, 8, 32]
    assert all(level["count"] > 0 and level["correct"] for level in e2e["rest"])
    assert all(level["count"] > 0 for level in e2e["parse"])
    assert e2e["cold_start_s"] > 0 and e2e["peak_memory_mb"] > 0

    markdown = (tmp_path / "benchmarks.md").read_text()
    assert report.BEGIN in markdown and report.END in markdown
    tables = _tables(markdown)
    assert len(tables) >= 6
    for table in tables:
        assert all(len(row) == len(table[0]) for row in table), table
        assert set(table[1]) == {"---"}
    nlu = next(t for t in tables if t[0][0] == "System" and "Macro-F1" in t[0])
    assert [row[0] for row in nlu[2:]] == [systems["ours"]["label"], systems["tfidf"]["label"]]
    assert (tmp_path / "benchmark_tradeoff.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_profile_shares_count_busy_samples_once_per_part(tmp_path) -> None:
    """bench/profile_turns.py: idle threads excluded, a part counted once per sample."""
    from bench.profile_turns import shares

    collapsed = tmp_path / "rasa.collapsed"
    collapsed.write_text(
        "main (x.py:1);_worker (concurrent/futures/thread.py:81) 50\n"
        "main (x.py:1);parse_message (rasa/core/processor.py:10);"
        "parse_message (rasa/core/processor.py:20);call (tf.py:3) 30\n"
        "main (x.py:1);save (rasa/core/tracker_store.py:5);do_commit (sqlalchemy.py:9) 10\n"
    )
    busy, share, top = shares(collapsed)
    assert busy == 40
    assert share["NLU: parse_message (spaCy, featurizers, DIET, overrides)"] == 0.75
    assert share["tracker store: save"] == 0.25
    assert share["policies"] == 0.0
    assert top[0] == ("call (tf.py:3)", 0.75)


def test_sms_cost_counts_every_answer_and_the_compact_rendering_bills_less() -> None:
    from bench import sms_cost

    results = sms_cost.main()
    assert results["before"]["answers"] == results["after"]["answers"] > 20
    assert results["after"]["total_segments"] < results["before"]["total_segments"]
    assert results["after"]["max_segments"] <= results["before"]["max_segments"]
