"""Propensity and stage outcomes: who is accepted, meets, opens an opportunity, wins or loses, and when.

propensity = sigmoid(base + w_fit * fit + w_intent * intent + w_heat * account_heat + w_unsub), the
probability that a lead is won within the outcome window; competitors never buy. Each stage is
reached from the previous one with probability propensity ** share (the shares sum to 1), so every
stage, not just the last, rises with propensity. Times after as_of come from a Beta-distributed time
to close (mean `days_to_close_mean`) split into stages by a Dirichlet draw, so all fit the window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.columns import OUTCOME_COLUMNS, STAGES
from simulator._sampling import BoolArray, FloatArray, day_seconds, sigmoid, str_take, timestamps
from simulator.spec import FunnelSpec

__all__ = ["propensity", "draw_outcomes"]

_FUNNEL = ("accepted", "meeting", "opportunity", "won")
_TIME_STAGES = ("accepted", "meeting", "opportunity", "closed")


def propensity(spec: FunnelSpec, fit: FloatArray, intent: FloatArray, account_heat: FloatArray,
               unsubscribed: BoolArray, competitor: BoolArray) -> FloatArray:
    """Probability that each lead is won within outcome_days (0 for competitors)."""
    z = (spec.propensity_base + spec.propensity_fit_weight * fit + spec.propensity_intent_weight * intent
         + spec.propensity_heat_weight * account_heat + spec.propensity_unsubscribe_weight * unsubscribed)
    return np.where(competitor, 0.0, sigmoid(z))


def draw_outcomes(spec: FunnelSpec, won_probability: FloatArray, lead_ids: np.ndarray,
                  rng: np.random.Generator) -> pd.DataFrame:
    """The outcomes frame of a funnel.

    Args:
        spec: the funnel spec (stage shares, rejected rate, speed, outcome_days).
        won_probability: each lead's propensity.
        lead_ids: lead_id per lead index.
        rng: the random generator.

    Returns:
        OUTCOME_COLUMNS (lead_id, stage, at): one row per stage a lead reaches (accepted, meeting,
        opportunity, then won or lost), one "rejected" row for a reviewed lead that is not accepted,
        none for untouched leads; at in (as_of, as_of + outcome_days]; sorted by (lead_id, at).
    """
    n = won_probability.size
    draws = rng.random((5, n))
    reached: dict[str, BoolArray] = {}
    previous = np.ones(n, dtype=bool)
    for row, stage in enumerate(_FUNNEL):
        previous = previous & (draws[row] < won_probability ** spec.stage_propensity_shares[stage])
        reached[stage] = previous
    reached["lost"] = reached["opportunity"] & ~reached["won"]
    reached["rejected"] = ~reached["accepted"] & (draws[4] < spec.rejected_rate)

    mean = spec.days_to_close_mean / spec.outcome_days
    k = spec.days_to_close_concentration
    close_day = spec.outcome_days * rng.beta(mean * k, (1.0 - mean) * k, n)
    alpha = np.array([spec.stage_time_shares[s] for s in _TIME_STAGES]) * spec.stage_time_concentration
    cumulative = np.cumsum(rng.dirichlet(alpha, n), axis=1)
    day_of = {
        "accepted": close_day * cumulative[:, 0],
        "meeting": close_day * cumulative[:, 1],
        "opportunity": close_day * cumulative[:, 2],
        "won": close_day,
        "lost": close_day,
        "rejected": close_day * cumulative[:, 0],
    }
    leads, stages, days = [], [], []
    for code, stage in enumerate(STAGES):
        rows = np.flatnonzero(reached[stage])
        leads.append(rows)
        stages.append(np.full(rows.size, code, dtype=np.int64))
        days.append(day_of[stage][rows])
    lead = np.concatenate(leads)
    stage_code = np.concatenate(stages)
    seconds = np.clip(day_seconds(np.concatenate(days)), 1, spec.outcome_days * 86_400)
    order = np.lexsort((stage_code, seconds, lead))
    lead, stage_code, seconds = lead[order], stage_code[order], seconds[order]
    return pd.DataFrame({
        "lead_id": str_take(lead_ids, lead),
        "stage": str_take(STAGES, stage_code),
        "at": pd.Series(timestamps(spec.as_of, seconds)),
    }, columns=list(OUTCOME_COLUMNS))
