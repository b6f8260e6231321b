"""Speed to lead: conversion odds fall as the first touch comes later, so routing and capacity move wins.

DOMAIN.md section 6: a first touch within 5 minutes instead of 60 multiplies conversion odds up to ~9x
(hot), ~4x (warm), ~2x (cold). The odds are log-linear in the delay between `fast_minutes` and
`max_effect_hours`:

    odds(delay) = odds(base) * (clip(delay, fast, max_effect) / reference) ** -slope[tier],
    slope[tier] = ln(odds_ratio[tier]) / ln(slow_minutes / fast_minutes),

so odds(fast) / odds(slow) = odds_ratio exactly, and `base` is the propensity at `reference_minutes`.
A lead no rep touches within the horizon, whether routed and never worked or never routed (nurture), gets
`untouched_odds_multiplier` (default: the coldest tier's multiplier at `max_effect_hours`, about 0.41), and
a touch never converts worse than no touch. So routing a lead can only help it, and speed helps most for
hot leads: a hot lead touched after about 2.7 hours is no better off than one left in nurture.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scoring.errors import SettingsError
from simulator._sampling import BoolArray, FloatArray, IntArray

__all__ = ["SpeedToLead", "WON_COLUMNS", "speed_odds_multiplier", "speed_adjusted_propensity",
           "won_after_routing"]

WON_COLUMNS: tuple[str, ...] = ("lead_id", "queue_hours", "propensity", "adjusted_propensity", "won")


@dataclass(frozen=True)
class SpeedToLead:
    """How conversion odds depend on the first-touch delay, per tier (DOMAIN.md section 6 defaults)."""

    tier_order: tuple[str, ...] = ("A", "B", "C", "D")
    odds_ratio: Mapping[str, float] = field(default_factory=lambda: {"A": 9.0, "B": 4.0, "C": 2.0, "D": 2.0})
    """Odds multiplier of a touch at fast_minutes over one at slow_minutes (hot ~9x, warm ~4x, cold ~2x)."""
    fast_minutes: float = 5.0
    slow_minutes: float = 60.0
    reference_minutes: float = 60.0
    """The delay at which a lead converts at its base propensity."""
    max_effect_hours: float = 24.0
    """Later touches lose no more than a touch at this delay."""
    untouched_odds_multiplier: float | None = None
    """Odds multiplier of a lead no rep touches in the horizon (routed and never worked, or not routed); it is
    also the least a touch can give. None = the coldest tier's multiplier at max_effect_hours."""

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.fast_minutes < self.slow_minutes:
            problems.append(f"need 0 < fast_minutes < slow_minutes, got {self.fast_minutes}, {self.slow_minutes}")
        if self.max_effect_hours * 60.0 < self.fast_minutes or self.reference_minutes <= 0:
            problems.append("max_effect_hours must be at least fast_minutes and reference_minutes positive")
        missing = [t for t in self.tier_order if t not in self.odds_ratio]
        if missing or any(v < 1.0 for v in self.odds_ratio.values()):
            problems.append(f"odds_ratio needs a value >= 1 for every tier {list(self.tier_order)}, "
                            f"got {dict(self.odds_ratio)}")
        if self.untouched_odds_multiplier is not None and self.untouched_odds_multiplier < 0:
            problems.append(f"untouched_odds_multiplier must be >= 0, got {self.untouched_odds_multiplier}")
        if problems:
            raise SettingsError("SpeedToLead: " + "; ".join(problems))

    @property
    def slopes(self) -> FloatArray:
        """Log-odds lost per unit of log delay, per tier code."""
        span = np.log(self.slow_minutes / self.fast_minutes)
        return np.array([np.log(self.odds_ratio[t]) / span for t in self.tier_order])

    @property
    def untouched_multiplier(self) -> float:
        """Odds multiplier of a lead nobody touches: the setting, or the coldest tier's at max_effect_hours."""
        if self.untouched_odds_multiplier is not None:
            return float(self.untouched_odds_multiplier)
        coldest = float(self.slopes.min())
        return float((self.max_effect_hours * 60.0 / self.reference_minutes) ** -coldest)


