"""The arithmetic of the benchmark, free of processes and I/O: percentiles, histograms, the
fan-out window, and the summary of a py-spy profile."""

from __future__ import annotations

import math
from array import array
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("chatproject/", "gateway/", "send/", "meta/", "registry/")


def window_messages(size: int) -> int:
    """Messages a fan-out may have in flight: enough to keep every process busy, few enough
    that no channel (the stock layer holds 100 messages per consumer) overflows."""
    return min(50, max(8, 4000 // size))


def percentile(sorted_values: list[float] | array, q: float) -> float:
    """Nearest-rank percentile of an ascending sequence (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values) - 1e-9)))
    return float(sorted_values[rank - 1])


def histogram(values_ms: list[float], *, bin_ms: float, limit_ms: float) -> dict[str, Any]:
    """Counts per `bin_ms` bin from 0 to `limit_ms`; what lies beyond is `overflow`."""
    bins = int(limit_ms / bin_ms)
    counts = [0] * bins
    overflow = 0
    for value in values_ms:
        index = int(value / bin_ms)
        if 0 <= index < bins:
            counts[index] += 1
        elif index >= bins:
            overflow += 1
    while counts and counts[-1] == 0:
        counts.pop()
    return {"bin_ms": bin_ms, "counts": counts, "overflow": overflow}


def collapsed_summary(text: str, *, top: int = 15) -> dict[str, Any]:
    """Top functions of py-spy's raw (collapsed stack) output, as shares of all samples: by own
    samples (the frame on top), by inclusive samples, and inclusive among the project's own
    functions (where its code spends, framework frames left out); and both shares of every
    function those lists name. Line numbers are dropped."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    project: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_function_of(frame) for frame in stack.split(";") if frame]
        if not frames:
            continue
        total += count
        own[frames[-1][0]] += count
        for name, mine in set(frames):
            inclusive[name] += count
            if mine:
                project[name] += count
    if not total:
        return {"samples": 0, "own": [], "inclusive": [], "project": [], "own_and_inclusive": {}}

    def shares(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    listed = {name for counter in (own, project) for name, _n in counter.most_common(top)}
    both = {name: [round(100 * own[name] / total, 1), round(100 * inclusive[name] / total, 1)] for name in listed}
    return {
        "samples": total,
        "own": shares(own),
        "inclusive": shares(inclusive),
        "project": shares(project),
        "own_and_inclusive": both,
    }


PROJECT_PACKAGES = ("chatproject/", "gateway/", "send/", "meta/", "registry/")


def _function_of(frame: str) -> tuple[str, bool]:
    """`deliver (/repo/gateway/delivery.py:150)` → (`deliver (gateway/delivery.py)`, True: the
    project's own); site-packages and standard-library paths are shortened."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0] if ":" in where else where
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif "/lib/python" in path:
        path = path.split("/lib/python", 1)[1].split("/", 1)[-1]  # as py-spy shortens the stdlib
    elif path.startswith(str(REPO) + "/"):
        path = path[len(str(REPO)) + 1 :]
    mine = path.startswith(PROJECT_PACKAGES) and "management/commands" not in path
    return (f"{name} ({path})" if path else name), mine
