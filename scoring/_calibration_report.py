"""Holdout checks of a calibrated model through the engine: conversion by band, gap test, EV cutoff,
and the current model scored on the same rows when it can be."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from scoring._calibration_columns import rank_auc
from scoring.compiled import compile_model
from scoring.conversion import band_conversion, gap_test, is_monotone, lift_curve
from scoring.engine import score
from scoring.inputs import require_columns
from scoring.model import ModelSpec
from scoring.thresholds import best_threshold, expected_value_curve

__all__ = ["FIT_ONLY_AS_OF", "no_events", "fit_only_scores", "history_leads", "band_checks", "current_model_check", "records"]

FIT_ONLY_AS_OF = pd.Timestamp("2000-01-01T00:00:00Z")
"""The as-of used to score fit-only models; no decay or inactivity applies, so any moment gives the same."""


def no_events() -> pd.DataFrame:
    """An empty canonical events frame (lead_id, type, at, value)."""
    return pd.DataFrame({"lead_id": pd.Series(dtype=object), "type": pd.Series(dtype=object),
                         "at": pd.Series(dtype="datetime64[ns, UTC]"), "value": pd.Series(dtype=np.float64)})


def fit_only_scores(leads: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """The scores frame of `leads` (with lead_id, created_at) under `spec`, without events."""
    return score(leads, no_events(), spec, FIT_ONLY_AS_OF)


def history_leads(history: pd.DataFrame, id_column: str | None = None,
                  created_at: pd.Timestamp = FIT_ONLY_AS_OF) -> pd.DataFrame:
    """The history as a leads frame score() accepts: adds lead_id (from `id_column`, else the row number)
    and created_at (a fixed moment) when missing; other columns are kept as they are."""
    extra: dict[str, Any] = {}
    if "lead_id" not in history.columns:
        if id_column is not None:
            require_columns(history, (id_column,), "history", "the lead id")
            extra["lead_id"] = history[id_column].astype(str).to_numpy(dtype=object)
        else:
            extra["lead_id"] = np.array([f"row-{i + 1}" for i in range(len(history))], dtype=object)
    if "created_at" not in history.columns:
        extra["created_at"] = pd.DatetimeIndex(np.full(len(history), created_at.value, "datetime64[ns]"), tz="UTC")
    return history.assign(**extra) if extra else history


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Frame rows as JSON-safe dicts: NaN and inf -> None, numpy scalars -> Python, categories -> str."""
    rows = []
    for row in frame.astype(object).to_dict(orient="records"):
        clean = {}
        for key, value in row.items():
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            elif value is not None and not isinstance(value, (bool, int, float, str, list, dict)):
                value = str(value)
            clean[str(key)] = value
        rows.append(clean)
    return rows


def _outcomes(lead_ids: npt.NDArray[np.object_], y: npt.NDArray[np.bool_]) -> pd.DataFrame:
    """won / lost per lead, stamped in row order (a history without dates: file order stands in for time)."""
    at = FIT_ONLY_AS_OF + pd.to_timedelta(np.arange(len(y)), unit="s")
    return pd.DataFrame({"lead_id": lead_ids, "stage": np.where(y, "won", "lost").astype(object), "at": at})


def band_checks(spec: ModelSpec, leads: pd.DataFrame, y: npt.NDArray[np.bool_]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Lift by band and the JSON-ready band, tier, gap-test and EV checks of `spec` on held-out leads."""
    scores = fit_only_scores(leads, spec)
    outcomes = _outcomes(scores["lead_id"].to_numpy(dtype=object), y)
    lift = lift_curve(scores, outcomes, stage="won")
    tiers = band_conversion(scores, outcomes, stages=("won",), column="tier")
    gap = gap_test(scores, outcomes)
    totals = scores["total"].to_numpy(dtype=np.float64)
    cuts = np.arange(0.0, 101.0, 5.0)
    ev = expected_value_curve(scores, outcomes, cuts)
    best = best_threshold(ev)
    return lift, {
        "band_conversion": records(lift), "lift_monotone": is_monotone(lift),
        "tier_conversion": records(tiers.drop(columns="stage")),
        "gap_test": {"last_n": 50, "order": "row order of the history (no dates)", "mean_won": gap.mean_won,
                     "mean_lost": gap.mean_lost, "gap": gap.gap, "passed": gap.passed,
                     "mean_gap_all_holdout": float(totals[y].mean() - totals[~y].mean())},
        "expected_value": {"ev_best_threshold": best, "ev_curve_holdout": records(ev)},
    }


def current_model_check(current: ModelSpec | None, rows: pd.DataFrame, y: npt.NDArray[np.bool_]) -> dict[str, Any]:
    """Holdout ROC-AUC of the model running today, or why it cannot be compared on this history."""
    if current is None:
        return {"compared": False, "reason": "no current model given (--model)"}
    compiled = compile_model(current)
    columns = set(rows.columns)
    missing = [f for f in compiled.lead_fields
               if f not in columns and not (f == "email_domain" and "email" in columns)]
    if missing:
        return {"compared": False, "model": current.model.name, "version": current.version,
                "reason": f"the history lacks the field(s) its rules read: {', '.join(missing)}"}
    if not compiled.lead_fields:
        return {"compared": False, "model": current.model.name, "version": current.version,
                "reason": "it has no field rules; its behaviour and account points need events"}
    totals = fit_only_scores(history_leads(rows), current)["total"].to_numpy(dtype=np.float64)
    note = ("" if not (compiled.actions or compiled.signals or compiled.negative_events)
            else "behaviour, account and event rules score 0: the history carries no events")
    return {"compared": True, "model": current.model.name, "version": current.version,
            "holdout_roc_auc": rank_auc(y, totals), "note": note}
