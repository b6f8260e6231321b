"""Conversion by band and tier: does a higher score really convert better?

The checks of DOMAIN.md section 5 as pure functions over the scores and outcomes frames: conversion
per (group, band, stage) with Wilson intervals, the lift curve and its monotonicity, the A-to-C tier
ratio (A should convert 3-5x C) and the won/lost gap test (20+ points between the last 50 of each).

A lead *reached* stage S when it has an outcome at S or at any later funnel stage; lost and rejected
reach nothing. All counting is vectorised (groupby, bincount); no per-lead Python loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from scoring._outcomes import (
    category_codes,
    check_funnel_stages,
    check_outcome_stages,
    reached_matrix,
    require_columns,
    score_totals,
    scored_lead_ids,
)
from scoring.columns import FUNNEL_STAGES
from scoring.errors import InputDataError

__all__ = [
    "wilson_interval",
    "stage_reached",
    "band_conversion",
    "lift_curve",
    "is_monotone",
    "TierRatio",
    "tier_conversion_ratio",
    "GapTest",
    "gap_test",
]

_TABLE_COLUMNS = ("stage", "leads", "converted", "rate", "ci_low", "ci_high")


@dataclass(frozen=True)
class TierRatio:
    """Conversion of a high tier against a low tier (rates are shares 0-1, ratio is high/low)."""

    high_rate: float
    low_rate: float
    ratio: float


@dataclass(frozen=True)
class GapTest:
    """Mean total (points) of the last closed-won against the last closed-lost leads."""

    mean_won: float
    mean_lost: float
    gap: float
    n_won: int
    n_lost: int
    passed: bool


def wilson_interval(
    successes: npt.ArrayLike, trials: npt.ArrayLike, z: float = 1.96
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Wilson score interval of a binomial rate, element-wise; 5 of 10 gives about (0.2366, 0.7634).

    Args:
        successes: Converted counts, any shape broadcastable with ``trials``.
        trials: Lead counts; where 0 both bounds are nan.
        z: Standard-normal quantile of the two-sided level (1.96 for 95%).

    Returns:
        ``(low, high)`` float arrays of the broadcast shape, shares in [0, 1].

    Raises:
        InputDataError: If ``z`` is not positive, a count is negative or successes exceed trials.
    """
    s = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if not (math.isfinite(z) and z > 0):
        raise InputDataError("wilson_interval", f"z must be a positive number, got {z!r}", "use 1.96 for 95%")
    if np.any(s < 0) or np.any(n < 0) or np.any(s > n):
        raise InputDataError(
            "wilson_interval", "counts must satisfy 0 <= successes <= trials", "check the counts passed in"
        )
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        p = s / n
        denom = 1.0 + z2 / n
        center = (p + z2 / (2.0 * n)) / denom
        half = z * np.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
    low = np.where(s == 0, 0.0, np.clip(center - half, 0.0, 1.0))
    high = np.where(s == n, 1.0, np.clip(center + half, 0.0, 1.0))
    empty = ~(n > 0)
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def stage_reached(
    outcomes: pd.DataFrame, lead_ids: Sequence[object] | pd.Series | npt.NDArray[np.object_], stage: str
) -> npt.NDArray[np.bool_]:
    """Whether each lead reached ``stage`` (or a later funnel stage), aligned to ``lead_ids``.

    Args:
        outcomes: Frame with columns lead_id, stage (several rows per lead allowed).
        lead_ids: Leads to look up, in the order of the result; unknown leads reached nothing.
        stage: One of FUNNEL_STAGES.

    Returns:
        Boolean array of shape (len(lead_ids),).

    Raises:
        InputDataError: If ``stage`` is not a funnel stage or outcomes hold an unknown stage.
    """
    return reached_matrix(outcomes, lead_ids, check_funnel_stages(stage))[:, 0]


def _group_codes(
    ids: npt.NDArray[np.object_], by: str | None, leads: pd.DataFrame | None, column: str
) -> tuple[npt.NDArray[np.int64], pd.Index | None]:
    """Group code of each scored lead (0..G-1) and the group labels; one group of all when ``by`` is None."""
    if by is None:
        return np.zeros(len(ids), dtype=np.int64), None
    if leads is None:
        raise InputDataError(
            "band_conversion", f"by={by!r} needs the leads frame", "pass leads=<leads frame>"
        )
    if by in (column, *_TABLE_COLUMNS):
        raise InputDataError(
            "band_conversion", f"by={by!r} clashes with an output column", "rename the leads column first"
        )
    require_columns(leads, ("lead_id", by), "leads")
    repeated = leads["lead_id"].duplicated()
    if repeated.any():
        raise InputDataError(
            "leads", f"{int(repeated.sum())} repeated lead_id(s)", "keep one row per lead before grouping"
        )
    lookup = pd.Series(leads[by].array, index=pd.Index(leads["lead_id"].to_numpy(dtype=object)))
    values = lookup.reindex(pd.Index(ids))
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64), pd.Index(uniques)


