"""Chunked simulation: deterministic per seed, totals independent of chunking, only MQL arrays retained."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring import SettingsError, compile_model, load_model
from scoring.compiled import CompiledModel
from scoring.engine import score
from simulator import FunnelSpec, generate_funnel
from simulator.chunked import (
    MQLArrivals,
    chunk_seeds,
    chunk_sizes,
    mql_arrivals,
    simulate_in_chunks,
    sized_team,
)
from tests.reference.running import brute_force_crossing

ROOT = Path(__file__).resolve().parents[2]
SPEC = FunnelSpec(n_leads=6_000, history_days=90)
"""Three chunks of 2,000 leads at chunk_leads=2_000."""


@pytest.fixture(scope="module")
def baseline() -> CompiledModel:
    return compile_model(load_model(ROOT / "models" / "baseline.toml"))


@pytest.fixture(scope="module")
def candidate() -> CompiledModel:
    return compile_model(load_model(ROOT / "models" / "candidate.toml"))


def test_chunk_sizes_split_leads_evenly() -> None:
    assert chunk_sizes(6_000, 2_000) == [2_000, 2_000, 2_000]
    assert chunk_sizes(6_001, 2_000) == [1_501, 1_500, 1_500, 1_500]
    assert chunk_sizes(10, 250_000) == [10]


def test_chunk_seeds_do_not_depend_on_later_chunks() -> None:
    """Chunk i's seeds are the same whether the run has 3 chunks or 5."""
    three, five = chunk_seeds(7, 3), chunk_seeds(7, 5)
    for (f3, d3), (f5, d5) in zip(three, five[:3], strict=True):
        assert f3.generate_state(4).tolist() == f5.generate_state(4).tolist()
        assert d3.generate_state(4).tolist() == d5.generate_state(4).tolist()


def test_same_seed_gives_identical_totals(candidate: CompiledModel) -> None:
    first = simulate_in_chunks(SPEC, candidate, seed=3, chunk_leads=2_000)
    second = simulate_in_chunks(SPEC, candidate, seed=3, chunk_leads=2_000)
    keep = {"seconds", "peak_rss_mib"}
    a = {k: v for k, v in dataclasses.asdict(first).items() if k not in keep}
    b = {k: v for k, v in dataclasses.asdict(second).items() if k not in keep}
    assert a == b
    assert first.chunks == 3 and first.leads == 6_000 and first.lead_days == 6_000 * 90


def test_chunk_totals_are_sums_of_the_chunks(baseline: CompiledModel) -> None:
    """Leads, events and MQLs of a 3-chunk run are the sums over three independently generated funnels."""
    result = simulate_in_chunks(SPEC, baseline, seed=5, chunk_leads=2_000)
    events = mqls = 0
    for funnel_seed, _ in chunk_seeds(5, 3):
        funnel = generate_funnel(dataclasses.replace(SPEC, n_leads=2_000), np.random.default_rng(funnel_seed))
        events += len(funnel.events)
        mqls += int(score(funnel.leads, funnel.events, baseline, SPEC.as_of)["mql"].sum())
    assert (result.events, result.mqls) == (events, mqls)
    assert result.routed == result.mqls  # every MQL arrives inside the horizon and goes to the SDRs


def test_totals_agree_across_chunk_sizes_within_sampling_error(candidate: CompiledModel) -> None:
    """One chunk of 6,000 and three of 2,000 draw different funnels from the same distribution."""
    team = sized_team(400, (SPEC.as_of - pd.Timedelta(days=90)).floor("D"), 90)
    one = simulate_in_chunks(SPEC, candidate, team, seed=11, chunk_leads=6_000)
    three = simulate_in_chunks(SPEC, candidate, team, seed=11, chunk_leads=2_000)
    assert one.chunks == 1 and three.chunks == 3
    assert one.leads == three.leads
    per_lead = one.events / one.leads
    assert abs(one.events - three.events) <= 0.08 * one.events, per_lead
    tolerance = 4 * math.sqrt(max(one.mqls, 1)) + 0.1 * one.mqls
    assert abs(one.mqls - three.mqls) <= tolerance
    assert abs(one.wins - three.wins) <= 4 * math.sqrt(max(one.wins, 1)) + 5


def test_chunk_keeps_only_mql_arrays(baseline: CompiledModel) -> None:
    """A chunk's reduction holds arrays of MQL length and counts, never the events frame."""
    start = (SPEC.as_of - pd.Timedelta(days=SPEC.history_days)).floor("D")
    funnel_seed, draw_seed = chunk_seeds(1, 1)[0]
    spec = dataclasses.replace(SPEC, n_leads=2_000)
    part = mql_arrivals(spec, baseline, funnel_seed, draw_seed, start, (0, 1))
    assert isinstance(part, MQLArrivals)
    arrays = [v for v in vars(part).values() if isinstance(v, np.ndarray)]
    assert {a.size for a in arrays} == {part.arrival.size}
    assert 0 < part.arrival.size < part.leads
    assert not any(isinstance(v, pd.DataFrame) for v in vars(part).values())
    assert part.events > part.leads


