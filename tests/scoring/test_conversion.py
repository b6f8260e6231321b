"""Tests of scoring.conversion against the hand-counted ten-lead funnel of conftest.py."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.conversion import (
    GapTest,
    TierRatio,
    band_conversion,
    gap_test,
    is_monotone,
    lift_curve,
    stage_reached,
    tier_conversion_ratio,
    wilson_interval,
)
from scoring.errors import InputDataError

Factory = Callable[..., pd.DataFrame]
Funnel = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]

# --- wilson_interval ---------------------------------------------------------------------------


def test_wilson_interval_of_5_in_10_matches_the_textbook_bounds() -> None:
    low, high = wilson_interval(5, 10)
    assert float(low) == pytest.approx(0.2366, abs=1e-4)
    assert float(high) == pytest.approx(0.7634, abs=1e-4)


def test_wilson_interval_is_nan_for_zero_trials_and_elementwise_otherwise() -> None:
    low, high = wilson_interval(np.array([0, 0, 10, 5]), np.array([0, 10, 10, 10]))
    assert low.shape == (4,)
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert low[1] == 0.0 and high[1] == pytest.approx(0.2775, abs=1e-4)
    assert high[2] == 1.0 and low[2] == pytest.approx(0.7225, abs=1e-4)
    assert low[3] == pytest.approx(0.2366, abs=1e-4)


def test_wilson_interval_widens_with_a_larger_z() -> None:
    low95, high95 = wilson_interval(30, 100)
    low99, high99 = wilson_interval(30, 100, z=2.576)
    assert low99 < low95 and high99 > high95


@pytest.mark.parametrize(("successes", "trials", "z"), [(11, 10, 1.96), (-1, 10, 1.96), (1, 10, 0.0)])
def test_wilson_interval_rejects_impossible_counts_and_z(successes: int, trials: int, z: float) -> None:
    with pytest.raises(InputDataError):
        wilson_interval(successes, trials, z=z)


@given(st.integers(1, 100_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_contains_the_rate_and_stays_within_0_and_1(pair: tuple[int, int]) -> None:
    successes, trials = pair
    low, high = wilson_interval(successes, trials)
    assert 0.0 <= float(low) <= successes / trials <= float(high) <= 1.0


# --- stage_reached -----------------------------------------------------------------------------


def test_stage_reached_counts_later_stages_and_ignores_lost_and_unknown_leads(funnel: Funnel) -> None:
    _, outcomes, _ = funnel
    ids = ["L6", "L0", "L1", "L4", "L8", "nobody"]
    assert stage_reached(outcomes, ids, "accepted").tolist() == [True, False, False, True, True, False]
    assert stage_reached(outcomes, ids, "opportunity").tolist() == [True, False, False, True, False, False]
    assert stage_reached(outcomes, ids, "won").tolist() == [True, False, False, False, False, False]


def test_stage_reached_rejects_a_stage_outside_the_funnel(funnel: Funnel) -> None:
    with pytest.raises(InputDataError, match="lost"):
        stage_reached(funnel[1], ["L0"], "lost")


def test_stage_reached_rejects_outcomes_with_an_unknown_stage(make_outcomes: Factory) -> None:
    with pytest.raises(InputDataError, match="closed_won"):
        stage_reached(make_outcomes([("L0", "closed_won", 1)]), ["L0"], "won")


# --- band_conversion ---------------------------------------------------------------------------


def test_band_conversion_counts_each_band_and_stage_including_the_empty_band(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    table = band_conversion(scores, outcomes)
    assert list(table.columns) == ["band", "stage", "leads", "converted", "rate", "ci_low", "ci_high"]
    assert len(table) == 4 * 4
    converted = table.pivot(index="band", columns="stage", values="converted")
    funnel_order = converted[["accepted", "meeting", "opportunity", "won"]].to_numpy().tolist()
    assert funnel_order == [[1, 0, 0, 0], [2, 2, 1, 0], [0, 0, 0, 0], [4, 3, 2, 2]]
    leads = table.groupby("band", observed=False)["leads"].first()
    assert leads.tolist() == [3, 3, 0, 4]
    empty = table[table["band"] == "50-74"]
    assert empty["rate"].isna().all() and empty["ci_low"].isna().all()
    won_top = table[(table["band"] == "75-100") & (table["stage"] == "won")].iloc[0]
    assert won_top["rate"] == 0.5
    assert won_top["ci_low"] < 0.5 < won_top["ci_high"]


def test_band_conversion_keeps_the_band_dtype_and_funnel_order(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    table = band_conversion(scores, outcomes, stages=("won", "accepted"))
    assert table["band"].dtype == scores["band"].dtype
    assert table["stage"].tolist()[:4] == ["won", "accepted", "won", "accepted"]


def test_band_conversion_by_segment_gives_every_band_for_every_segment(funnel: Funnel) -> None:
    scores, outcomes, leads = funnel
    table = band_conversion(scores, outcomes, stages=["accepted"], by="segment", leads=leads)
    assert list(table.columns)[:3] == ["segment", "band", "stage"]
    assert len(table) == 2 * 4
    got = {(r.segment, r.band): (r.leads, r.converted) for r in table.itertuples()}
    assert got == {
        ("ent", "0-24"): (1, 0),
        ("ent", "25-49"): (2, 1),
        ("ent", "50-74"): (0, 0),
        ("ent", "75-100"): (2, 2),
        ("smb", "0-24"): (2, 1),
        ("smb", "25-49"): (1, 1),
        ("smb", "50-74"): (0, 0),
        ("smb", "75-100"): (2, 2),
    }


def test_band_conversion_puts_leads_missing_from_the_leads_frame_in_a_nan_group(funnel: Funnel) -> None:
    scores, outcomes, leads = funnel
    table = band_conversion(scores, outcomes, stages=["won"], by="segment", leads=leads.iloc[:9])
    orphan = table[table["segment"].isna()]
    assert orphan["leads"].sum() == 1
    assert orphan.loc[orphan["band"] == "75-100", "leads"].item() == 1


def test_band_conversion_by_tier_uses_the_tier_categories(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    table = band_conversion(scores, outcomes, stages=["won"], column="tier")
    assert table["tier"].tolist() == ["D", "C", "B", "A"]
    assert table["converted"].tolist() == [0, 0, 0, 2]


def test_band_conversion_rejects_by_without_leads(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    with pytest.raises(InputDataError, match="leads"):
        band_conversion(scores, outcomes, by="segment")


def test_band_conversion_names_the_closest_column_when_by_is_misspelt(funnel: Funnel) -> None:
    scores, outcomes, leads = funnel
    with pytest.raises(InputDataError, match="'segment'"):
        band_conversion(scores, outcomes, by="segmnt", leads=leads)


def test_band_conversion_rejects_a_band_column_that_is_not_categorical(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    with pytest.raises(InputDataError, match="categorical"):
        band_conversion(scores.assign(band=scores["band"].astype("str")), outcomes)


def test_band_conversion_rejects_a_lead_without_a_band(
    make_scores: Factory, make_outcomes: Factory
) -> None:
    scores = make_scores([10.0, 20.0])
    scores = scores.assign(band=scores["band"].where(scores["lead_id"] != "L0"))
    with pytest.raises(InputDataError, match="L0"):
        band_conversion(scores, make_outcomes([]))


def test_band_conversion_rejects_repeated_lead_ids(
    make_scores: Factory, make_outcomes: Factory
) -> None:
    with pytest.raises(InputDataError, match="repeated"):
        band_conversion(make_scores([10.0, 20.0], lead_ids=["L0", "L0"]), make_outcomes([]))


@given(
    st.lists(
        st.tuples(st.floats(0, 100), st.sampled_from(["-", "accepted", "meeting", "won", "lost"])),
        max_size=30,
    )
)
def test_band_conversion_counts_every_lead_once_and_never_grows_down_the_funnel(
    make_scores: Factory, make_outcomes: Factory, rows: list[tuple[float, str]]
) -> None:
    scores = make_scores([r[0] for r in rows])
    outcomes = make_outcomes([(f"L{i}", stage, 0) for i, (_, stage) in enumerate(rows) if stage != "-"])
    table = band_conversion(scores, outcomes)
    assert table.groupby("stage")["leads"].sum().eq(len(rows)).all()
    converted = table.pivot(index="band", columns="stage", values="converted")
    steps = np.diff(converted[["accepted", "meeting", "opportunity", "won"]].to_numpy(), axis=1)
    assert (steps <= 0).all()


# --- lift_curve and is_monotone ----------------------------------------------------------------


def test_lift_curve_divides_each_band_rate_by_the_overall_rate(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    curve = lift_curve(scores, outcomes)
    assert list(curve.columns) == ["band", "leads", "converted", "rate", "ci_low", "ci_high", "lift"]
    assert curve["leads"].tolist() == [3, 3, 0, 4]
    np.testing.assert_allclose(curve["lift"].to_numpy(), [0.0, 0.0, np.nan, 2.5])


def test_lift_curve_is_nan_everywhere_when_nobody_converted(
    make_scores: Factory, make_outcomes: Factory
) -> None:
    curve = lift_curve(make_scores([10.0, 60.0]), make_outcomes([("L1", "lost", 1)]))
    assert curve["rate"].tolist()[0] == 0.0
    assert curve["lift"].isna().all()


def test_is_monotone_skips_the_empty_band_and_tells_strict_from_flat(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    won = lift_curve(scores, outcomes, stage="won")  # rates 0, 0, nan, 0.5
    accepted = lift_curve(scores, outcomes, stage="accepted")  # rates 1/3, 2/3, nan, 1
    assert is_monotone(won)
    assert not is_monotone(won, strict=True)
    assert is_monotone(accepted, strict=True)


def test_is_monotone_is_false_when_a_higher_band_converts_worse() -> None:
    curve = pd.DataFrame({"leads": [10, 10, 10], "rate": [0.1, 0.3, 0.2]})
    assert not is_monotone(curve)


# --- tier_conversion_ratio ---------------------------------------------------------------------


def test_tier_conversion_ratio_divides_the_a_rate_by_the_c_rate(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    result = tier_conversion_ratio(scores, outcomes, stage="accepted")
    assert result == TierRatio(high_rate=1.0, low_rate=2 / 3, ratio=1.5)


def test_tier_conversion_ratio_is_inf_when_only_the_low_tier_never_converts(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    assert tier_conversion_ratio(scores, outcomes).ratio == math.inf


@pytest.mark.parametrize(("high", "low"), [("C", "D"), ("B", "C")])
def test_tier_conversion_ratio_is_nan_when_both_rates_are_zero_or_a_tier_is_empty(
    funnel: Funnel, high: str, low: str
) -> None:
    scores, outcomes, _ = funnel
    assert math.isnan(tier_conversion_ratio(scores, outcomes, high=high, low=low).ratio)


def test_tier_conversion_ratio_rejects_a_tier_that_does_not_exist(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    with pytest.raises(InputDataError, match="'E'"):
        tier_conversion_ratio(scores, outcomes, low="E")


# --- gap_test ----------------------------------------------------------------------------------


def test_gap_test_compares_mean_totals_of_won_and_lost_leads(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    result = gap_test(scores, outcomes)  # won L6 80, L7 85; lost L1 15, L8 90
    assert result == GapTest(mean_won=82.5, mean_lost=52.5, gap=30.0, n_won=2, n_lost=2, passed=True)


def test_gap_test_takes_only_the_most_recent_closes(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    result = gap_test(scores, outcomes, n=1)  # latest won L7 (day 12), latest lost L8 (day 11)
    assert (result.mean_won, result.mean_lost, result.gap, result.passed) == (85.0, 90.0, -5.0, False)


def test_gap_test_fails_when_the_gap_is_below_the_minimum(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    assert not gap_test(scores, outcomes, min_gap=30.5).passed
    assert gap_test(scores, outcomes, min_gap=30.0).passed


def test_gap_test_without_won_leads_has_a_nan_gap_and_fails(
    make_scores: Factory, make_outcomes: Factory
) -> None:
    result = gap_test(make_scores([10.0, 90.0]), make_outcomes([("L0", "lost", 1)]))
    assert math.isnan(result.mean_won) and math.isnan(result.gap)
    assert (result.n_won, result.n_lost, result.mean_lost, result.passed) == (0, 1, 10.0, False)


def test_gap_test_ignores_unscored_leads_and_counts_a_lead_once(
    make_scores: Factory, make_outcomes: Factory
) -> None:
    outcomes = make_outcomes([("L0", "won", 1), ("L0", "won", 5), ("ghost", "won", 9), ("L1", "lost", 2)])
    result = gap_test(make_scores([70.0, 40.0]), outcomes)
    assert (result.n_won, result.mean_won, result.gap) == (1, 70.0, 30.0)


def test_gap_test_rejects_n_below_one(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    with pytest.raises(InputDataError, match="n must"):
        gap_test(scores, outcomes, n=0)
