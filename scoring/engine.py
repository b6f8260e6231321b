"""score(): leads + events + model + as_of -> the scores frame (ARCHITECTURE.md), vectorised."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.account import account_signal_points
from scoring.behaviour import action_points, inactivity_points, negative_event_points
from scoring.compiled import CompiledModel, compile_model
from scoring.event_arrays import EventArrays, event_arrays, lead_positions
from scoring.inputs import as_utc, checked_events, checked_leads, require_columns
from scoring.matchers import ColumnCodes, matcher_masks, with_email_domain
from scoring.model import ModelSpec
from scoring.reasons import top_reasons

__all__ = ["PointsBreakdown", "ScoreTotals", "mql_thresholds", "mql_thresholds_of_codes", "score", "score_breakdown",
           "score_points", "score_totals"]

_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class PointsBreakdown:
    """Points per lead and rule before combination; columns of `points` follow `labels`, grouped by pillar."""

    points: np.ndarray
    labels: tuple[str, ...]
    pillars: dict[str, slice]
    silent_days: np.ndarray

    def pillar_sum(self, name: str) -> np.ndarray:
        """Raw points of one pillar ('fit', 'behaviour', 'inactivity', 'negative', 'account') per lead."""
        return self.points[:, self.pillars[name]].sum(axis=1)


def score_points(columns: ColumnCodes, arrays: EventArrays, created_days: np.ndarray, model: CompiledModel,
                 ) -> PointsBreakdown:
    """Points of every rule for every lead from validated inputs as arrays: lead columns (`columns`), events
    aligned to leads (`arrays`, days before as_of) and days since each lead's creation (`created_days`)."""
    widths = {"fit": len(model.fit_rules), "behaviour": len(model.actions),
              "inactivity": len(model.inactivity_days),
              "negative": len(model.negative_rules) + len(model.negative_events), "account": len(model.signals)}
    pillars, start = {}, 0
    for name, width in widths.items():
        pillars[name] = slice(start, start + width)
        start += width
    points = np.zeros((len(columns), start))
    block = {name: points[:, sl] for name, sl in pillars.items()}
    np.multiply(matcher_masks(columns, model.fit_rules), [r.points for r in model.fit_rules], out=block["fit"])
    action_points(arrays, model, out=block["behaviour"])
    silent = np.minimum(arrays.last_event_days(), np.maximum(created_days, 0.0))
    inactivity_points(block["behaviour"].sum(axis=1), silent, model, out=block["inactivity"])
    n_fields = len(model.negative_rules)
    negative = block["negative"]
    np.multiply(matcher_masks(columns, model.negative_rules), [r.points for r in model.negative_rules],
                out=negative[:, :n_fields])
    negative_event_points(arrays, model, out=negative[:, n_fields:])
    account_signal_points(columns, arrays, model, out=block["account"])
    step_labels = tuple(f"inactive {d:g}+ days" for d in model.inactivity_days)
    labels = (
        *(r.label for r in model.fit_rules), *(a.label for a in model.actions), *step_labels,
        *(r.label for r in model.negative_rules), *(label for label, _, _ in model.negative_events),
        *(s.label for s in model.signals),
    )
    return PointsBreakdown(points, labels, pillars, silent)


@dataclass(frozen=True)
class ScoreTotals:
    """Pillar scores (0-100), negative points (<= 0) and the total (0-100, one decimal) per lead."""

    parts: PointsBreakdown
    fit: np.ndarray
    behaviour: np.ndarray
    account: np.ndarray
    negative: np.ndarray
    total: np.ndarray

    def tier_codes(self, model: CompiledModel) -> np.ndarray:
        """Index into model.tier_names per lead (low to high)."""
        return np.searchsorted(model.tier_mins, self.total, side="right") - 1

    def suppressed(self, model: CompiledModel) -> np.ndarray:
        """Leads silent for archive_after_days or more: never MQL or SQL."""
        return self.parts.silent_days >= model.archive_after_days


def score_totals(columns: ColumnCodes, arrays: EventArrays, created_days: np.ndarray, model: CompiledModel,
                 ) -> ScoreTotals:
    """Rule points combined into pillar scores and the total, as `score` reports them (no reasons, no frame)."""
    parts = score_points(columns, arrays, created_days, model)
    fit_raw = parts.pillar_sum("fit")
    behaviour_raw = parts.pillar_sum("behaviour") + parts.pillar_sum("inactivity")
    account_raw = parts.pillar_sum("account")
    negative = parts.pillar_sum("negative")
    fit, behaviour = _pillar_score(fit_raw, model.fit_max), _pillar_score(behaviour_raw, model.behaviour_max)
    account = _pillar_score(account_raw, model.account_max)
    if model.combine == "sum":
        blended = fit_raw + behaviour_raw + account_raw
    else:
        w_fit, w_behaviour, w_account = model.weights
        blended = w_fit * fit + w_behaviour * behaviour + w_account * account
    total = np.round(np.clip(blended + negative, 0.0, 100.0), 1)
    return ScoreTotals(parts, fit, behaviour, account, negative, total)


