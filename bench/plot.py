"""The latency plot of `make bench` (`bench/results/latency.png`): histogram and cumulative
distribution of the latency phase's deliveries, with the percentiles and the targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.report import LATENCY_P50_TARGET_MS, LATENCY_P99_TARGET_MS


def plot_latency(values_ms: list[float], latency: dict[str, Any], path: Path) -> None:
    """Histogram and CDF of the latency samples, with the percentiles and the targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    figure, (hist_ax, cdf_ax) = plt.subplots(1, 2, figsize=(12, 4.5), dpi=100)
    limit = max(latency["p99_ms"] * 1.5, LATENCY_P99_TARGET_MS * 1.1) if values_ms else 60.0
    shown = [v for v in values_ms if v <= limit]
    hist_ax.hist(shown, bins=120, color="#3b7dd8")
    hist_ax.set_xlabel("send_message request → frame arrival (ms)")
    hist_ax.set_ylabel("deliveries")
    hist_ax.set_title(
        f"{latency['samples']:,} deliveries at {latency['target_deliveries_per_s']:,}/s, "
        f"room of {latency['room_size']:,}"
    )
    colours = {"p50": "#2a9d3f", "p95": "#e0a000", "p99": "#d33"}
    for q, colour in colours.items():
        value = latency[f"{q}_ms"]
        for ax in (hist_ax, cdf_ax):
            ax.axvline(value, color=colour, linestyle="--", linewidth=1, label=f"{q} {value:.1f} ms")
    n = len(values_ms)
    if n:
        cdf_ax.plot(values_ms, [(i + 1) / n for i in range(n)], color="#3b7dd8")
        cdf_ax.set_xscale("log")
        low = min(values_ms[0], LATENCY_P50_TARGET_MS) * 0.9
        high = max(values_ms[-1], LATENCY_P99_TARGET_MS) * 1.1
        ticks = [t for t in (1, 2, 5, 10, 15, 20, 30, 50, 100, 200, 500, 1000, 2000, 5000) if low <= t <= high]
        cdf_ax.set_xlim(low, high)
        cdf_ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        cdf_ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    for goal in (LATENCY_P50_TARGET_MS, LATENCY_P99_TARGET_MS):
        cdf_ax.axvline(goal, color="#888", linestyle=":", linewidth=1)
    cdf_ax.set_xlabel("ms (log scale); dotted: the 15 ms and 50 ms targets")
    cdf_ax.set_ylabel("share of deliveries")
    cdf_ax.set_title("cumulative distribution")
    cdf_ax.legend(loc="lower right", fontsize=8)
    hist_ax.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
