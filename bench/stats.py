"""Latency percentiles and throughput, computed the same way for every measurement."""

from __future__ import annotations

import math
from typing import Dict, Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks.

    Written out instead of numpy so the load test client stays dependency-free and
    the definition is visible: p99 of 1000 samples interpolates between the 990th
    and 991st smallest values.
    """
    if not values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(latencies_s: Sequence[float], wall_s: float) -> Dict[str, float]:
    """p50/p95/p99/mean in milliseconds and completed requests per second of wall time."""
    count = len(latencies_s)
    return {
        "count": count,
        "p50_ms": round(percentile(latencies_s, 50) * 1000, 1),
        "p95_ms": round(percentile(latencies_s, 95) * 1000, 1),
        "p99_ms": round(percentile(latencies_s, 99) * 1000, 1),
        "mean_ms": round(sum(latencies_s) / count * 1000, 1) if count else math.nan,
        "throughput_per_s": round(count / wall_s, 2) if wall_s > 0 else math.nan,
        "wall_s": round(wall_s, 2),
    }