def mql_thresholds(leads: pd.DataFrame, model: CompiledModel) -> np.ndarray:
    """Each lead's MQL threshold (points): its segment's, else the model's."""
    return mql_thresholds_of_codes(ColumnCodes(leads), model)


def mql_thresholds_of_codes(columns: ColumnCodes, model: CompiledModel) -> np.ndarray:
    """`mql_thresholds` of factorised lead columns (points per lead), looked up once per distinct segment."""
    if columns.has("segment") and model.segment_mql:
        codes, uniques = columns.codes("segment")
        per_value = pd.Series(uniques, dtype=object).map(model.segment_mql).astype(np.float64).fillna(model.mql)
        return np.append(per_value.to_numpy(), model.mql)[codes]
    return np.full(len(columns), model.mql)


def _pillar_score(raw: np.ndarray, max_points: float) -> np.ndarray:
    return np.clip(raw / max_points, 0.0, 1.0) * 100.0


def score(leads: pd.DataFrame, events: pd.DataFrame, model: ModelSpec | CompiledModel,
          as_of: str | pd.Timestamp) -> pd.DataFrame:
    """Score every lead as of `as_of` (UTC): the scores frame, one row per lead, in the leads' order.

    Args:
        leads: canonical leads (lead_id, created_at and every field the model's rules read).
        events: canonical events (lead_id, type, at, optional value); none after as_of.
        model: a loaded model file, or one compiled with compile_model().
        as_of: the moment scores are computed for; decay and inactivity count days back from it.

    Returns:
        Columns lead_id, fit, behaviour, account (0-100 each), negative (points, <= 0), total (0-100),
        band, tier (ordered categoricals, low to high), reasons (top three rules with points),
        model_version, scored_at, mql_threshold, mql, sql, borderline, suppressed.

    Raises:
        InputDataError: missing columns, duplicate ids, bad timestamps, unknown leads, future events.
    """
    compiled = compile_model(model) if isinstance(model, ModelSpec) else model
    moment = as_utc(as_of)
    checked, totals = score_breakdown(leads, events, compiled, moment)
    return _scores_frame(checked, compiled, moment, totals)


def score_breakdown(leads: pd.DataFrame, events: pd.DataFrame, model: CompiledModel, as_of: pd.Timestamp,
                    ) -> tuple[pd.DataFrame, ScoreTotals]:
    """The validated leads (with email_domain) and their ScoreTotals: what `score` reports before its frame.

    Raises:
        InputDataError: as `score`.
    """
    leads = checked_leads(with_email_domain(leads), model.lead_fields)
    require_columns(events, ("lead_id", "type", "at"), "events", "scoring")
    positions = lead_positions(leads["lead_id"], events["lead_id"])
    events = checked_events(events, positions, as_of)
    arrays = event_arrays(events, positions, len(leads), as_of)
    created_days = (as_of.value - leads["created_at"].to_numpy("datetime64[ns]").view(np.int64)) / _DAY_NS
    return leads, score_totals(ColumnCodes(leads), arrays, created_days, model)


def _scores_frame(leads: pd.DataFrame, model: CompiledModel, as_of: pd.Timestamp, totals: ScoreTotals,
                  ) -> pd.DataFrame:
    total = totals.total
    band = pd.Categorical.from_codes(np.searchsorted(model.band_mins, total, side="right") - 1,
                                     categories=list(model.band_names), ordered=True)
    tier = pd.Categorical.from_codes(totals.tier_codes(model), categories=list(model.tier_names), ordered=True)
    threshold = mql_thresholds(leads, model)
    suppressed = totals.suppressed(model)
    n = len(leads)
    return pd.DataFrame({
        "lead_id": leads["lead_id"].to_numpy(),
        "fit": np.round(totals.fit, 1),
        "behaviour": np.round(totals.behaviour, 1),
        "negative": np.round(totals.negative, 1),
        "account": np.round(totals.account, 1),
        "total": total,
        "band": band,
        "tier": tier,
        "reasons": top_reasons(totals.parts.points, totals.parts.labels),
        "model_version": np.full(n, model.version, dtype=object),
        "scored_at": pd.DatetimeIndex(np.full(n, as_of.value, dtype="datetime64[ns]"), tz="UTC"),
        "mql_threshold": threshold,
        "mql": (total >= threshold) & ~suppressed,
        "sql": (total >= model.sql) & ~suppressed,
        "borderline": (np.abs(total - threshold) <= model.borderline) if model.borderline > 0 else np.zeros(n, bool),
        "suppressed": suppressed,
    })
