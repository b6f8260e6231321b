"""Tests of scoring.drift: PSI by hand on two-bin cases, quantile edges, and its properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.drift import psi, psi_by_band
from scoring.errors import InputDataError

BANDS = pd.CategoricalDtype(["0-49", "50-100"], ordered=True)
EDGES = [0, 50, 100]


def _psi(expected: list[float], actual: list[float]) -> float:
    """PSI from shares, the textbook sum."""
    e, a = np.array(expected), np.array(actual)
    return float(np.sum((a - e) * np.log(a / e)))


def test_psi_of_a_half_half_split_moving_to_three_quarters_matches_the_formula() -> None:
    value = psi([10, 10, 60, 60], [10, 10, 10, 60], edges=EDGES)
    assert value == pytest.approx(_psi([0.5, 0.5], [0.75, 0.25]))
    assert value == pytest.approx(0.2747, abs=1e-4)


def test_psi_gives_an_empty_bin_the_epsilon_share() -> None:
    assert psi([10, 10], [60, 60], edges=EDGES) == pytest.approx(_psi([1, 1e-4], [1e-4, 1]))
    assert psi([10, 10], [60, 60], edges=EDGES, epsilon=1e-3) == pytest.approx(_psi([1, 1e-3], [1e-3, 1]))


def test_psi_counts_a_score_on_the_last_edge_in_the_last_bin() -> None:
    assert psi([100, 10], [10, 100], edges=EDGES) == 0.0


def test_psi_default_edges_are_deciles_of_the_expected_scores() -> None:
    expected = np.arange(100.0)  # deciles at 9.9, 19.8, ...: ten equal bins
    assert psi(expected, expected) == 0.0
    assert psi(expected, np.arange(10.0)) == pytest.approx(_psi([0.1] * 10, [1.0] + [1e-4] * 9))
    assert psi(expected, np.arange(10.0), bins=2) == pytest.approx(_psi([0.5, 0.5], [1.0, 1e-4]))


def test_psi_merges_bins_whose_quantiles_coincide() -> None:
    expected = np.array([5.0] * 9 + [80.0])  # every inner decile but the last is 5
    assert psi(expected, [5.0, 80.0]) == pytest.approx(_psi([0.9, 0.1], [0.5, 0.5]))


def test_psi_grows_with_the_shift() -> None:
    rng = np.random.default_rng(7)
    reference = rng.normal(50, 10, 5_000)
    small = psi(reference, reference + 2)
    large = psi(reference, reference + 10)
    assert 0 < small < 0.1 < large


@pytest.mark.parametrize(
    ("expected", "actual", "edges", "match"),
    [
        ([], [1.0], None, "no scores"),
        ([1.0, float("nan")], [1.0], None, "nan"),
        ([10.0], [120.0], EDGES, "outside"),
        ([10.0], [10.0], [0, 50, 50], "increasing"),
    ],
)
def test_psi_rejects_unusable_input(
    expected: list[float], actual: list[float], edges: list[float] | None, match: str
) -> None:
    with pytest.raises(InputDataError, match=match):
        psi(expected, actual, edges=edges)


finite_scores = st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=60)


@given(finite_scores)
def test_psi_of_identical_distributions_is_zero(scores: list[float]) -> None:
    assert psi(scores, list(reversed(scores))) == pytest.approx(0.0, abs=1e-12)


@given(finite_scores, finite_scores, st.integers(1, 20))
def test_psi_is_never_negative(expected: list[float], actual: list[float], bins: int) -> None:
    value = psi(expected, actual, bins=bins)
    assert value >= 0.0 and math.isfinite(value)


# --- psi_by_band -------------------------------------------------------------------------------


def test_psi_by_band_compares_category_shares() -> None:
    expected = pd.Series(["0-49", "50-100"], dtype=BANDS)
    actual = pd.Series(["0-49", "0-49", "0-49", "50-100"], dtype=BANDS)
    assert psi_by_band(expected, actual) == pytest.approx(_psi([0.5, 0.5], [0.75, 0.25]))
    assert psi_by_band(expected, pd.Series(["50-100", "0-49"], dtype=BANDS)) == 0.0


def test_psi_by_band_gives_an_unused_category_the_epsilon_share() -> None:
    expected = pd.Series(["0-49", "50-100"], dtype=BANDS)
    actual = pd.Series(["0-49", "0-49"], dtype=BANDS)
    assert psi_by_band(expected, actual) == pytest.approx(_psi([0.5, 0.5], [1.0, 1e-4]))


def test_psi_by_band_adds_a_band_only_the_current_population_has() -> None:
    expected = pd.Series(["low", "low"], dtype="str")
    actual = pd.Series(["low", "high"], dtype="str")
    assert psi_by_band(expected, actual) == pytest.approx(_psi([1.0, 1e-4], [0.5, 0.5]))


def test_psi_by_band_rejects_a_lead_without_a_band() -> None:
    with pytest.raises(InputDataError, match="without a band"):
        psi_by_band(pd.Series(["0-49"], dtype=BANDS), pd.Series([None], dtype=BANDS))
