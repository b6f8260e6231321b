"""The what-if core: thresholds, decay, inactivity, team and volume in; lift, load, breaches and EV out."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring import ModelSpec, SettingsError, compile_model, load_model
from simulator import Scenario, WhatIfBench, WhatIfSettings, load_scenario, what_if_model
from simulator._sweep_team import team_windows
from simulator.queue_entry import QueueClock

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def candidate() -> ModelSpec:
    return load_model(ROOT / "models" / "candidate.toml")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(ROOT / "scenarios" / "default.toml")


@pytest.fixture(scope="module")
def small_bench(scenario: Scenario, candidate: ModelSpec) -> WhatIfBench:
    return WhatIfBench(scenario, candidate)


def _small(bench: WhatIfBench, **changes: object) -> WhatIfSettings:
    """The files' settings at 15 leads a day (~2,700 leads), with `changes`."""
    return dataclasses.replace(bench.defaults(), **{"leads_per_day": 15.0, **changes})


def test_defaults_are_the_files_settings(small_bench: WhatIfBench) -> None:
    s = small_bench.defaults()
    assert (s.mql, s.sql, s.half_life_days) == (60.0, 75.0, 21.0)
    assert s.inactivity == ((30.0, 0.8), (60.0, 0.5), (90.0, 0.0))
    assert (s.sdr_reps, s.ae_reps, s.capacity_factor, s.leads_per_day) == (4, 6, 1.0, 66.0)
    assert dict(s.segment_mix) == {"smb": 0.6, "mid_market": 0.3, "enterprise": 0.1}


def test_unchanged_settings_score_like_the_file(small_bench: WhatIfBench) -> None:
    """With the files' own settings the what-if lift equals the as-in-file lift."""
    lift = small_bench.what_if(_small(small_bench)).lift
    mine, theirs = (lift[lift["model"] == m].drop(columns="model").reset_index(drop=True)
                    for m in ("what-if", "as in file"))
    assert mine.equals(theirs)


def test_higher_mql_threshold_gives_fewer_mqls(small_bench: WhatIfBench) -> None:
    low, high = (small_bench.what_if(_small(small_bench, mql=m)) for m in (50.0, 70.0))
    assert high.mqls < low.mqls
    assert high.volume.set_index("motion").at["warm", "leads_per_day"] < \
        low.volume.set_index("motion").at["warm", "leads_per_day"]
    assert high.lift.equals(low.lift)  # bands do not depend on the MQL threshold


def test_leads_are_routed_when_they_first_cross_as_in_the_sweep(small_bench: WhatIfBench) -> None:
    """The what-if's MQLs are the sweep's: every lead whose score reached its threshold at some moment (so more
    than the MQLs as of the end), entering the queue then, as `QueueClock` computes for the same funnel, and hot
    when their score at that moment reached the SQL threshold."""
    settings = _small(small_bench)
    result = small_bench.what_if(settings)
    funnel = small_bench.funnel(settings)
    assert result.mqls > int(result.scores["mql"].sum())
    start = (funnel.spec.as_of - pd.Timedelta(days=funnel.spec.history_days)).floor("D")
    clock = QueueClock.of(funnel, compile_model(small_bench.model), start)
    scores = result.scores
    entry = clock.entries(scores["mql_threshold"].to_numpy(), scores["mql"].to_numpy(),
                          team_windows(small_bench.scenario.team, start, 1.0))
    assert result.mqls == int(entry.mql.sum())
    assert result.hot == int(entry.hot(settings.sql, scores["total"].to_numpy()).sum())
    assert result.hot > int((entry.mql & (scores["total"] >= settings.sql).to_numpy()).sum())  # many have cooled


def test_more_reps_breach_the_sla_less(small_bench: WhatIfBench) -> None:
    """At a low threshold 2 SDRs drown in MQLs; 20 SDRs keep up."""
    few, many = (small_bench.what_if(_small(small_bench, mql=25.0, sdr_reps=r)) for r in (2, 20))
    breach = [r.sla.set_index("motion").at["all", "breach_rate"] for r in (few, many)]
    assert breach[1] < breach[0]
    assert few.mqls == many.mqls


def test_higher_capacity_factor_breaches_more(small_bench: WhatIfBench) -> None:
    light, heavy = (small_bench.what_if(_small(small_bench, mql=30.0, sdr_reps=2, capacity_factor=f))
                    for f in (0.5, 2.0))
    breach = [r.sla.set_index("motion").at["all", "breach_rate"] for r in (light, heavy)]
    assert breach[1] > breach[0]


