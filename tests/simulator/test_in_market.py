"""Steady buying windows and P(won) at any moment: what routing leads at their MQL moment rests on."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from scoring import compile_model, load_model
from simulator import Funnel, FunnelSpec, generate_funnel
from simulator.in_market import InMarket
from simulator.mql_timing import first_crossing, running_scores
from simulator.scenario import load_scenario, scenario_funnel

SEED = 20261101
Z = 3.0


@pytest.fixture(scope="module")
def funnel() -> Funnel:
    return generate_funnel(FunnelSpec(n_leads=20_000, history_days=180), np.random.default_rng(SEED))


@pytest.mark.parametrize("scenario", ["default", "drifting_market"])
def test_at_as_of_it_is_the_latent_propensity_exactly(scenario: str) -> None:
    f = scenario_funnel(load_scenario(f"scenarios/{scenario}.toml"), np.random.default_rng(SEED),
                        leads_per_day=20.0)
    now = f.in_market.propensity_at(np.zeros(len(f.leads)))
    np.testing.assert_array_equal(now, f.latent["propensity"].to_numpy())


def test_buying_windows_start_steadily_over_the_history(funnel: Funnel) -> None:
    """Window starts are uniform over the history (no pile of windows just before as_of)."""
    start = funnel.in_market.window_start
    start = start[~np.isnan(start)]
    history = funnel.spec.history_days
    counts = np.histogram(start, bins=6, range=(-history, 0.0))[0]
    expected = start.size / 6
    assert (np.abs(counts - expected) <= Z * math.sqrt(expected) + 0.03 * expected).all(), counts
    live = funnel.in_market.window_end[~np.isnan(funnel.in_market.window_end)] > 0
    assert 0.02 < live.mean() < 0.2  # windows still running at as_of: about mean length / history


def _own_window_only(m: InMarket) -> np.ndarray:
    """Leads whose P(won) moves only with their own window: no account window, no unsubscribe, no competitor."""
    return (~np.isnan(m.window_start) & np.isnan(m.account_start) & np.isnan(m.unsubscribed_day)
            & ~m.competitor)


def test_a_past_window_made_the_lead_likelier_to_win_then_than_now(funnel: Funnel) -> None:
    m = funnel.in_market
    past = _own_window_only(m) & (m.window_end < -60) & (m.strength > 0.2)
    during = m.propensity_at(np.where(past, m.window_end, 0.0))[past]
    now = funnel.latent["propensity"].to_numpy()[past]
    assert past.sum() > 500
    assert (during > now).all()
    assert np.median(during / now) > 2.0


def test_before_its_window_a_lead_has_no_intent(funnel: Funnel) -> None:
    m = funnel.in_market
    own = _own_window_only(m)
    day_before = np.where(own, m.window_start - 1.0, 0.0)
    without_window = dataclasses.replace(m, strength=np.zeros_like(m.strength))
    np.testing.assert_array_equal(m.propensity_at(day_before)[own], without_window.propensity_at(day_before)[own])
    assert (m.propensity_at(np.where(own, m.window_end, 0.0))[own] > m.propensity_at(day_before)[own]).all()


def test_unsubscribing_counts_only_after_it_happened(funnel: Funnel) -> None:
    m = funnel.in_market
    gone = ~np.isnan(m.unsubscribed_day) & ~m.competitor
    before = m.propensity_at(np.where(gone, m.unsubscribed_day - 1e-6, 0.0))
    after = m.propensity_at(np.where(gone, m.unsubscribed_day, 0.0))
    assert (after[gone] < before[gone]).all()


def test_mql_crossings_are_steady_over_the_history(funnel: Funnel) -> None:
    """With steady windows, leads reach an MQL threshold at a steady rate (after a month of warm-up):
    no month gets more than 1.5x or less than 0.6x the average."""
    spec = funnel.spec
    model = compile_model(load_model("models/candidate.toml"))
    origin = spec.as_of - np.timedelta64(spec.history_days, "D")
    running = running_scores(funnel.leads, funnel.events, model, origin)
    crossing = first_crossing(running, 60.0)
    days = crossing[~np.isnan(crossing)] / 86_400.0
    monthly = np.histogram(days, bins=6, range=(0.0, spec.history_days))[0][1:]
    assert monthly.sum() > 300
    assert (monthly <= 1.5 * monthly.mean()).all() and (monthly >= 0.6 * monthly.mean()).all(), monthly
