"""Figures of the evaluation report, drawn from model summaries (scoring.summary) with matplotlib."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = ["ShownFigure", "band_lift_figure", "expected_value_figure", "score_distribution_figure", "figure_svg"]

_COLOURS = ("#1f6feb", "#d1242f", "#2da44e", "#8250df")
_STAGES = ("accepted", "meeting", "opportunity", "won")


@dataclass(frozen=True, eq=False)
class ShownFigure:
    """A figure a notebook displays as PNG (IPython's `_repr_png_`), with the Figure kept for tests."""

    figure: Figure

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=80)
        return buffer.getvalue()


def figure_svg(figure: Figure) -> str:
    """The figure as an inline SVG string (closes the figure)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def band_lift_figure(summaries: dict[str, dict[str, Any]]) -> Figure:
    """Conversion rate by band for every stage, one line per model, with Wilson 95% intervals."""
    figure, axes = plt.subplots(1, len(_STAGES), figsize=(13, 3.4), sharey=False)
    for ax, stage in zip(axes, _STAGES):
        for (name, summary), colour in zip(summaries.items(), _COLOURS):
            rows = [r for r in summary["band_conversion"] if r["stage"] == stage]
            bands = [r["band"] for r in rows]
            rates = [100 * (r["rate"] or 0.0) for r in rows]
            low = [100 * ((r["rate"] or 0.0) - (r["ci_low"] or 0.0)) for r in rows]
            high = [100 * ((r["ci_high"] or 0.0) - (r["rate"] or 0.0)) for r in rows]
            ax.errorbar(bands, rates, yerr=[low, high], marker="o", capsize=3, color=colour, label=name)
        ax.set_title(f"reached {stage}")
        ax.set_xlabel("score band")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("% of leads in band")
    axes[-1].legend(loc="upper left")
    figure.tight_layout()
    return figure


def expected_value_figure(summaries: dict[str, dict[str, Any]]) -> Figure:
    """Expected value (dollars) of working every lead at or above each threshold, best point marked."""
    figure, ax = plt.subplots(figsize=(6.5, 3.6))
    for (name, summary), colour in zip(summaries.items(), _COLOURS):
        ev = summary["expected_value"]
        xs = [r["threshold"] for r in ev["curve"]]
        ys = [r["expected_value"] / 1000 for r in ev["curve"]]
        ax.plot(xs, ys, color=colour, label=name)
        ax.scatter([ev["best_threshold"]], [ev["best_value"] / 1000], color=colour, zorder=3, s=45)
        ax.annotate(f"best {ev['best_threshold']:g}", (ev["best_threshold"], ev["best_value"] / 1000),
                    textcoords="offset points", xytext=(5, 6), color=colour, fontsize=8)
    first = next(iter(summaries.values()))["expected_value"]
    ax.set_title(f"EV by threshold (deal ${first['deal_value']:,.0f}, FP ${first['fp_cost']:,.0f}, "
                 f"FN ${first['fn_cost']:,.0f})", fontsize=10)
    ax.set_xlabel("threshold (points)")
    ax.set_ylabel("expected value ($k)")
    ax.grid(alpha=0.3)
    ax.legend()
    figure.tight_layout()
    return figure


def score_distribution_figure(summaries: dict[str, dict[str, Any]]) -> Figure:
    """Histogram of total scores (share of leads per 5-point bin), one outline per model."""
    figure, ax = plt.subplots(figsize=(6.5, 3.6))
    for (name, summary), colour in zip(summaries.items(), _COLOURS):
        hist = summary["score"]["histogram"]
        total = max(sum(hist["counts"]), 1)
        shares = [100 * c / total for c in hist["counts"]]
        ax.stairs(shares, hist["edges"], color=colour, label=name, linewidth=1.8)
    ax.set_xlabel("total score (points)")
    ax.set_ylabel("% of leads")
    ax.set_title("score distributions", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    figure.tight_layout()
    return figure
