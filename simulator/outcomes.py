"""Propensity and stage outcomes: who is accepted, meets, opens an opportunity, wins or loses, and when.

propensity = sigmoid(base + w_fit * fit + w_intent * intent + w_heat * account_heat + w_unsub), the
probability that a lead is won within the outcome window; competitors never buy. Each stage is
reached from the previous one with probability propensity ** share (the shares sum to 1), so every
stage, not just the last, rises with propensity. Times after as_of come from a Beta-distributed time
to close (mean `days_to_close_mean`) split into stages by a Dirichlet draw, so all fit the window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.columns import OUTCOME_COLUMNS, STAGES
from simulator._sampling import BoolArray, FloatArray, day_seconds, sigmoid, str_take, timestamps
from simulator.spec import FunnelSpec

__all__ = ["OutcomeDraw", "propensity", "draw_outcome_numbers"]

_FUNNEL = ("accepted", "meeting", "opportunity", "won")
_TIME_STAGES = ("accepted", "meeting", "opportunity", "closed")


def propensity(spec: FunnelSpec, fit: FloatArray, intent: FloatArray, account_heat: FloatArray,
               unsubscribed: BoolArray, competitor: BoolArray) -> FloatArray:
    """Probability that each lead is won within outcome_days (0 for competitors)."""
    z = (spec.propensity_base + spec.propensity_fit_weight * fit + spec.propensity_intent_weight * intent
         + spec.propensity_heat_weight * account_heat + spec.propensity_unsubscribe_weight * unsubscribed)
    return np.where(competitor, 0.0, sigmoid(z))


@dataclass(frozen=True, eq=False)
class OutcomeDraw:
    """The random numbers behind a funnel's outcomes, drawn in the funnel's draw order; `frame` builds the
    outcomes from them (the same frame whenever it is built)."""

    won_probability: FloatArray
    """Each lead's propensity."""
    stage_uniform: FloatArray
    """Uniforms of shape (5, n_leads): accepted, meeting, opportunity, won, rejected."""
    close_share: FloatArray
    """Time to close as a share of outcome_days, per lead (Beta draws)."""
    time_shares: FloatArray
    """Per lead, the split of the time to close over accepted, meeting, opportunity, closed (Dirichlet draws,
    shape (n_leads, 4))."""

    def frame(self, spec: FunnelSpec, lead_ids: np.ndarray) -> pd.DataFrame:
        """OUTCOME_COLUMNS (lead_id, stage, at), `lead_ids[lead]` as lead_id; see `draw_outcome_numbers`."""
        won_probability, draws = self.won_probability, self.stage_uniform
        n = won_probability.size
        reached: dict[str, BoolArray] = {}
        previous = np.ones(n, dtype=bool)
        for row, stage in enumerate(_FUNNEL):
            previous = previous & (draws[row] < won_probability ** spec.stage_propensity_shares[stage])
            reached[stage] = previous
        reached["lost"] = reached["opportunity"] & ~reached["won"]
        reached["rejected"] = ~reached["accepted"] & (draws[4] < spec.rejected_rate)

        close_day = spec.outcome_days * self.close_share
        cumulative = np.cumsum(self.time_shares, axis=1)
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


def draw_outcome_numbers(spec: FunnelSpec, won_probability: FloatArray, rng: np.random.Generator,
                         ) -> OutcomeDraw:
    """The outcomes' random draws (stage uniforms, time to close, stage time split), frame not built."""
    n = won_probability.size
    stage_uniform = rng.random((5, n))
    mean = spec.days_to_close_mean / spec.outcome_days
    k = spec.days_to_close_concentration
    close_share = rng.beta(mean * k, (1.0 - mean) * k, n)
    alpha = np.array([spec.stage_time_shares[s] for s in _TIME_STAGES]) * spec.stage_time_concentration
    return OutcomeDraw(won_probability=won_probability, stage_uniform=stage_uniform, close_share=close_share,
                       time_shares=rng.dirichlet(alpha, n))
