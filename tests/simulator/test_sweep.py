"""Threshold x reps sweeps: metrics per replication, summary intervals, the capacity-aware recommendation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring import SettingsError, compile_model, load_model, parse_model
from scoring.compiled import CompiledModel
from simulator import load_scenario
from scoring.engine import score
from simulator._queue import to_working
from simulator._sweep_team import team_policy, team_windows
from simulator.mql_timing import crossing_rows, first_crossing, mql_arrival_seconds, running_scores
from simulator.queue_entry import QueueClock
from simulator.scenario import scenario_funnel
from simulator.sweep import (
    SweepGrid,
    SweepSettings,
    recommended_thresholds,
    replication_results,
    sweep_results,
    sweep_summary,
    task_seed,
)

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"leads_per_day": 10.0}
"""About 1,800 leads a funnel: quick, and 1-2 SDRs are still overloaded at low thresholds."""

NOISE_MODEL = """
[model]
name = "noise"
version = "0.0.1"
description = "Points for the lead's country only: unrelated to fit, intent or heat."

[[changelog]]
version = "0.0.1"
date = 2026-11-01
author = "test"
change = "Noise on purpose."

[scoring]
combine = "sum"

[fit]
[[fit.rules]]
name = "country"
label = "GB or DE"
field = "country"
in = ["GB", "DE"]
points = 60

[[tiers]]
name = "A"
label = "hot"
min_score = 75
[[tiers]]
name = "B"
label = "warm"
min_score = 50
[[tiers]]
name = "C"
label = "cold"
min_score = 0

