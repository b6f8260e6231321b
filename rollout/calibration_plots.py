"""Figures of a calibration: reliability on the holdout and conversion by band (report and notebook)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from rollout.plots import ShownFigure  # noqa: E402
from scoring.calibration import Calibration  # noqa: E402

__all__ = ["calibration_figure", "shown_calibration"]


def calibration_figure(result: Calibration) -> Figure:
    """Reliability (predicted vs observed with 95% intervals, Brier) and holdout conversion by score band."""
    figure = Figure(figsize=(10, 3.8))
    left, right = figure.subplots(1, 2)
    table = result.reliability
    left.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1)
    left.errorbar(table["predicted"], table["observed"],
                  yerr=[table["observed"] - table["ci_low"], table["ci_high"] - table["observed"]],
                  marker="o", capsize=3, color="#1f6feb")
    left.set_xlabel("predicted probability")
    left.set_ylabel("observed conversion")
    left.set_title(f"reliability on the holdout (Brier {result.summary['brier']:.3f})", fontsize=10)
    left.grid(alpha=0.3)
    lift = result.lift
    rates = 100 * lift["rate"].fillna(0.0).to_numpy()
    right.bar(lift["band"].astype(str), rates, color="#2da44e")
    for x, (rate, leads) in enumerate(zip(rates, lift["leads"], strict=True)):
        right.annotate(f"{rate:.0f}% of {leads:,}", (x, rate), ha="center", textcoords="offset points",
                       xytext=(0, 3), fontsize=8)
    right.set_xlabel("score band")
    right.set_ylabel("% converted")
    right.set_title(f"conversion by band on the holdout (AUC {result.summary['holdout_roc_auc']:.3f})", fontsize=10)
    figure.tight_layout()
    return figure


def shown_calibration(result: Calibration) -> ShownFigure:
    """calibration_figure as a notebook shows it."""
    return ShownFigure(calibration_figure(result))
