"""Benchmarks: ingest throughput, search latency and near-duplicate merging.

Not tests: every figure is measured against a baseline in the same run, because ratios
hold across machines while absolute times drift. ``python -m bench.run`` runs them all and
writes ``docs/benchmarks.md``.
"""

from __future__ import annotations

import json
import math
import resource
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
SEED = 20260101


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by the nearest-rank method."""
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """This process's current resident set size, in MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 1024 / 1024


def result_path(name: str, quick: bool) -> Path:
    return OUT / f"result-{'quick' if quick else 'full'}-{name}.json"


def save_result(name: str, quick: bool, data: dict[str, Any]) -> Path:
    """Write one benchmark's figures where ``bench.run`` collects them."""
    OUT.mkdir(parents=True, exist_ok=True)
    data = {"name": name, "quick": quick, "finished": int(time.time()), **data}
    path = result_path(name, quick)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