def _conversion_table(
    band_codes: npt.NDArray[np.int64],
    band_dtype: pd.CategoricalDtype,
    reached: npt.NDArray[np.bool_],
    stages: tuple[str, ...],
    group_codes: npt.NDArray[np.int64],
    groups: pd.Index | None,
    by: str | None,
    column: str,
) -> pd.DataFrame:
    """One row per (group, band, stage), every band of every group included, counts via bincount."""
    n_bands, n_stages = len(band_dtype.categories), len(stages)
    n_groups = 1 if groups is None else len(groups)
    n_cells = n_groups * n_bands
    cell = group_codes * n_bands + band_codes
    leads = np.bincount(cell, minlength=n_cells).astype(np.int64)
    converted = np.stack(
        [np.bincount(cell, weights=reached[:, k], minlength=n_cells) for k in range(n_stages)], axis=1
    ).astype(np.int64)
    leads_rows = np.repeat(leads, n_stages)
    converted_rows = converted.reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = converted_rows / leads_rows
    rate = np.where(leads_rows > 0, rate, np.nan)
    ci_low, ci_high = wilson_interval(converted_rows, leads_rows)
    columns: dict[str, object] = {}
    if groups is not None and by is not None:
        columns[by] = groups.take(np.repeat(np.arange(n_groups), n_bands * n_stages))
    band_rows = np.tile(np.repeat(np.arange(n_bands), n_stages), n_groups)
    columns[column] = pd.Categorical.from_codes(band_rows, dtype=band_dtype)
    columns["stage"] = pd.array(np.tile(np.array(stages, dtype=object), n_cells), dtype="str")
    columns["leads"] = leads_rows
    columns["converted"] = converted_rows
    columns["rate"] = rate
    columns["ci_low"] = ci_low
    columns["ci_high"] = ci_high
    return pd.DataFrame(columns)


def band_conversion(
    scores: pd.DataFrame,
    outcomes: pd.DataFrame,
    stages: Sequence[str] = FUNNEL_STAGES,
    by: str | None = None,
    leads: pd.DataFrame | None = None,
    column: str = "band",
) -> pd.DataFrame:
    """Share of scored leads that reached each stage, per band (or tier) and optional lead group.

    Args:
        scores: Columns lead_id (unique) and ``column`` (ordered categorical, categories low to high).
        outcomes: Columns lead_id, stage; reaching a later funnel stage counts for the earlier ones.
        stages: Funnel stages to report, in output order.
        by: Optional leads column to group by, e.g. "segment" or "source"; needs ``leads``.
        leads: Frame with lead_id and ``by``; scored leads missing from it form a nan group.
        column: Score column to split on: "band" or "tier".

    Returns:
        Frame with columns [by,] ``column``, stage, leads, converted, rate, ci_low, ci_high; one row
        per (group, category, stage) in that order, empty categories included (leads 0, rate nan).
        rate and the 95% Wilson bounds are shares 0-1.

    Raises:
        InputDataError: On a missing column, a non-categorical ``column``, a lead without a band,
            repeated lead ids, an unknown stage, or ``by`` without ``leads``.
    """
    wanted = check_funnel_stages(stages)
    ids = scored_lead_ids(scores)
    band_codes, band_dtype = category_codes(scores, column)
    group_codes, groups = _group_codes(ids, by, leads, column)
    reached = reached_matrix(outcomes, ids, wanted)
    return _conversion_table(band_codes, band_dtype, reached, wanted, group_codes, groups, by, column)


def lift_curve(
    scores: pd.DataFrame, outcomes: pd.DataFrame, stage: str = "won", column: str = "band"
) -> pd.DataFrame:
    """Conversion to one stage per band, low to high, with lift over the rate of all scored leads.

    Args:
        scores: Columns lead_id and ``column`` (ordered categorical, low to high).
        outcomes: Columns lead_id, stage.
        stage: Funnel stage counted as converted.
        column: Score column to split on: "band" or "tier".

    Returns:
        Frame with columns ``column``, leads, converted, rate, ci_low, ci_high, lift; one row per
        category. lift = rate / overall rate (1.0 is average; nan when nothing converted or empty).

    Raises:
        InputDataError: As for :func:`band_conversion`.
    """
    wanted = check_funnel_stages(stage)
    ids = scored_lead_ids(scores)
    band_codes, band_dtype = category_codes(scores, column)
    reached = reached_matrix(outcomes, ids, wanted)
    table = _conversion_table(
        band_codes, band_dtype, reached, wanted, np.zeros(len(ids), dtype=np.int64), None, None, column
    )
    overall = float(reached[:, 0].mean()) if len(ids) else math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = table["rate"].to_numpy() / overall
    table = table.drop(columns="stage")
    table["lift"] = np.where(overall > 0, lift, np.nan)
    return table