[thresholds]
mql = 50
"""


@pytest.fixture(scope="module")
def candidate() -> CompiledModel:
    return compile_model(load_model(ROOT / "models" / "candidate.toml"))


@pytest.fixture(scope="module")
def default_grid(candidate: CompiledModel) -> SweepGrid:
    scenario = load_scenario(ROOT / "scenarios" / "default.toml")
    return SweepGrid((scenario,), candidate, (50.0, 60.0, 70.0), (1, 2, 4), replications=4, seed=11,
                     funnel_overrides=SMALL)


@pytest.fixture(scope="module")
def default_results(default_grid: SweepGrid) -> pd.DataFrame:
    return sweep_results(default_grid)


def _means(results: pd.DataFrame, metric: str) -> pd.Series:
    return sweep_summary(results).query("metric == @metric").set_index(["scenario", "threshold", "reps"])["mean"]


def test_results_have_one_row_per_cell_and_replication(default_results: pd.DataFrame) -> None:
    assert len(default_results) == 3 * 3 * 4
    assert not default_results.duplicated(["scenario", "threshold", "reps", "replication"]).any()
    assert {"mqls_per_day", "expected_value", "sla_breach_rate", "pipeline", "won_rate_75-100"} <= set(
        default_results.columns)


def test_expected_value_is_deal_value_minus_costs(default_results: pd.DataFrame) -> None:
    r = default_results
    expected = r["tp"] * 10_000.0 - r["fp"] * 500.0 - r["fn"] * 20_000.0
    np.testing.assert_allclose(r["expected_value"], expected)
    assert (r["tp"] + r["fp"] == r["worked"]).all()


def test_lower_threshold_never_selects_fewer_mqls(default_results: pd.DataFrame) -> None:
    by_threshold = default_results.pivot_table(index=["reps", "replication"], columns="threshold", values="mqls")
    assert (by_threshold.diff(axis=1).iloc[:, 1:] <= 0).all().all()


@pytest.mark.parametrize("metric", ["sla_breach_rate", "sla_breach_rate_calendar", "never_worked_share"])
def test_more_reps_never_raise_the_mean_breach_rate(default_results: pd.DataFrame, metric: str) -> None:
    means = _means(default_results, metric).unstack("reps").fillna(0.0)
    assert (means.diff(axis=1).iloc[:, 1:] <= 1e-12).all().all(), means


def test_recommendation_stays_within_capacity_and_sla(default_grid: SweepGrid,
                                                      default_results: pd.DataFrame) -> None:
    summary = sweep_summary(default_results)
    picks = recommended_thresholds(summary, default_grid.settings)
    assert len(picks) == 3
    means = summary.pivot_table(index=["reps", "threshold"], columns="metric", values="mean")
    constrained = [p for p in picks if p.threshold != p.unconstrained_threshold]
    for pick in picks:
        assert pick.expected_value is None or pick.expected_value <= pick.unconstrained_expected_value
        if pick.threshold is None:
            continue
        row = means.loc[(pick.reps, pick.threshold)]
        assert row["mqls_per_day"] <= row["usable_capacity_per_day"]
        assert row["sla_breach_rate"] <= 0.10
    assert constrained, "one SDR should be too few for the EV-best threshold"
    assert "EV-best threshold" in constrained[0].reason


def test_model_reading_latent_signals_beats_noise_in_expected_value(default_grid: SweepGrid,
                                                                    candidate: CompiledModel) -> None:
    noise = compile_model(parse_model(NOISE_MODEL, source="noise.toml"))
    grids = {name: SweepGrid(default_grid.scenarios, model, (50.0, 60.0), (4,), 3, 5, funnel_overrides=SMALL)
             for name, model in (("candidate", candidate), ("noise", noise))}
    best = {name: _means(sweep_results(grid), "expected_value").max() for name, grid in grids.items()}
    assert best["candidate"] > best["noise"]


def test_same_seed_same_frame_and_tasks_do_not_depend_on_grid_size(default_grid: SweepGrid) -> None:
    first = replication_results(default_grid, 0, 1)
    again = replication_results(default_grid, 0, 1)
    pd.testing.assert_frame_equal(first, again)
    smaller = SweepGrid(default_grid.scenarios, default_grid.model, default_grid.thresholds, default_grid.reps,
                        replications=2, seed=11, funnel_overrides=SMALL)
    pd.testing.assert_frame_equal(sweep_results(smaller).query("replication == 1").reset_index(drop=True),
                                  first)
    other_seed = SweepGrid(default_grid.scenarios, default_grid.model, default_grid.thresholds,
                           default_grid.reps, replications=2, seed=12, funnel_overrides=SMALL)
    assert not sweep_results(other_seed)["expected_value"].equals(sweep_results(smaller)["expected_value"])


def test_summary_interval_brackets_the_mean_and_counts_replications(default_results: pd.DataFrame) -> None:
    summary = sweep_summary(default_results)
    ev = summary.loc[summary["metric"] == "expected_value"]
    assert (ev["n"] == 4).all()
    assert (ev["ci_low"] <= ev["mean"]).all() and (ev["mean"] <= ev["ci_high"]).all()
    one = default_results.query("threshold == 50 and reps == 2")["expected_value"]
    row = ev.query("threshold == 50 and reps == 2").iloc[0]
    half = 3.182 * one.std(ddof=1) / 2.0  # t(0.975, 3 df) * sd / sqrt(4)
    assert row["ci_high"] - row["mean"] == pytest.approx(half)


def test_mqls_enter_the_queue_at_their_first_crossing_not_at_creation(default_grid: SweepGrid) -> None:
    """Running scores computed once serve every threshold: a lead is routed at threshold T when its score
    reached T at some moment (or its as_of total is >= T), at its own first crossing (not before creation),
    later for a higher threshold, with its P(won) at that moment; leads that are not MQLs keep their creation
    time and their P(won) at their most in-market moment."""
    funnel_seed, _ = task_seed(default_grid.seed, 0, 1).spawn(2)
    funnel = scenario_funnel(default_grid.scenarios[0], np.random.default_rng(funnel_seed), **SMALL)
    start = (funnel.spec.as_of - pd.Timedelta(days=funnel.spec.history_days)).floor("D")
    total = score(funnel.leads, funnel.events, default_grid.model, funnel.spec.as_of)["total"].to_numpy()
    created = ((funnel.leads["created_at"] - start) / pd.Timedelta(seconds=1)).to_numpy()
    windows = team_windows(default_grid.scenarios[0].team, start, funnel.spec.history_days + 14.0)
    clock = QueueClock.of(funnel, default_grid.model, start)
    alone = running_scores(funnel.leads, funnel.events, default_grid.model, start)
    as_of_day = funnel.spec.history_days  # as_of is a midnight, so the start is exactly history_days before
    previous = None
    for threshold in default_grid.thresholds:
        entry = clock.entries(threshold, total >= threshold, windows)
        mql, arrival = entry.mql, entry.arrival
        crossed = ~np.isnan(first_crossing(alone, threshold))
        np.testing.assert_array_equal(mql, crossed | (total >= threshold))
        assert mql.sum() > (total >= threshold).sum()  # leads that crossed and decayed since are routed too
        np.testing.assert_array_equal(entry.arrival_working, to_working(windows, arrival))
        np.testing.assert_array_equal(arrival[mql], mql_arrival_seconds(alone, first_crossing(alone, threshold), created)[mql])
        np.testing.assert_array_equal(arrival[~mql], created[~mql])
        assert (arrival >= created).all() and (arrival[mql] > created[mql] + 86_400).mean() > 0.5
        moment = np.where(mql, arrival / 86_400.0 - as_of_day, funnel.in_market.peak_day())
        np.testing.assert_array_equal(entry.propensity, funnel.in_market.propensity_at(moment))
        if previous is not None:
            assert (arrival[mql] >= previous[mql]).all()
        previous = arrival


def test_mqls_go_hot_by_their_score_when_they_crossed_not_by_their_score_at_the_end(default_grid: SweepGrid,
                                                                                    ) -> None:
    """The entry score is the running total at the crossing row (>= the threshold); hot = it reached the top
    tier then, as a router sees it at routing time. Some leads were top tier when they crossed and have cooled
    since, some reached it later: the as_of tier would send both the wrong way (and read the future)."""
    funnel_seed, _ = task_seed(default_grid.seed, 0, 1).spawn(2)
    funnel = scenario_funnel(default_grid.scenarios[0], np.random.default_rng(funnel_seed), **SMALL)
    start = (funnel.spec.as_of - pd.Timedelta(days=funnel.spec.history_days)).floor("D")
    model = default_grid.model
    total = score(funnel.leads, funnel.events, model, funnel.spec.as_of)["total"].to_numpy()
    clock, top = QueueClock.of(funnel, model, start), float(model.tier_mins[-1])
    entry = clock.entries(70.0, total >= 70.0)
    rows = crossing_rows(clock.running, 70.0)
    crossed = rows >= 0
    np.testing.assert_array_equal(entry.score[crossed], clock.running.total[rows[crossed]])
    assert (entry.score[entry.mql] >= 70.0).all() and np.isnan(entry.score[~entry.mql]).all()
    hot, hot_at_end = entry.hot(top, total), entry.mql & (total >= top)
    assert (hot & ~hot_at_end).sum() > 0 and (~hot & hot_at_end).sum() > 0
    np.testing.assert_array_equal(hot, entry.mql & (entry.score >= top))


def test_the_scenarios_team_sla_is_what_routing_holds_reps_to(default_grid: SweepGrid,
                                                             default_results: pd.DataFrame) -> None:
    """[team] sla_hours set the tiers' SLAs (hot -> A, warm -> B): 5 and 15 minutes breach far more often than the
    default 2 and 24 hours on the same funnels, and the JSON-facing policy says which SLAs were used."""
    scenario = default_grid.scenarios[0]
    assert dict(team_policy(scenario.team, default_grid.settings.policy).sla_hours) == {"A": 2.0, "B": 24.0}
    tight_team = dataclasses.replace(scenario.team, sla_hours={"hot": 5 / 60, "warm": 0.25, "cold": 24.0})
    tight = dataclasses.replace(default_grid, scenarios=(dataclasses.replace(scenario, team=tight_team),))
    loose_breach = _means(default_results, "sla_breach_rate")
    tight_breach = _means(sweep_results(tight), "sla_breach_rate")
    assert (tight_breach.to_numpy() >= loose_breach.to_numpy() - 1e-12).all()
    assert (tight_breach.to_numpy() > loose_breach.to_numpy() + 0.2).mean() > 0.5


def test_bad_grid_lists_every_problem(candidate: CompiledModel) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "default.toml")
    with pytest.raises(SettingsError) as caught:
        SweepGrid((scenario,), candidate, (50.0, 120.0, 50.0), (0, 4), replications=0, seed=1)
    text = str(caught.value)
    for expected in ("0..100", "repeated values in [50.0", "reps", "replications"):
        assert expected in text
    with pytest.raises(SettingsError, match="sla_clock"):
        SweepSettings(sla_clock="lunar")
