"""End-to-end timings: REST turns at several concurrency levels, and /model/parse alone.

A "turn" is a patient message posted to the REST webhook and its complete answer:
NLU, policies, the custom action over HTTP, and the tracker saved to SQLite. Timing
/model/parse with the same texts gives the NLU share of that turn.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import aiohttp

from bench.load import check_run, read_tracker, run_conversations
from bench.questions import PATIENT_QUESTIONS
from bench.stats import latency_summary


def conversation_plan(turns: int, concurrency: int, length: int) -> tuple:
    """(conversations, messages each) for about `turns` turns at `concurrency`.

    Conversations are a multiple of the concurrency, so every slot stays busy until
    the end, and about `length` messages long: long enough to include follow-ups, short
    enough that tracker growth does not dominate (a clinic chat is a handful of turns).
    """
    waves = max(1, round(turns / (length * concurrency)))
    conversations = concurrency * waves
    return conversations, max(1, round(turns / conversations))


async def rest_level(
    base_url: str, concurrency: int, turns: int, length: int, seed: int, think_s: float = 0.0
) -> Dict[str, Any]:
    conversations, messages = conversation_plan(turns, concurrency, length)
    load_before = os.getloadavg()[0]
    run = await run_conversations(
        base_url,
        conversations,
        messages,
        seed=seed + concurrency,
        concurrency=concurrency,
        think_s=think_s,
    )
    return {
        "concurrency": concurrency,
        "think_s": think_s,
        "conversations": conversations,
        "messages_per_conversation": messages,
        "errors": sum(t.error is not None for c in run.conversations for t in c.turns),
        "load_average_before": round(load_before, 2),
        **latency_summary(run.latencies(), run.wall_s),
        "_run": run,
    }


def _cpu_ms_each(before: Dict[str, float], after: Dict[str, float], count: int) -> Dict[str, float]:
    """CPU milliseconds per request of each server process between two readings."""
    return {name: round((after[name] - before.get(name, 0.0)) / count * 1000, 1) for name in after}


def rest_levels(
    base_url: str,
    tracker_db: Optional[Path],
    levels: Sequence[int],
    turns: int,
    length: int = 10,
    seed: int = 42,
    think_s: float = 0.0,
    cpu: Optional[Callable[[], Dict[str, float]]] = None,
) -> List[Dict[str, Any]]:
    """Time each concurrency level, and check its conversations against the tracker store.

    Without a SQLite store (`tracker_db=None`) only the replies are checked. With
    `think_s` each conversation pauses after every answer: the rate is then the offered
    load, not the server's capacity, and the latencies are what a patient waits.
    """
    results = []
    for concurrency in levels:
        cpu_before = cpu() if cpu else {}
        result = asyncio.run(rest_level(base_url, concurrency, turns, length, seed, think_s))
        run = result.pop("_run")
        if cpu and result["count"]:
            result["cpu_ms_per_turn"] = _cpu_ms_each(cpu_before, cpu(), result["count"])
        if tracker_db is None:
            result["correct"] = not result["errors"]
        else:
            check = check_run(run, lambda sender: read_tracker(tracker_db, sender))
            result["correct"] = check.ok
        results.append(result)
    return results


async def parse_level(base_url: str, token: str, concurrency: int, requests: int) -> Dict[str, Any]:
    """`requests` calls of /model/parse from `concurrency` clients in a closed loop."""
    texts = [PATIENT_QUESTIONS[i % len(PATIENT_QUESTIONS)] for i in range(requests)]
    queue: asyncio.Queue = asyncio.Queue()
    for text in texts:
        queue.put_nowait(text)
    latencies: List[float] = []
    errors = 0
    url = base_url.rstrip("/") + "/model/parse"
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                text = queue.get_nowait()
                started = time.perf_counter()
                try:
                    async with session.post(
                        url, params={"token": token}, json={"text": text}
                    ) as response:
                        await response.read()
                        if response.status != 200:
                            errors += 1
                            continue
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall_s = time.perf_counter() - started
    return {"concurrency": concurrency, "errors": errors, **latency_summary(latencies, wall_s)}


def parse_levels(
    base_url: str,
    token: str,
    levels: Sequence[int],
    requests: int,
    cpu: Optional[Callable[[], Dict[str, float]]] = None,
) -> List[Dict[str, Any]]:
    results = []
    for concurrency in levels:
        before = cpu() if cpu else {}
        result = asyncio.run(parse_level(base_url, token, concurrency, requests))
        if cpu and result["count"]:
            result["cpu_ms_per_parse"] = _cpu_ms_each(before, cpu(), result["count"])["rasa"]
        results.append(result)
    return results


def warm_up(base_url: str, turns: int = 10) -> None:
    """A few conversations first, so lazy initialisation is not timed as latency."""
    asyncio.run(run_conversations(base_url, conversations=2, messages=max(1, turns // 2)))
