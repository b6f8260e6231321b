"""Speed to lead: DOMAIN odds ratios, floors for never-worked leads, and wins that fall in a capacity crunch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scoring.errors import SettingsError
from simulator.arrivals import synthetic_arrivals
from simulator.reps import RoutingPolicy, rep_team
from simulator.routing import compile_routing, route
from simulator.speed_to_lead import (
    WON_COLUMNS,
    SpeedToLead,
    speed_adjusted_propensity,
    speed_odds_multiplier,
    won_after_routing,
)

START = pd.Timestamp("2026-11-02", tz="UTC")


@pytest.mark.parametrize(("tier", "ratio"), [(0, 9.0), (1, 4.0), (2, 2.0), (3, 2.0)])
def test_five_minutes_beats_sixty_by_the_domain_odds_ratio(tier: int, ratio: float) -> None:
    """DOMAIN.md section 6: 5 instead of 60 minutes multiplies the odds ~9x hot, ~4x warm, ~2x cold."""
    settings = SpeedToLead()
    fast, slow = speed_odds_multiplier(np.array([5 / 60, 1.0]), np.array([tier, tier]), settings)
    assert fast / slow == pytest.approx(ratio)
    base = np.array([0.1, 0.1])
    p = speed_adjusted_propensity(base, np.array([5 / 60, 1.0]), np.array([tier, tier]), np.array([True, True]),
                                  settings)
    odds = p / (1 - p)
    assert odds[0] / odds[1] == pytest.approx(ratio)


def test_reference_delay_keeps_the_base_propensity() -> None:
    p = speed_adjusted_propensity(np.array([0.3]), np.array([1.0]), np.array([0]), np.array([True]), SpeedToLead())
    assert p[0] == pytest.approx(0.3)


def test_later_touch_converts_less_until_the_floor() -> None:
    delays = np.array([0.0, 0.05, 0.5, 1.0, 2.0, 12.0, 24.0, 100.0])
    settings = SpeedToLead()
    m = speed_odds_multiplier(delays, np.zeros(delays.size, dtype=np.int64), settings)
    assert m[0] == m[1]  # under 5 minutes no further gain
    assert (np.diff(m[1:5]) < 0).all()
    assert (np.diff(m) <= 0).all()
    assert m[-1] == m[-2] == pytest.approx(settings.untouched_multiplier)  # a late touch is no worse than none


def test_untouched_leads_routed_or_not_convert_at_the_floor() -> None:
    settings = SpeedToLead(untouched_odds_multiplier=0.05)
    base = np.array([0.2, 0.2, 0.2, 0.2])
    p = speed_adjusted_propensity(base, np.array([np.nan, np.nan, 3.0, 1.0]), np.array([0, 2, 2, 1]),
                                  np.array([True, False, False, True]), settings)
    floor = 0.05 * 0.25 / (1 + 0.05 * 0.25)
    assert p[:3] == pytest.approx([floor, floor, floor])  # never worked, nurture, nurture with a stray delay
    assert p[3] == pytest.approx(0.2)


@pytest.mark.parametrize("tier", [0, 1, 2, 3])
def test_routing_a_lead_never_lowers_its_chance(tier: int) -> None:
    """Any touch at any delay converts at least as well as leaving the lead in nurture."""
    settings = SpeedToLead()
    delays = np.array([0.01, 0.5, 1.0, 3.0, 8.0, 24.0, 200.0, np.nan])
    base = np.full(delays.size, 0.1)
    routed = speed_adjusted_propensity(base, delays, np.full(delays.size, tier), np.ones(delays.size, bool), settings)
    nurture = speed_adjusted_propensity(base, delays, np.full(delays.size, tier), np.zeros(delays.size, bool),
                                        settings)
    assert (routed >= nurture - 1e-15).all()


def test_default_floor_is_the_coldest_tier_at_the_cap() -> None:
    settings = SpeedToLead()
    cold = settings.tier_order.index("C")
    m = speed_odds_multiplier(np.array([np.nan, 24.0, 24.0]), np.array([1, cold, 0]), settings)
    assert m[0] == pytest.approx(m[1]) == pytest.approx(24.0 ** -(math.log(2) / math.log(12)))
    assert m[2] == pytest.approx(m[0])  # the hot curve is clipped at the floor


def test_settings_reject_a_missing_tier_and_inverted_anchors() -> None:
    with pytest.raises(SettingsError, match="odds_ratio"):
        SpeedToLead(odds_ratio={"A": 9.0})
    with pytest.raises(SettingsError, match="fast_minutes"):
        SpeedToLead(fast_minutes=60.0, slow_minutes=5.0)


def _wins(sdrs: int, arrivals: pd.DataFrame, seed: int) -> pd.DataFrame:
    plan = compile_routing(rep_team(sdrs, sdr_capacity=20), RoutingPolicy(tier_roles={"A": ("sdr",), "B": ("sdr",)},
                                                                          overflow_roles=()), START, 28)
    return won_after_routing(route(arrivals, plan), arrivals["propensity"].to_numpy(), SpeedToLead(),
                             np.random.default_rng(seed))


def test_capacity_crunch_lowers_simulated_wins() -> None:
    """Same leads and random numbers; 2 SDRs instead of 12 leave leads waiting and win visibly less."""
    arrivals = synthetic_arrivals(20_000, START, 28, np.random.default_rng(5))
    ample, crunch = _wins(12, arrivals, seed=9), _wins(2, arrivals, seed=9)
    assert list(ample.columns) == list(WON_COLUMNS)
    routed = arrivals["tier"].isin(["A", "B"]).to_numpy()
    n = int(routed.sum())
    p = float(ample["won"].to_numpy()[routed].mean())
    se = math.sqrt(p * (1 - p) / n)
    assert ample["won"].to_numpy()[routed].mean() - crunch["won"].to_numpy()[routed].mean() > 3 * se
    assert (crunch["adjusted_propensity"] <= ample["adjusted_propensity"] + 1e-12).mean() > 0.95
    nurture = ~routed
    assert (ample["won"].to_numpy()[nurture] == crunch["won"].to_numpy()[nurture]).all()


def test_same_seed_gives_the_same_wins() -> None:
    arrivals = synthetic_arrivals(3_000, START, 28, np.random.default_rng(5))
    pd.testing.assert_frame_equal(_wins(4, arrivals, seed=1), _wins(4, arrivals, seed=1))