def test_mql_arrives_when_running_points_first_reach_the_threshold(baseline: CompiledModel) -> None:
    """With no decay and points simply added (baseline), the arrival is the event that crosses 50 points."""
    start = (SPEC.as_of - pd.Timedelta(days=SPEC.history_days)).floor("D")
    funnel_seed, draw_seed = chunk_seeds(2, 1)[0]
    spec = dataclasses.replace(SPEC, n_leads=1_000)
    part = mql_arrivals(spec, baseline, funnel_seed, draw_seed, start, (0, 1))
    funnel = generate_funnel(spec, np.random.default_rng(funnel_seed))
    scores = score(funnel.leads, funnel.events, baseline, SPEC.as_of)
    points = {a.event: a.points for a in baseline.actions}
    fit = {r.name: r for r in baseline.fit_rules}
    rows = np.flatnonzero(scores["mql"].to_numpy())
    by_lead = dict(tuple(funnel.events.groupby("lead_id", sort=False)))
    for k, row in enumerate(rows[:60]):
        lead = funnel.leads.iloc[row]
        running = 15.0 * (lead["seniority"] in ("c_level", "vp", "director")) \
            + 10.0 * (lead["industry"] in ("software", "fintech", "healthcare"))
        assert set(fit) == {"senior_title", "target_industry"}
        crossed = None
        for _, event in by_lead[lead["lead_id"]].iterrows():
            running += points.get(event["type"], 0.0)
            if running >= 50.0:
                crossed = event["at"]
                break
        assert crossed is not None
        expected = (crossed - start) / pd.Timedelta(seconds=1)
        assert part.arrival[k] == pytest.approx(expected, abs=1e-3)


def test_decayed_model_arrivals_lie_between_creation_and_as_of(candidate: CompiledModel) -> None:
    start = (SPEC.as_of - pd.Timedelta(days=SPEC.history_days)).floor("D")
    funnel_seed, draw_seed = chunk_seeds(9, 1)[0]
    spec = dataclasses.replace(SPEC, n_leads=2_000)
    part = mql_arrivals(spec, candidate, funnel_seed, draw_seed, start, (0, 1))
    assert part.arrival.size > 0
    assert part.arrival.min() >= 0.0
    assert part.arrival.max() <= (SPEC.as_of - start) / pd.Timedelta(seconds=1)
    assert set(np.unique(part.tier)) <= {0, 1}


def test_daily_arrival_specs_are_refused_with_the_fix(baseline: CompiledModel) -> None:
    """Chunks split n_leads; a leads_per_day spec would multiply the volume by the chunk count."""
    with pytest.raises(SettingsError, match="set n_leads instead"):
        simulate_in_chunks(dataclasses.replace(SPEC, leads_per_day=20.0), baseline, chunk_leads=2_000)


def test_worker_processes_give_the_same_totals_as_one_process(baseline: CompiledModel) -> None:
    """Chunks carry their own seeds and are combined in chunk order, so two workers change nothing but time."""
    one = simulate_in_chunks(SPEC, baseline, seed=8, chunk_leads=2_000)
    two = simulate_in_chunks(SPEC, baseline, seed=8, chunk_leads=2_000, workers=2)
    keep = {"seconds", "peak_rss_mib", "workers"}
    assert {k: v for k, v in dataclasses.asdict(one).items() if k not in keep} == \
        {k: v for k, v in dataclasses.asdict(two).items() if k not in keep}
    assert (one.workers, two.workers) == (1, 2)


def test_mql_arrives_at_the_engines_first_crossing(candidate: CompiledModel) -> None:
    """Account signals included: a lead is an MQL when score(as_of=t), with its whole account and the events up
    to t, reached its threshold at some moment t of its own or its account's events (even if it decayed below
    by as_of), and it arrives at the first such t, or at its creation if that is later."""
    start = (SPEC.as_of - pd.Timedelta(days=SPEC.history_days)).floor("D")
    funnel_seed, draw_seed = chunk_seeds(4, 1)[0]
    spec = dataclasses.replace(SPEC, n_leads=1_500)
    part = mql_arrivals(spec, candidate, funnel_seed, draw_seed, start, (0, 1))
    funnel = generate_funnel(spec, np.random.default_rng(funnel_seed))
    scores = score(funnel.leads, funnel.events, candidate, SPEC.as_of)
    crossing = brute_force_crossing(funnel.leads, funnel.events, candidate, scores["mql_threshold"].to_numpy(),
                                    start)
    rows = np.flatnonzero(~np.isnan(crossing))
    as_of_mql = scores["mql"].to_numpy()
    assert as_of_mql[~np.isnan(crossing)].sum() == as_of_mql.sum()  # every as_of MQL crossed on the way
    assert rows.size > as_of_mql.sum() > 5  # and some crossed, then decayed below by as_of
    created = ((funnel.leads["created_at"] - start) / pd.Timedelta(seconds=1)).to_numpy()[rows]
    crossing = crossing[rows]
    assert (crossing > created).mean() > 0.5  # most cross well after creation: arrival is not created_at
    assert part.arrival.size == rows.size
    np.testing.assert_allclose(part.arrival, np.maximum(crossing, created), rtol=0, atol=1e-6)
