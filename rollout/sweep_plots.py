"""Figures of a sweep (one panel per scenario): volume vs capacity, EV vs threshold, SLA breaches vs reps."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from simulator.sweep import Recommendation  # noqa: E402

__all__ = ["breach_figure", "expected_value_sweep_figure", "volume_figure"]


def _metric(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    return summary.loc[summary["metric"] == metric]


def _panels(summary: pd.DataFrame, width: float = 5.2) -> tuple[Figure, list[tuple[str, Axes]]]:
    scenarios = list(dict.fromkeys(summary["scenario"]))
    figure, axes = plt.subplots(1, len(scenarios), figsize=(width * len(scenarios), 3.8), squeeze=False)
    return figure, list(zip(scenarios, axes[0]))


def volume_figure(summary: pd.DataFrame) -> Figure:
    """MQLs per working day by threshold (mean, 95% band) against each head count's usable capacity a day."""
    figure, panels = _panels(summary)
    for scenario, ax in panels:
        volume = _metric(summary, "mqls_per_day")
        volume = volume.loc[volume["scenario"] == scenario]
        first = volume.loc[volume["reps"] == volume["reps"].min()].sort_values("threshold")
        ax.plot(first["threshold"], first["mean"], color="black", marker="o", label="MQLs / working day")
        ax.fill_between(first["threshold"], first["ci_low"], first["ci_high"], color="black", alpha=0.15)
        capacity = _metric(summary, "usable_capacity_per_day")
        capacity = capacity.loc[capacity["scenario"] == scenario]
        for reps, rows in capacity.groupby("reps"):
            rows = rows.sort_values("threshold")
            ax.plot(rows["threshold"], rows["mean"], linestyle="--", label=f"capacity, {reps} SDRs")
        ax.set_title(f"{scenario}: volume vs capacity", fontsize=10)
        ax.set_xlabel("MQL threshold (points)")
        ax.set_ylabel("leads per working day")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


def expected_value_sweep_figure(summary: pd.DataFrame, picks: Sequence[Recommendation]) -> Figure:
    """Mean EV ($k, 95% band) by threshold, one line per head count; the capacity-aware pick starred."""
    figure, panels = _panels(summary)
    ev = _metric(summary, "expected_value")
    for scenario, ax in panels:
        for reps, rows in ev.loc[ev["scenario"] == scenario].groupby("reps"):
            rows = rows.sort_values("threshold")
            line = ax.plot(rows["threshold"], rows["mean"] / 1000, marker=".", label=f"{reps} SDRs")[0]
            ax.fill_between(rows["threshold"], rows["ci_low"] / 1000, rows["ci_high"] / 1000,
                            color=line.get_color(), alpha=0.12)
            pick = next((p for p in picks if p.scenario == scenario and p.reps == reps), None)
            if pick is not None and pick.threshold is not None and pick.expected_value is not None:
                ax.scatter([pick.threshold], [pick.expected_value / 1000], marker="*", s=160,
                           color=line.get_color(), edgecolor="black", zorder=3)
        ax.set_title(f"{scenario}: expected value (* = capacity-aware pick)", fontsize=10)
        ax.set_xlabel("MQL threshold (points)")
        ax.set_ylabel("expected value ($k)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


def breach_figure(summary: pd.DataFrame, metric: str, max_breach_rate: float) -> Figure:
    """Mean SLA breach rate (% of routed leads) by SDR head count, one line per threshold, limit dashed."""
    figure, panels = _panels(summary)
    breach = _metric(summary, metric)
    for scenario, ax in panels:
        for threshold, rows in breach.loc[breach["scenario"] == scenario].groupby("threshold"):
            rows = rows.sort_values("reps")
            ax.plot(rows["reps"], 100 * rows["mean"], marker="o", label=f"threshold {threshold:g}")
        ax.axhline(100 * max_breach_rate, color="#d1242f", linestyle="--", label="limit")
        ax.set_title(f"{scenario}: SLA breach rate vs SDRs", fontsize=10)
        ax.set_xlabel("SDRs")
        ax.set_ylabel("% of routed leads breaching")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    return figure
