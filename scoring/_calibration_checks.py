"""Checks of a calibrated points model on held-out rows: chance test, reliability, conversion jumps."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

from scoring._calibration_columns import rank_auc
from scoring.conversion import wilson_interval

__all__ = ["stratified_holdout", "auc_interval", "permutation_p_value", "reliability_table", "brier_score",
           "conversion_jumps"]


def stratified_holdout(y: npt.NDArray[np.bool_], share: float, rng: np.random.Generator) -> npt.NDArray[np.bool_]:
    """True for held-out rows: `share` of each class (rounded), drawn with `rng`."""
    held = np.zeros(len(y), dtype=bool)
    for label in (False, True):
        rows = np.flatnonzero(y == label)
        take = int(round(share * len(rows)))
        held[rng.permutation(rows)[:take]] = True
    return held


def auc_interval(auc: float, n_pos: int, n_neg: int, z: float = 1.96) -> tuple[float, float]:
    """Hanley-McNeil 95% interval of a ROC-AUC (shares 0-1)."""
    if math.isnan(auc) or n_pos == 0 or n_neg == 0:
        return math.nan, math.nan
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    half = z * math.sqrt(max(var, 0.0))
    return max(0.0, auc - half), min(1.0, auc + half)


def permutation_p_value(y: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64], rounds: int,
                        rng: np.random.Generator) -> float:
    """One-sided p-value of the AUC against labels shuffled `rounds` times: (1 + as good) / (1 + rounds)."""
    observed = rank_auc(y, scores)
    if math.isnan(observed):
        return 1.0
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    shuffled = rng.permuted(np.broadcast_to(y, (rounds, len(y))), axis=1)
    null = (shuffled @ ranks - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + rounds))


def brier_score(probability: npt.NDArray[np.float64], y: npt.NDArray[np.bool_]) -> float:
    """Mean squared error of probabilities against 0/1 outcomes (0 is perfect)."""
    return float(np.mean((probability - y.astype(np.float64)) ** 2)) if len(y) else math.nan


def reliability_table(probability: npt.NDArray[np.float64], y: npt.NDArray[np.bool_], bins: int = 10) -> pd.DataFrame:
    """Predicted against observed conversion in equal-width probability bins (empty bins left out).

    Returns columns bin_low, bin_high, leads, predicted (mean probability), observed (rate), ci_low,
    ci_high (95% Wilson), all shares 0-1 except leads.
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, probability, side="right") - 1, 0, bins - 1)
    leads = np.bincount(index, minlength=bins)
    wins = np.bincount(index, weights=y.astype(np.float64), minlength=bins)
    predicted = np.bincount(index, weights=probability, minlength=bins)
    keep = leads > 0
    low, high = wilson_interval(wins[keep], leads[keep])
    return pd.DataFrame({
        "bin_low": edges[:-1][keep], "bin_high": edges[1:][keep], "leads": leads[keep].astype(np.int64),
        "predicted": predicted[keep] / leads[keep], "observed": wins[keep] / leads[keep],
        "ci_low": low, "ci_high": high,
    })


def conversion_jumps(totals: npt.NDArray[np.float64], y: npt.NDArray[np.bool_], window: float = 10.0,
                     min_leads: int = 30) -> pd.DataFrame:
    """Conversion just below against just above each whole-point cutoff (windows of `window` points).

    Returns columns cutoff (points), leads_below, rate_below, leads_above, rate_above, jump (rate above
    minus rate below, share 0-1) and selected_share (share of all leads at or above the cutoff), for
    cutoffs where both windows hold at least `min_leads` leads; largest jump first.
    """
    rows = []
    for cutoff in range(1, 100):
        below = (totals >= cutoff - window) & (totals < cutoff)
        above = (totals >= cutoff) & (totals < cutoff + window)
        if below.sum() < min_leads or above.sum() < min_leads:
            continue
        rate_below, rate_above = float(y[below].mean()), float(y[above].mean())
        rows.append((float(cutoff), int(below.sum()), rate_below, int(above.sum()), rate_above,
                     rate_above - rate_below, float((totals >= cutoff).mean())))
    columns = ["cutoff", "leads_below", "rate_below", "leads_above", "rate_above", "jump", "selected_share"]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["jump", "cutoff"], ascending=[False, True], kind="stable").reset_index(drop=True)
