"""The blind conversation sets, graded end to end through the REST channel.

tests/conversations_blind.yml was written by people who saw only the two articles, the list
of topics and the reply contract (bench/conversations.py explains the grading); the model
is never trained on it. Scores per kind are written to reports/conversations.json and
printed at the end of `make test`. The floors below are regression guards set under the
measured scores (docs/benchmarks.md has the figures and the targets), not targets.
"""

from __future__ import annotations

import json

import pytest

from bench.conversations import load_cases, run_set, scores
from bot.core.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow

BLIND = PROJECT_ROOT / "tests" / "conversations_blind.yml"
TUNING = PROJECT_ROOT / "tests" / "conversations_tuning.yml"
REPORT = PROJECT_ROOT / "reports" / "conversations.json"
FLOORS = {"blind": 0.80, "tuning": 0.80}


def test_blind_set_is_big_enough_and_covers_every_kind() -> None:
    cases = load_cases(BLIND)
    assert len(cases) >= 300
    kinds = {case.kind for case in cases}
    assert {"faq", "comparison", "follow_up", "not_covered", "personal", "out_of_scope"} <= kinds
    assert {"typo_odd", "long", "symptom_mention", "red_flag"} <= kinds
    assert len({case.id for case in cases}) == len(cases)


@pytest.mark.parametrize("name, path", [("blind", BLIND), ("tuning", TUNING)])
def test_conversation_set_scores(servers, name, path) -> None:
    results = run_set(servers.url, load_cases(path))
    table = scores(results)
    REPORT.parent.mkdir(exist_ok=True)
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    report[name] = {
        "scores": table,
        "misses": [
            {"id": r.case.id, "kind": r.case.kind, "reasons": r.reasons}
            for r in results
            if not r.passed
        ],
    }
    REPORT.write_text(json.dumps(report, indent=2))
    overall = table["overall"]["share"]
    assert overall >= FLOORS[name], f"{name} set: {overall:.3f} < floor {FLOORS[name]}"
