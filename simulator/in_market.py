"""A lead's P(won) at any moment, not only at as_of: what routing at the moment a lead becomes an MQL needs.

The funnel's outcomes (after as_of) come from the propensity at as_of. A live team routes a lead when its
score crosses the threshold, maybe months before as_of, while it is in market: its chance then comes from
its intent and its account's heat at that moment. `InMarket` keeps the latent parts (fit, buying windows,
account windows, unsubscribe day, creation day) so `propensity_at(day)` answers for any day; at day 0 it is
exactly the funnel's latent propensity. Days are relative to as_of (negative = before).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator._sampling import BoolArray, FloatArray
from simulator._scenario_time import drifted_propensity, has_drift
from simulator.intent import intent_at
from simulator.outcomes import propensity
from simulator.spec import FunnelSpec

__all__ = ["InMarket", "won_propensity"]


def won_propensity(spec: FunnelSpec, created: FloatArray, fit: FloatArray, intent: FloatArray,
                   account_heat: FloatArray, unsubscribed: BoolArray, competitor: BoolArray) -> FloatArray:
    """P(won) per lead from its latent terms, with drifting weights when the spec has drift."""
    if has_drift(spec):
        return drifted_propensity(spec, created, fit, intent, account_heat, unsubscribed, competitor)
    return propensity(spec, fit, intent, account_heat, unsubscribed, competitor)


@dataclass(frozen=True, eq=False)
class InMarket:
    """The latent terms of each lead's P(won), as arrays in lead order (days relative to as_of)."""

    spec: FunnelSpec
    fit: FloatArray
    competitor: BoolArray
    created: FloatArray
    unsubscribed_day: FloatArray
    """NaN for a lead that never unsubscribed."""
    strength: FloatArray
    """Buying-window strength, 0 without a window."""
    window_start: FloatArray
    window_end: FloatArray
    """NaN without a window; the end may lie after as_of (still running)."""
    committee_size: FloatArray
    """log(1 + engaged contacts) of the lead's account: its account heat while the account is in market."""
    account_start: FloatArray
    account_end: FloatArray
    """The account's committee window, NaN without one."""

    def propensity_at(self, day: FloatArray) -> FloatArray:
        """P(won) of each lead if worked at the reference delay on `day` (relative to as_of, per lead)."""
        hl = self.spec.intent_half_life_days
        intent = intent_at(self.strength, self.window_start, self.window_end, day, hl)
        heat = self.committee_size * intent_at(np.ones_like(day), self.account_start, self.account_end, day, hl)
        unsubscribed = np.nan_to_num(self.unsubscribed_day, nan=np.inf) <= day
        return won_propensity(self.spec, self.created, self.fit, intent, heat, unsubscribed, self.competitor)

    def peak_day(self) -> FloatArray:
        """The day each lead is most in market: its window's end (as_of if still running), else as_of."""
        return np.where(np.isnan(self.window_end), 0.0, np.minimum(self.window_end, 0.0))