def test_shorter_half_life_lowers_behaviour(small_bench: WhatIfBench) -> None:
    slow, fast = (small_bench.what_if(_small(small_bench, half_life_days=h)).scores for h in (60.0, 5.0))
    assert fast["behaviour"].mean() < slow["behaviour"].mean()


def test_dropping_inactivity_steps_raises_behaviour(small_bench: WhatIfBench) -> None:
    steps, none = (small_bench.what_if(_small(small_bench, inactivity=i)).scores
                   for i in (((30.0, 0.8), (60.0, 0.5), (90.0, 0.0)), ()))
    assert (none["behaviour"].to_numpy() >= steps["behaviour"].to_numpy()).all()
    assert none["behaviour"].sum() > steps["behaviour"].sum()


def test_volume_and_mix_draw_new_funnels(small_bench: WhatIfBench) -> None:
    base = small_bench.funnel(_small(small_bench))
    assert small_bench.funnel(_small(small_bench)) is base  # remembered, not redrawn
    more = small_bench.funnel(_small(small_bench, leads_per_day=30.0))
    assert len(more.leads) > 1.5 * len(base.leads)
    enterprise = small_bench.funnel(_small(small_bench, segment_mix=(("smb", 0.0), ("mid_market", 0.0),
                                                                     ("enterprise", 1.0))))
    assert set(enterprise.leads["segment"]) == {"enterprise"}


def test_same_settings_same_answer(scenario: Scenario, candidate: ModelSpec) -> None:
    """A fresh bench redraws the same funnel from the seed: same curve to the dollar."""
    a = WhatIfBench(scenario, candidate)
    b = WhatIfBench(scenario, candidate)
    assert a.what_if(_small(a)).curve.equals(b.what_if(_small(b)).curve)


def test_curve_has_every_threshold_and_a_pick(small_bench: WhatIfBench) -> None:
    result = small_bench.what_if(_small(small_bench, mql=62.0))
    assert 62.0 in set(result.curve["threshold"])
    assert np.all(np.diff(result.curve["mqls_per_day"]) <= 0)  # volume falls as the threshold rises
    pick = result.recommendation
    assert pick.threshold is None or pick.threshold in set(result.curve["threshold"])
    assert "MQL 62" in result.readout()


def test_what_if_model_moves_segments_and_scales_half_lives(candidate: ModelSpec) -> None:
    changed = what_if_model(candidate, mql=65.0, sql=80.0, half_life_days=42.0, inactivity=())
    assert changed.thresholds.segments == {"smb": 65.0, "mid_market": 80.0, "enterprise": 95.0}
    assert changed.behaviour.decay.half_life_days == 42.0
    demo = next(a for a in changed.behaviour.actions if a.event == "demo_request")
    assert demo.decay is not None and demo.decay.half_life_days == pytest.approx(28.0)  # 14 x 42 / 21
    assert changed.behaviour.inactivity.steps == []
    assert candidate.thresholds.mql == 60.0  # the loaded model is untouched


def test_bad_settings_name_the_field(small_bench: WhatIfBench) -> None:
    with pytest.raises(SettingsError, match="inactivity"):
        _small(small_bench, inactivity=((30.0, 0.8), (20.0, 0.5)))
    with pytest.raises(SettingsError, match="mql"):
        _small(small_bench, mql=120.0)
    with pytest.raises(SettingsError, match="sdr_reps"):
        _small(small_bench, sdr_reps=0)


def test_a_change_answers_within_two_seconds_at_default_size(scenario: Scenario, candidate: ModelSpec) -> None:
    """The notebook's promise: at the scenario's own volume (~12,000 leads) a threshold change takes < 2 s."""
    bench = WhatIfBench(scenario, candidate)
    first = time.perf_counter()
    bench.what_if(bench.defaults())
    drawn = time.perf_counter() - first
    began = time.perf_counter()
    result = bench.what_if(dataclasses.replace(bench.defaults(), mql=65.0, sdr_reps=6))
    seconds = time.perf_counter() - began
    assert result.leads > 10_000
    assert drawn < 2.0, f"first answer (draw + score + route) took {drawn:.2f} s"
    assert seconds < 2.0, f"a change took {seconds:.2f} s"
