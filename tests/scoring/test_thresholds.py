"""Tests of scoring.thresholds against the hand-counted ten-lead funnel of conftest.py (won: L6 80, L7 85)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.errors import InputDataError
from scoring.thresholds import ThresholdMetrics, best_threshold, expected_value_curve, threshold_metrics

Factory = Callable[..., pd.DataFrame]
Funnel = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]

# --- threshold_metrics -------------------------------------------------------------------------


def test_threshold_metrics_at_50_selects_the_top_band_with_all_won_leads(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    result = threshold_metrics(scores, outcomes, 50)
    assert result == ThresholdMetrics(
        threshold=50.0, selected=4, selected_share=0.4, precision=0.5, recall=1.0, lift=2.5
    )


def test_threshold_metrics_selects_a_total_equal_to_the_threshold(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    result = threshold_metrics(scores, outcomes, 85)  # L7 85, L8 90, L9 95; only L7 won
    assert result.selected == 3
    assert result.precision == pytest.approx(1 / 3)
    assert result.recall == 0.5
    assert result.lift == pytest.approx((1 / 3) / 0.2)


def test_threshold_metrics_above_the_highest_score_selects_nobody(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    result = threshold_metrics(scores, outcomes, 101)
    assert (result.selected, result.selected_share, result.recall) == (0, 0.0, 0.0)
    assert math.isnan(result.precision) and math.isnan(result.lift)


def test_threshold_metrics_without_won_leads_has_nan_recall_and_lift(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    result = threshold_metrics(scores, outcomes[outcomes["stage"] != "won"], 50)
    assert result.precision == 0.0
    assert math.isnan(result.recall) and math.isnan(result.lift)


def test_threshold_metrics_counts_positives_at_the_requested_stage(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    result = threshold_metrics(scores, outcomes, 50, stage="accepted")  # 7 accepted, 4 of them >= 50
    assert result.precision == 1.0
    assert result.recall == pytest.approx(4 / 7)


def test_threshold_metrics_rejects_a_missing_total(make_scores: Factory, make_outcomes: Factory) -> None:
    scores = make_scores([10.0, 20.0]).assign(total=[10.0, np.nan])
    with pytest.raises(InputDataError, match="L1"):
        threshold_metrics(scores, make_outcomes([]), 50)


# --- expected_value_curve and best_threshold ---------------------------------------------------


def test_expected_value_curve_matches_hand_counts(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    curve = expected_value_curve(scores, outcomes, [0, 50, 85, 101])
    assert list(curve.columns) == [
        "threshold",
        "selected",
        "true_pos",
        "false_pos",
        "false_neg",
        "precision",
        "recall",
        "expected_value",
    ]
    assert curve["selected"].tolist() == [10, 4, 3, 0]
    assert curve["true_pos"].tolist() == [2, 2, 1, 0]
    assert curve["false_pos"].tolist() == [8, 2, 2, 0]
    assert curve["false_neg"].tolist() == [0, 0, 1, 2]
    assert curve["expected_value"].tolist() == [16_000.0, 19_000.0, -11_000.0, -40_000.0]
    np.testing.assert_allclose(curve["precision"].to_numpy(), [0.2, 0.5, 1 / 3, np.nan])
    assert curve["recall"].tolist() == [1.0, 1.0, 0.5, 0.0]


def test_expected_value_curve_uses_the_given_costs_and_keeps_the_threshold_order(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    curve = expected_value_curve(scores, outcomes, [85, 0], deal_value=1.0, fp_cost=10.0, fn_cost=100.0)
    assert curve["threshold"].tolist() == [85.0, 0.0]
    assert curve["expected_value"].tolist() == [1 - 20 - 100, 2 - 80 - 0]


def test_expected_value_curve_rejects_a_nan_threshold(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    with pytest.raises(InputDataError, match="nan"):
        expected_value_curve(scores, outcomes, [50, float("nan")])


@given(
    st.lists(st.tuples(st.integers(0, 100), st.booleans()), max_size=40),
    st.lists(st.integers(-5, 105), min_size=1, max_size=10),
)
def test_expected_value_curve_agrees_with_a_per_lead_count(
    make_scores: Factory, make_outcomes: Factory, leads: list[tuple[int, bool]], cuts: list[int]
) -> None:
    scores = make_scores([float(total) for total, _ in leads])
    outcomes = make_outcomes([(f"L{i}", "won", 0) for i, (_, won) in enumerate(leads) if won])
    curve = expected_value_curve(scores, outcomes, cuts, deal_value=7.0, fp_cost=3.0, fn_cost=11.0)
    for row, cut in zip(curve.itertuples(), cuts, strict=True):
        tp = sum(1 for total, won in leads if total >= cut and won)
        fp = sum(1 for total, won in leads if total >= cut and not won)
        fn = sum(1 for total, won in leads if total < cut and won)
        assert (row.true_pos, row.false_pos, row.false_neg) == (tp, fp, fn)
        assert row.expected_value == 7 * tp - 3 * fp - 11 * fn


def test_best_threshold_picks_the_highest_expected_value(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    assert best_threshold(expected_value_curve(scores, outcomes, [0, 50, 85, 101])) == 50.0


def test_best_threshold_prefers_the_higher_cutoff_on_a_tie(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    curve = expected_value_curve(scores, outcomes, [75, 50, 60])  # all select L6..L9
    assert curve["expected_value"].nunique() == 1
    assert best_threshold(curve) == 75.0


def test_best_threshold_rejects_an_empty_curve(funnel: Funnel) -> None:
    scores, outcomes, _ = funnel
    with pytest.raises(InputDataError, match="no rows"):
        best_threshold(expected_value_curve(scores, outcomes, []))
