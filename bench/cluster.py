"""One Rasa process against two replicas behind nginx: throughput, latency, CPU per turn.

    python -m bench.cluster [--levels 8,32] [--turns 400] [--json reports/cluster_bench.json]

Three set-ups, each measured at every level of concurrent conversations (each
conversation sends its next message as soon as the answer arrives, so the servers are
never idle):

- one Rasa process (+ its action server) on SQLite, as `make run` serves;
- one Rasa process on PostgreSQL and the Redis lock store (deploy/endpoints.yml);
- `make cluster`: two replicas behind nginx (bot/server/cluster.py).

CPU is read from /proc for each group of processes (Rasa and action servers, nginx,
PostgreSQL's server processes, redis-server), so the cost of the shared services per
turn is measured, not guessed. Timings are reported, never asserted; the projection in
docs/benchmarks.md is computed from these figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from bench.load import check_run, read_tracker, run_conversations, sql_tracker_reader
from bench.stats import latency_summary
from bot.core.paths import PROJECT_ROOT

TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> List[Dict[str, Any]]:
    """pid, command name, process group and CPU seconds of every process we may read."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        found.append(
            {
                "pid": int(entry.name),
                "name": name,
                "pgrp": int(fields[2]),
                "cpu_s": (int(fields[11]) + int(fields[12])) / TICKS,
            }
        )
    return found


def cpu_by_role(groups: Dict[str, Callable[[Dict[str, Any]], bool]]) -> Dict[str, float]:
    """CPU seconds used so far by the processes each predicate selects."""
    processes = _processes()
    return {
        role: sum(p["cpu_s"] for p in processes if wanted(p)) for role, wanted in groups.items()
    }


def measure(
    urls: Any,
    levels: List[int],
    turns: int,
    reader: Callable[[str], Any],
    groups: Dict[str, Callable[[Dict[str, Any]], bool]],
) -> List[Dict[str, Any]]:
    rows = []
    for level in levels:
        messages = max(2, turns // level)
        # A short warm-up so first-turn costs (model warm-up, connections) are not counted.
        asyncio.run(run_conversations(urls, level, 2, seed=level))
        before = cpu_by_role(groups)
        run = asyncio.run(run_conversations(urls, level, messages, seed=level))
        after = cpu_by_role(groups)
        check = check_run(run, reader)
        timing = latency_summary(run.latencies(), run.wall_s)
        done = timing["count"]
        rows.append(
            {
                "conversations": level,
                "turns": done,
                "ok": check.ok,
                "turns_per_s": timing["throughput_per_s"],
                "p50_ms": timing["p50_ms"],
                "p95_ms": timing["p95_ms"],
                "cpu_ms_per_turn": {
                    role: round((after[role] - before[role]) * 1000 / max(done, 1), 2)
                    for role in groups
                },
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _in_groups(pgids: List[int]) -> Callable[[Dict[str, Any]], bool]:
    return lambda p: p["pgrp"] in pgids


def run(levels: List[int], turns: int, workdir: Path) -> Dict[str, Any]:
    from harness.cluster import running_cluster
    from harness.servers import running_servers

    postgres = lambda p: p["name"] == "postgres"  # noqa: E731 - the server's processes
    results: Dict[str, Any] = {"cpus": os.cpu_count(), "levels": levels, "turns": turns}

    (workdir / "sqlite").mkdir(parents=True, exist_ok=True)
    with running_servers(workdir / "sqlite", {"CLINIC_CONFIG": ""}) as servers:
        pids = {process.pid for process in servers.processes}
        groups = {"rasa+actions": lambda p: p["pid"] in pids}
        print("one process, SQLite", flush=True)
        results["one process, SQLite"] = measure(
            servers.url, levels, turns, lambda s: read_tracker(servers.tracker_db, s), groups
        )

    with running_cluster(workdir / "cluster", replicas=2) as cluster:
        replica_groups = [os.getpgid(p.pid) for p in cluster.cluster.replicas]
        nginx_group = [os.getpgid(cluster.cluster.nginx.pid)]
        reader = sql_tracker_reader(cluster.database_url)
        groups = {
            "rasa+actions": _in_groups(replica_groups),
            "nginx": _in_groups(nginx_group),
            "postgresql": postgres,
            "redis": lambda p: p["pid"] == cluster.redis.process.pid,
        }
        print("two replicas behind nginx, PostgreSQL + Redis", flush=True)
        results["two replicas behind nginx"] = measure(cluster.url, levels, turns, reader, groups)
        # One replica alone on the same services: stop the other and bypass nginx.
        cluster.cluster.stop_replica(1)
        groups["rasa+actions"] = _in_groups(replica_groups[:1])
        del groups["nginx"]
        print("one process, PostgreSQL + Redis", flush=True)
        results["one process, PostgreSQL + Redis"] = measure(
            cluster.replica(0).url, levels, turns, reader, groups
        )
    return results


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="8,32")
    parser.add_argument("--turns", type=int, default=400, help="turns per level")
    parser.add_argument(
        "--json", type=Path, default=PROJECT_ROOT / "reports" / "cluster_bench.json"
    )
    args = parser.parse_args(argv)
    levels = [int(level) for level in args.levels.split(",")]
    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as scratch:
        results = run(levels, args.turns, Path(scratch))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {args.json}")
    rows = [row for value in results.values() if isinstance(value, list) for row in value]
    return 0 if all(row["ok"] for row in rows if isinstance(row, dict)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
