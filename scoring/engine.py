"""score(): leads + events + model + as_of -> the scores frame (ARCHITECTURE.md), vectorised."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.account import account_signal_points
from scoring.behaviour import action_points, inactivity_points, negative_event_points
from scoring.compiled import CompiledModel, compile_model
from scoring.event_arrays import event_arrays, lead_positions
from scoring.inputs import as_utc, checked_events, checked_leads, require_columns
from scoring.matchers import ColumnCodes, matcher_masks, with_email_domain
from scoring.model import ModelSpec
from scoring.reasons import top_reasons

__all__ = ["score", "score_points", "PointsBreakdown"]

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


def score_points(leads: pd.DataFrame, events: pd.DataFrame, positions: np.ndarray, model: CompiledModel,
                 as_of: pd.Timestamp) -> PointsBreakdown:
    """Points of every rule for every lead, on validated inputs; `positions` maps events to leads."""
    arrays = event_arrays(events, positions, len(leads), as_of)
    columns = ColumnCodes(leads)
    widths = {"fit": len(model.fit_rules), "behaviour": len(model.actions),
              "inactivity": len(model.inactivity_days),
              "negative": len(model.negative_rules) + len(model.negative_events), "account": len(model.signals)}
    pillars, start = {}, 0
    for name, width in widths.items():
        pillars[name] = slice(start, start + width)
        start += width
    points = np.zeros((len(leads), start))
    block = {name: points[:, sl] for name, sl in pillars.items()}
    np.multiply(matcher_masks(columns, model.fit_rules), [r.points for r in model.fit_rules], out=block["fit"])
    action_points(arrays, model, out=block["behaviour"])
    created_days = (as_of.value - leads["created_at"].to_numpy("datetime64[ns]").view(np.int64)) / _DAY_NS
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
    leads = with_email_domain(leads)
    leads = checked_leads(leads, compiled.lead_fields)
    require_columns(events, ("lead_id", "type", "at"), "events", "scoring")
    positions = lead_positions(leads["lead_id"], events["lead_id"])
    events = checked_events(events, positions, moment)
    parts = score_points(leads, events, positions, compiled, moment)
    fit_raw = parts.pillar_sum("fit")
    behaviour_raw = parts.pillar_sum("behaviour") + parts.pillar_sum("inactivity")
    account_raw = parts.pillar_sum("account")
    negative = parts.pillar_sum("negative")
    fit, behaviour = _pillar_score(fit_raw, compiled.fit_max), _pillar_score(behaviour_raw, compiled.behaviour_max)
    account = _pillar_score(account_raw, compiled.account_max)
    if compiled.combine == "sum":
        blended = fit_raw + behaviour_raw + account_raw
    else:
        w_fit, w_behaviour, w_account = compiled.weights
        blended = w_fit * fit + w_behaviour * behaviour + w_account * account
    total = np.round(np.clip(blended + negative, 0.0, 100.0), 1)
    return _scores_frame(leads, compiled, moment, parts, fit, behaviour, account, negative, total)


def _scores_frame(leads: pd.DataFrame, model: CompiledModel, as_of: pd.Timestamp, parts: PointsBreakdown,
                  fit: np.ndarray, behaviour: np.ndarray, account: np.ndarray, negative: np.ndarray,
                  total: np.ndarray) -> pd.DataFrame:
    band = pd.Categorical.from_codes(np.searchsorted(model.band_mins, total, side="right") - 1,
                                     categories=list(model.band_names), ordered=True)
    tier = pd.Categorical.from_codes(np.searchsorted(model.tier_mins, total, side="right") - 1,
                                     categories=list(model.tier_names), ordered=True)
    if "segment" in leads.columns and model.segment_mql:
        threshold = leads["segment"].map(model.segment_mql).astype(np.float64).fillna(model.mql).to_numpy()
    else:
        threshold = np.full(len(leads), model.mql)
    suppressed = parts.silent_days >= model.archive_after_days
    n = len(leads)
    return pd.DataFrame({
        "lead_id": leads["lead_id"].to_numpy(),
        "fit": np.round(fit, 1),
        "behaviour": np.round(behaviour, 1),
        "negative": np.round(negative, 1),
        "account": np.round(account, 1),
        "total": total,
        "band": band,
        "tier": tier,
        "reasons": top_reasons(parts.points, parts.labels),
        "model_version": np.full(n, model.version, dtype=object),
        "scored_at": pd.DatetimeIndex(np.full(n, as_of.value, dtype="datetime64[ns]"), tz="UTC"),
        "mql_threshold": threshold,
        "mql": (total >= threshold) & ~suppressed,
        "sql": (total >= model.sql) & ~suppressed,
        "borderline": (np.abs(total - threshold) <= model.borderline) if model.borderline > 0 else np.zeros(n, bool),
        "suppressed": suppressed,
    })