def is_monotone(curve: pd.DataFrame, strict: bool = False) -> bool:
    """Whether conversion never falls from a lower band to a higher one, skipping empty bands.

    Args:
        curve: Frame with columns leads and rate, rows low to high (as :func:`lift_curve` returns).
        strict: Require each non-empty band to convert strictly better than the one below.

    Returns:
        True when the rates of bands with leads are non-decreasing (increasing if ``strict``);
        True for fewer than two non-empty bands.
    """
    require_columns(curve, ("leads", "rate"), "curve")
    rates = curve.loc[curve["leads"].to_numpy() > 0, "rate"].to_numpy(dtype=np.float64)
    steps = np.diff(rates)
    return bool(np.all(steps > 0) if strict else np.all(steps >= 0))


def tier_conversion_ratio(
    scores: pd.DataFrame, outcomes: pd.DataFrame, stage: str = "won", high: str = "A", low: str = "C"
) -> TierRatio:
    """How many times better the ``high`` tier converts than the ``low`` tier (DOMAIN: A is 3-5x C).

    Args:
        scores: Columns lead_id and tier (categorical).
        outcomes: Columns lead_id, stage.
        stage: Funnel stage counted as converted.
        high: Tier in the numerator.
        low: Tier in the denominator.

    Returns:
        TierRatio with both rates (shares 0-1, nan for an empty tier) and high/low; the ratio is inf
        when only the low rate is 0 and nan when both are 0.

    Raises:
        InputDataError: If a tier is not among the categories, or as for :func:`band_conversion`.
    """
    wanted = check_funnel_stages(stage)
    ids = scored_lead_ids(scores)
    codes, tier_dtype = category_codes(scores, "tier")
    categories = tier_dtype.categories
    missing = [t for t in (high, low) if t not in categories]
    if missing:
        raise InputDataError(
            "scores",
            f"tier(s) {', '.join(map(repr, missing))} not among the tier categories",
            f"use one of {', '.join(map(str, categories))}",
        )
    reached = reached_matrix(outcomes, ids, wanted)[:, 0]

    def rate(tier: str) -> float:
        members = codes == categories.get_loc(tier)
        return float(reached[members].mean()) if members.any() else math.nan

    high_rate, low_rate = rate(high), rate(low)
    if math.isnan(high_rate) or math.isnan(low_rate) or (high_rate == 0 and low_rate == 0):
        ratio = math.nan
    elif low_rate == 0:
        ratio = math.inf
    else:
        ratio = high_rate / low_rate
    return TierRatio(high_rate=high_rate, low_rate=low_rate, ratio=ratio)


def _last_closed_totals(
    outcomes: pd.DataFrame, totals: pd.Series, stage: str, n: int
) -> npt.NDArray[np.float64]:
    """Totals (points) of the ``n`` scored leads whose latest ``stage`` outcome is most recent."""
    rows = outcomes.loc[outcomes["stage"] == stage, ["lead_id", "at"]]
    rows = rows.loc[rows["lead_id"].isin(totals.index)]
    if rows["at"].isna().any():
        raise InputDataError(
            "outcomes", f"{int(rows['at'].isna().sum())} {stage} row(s) without a time", "fill the at column"
        )
    latest = rows.groupby("lead_id", sort=False)["at"].max().rename("at").reset_index()
    chosen = latest.sort_values(["at", "lead_id"], kind="stable").tail(n)["lead_id"]
    return totals.reindex(pd.Index(chosen.to_numpy(dtype=object))).to_numpy(dtype=np.float64)


def gap_test(scores: pd.DataFrame, outcomes: pd.DataFrame, n: int = 50, min_gap: float = 20.0) -> GapTest:
    """Whether recent closed-won leads scored at least ``min_gap`` points above recent closed-lost.

    Takes the ``n`` scored leads with the latest "won" outcome and the ``n`` with the latest "lost"
    outcome (by the at column; a lead's latest row of that stage counts) and compares mean totals.

    Args:
        scores: Columns lead_id, total (points 0-100).
        outcomes: Columns lead_id, stage, at (datetime).
        n: Leads taken from each side (DOMAIN: 50).
        min_gap: Points the won mean must exceed the lost mean by (DOMAIN: 20).

    Returns:
        GapTest with both means (points, nan when a side is empty), gap = mean_won - mean_lost,
        the counts used, and passed (False when the gap is nan).

    Raises:
        InputDataError: On a missing column, a missing time on a won/lost row, or ``n`` < 1.
    """
    if n < 1:
        raise InputDataError("gap_test", f"n must be at least 1, got {n}", "the DOMAIN default is 50")
    ids = scored_lead_ids(scores)
    totals = pd.Series(score_totals(scores), index=pd.Index(ids))
    check_outcome_stages(outcomes)
    require_columns(outcomes, ("lead_id", "stage", "at"), "outcomes")
    won = _last_closed_totals(outcomes, totals, "won", n)
    lost = _last_closed_totals(outcomes, totals, "lost", n)
    mean_won = float(won.mean()) if won.size else math.nan
    mean_lost = float(lost.mean()) if lost.size else math.nan
    gap = mean_won - mean_lost
    return GapTest(
        mean_won=mean_won,
        mean_lost=mean_lost,
        gap=gap,
        n_won=int(won.size),
        n_lost=int(lost.size),
        passed=bool(gap >= min_gap),
    )
