"""Grade blind conversation sets end to end through the REST channel.

A set (tests/conversations_blind.yml, tests/conversations_tuning.yml) lists conversations
written by people who saw only the articles, the topics and the reply contract. Each is
sent turn by turn as one new patient; the reply to the LAST turn is graded:

- every `expect` regex must match, and no `forbid` regex may, in the reply's text with the
  source lines removed and buttons ignored (a button title or a citation alone must never
  satisfy an expectation);
- `custom.urgency` must be present exactly when the case expects an urgency, and be
  "crisis" when it expects a crisis (the 988 line).

    python -m bench.conversations tests/conversations_tuning.yml [--show-misses]

starts its own servers with the current model; tests/test_conversations_blind.py runs the
same grading in `make test`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, TypeVar

import yaml

SOURCE_LINE = re.compile(r"^Sources?: .*$", re.MULTILINE)
NO_URGENCY = "none"
# Conversations sent side by side, as a clinic's patients write at once.
PATIENTS_AT_ONCE = 4
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    turns: Sequence[str]
    expect: Sequence[str]
    forbid: Sequence[str]
    urgency: str


@dataclass
class Result:
    case: Case
    passed: bool
    reasons: List[str] = field(default_factory=list)
    reply: str = ""
    urgency: Optional[str] = None


def load_cases(path: Path) -> List[Case]:
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    cases = []
    for raw in document["conversations"]:
        turns = raw["turns"] if isinstance(raw["turns"], list) else [raw["turns"]]
        cases.append(
            Case(
                id=str(raw["id"]),
                kind=str(raw["kind"]),
                turns=[str(turn) for turn in turns],
                expect=[str(p) for p in raw.get("expect") or []],
                forbid=[str(p) for p in raw.get("forbid") or []],
                urgency=str(raw.get("urgency") or NO_URGENCY).lower(),
            )
        )
    return cases


def graded_text(messages: Sequence[Dict[str, Any]]) -> str:
    """The reply's text as graded: every message's text, source lines removed."""
    texts = [m.get("text") or "" for m in messages]
    return SOURCE_LINE.sub("", "\n\n".join(texts)).strip()


def urgency_of(messages: Sequence[Dict[str, Any]]) -> Optional[str]:
    for message in messages:
        custom = message.get("custom")
        if isinstance(custom, dict) and custom.get("urgency"):
            return str(custom["urgency"])
    return None


def grade(case: Case, messages: Sequence[Dict[str, Any]]) -> Result:
    text = graded_text(messages)
    urgency = urgency_of(messages)
    reasons = []
    for pattern in case.expect:
        if not re.search(pattern, text, re.IGNORECASE):
            reasons.append(f"missing /{pattern}/")
    for pattern in case.forbid:
        if re.search(pattern, text, re.IGNORECASE):
            reasons.append(f"forbidden /{pattern}/")
    if case.urgency == NO_URGENCY and urgency:
        reasons.append(f"false alarm ({urgency})")
    if case.urgency != NO_URGENCY:
        if not urgency:
            reasons.append(f"no urgency (expected {case.urgency})")
        elif case.urgency == "crisis" and urgency != "crisis":
            reasons.append(f"urgency {urgency}, expected crisis")
    return Result(case, not reasons, reasons, text, urgency)


def post(url: str, sender: str, text: str, timeout: float = 60.0) -> List[Dict[str, Any]]:
    request = urllib.request.Request(
        url + "/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def run_case(url: str, case: Case) -> Result:
    sender = f"blind-{case.id}-{uuid.uuid4().hex[:8]}"
    messages: List[Dict[str, Any]] = []
    for turn in case.turns:
        messages = post(url, sender, turn)
    return grade(case, messages)


def for_each_patient(
    send: Callable[[T], R], items: Sequence[T], at_once: int = PATIENTS_AT_ONCE
) -> List[R]:
    """`send(item)` for every item, each its own patient, `at_once` at a time; results in
    the items' order.

    Each patient's turns go one after another; patients run side by side so the action
    server's and Rasa's work overlap on the machine's cores. A reply depends only on its
    own conversation, so the results are the same as one at a time.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=at_once) as pool:
        return list(pool.map(send, items))


def run_set(url: str, cases: Sequence[Case]) -> List[Result]:
    """Every case graded, as its own patient (`for_each_patient`)."""
    return for_each_patient(lambda case: run_case(url, case), cases)


def scores(results: Sequence[Result]) -> Dict[str, Dict[str, float]]:
    """Per kind and overall: passed, total, share."""
    table: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    for result in results:
        for key in (result.case.kind, "overall"):
            table[key][0] += int(result.passed)
            table[key][1] += 1
    return {
        kind: {"passed": passed, "total": total, "share": passed / total if total else 0.0}
        for kind, (passed, total) in sorted(table.items(), key=lambda item: item[0] == "overall")
    }


def format_scores(table: Dict[str, Dict[str, float]]) -> List[str]:
    return [
        f"{kind:16} {row['passed']:>4}/{row['total']:<4} {100 * row['share']:5.1f} %"
        for kind, row in table.items()
    ]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--url", help="a running Rasa server (default: start one)")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--json", type=Path, help="write every result here")
    args = parser.parse_args(argv)
    cases = [case for path in args.sets for case in load_cases(path)]

    def evaluate(url: str) -> List[Result]:
        return run_set(url, cases)

    if args.url:
        results = evaluate(args.url)
    else:
        from harness.servers import running_servers

        with tempfile.TemporaryDirectory() as workdir:
            with running_servers(Path(workdir), {"CLINIC_CONFIG": ""}) as servers:
                results = evaluate(servers.url)
    for line in format_scores(scores(results)):
        print(line)
    if args.show_misses:
        for result in results:
            if not result.passed:
                print(f"\n{result.case.id} [{result.case.kind}] {'; '.join(result.reasons)}")
                for turn in result.case.turns:
                    print(f"  > {turn}")
                print("  < " + result.reply.replace("\n", "\n    "))
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "id": r.case.id,
                        "kind": r.case.kind,
                        "passed": r.passed,
                        "reasons": r.reasons,
                    }
                    for r in results
                ],
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
