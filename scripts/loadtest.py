"""Load test: many concurrent conversations over the REST channel, checked for correctness.

    .venv/bin/python scripts/loadtest.py                      # starts its own servers (make load)
    .venv/bin/python scripts/loadtest.py --url http://127.0.0.1:5005   # against `make run`

Every conversation has its own sender id and sends its messages one after another;
conversations run concurrently. Afterwards each conversation's tracker (read from the
SQLite tracker store, so Rasa's HTTP API stays off) must hold exactly its messages, in
order, with the replies the client received. Prints the result and writes it as JSON;
exits 1 when any message was lost, duplicated, reordered or answered wrongly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from bench.load import check_run, read_tracker, report, run_conversations  # noqa: E402

DEFAULT_TRACKER_DB = PROJECT_ROOT / "var" / "conversations.sqlite3"


def load_test(
    url: str, tracker_db: Path, conversations: int, messages: int, seed: int
) -> Dict[str, Any]:
    """Run the conversations against `url`, then check them against `tracker_db`."""
    load_before = os.getloadavg()[0]
    run = asyncio.run(run_conversations(url, conversations, messages, seed=seed))
    check = check_run(run, lambda sender: read_tracker(tracker_db, sender))
    return report(
        run,
        check,
        url=url,
        messages_per_conversation=messages,
        seed=seed,
        cpus=os.cpu_count(),
        load_average_before=round(load_before, 2),
        load_average_after=round(os.getloadavg()[0], 2),
    )


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running Rasa server (default: start one on free ports)")
    parser.add_argument(
        "--tracker-db",
        type=Path,
        help=f"its SQLite tracker store (default with --url: {DEFAULT_TRACKER_DB})",
    )
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="messages per conversation")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, default=PROJECT_ROOT / "reports" / "load.json")
    parser.add_argument(
        "--workdir", type=Path, help="keep the started servers' logs and tracker store here"
    )
    args = parser.parse_args(argv)

    if args.url:
        result = load_test(
            args.url,
            args.tracker_db or DEFAULT_TRACKER_DB,
            args.conversations,
            args.messages,
            args.seed,
        )
    else:
        from harness.servers import running_servers

        with tempfile.TemporaryDirectory(prefix="loadtest-") as scratch:
            workdir = args.workdir or Path(scratch)
            workdir.mkdir(parents=True, exist_ok=True)
            print("starting the action server and Rasa on free loopback ports ...", flush=True)
            # The production reply limit (scripts/serve.sh leaves bot/channels/fallback.py's
            # 8 s default), not the test servers' generous one: patients' view under load.
            timeout = os.environ.get("ACTION_REPLY_TIMEOUT", "8")
            with running_servers(workdir, {"ACTION_REPLY_TIMEOUT": timeout}) as servers:
                result = load_test(
                    servers.url,
                    args.tracker_db or servers.tracker_db,
                    args.conversations,
                    args.messages,
                    args.seed,
                )
                result["action_reply_timeout_s"] = float(timeout)

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    verdict = "OK" if result["ok"] else "FAILED"
    print(
        f"{verdict}: {result['sent']} sent, {result['replies']} replies, "
        f"{result['errors']} errors, "
        f"{result['lost']} lost, {result['duplicated']} duplicated, {result['reordered']} "
        f"reordered; p50/p95/p99 {result['p50_ms']}/{result['p95_ms']}/{result['p99_ms']} ms, "
        f"{result['throughput_msg_per_s']} msg/s ({args.json})"
    )
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
