"""Where a REST turn's CPU goes inside the Rasa process, sampled with py-spy.

    pip install py-spy    # a profiler, not a project dependency
    .venv/bin/python -m bench.profile_turns [--plain-rasa] [--turns 400] [--py-spy PATH]

Starts the action server and Rasa as the tests do (SQLite tracker store, the deployed
model, bot.server.launcher unless --plain-rasa), sends 8 concurrent conversations, samples
the Rasa process meanwhile and prints the share of samples in which each of a few
named parts of a turn is on the stack ("Where a turn's time goes" in
docs/benchmarks.md). Idle samples (the event loop waiting) are excluded.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from bench.e2e import warm_up
from bench.load import run_conversations

# Part of a turn -> a substring of a frame ("function (file)") that marks it.
PARTS: List[Tuple[str, str]] = [
    ("NLU: parse_message (spaCy, featurizers, DIET, overrides)", "parse_message (rasa/core"),
    ("policies", "_predict_next_with_tracker (rasa/core/processor"),
    ("tracker store: retrieve", "retrieve (rasa/core/tracker_store"),
    ("tracker store: save", "save (rasa/core/tracker_store"),
    ("action reply validation", "_validate_action_result"),
    ("event class lookup", "resolve_by_type"),
    ("events -> JSON for the action server", "current_state (rasa/shared/core/trackers"),
    ("custom action (HTTP call + reply)", "run (rasa/core/actions/action"),
    ("domain -> dict for the action server", "as_dict (rasa/shared/core/domain"),
]
# Leaf frames of a thread that is waiting, not working: the event loop's select and
# idle thread-pool workers blocked on their queue.
IDLE = ("select (selectors", "poll (selectors", "_worker (concurrent/futures/thread.py")


def shares(collapsed: Path) -> Tuple[int, Dict[str, float], List[Tuple[str, float]]]:
    """Busy samples, each part's share of them, and the top leaf functions."""
    busy = 0
    parts: Dict[str, int] = collections.Counter()
    leaves: Dict[str, int] = collections.Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        if any(marker in frames[-1] for marker in IDLE):
            continue
        busy += count
        leaves[frames[-1]] += count
        for name, marker in PARTS:
            if any(marker in frame for frame in frames):  # once per sample
                parts[name] += count
    share = {name: parts[name] / busy for name, _ in PARTS} if busy else {}
    top = [(leaf, n / busy) for leaf, n in leaves.most_common(15)] if busy else []
    return busy, share, top


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plain-rasa", action="store_true")
    parser.add_argument("--conversations", type=int, default=40)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument("--out", type=Path, default=None, help="keep the collapsed stacks")
    args = parser.parse_args(argv)

    from harness.servers import Servers

    with tempfile.TemporaryDirectory(prefix="profile-") as scratch:
        workdir = Path(scratch)
        collapsed = args.out or workdir / "rasa.collapsed"
        servers = Servers(workdir, speedups=not args.plain_rasa)
        try:
            servers.start_actions()
            servers.start_rasa()
            warm_up(servers.url, turns=20)
            spy = subprocess.Popen(
                [args.py_spy, "record", "-p", str(servers.process("rasa").pid), "-r", "200"]
                + ["-f", "raw", "-o", str(collapsed), "--nonblocking"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            run = asyncio.run(
                run_conversations(
                    servers.url, args.conversations, args.messages, seed=7, concurrency=8
                )
            )
            spy.send_signal(signal.SIGINT)  # py-spy writes its file and exits
            spy.wait(timeout=60)
        finally:
            servers.stop()
        busy, share, top = shares(collapsed)
    turns = len(run.latencies())
    print(f"{turns} turns, {busy} busy samples ({busy / max(turns, 1):.1f} per turn at 200 Hz)")
    for name, value in sorted(share.items(), key=lambda item: -item[1]):
        print(f"{value:6.1%}  {name}")
    print("top leaf functions:")
    for leaf, value in top:
        print(f"{value:6.1%}  {leaf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
