"""The benchmark's arithmetic: percentiles, histograms, the fan-out window, profile summaries."""

from __future__ import annotations

import math

from bench.stats import collapsed_summary, histogram, percentile, window_messages


def test_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(1, 11)]
    assert [percentile(values, q) for q in (0, 10, 30, 50, 90, 95, 99, 100)] == [1, 1, 3, 5, 9, 10, 10, 10]
    assert percentile([7.5], 99) == 7.5
    assert math.isnan(percentile([], 50))


def test_histogram_counts_bins_and_overflow_and_trims_empty_tail():
    result = histogram([0.1, 0.4, 0.6, 1.2, 9.0, 250.0], bin_ms=0.5, limit_ms=100.0)
    assert result["bin_ms"] == 0.5
    assert result["counts"][:3] == [2, 1, 1]
    assert sum(result["counts"]) == 5
    assert len(result["counts"]) == 19  # 9.0 ms falls in bin 18; empty bins after it are dropped
    assert result["overflow"] == 1


def test_window_keeps_a_few_messages_of_a_big_room_and_at_most_50_of_a_small_one():
    assert window_messages(1000) == 8
    assert window_messages(100) == 40
    assert window_messages(10) == 50
    assert window_messages(1) == 50


def test_collapsed_summary_shares_own_inclusive_and_project_samples():
    # py-spy's raw format: frames root first, paths as it shortens them, then a sample count.
    text = "\n".join(
        [
            "Runner.run (asyncio/runners.py:118);handle (gateway/delivery.py:440);write (gateway/delivery.py:100) 6",
            "Runner.run (asyncio/runners.py:118);handle (gateway/delivery.py:441);"
            "send (/x/.venv/lib/python3.11/site-packages/uvicorn/protocols/websockets/impl.py:9) 3",
            "Runner.run (/usr/lib/python3.11/asyncio/runners.py:118) 1",
            "garbage line without a count",
        ]
    )
    summary = collapsed_summary(text)
    assert summary["samples"] == 10
    assert summary["own"][0] == ["write (gateway/delivery.py)", 60.0]
    assert ["send (uvicorn/protocols/websockets/impl.py)", 30.0] in summary["own"]
    assert summary["inclusive"][0] == ["Runner.run (asyncio/runners.py)", 100.0]
    assert summary["project"] == [["handle (gateway/delivery.py)", 90.0], ["write (gateway/delivery.py)", 60.0]]
    # every function named on top or among the project's: its own share and its inclusive one
    assert summary["own_and_inclusive"] == {
        "write (gateway/delivery.py)": [60.0, 60.0],
        "send (uvicorn/protocols/websockets/impl.py)": [30.0, 30.0],
        "Runner.run (asyncio/runners.py)": [10.0, 100.0],
        "handle (gateway/delivery.py)": [0.0, 90.0],
    }


def test_collapsed_summary_of_nothing():
    assert collapsed_summary("") == {"samples": 0, "own": [], "inclusive": [], "project": [], "own_and_inclusive": {}}
