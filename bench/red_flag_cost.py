"""CPU per message of the red-flag layer, over every message of the red-flag suites.

    python -m bench.red_flag_cost

`bot.core.safety.assess` as the NLU pipeline calls it, after one warm-up message (building the
medspaCy pipeline is a one-off at start-up). CPU time (`time.process_time`), so a busy
machine does not inflate it. The target is at most 5 ms per message (issue 9).
"""

from __future__ import annotations

import time
from typing import List

import yaml

from bot.core import safety
from bot.core.paths import PROJECT_ROOT

SUITES = ("red_flags.yml", "red_flags_tuning.yml")


def messages() -> List[str]:
    texts: List[str] = []
    for name in SUITES:
        suite = yaml.safe_load((PROJECT_ROOT / "tests" / name).read_text(encoding="utf-8"))
        texts += [item["text"] for item in suite["present"] + suite["mentions"]]
    return texts


def main() -> float:
    texts = messages()
    safety.assess("warm up")
    started = time.process_time()
    for text in texts:
        safety.assess(text)
    per_message = 1000 * (time.process_time() - started) / len(texts)
    print(f"{len(texts)} messages: {per_message:.2f} ms of CPU per message")
    return per_message


if __name__ == "__main__":
    main()
