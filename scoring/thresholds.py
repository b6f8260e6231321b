"""Where to put the MQL cutoff: precision, recall and lift at a threshold, and expected value per cutoff.

DOMAIN.md section 4: choose the cutoff where conversion jumps, or by expected value, with a deal worth
$10,000, a false positive costing $500 of rep time and a false negative costing a $20,000 lost deal
(all defaults, all arguments). A lead is selected when its total is at or above the threshold.

The curve sorts the totals once and reads every threshold off a cumulative count with searchsorted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from scoring._outcomes import (
    check_funnel_stages,
    reached_matrix,
    require_columns,
    score_totals,
    scored_lead_ids,
)
from scoring.errors import InputDataError

__all__ = [
    "ThresholdMetrics",
    "threshold_metrics",
    "expected_value_curve",
    "best_threshold",
]


@dataclass(frozen=True)
class ThresholdMetrics:
    """What selecting every lead with total >= threshold (points) buys; shares are 0-1."""

    threshold: float
    selected: int
    selected_share: float
    precision: float
    recall: float
    lift: float


def _ranked_counts(
    scores: pd.DataFrame, outcomes: pd.DataFrame, thresholds: npt.NDArray[np.float64], stage: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int, int]:
    """Selected and true-positive counts per threshold, plus total leads and total positives."""
    wanted = check_funnel_stages(stage)
    ids = scored_lead_ids(scores)
    totals = score_totals(scores)
    if np.isnan(thresholds).any():
        raise InputDataError("thresholds", "a threshold is nan", "pass numbers in points, e.g. 50-75")
    positive = reached_matrix(outcomes, ids, wanted)[:, 0]
    order = np.argsort(totals, kind="stable")
    sorted_totals = totals[order]
    positives_below = np.concatenate(([0], np.cumsum(positive[order], dtype=np.int64)))
    first_selected = np.searchsorted(sorted_totals, thresholds, side="left")
    n_leads, n_positive = len(totals), int(positives_below[-1])
    selected = (n_leads - first_selected).astype(np.int64)
    true_pos = (n_positive - positives_below[first_selected]).astype(np.int64)
    return selected, true_pos, n_leads, n_positive


def _ratio(numerator: npt.ArrayLike, denominator: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """numerator / denominator element-wise, nan where the denominator is 0."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)


def threshold_metrics(
    scores: pd.DataFrame, outcomes: pd.DataFrame, threshold: float, stage: str = "won"
) -> ThresholdMetrics:
    """Volume, precision, recall and lift of selecting leads with total >= ``threshold``.

    Args:
        scores: Columns lead_id (unique), total (points 0-100).
        outcomes: Columns lead_id, stage; a lead is positive if it reached ``stage`` or later.
        threshold: Cutoff in points; a total equal to it is selected.
        stage: Funnel stage counted as a positive.

    Returns:
        ThresholdMetrics: selected (leads), selected_share (of scored leads), precision (positives
        among selected), recall (selected among positives), lift (precision / base rate). Each share
        or ratio is nan when its denominator is 0.

    Raises:
        InputDataError: On missing columns, missing totals, an unknown stage or a nan threshold.
    """
    cut = np.array([threshold], dtype=np.float64)
    selected, true_pos, n_leads, n_positive = _ranked_counts(scores, outcomes, cut, stage)
    precision = float(_ratio(true_pos, selected)[0])
    base_rate = float(_ratio(n_positive, n_leads))
    lift = precision / base_rate if base_rate > 0 and not math.isnan(precision) else math.nan
    return ThresholdMetrics(
        threshold=float(threshold),
        selected=int(selected[0]),
        selected_share=float(_ratio(selected, n_leads)[0]),
        precision=precision,
        recall=float(_ratio(true_pos, n_positive)[0]),
        lift=lift,
    )


def expected_value_curve(
    scores: pd.DataFrame,
    outcomes: pd.DataFrame,
    thresholds: npt.ArrayLike,
    deal_value: float = 10_000.0,
    fp_cost: float = 500.0,
    fn_cost: float = 20_000.0,
    stage: str = "won",
) -> pd.DataFrame:
    """Expected value in dollars of each cutoff: won deals gained minus rep time and deals missed.

    EV = true_pos * deal_value - false_pos * fp_cost - false_neg * fn_cost, where a true positive is a
    selected lead that reached ``stage``, a false positive a selected lead that did not, and a false
    negative an unselected lead that did.

    Args:
        scores: Columns lead_id (unique), total (points 0-100).
        outcomes: Columns lead_id, stage.
        thresholds: Cutoffs in points, any order; rows keep this order.
        deal_value: Dollars won per true positive (average deal size).
        fp_cost: Dollars of rep time lost per false positive.
        fn_cost: Dollars lost per false negative (a deal not worked).
        stage: Funnel stage counted as a positive.

    Returns:
        Frame with columns threshold (points), selected, true_pos, false_pos, false_neg (leads),
        precision, recall (shares 0-1, nan when undefined), expected_value (dollars).

    Raises:
        InputDataError: On missing columns, missing totals, an unknown stage or a nan threshold.
    """
    cuts = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    if cuts.ndim != 1:
        raise InputDataError(
            "thresholds", f"expected a flat list, got shape {cuts.shape}", "pass 1-d cutoffs"
        )
    selected, true_pos, _, n_positive = _ranked_counts(scores, outcomes, cuts, stage)
    false_pos = selected - true_pos
    false_neg = n_positive - true_pos
    value = true_pos * float(deal_value) - false_pos * float(fp_cost) - false_neg * float(fn_cost)
    return pd.DataFrame(
        {
            "threshold": cuts,
            "selected": selected,
            "true_pos": true_pos,
            "false_pos": false_pos,
            "false_neg": false_neg,
            "precision": _ratio(true_pos, selected),
            "recall": _ratio(true_pos, np.full_like(true_pos, n_positive)),
            "expected_value": value.astype(np.float64),
        }
    )


def best_threshold(ev_curve: pd.DataFrame) -> float:
    """The cutoff (points) with the highest expected value; on a tie the higher cutoff wins.

    Args:
        ev_curve: Frame with columns threshold and expected_value, as :func:`expected_value_curve`
            returns.

    Returns:
        The threshold of the best row.

    Raises:
        InputDataError: If the curve is empty, lacks the columns or has no expected value.
    """
    require_columns(ev_curve, ("threshold", "expected_value"), "ev_curve")
    if ev_curve.empty:
        raise InputDataError("ev_curve", "no rows", "pass at least one threshold to expected_value_curve")
    value = ev_curve["expected_value"].to_numpy(dtype=np.float64)
    if np.isnan(value).all():
        raise InputDataError("ev_curve", "every expected_value is nan", "recompute the curve")
    cuts = ev_curve["threshold"].to_numpy(dtype=np.float64)
    return float(cuts[value == np.nanmax(value)].max())
