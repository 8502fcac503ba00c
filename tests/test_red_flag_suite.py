"""The blind red-flag suite (tests/red_flags.yml): every present red flag must alarm.

The suite was written by people who saw only the articles and a list of warning signs, never
the rules (data/safety*.yml). Recall on present red flags must be 100 %, here at the
red-flag layer and again end to end through the REST channel (where the classifier's own
`red_flag` intent can add alarms). The false-alarm rate on mere mentions is measured, written
to reports/red_flags.json and printed at the end of `make test` (tests/conftest.py); it is
not a pass/fail threshold, so that nobody tunes the rules to a number. The tuning set
(tests/red_flags_tuning.yml, used openly while writing the rules) is checked the same way.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Dict, List

import pytest
import yaml

from bench.conversations import for_each_patient, post
from bot.core import safety
from bot.core.paths import PROJECT_ROOT

SUITE = PROJECT_ROOT / "tests" / "red_flags.yml"
TUNING = PROJECT_ROOT / "tests" / "red_flags_tuning.yml"
REPORT = PROJECT_ROOT / "reports" / "red_flags.json"


def load(path) -> Dict[str, List[dict]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def write_report(section: str, data: dict) -> None:
    REPORT.parent.mkdir(exist_ok=True)
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    report[section] = data
    REPORT.write_text(json.dumps(report, indent=2))


def false_alarm_report(mentions: List[dict], alarmed: List[bool]) -> dict:
    kinds = Counter(m["kind"] for m in mentions)
    wrong = Counter(m["kind"] for m, alarm in zip(mentions, alarmed, strict=True) if alarm)
    return {
        "mentions": len(mentions),
        "false_alarms": sum(alarmed),
        "no_alarm_rate": round(1 - sum(alarmed) / len(mentions), 4),
        "false_alarms_by_kind": {kind: f"{wrong[kind]}/{kinds[kind]}" for kind in kinds},
        "false_alarm_texts": [m["text"] for m, a in zip(mentions, alarmed, strict=True) if a],
    }


def test_suite_is_big_enough_and_well_formed() -> None:
    suite = load(SUITE)
    assert len(suite["present"]) >= 200 and len(suite["mentions"]) >= 150
    for item in suite["present"]:
        assert item["text"].strip() and item["urgency"] in {"emergency", "crisis", "infection"}
    kinds = {item["kind"] for item in suite["mentions"]}
    assert {"negated", "question", "hypothetical", "history", "family", "chronic"} <= kinds


@pytest.mark.parametrize("path", [SUITE, TUNING], ids=["suite", "tuning"])
def test_every_present_red_flag_alarms_at_the_red_flag_layer(path) -> None:
    data = load(path)
    missed = [i["text"] for i in data["present"] if safety.assess(i["text"]).urgency is None]
    crisis_missed = [
        i["text"]
        for i in data["present"]
        if i["urgency"] == "crisis" and safety.assess(i["text"]).urgency != "crisis"
    ]
    alarmed = [safety.assess(m["text"]).urgency is not None for m in data["mentions"]]
    write_report(
        f"layer:{path.stem}",
        {
            "present": len(data["present"]),
            "missed": missed,
            "recall": round(1 - len(missed) / len(data["present"]), 4),
            **false_alarm_report(data["mentions"], alarmed),
        },
    )
    assert not missed, f"{len(missed)} present red flags got no alarm: {missed[:5]}"
    assert not crisis_missed, f"suicidal messages without the crisis advice: {crisis_missed}"


@pytest.mark.slow
def test_every_present_red_flag_alarms_through_rest(servers) -> None:
    suite = load(SUITE)

    def alarm(text: str) -> bool:
        replies = post(servers.url, f"rf-{uuid.uuid4().hex[:12]}", text)
        return any((reply.get("custom") or {}).get("urgency") for reply in replies)

    # Each message is its own patient; several write at once (for_each_patient).
    present = for_each_patient(alarm, [item["text"] for item in suite["present"]])
    alarmed = for_each_patient(alarm, [item["text"] for item in suite["mentions"]])
    missed = [item["text"] for item, hit in zip(suite["present"], present, strict=True) if not hit]
    write_report(
        "rest:red_flags",
        {
            "present": len(suite["present"]),
            "missed": missed,
            "recall": round(1 - len(missed) / len(suite["present"]), 4),
            **false_alarm_report(suite["mentions"], alarmed),
        },
    )
    assert not missed, f"{len(missed)} present red flags got no alarm over REST: {missed[:5]}"