def speed_odds_multiplier(delay_hours: FloatArray, tier: IntArray, settings: SpeedToLead) -> FloatArray:
    """Odds multiplier per lead for a first touch `delay_hours` after arrival (NaN = never touched).

    Args:
        delay_hours: hours from arrival to first touch; NaN for a lead never touched.
        tier: index into settings.tier_order.
        settings: the speed-to-lead curve.

    Returns:
        The tier's curve at the delay, never below the untouched multiplier; the untouched multiplier for NaN.
    """
    minutes = np.clip(np.asarray(delay_hours, dtype=np.float64) * 60.0, settings.fast_minutes,
                      settings.max_effect_hours * 60.0)
    slope = settings.slopes[tier]
    floor = settings.untouched_multiplier
    multiplier = np.maximum((minutes / settings.reference_minutes) ** -slope, floor)
    return np.where(np.isnan(delay_hours), floor, multiplier)


def speed_adjusted_propensity(base: FloatArray, delay_hours: FloatArray, tier: IntArray, routed: BoolArray,
                              settings: SpeedToLead) -> FloatArray:
    """P(won) after the first-touch delay: base odds times the speed multiplier.

    Args:
        base: P(won) at the reference delay, per lead.
        delay_hours: hours from arrival to first touch (NaN if never touched).
        tier: index into settings.tier_order (any value where not routed).
        routed: leads that went to sales; the others (nurture) are never touched and get the untouched odds.
        settings: the speed-to-lead curve.
    """
    base = np.clip(np.asarray(base, dtype=np.float64), 0.0, 1.0)
    tier = np.where(routed, np.asarray(tier), 0)
    multiplier = speed_odds_multiplier(np.where(routed, delay_hours, np.nan), tier, settings)
    with np.errstate(divide="ignore"):
        odds = base / (1.0 - base)
        adjusted = np.where(base >= 1.0, 1.0, odds * multiplier / (1.0 + odds * multiplier))
    return adjusted


def _tier_codes(tier: pd.Series, order: tuple[str, ...]) -> IntArray:
    """Index of each tier name in `order` (-1 for NaN or unknown), via the categories when categorical."""
    codes, uniques = pd.factorize(tier, use_na_sentinel=True)
    lookup = {t: i for i, t in enumerate(order)}
    mapped = np.array([lookup.get(u, -1) for u in uniques] + [-1], dtype=np.int64)
    return mapped[np.asarray(codes, dtype=np.int64)]


def won_after_routing(routed: pd.DataFrame, propensity: FloatArray, settings: SpeedToLead,
                      rng: np.random.Generator) -> pd.DataFrame:
    """Redraw won / lost for routed leads given their first-touch delays.

    Draws one uniform per lead in row order, so two routings of the same leads with the same seed share
    their random numbers (common random numbers: differences come from the routing, not the draw).

    Args:
        routed: ROUTING_COLUMNS from `route` (tier, routed, queue_hours).
        propensity: base P(won) per row (e.g. the funnel's latent propensity).
        settings: the speed-to-lead curve.
        rng: random generator.

    Returns:
        WON_COLUMNS, one row per lead in the same order.
    """
    tier = _tier_codes(routed["tier"], settings.tier_order)
    is_routed = routed["routed"].to_numpy() & (tier >= 0)
    adjusted = speed_adjusted_propensity(propensity, routed["queue_hours"].to_numpy(dtype=np.float64),
                                         tier, is_routed, settings)
    won = rng.random(len(routed)) < adjusted
    return pd.DataFrame({
        "lead_id": routed["lead_id"].reset_index(drop=True),
        "queue_hours": routed["queue_hours"].to_numpy(),
        "propensity": np.asarray(propensity, dtype=np.float64),
        "adjusted_propensity": adjusted,
        "won": won,
    }, columns=list(WON_COLUMNS))
