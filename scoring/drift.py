"""Score drift: the population stability index (PSI) between a reference and a current population.

PSI = sum over bins of (actual_share - expected_share) * ln(actual_share / expected_share). It is 0 for
identical distributions; a common reading is < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift.
Empty bins get a small share (epsilon, default 1e-4) so the logarithm stays finite.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from scoring.errors import InputDataError

__all__ = ["psi", "psi_by_band"]


def _finite_scores(values: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    """A flat float array of scores; raise InputDataError when empty or holding nan."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise InputDataError(name, "no scores", "pass at least one score")
    if np.isnan(array).any():
        raise InputDataError(name, f"{int(np.isnan(array).sum())} nan score(s)", "drop or fill them first")
    return array


def _check_epsilon(epsilon: float) -> None:
    """Raise InputDataError unless 0 < epsilon < 1."""
    if not (0 < epsilon < 1):
        raise InputDataError("psi", f"epsilon must be in (0, 1), got {epsilon!r}", "the usual value is 1e-4")


def _bin_edges(
    expected: npt.NDArray[np.float64], edges: npt.ArrayLike | None, bins: int
) -> npt.NDArray[np.float64]:
    """Strictly increasing edges: the given ones, or distinct quantiles of expected with -inf/inf ends."""
    if edges is None:
        if bins < 1:
            raise InputDataError("psi", f"bins must be at least 1, got {bins}", "10 is the usual choice")
        inner = np.unique(np.quantile(expected, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
        return np.concatenate(([-np.inf], inner, [np.inf]))
    cut = np.asarray(edges, dtype=np.float64).ravel()
    if cut.size < 2 or np.isnan(cut).any() or np.any(np.diff(cut) <= 0):
        raise InputDataError(
            "psi",
            f"edges must be at least two strictly increasing numbers, got {cut.tolist()}",
            "e.g. [0, 25, 50, 75, 100]",
        )
    return cut


def _bin_shares(
    values: npt.NDArray[np.float64], edges: npt.NDArray[np.float64], epsilon: float, name: str
) -> npt.NDArray[np.float64]:
    """Share of values per bin [e_i, e_i+1), the last bin closed; an empty bin gets epsilon."""
    n_bins = edges.size - 1
    index = np.searchsorted(edges, values, side="right") - 1
    index = np.where(values == edges[-1], n_bins - 1, index)
    outside = (index < 0) | (index >= n_bins)
    if outside.any():
        raise InputDataError(
            name,
            f"{int(outside.sum())} score(s) outside the edges [{edges[0]}, {edges[-1]}]",
            "widen the edges or end them with -inf and inf",
        )
    shares = np.bincount(index, minlength=n_bins) / values.size
    return np.where(shares == 0, epsilon, shares)


def _psi_from_shares(expected: npt.NDArray[np.float64], actual: npt.NDArray[np.float64]) -> float:
    """Sum of (actual - expected) * ln(actual / expected) over bins; both arrays strictly positive."""
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def psi(
    expected: npt.ArrayLike,
    actual: npt.ArrayLike,
    edges: npt.ArrayLike | None = None,
    bins: int = 10,
    *,
    epsilon: float = 1e-4,
) -> float:
    """Population stability index between a reference and a current array of scores.

    Args:
        expected: Reference scores (points), e.g. totals at the last re-tune; shape (n,).
        actual: Current scores (points); shape (m,).
        edges: Bin edges in points, strictly increasing; bins are [e_i, e_i+1), the last one closed.
            Default: the deduplicated ``bins``-quantiles of ``expected`` with -inf and inf ends.
        bins: Number of quantile bins when ``edges`` is None (fewer when quantiles coincide).
        epsilon: Share given to an empty bin so the logarithm stays finite.

    Returns:
        PSI, a non-negative float (0 for identical binned distributions).

    Raises:
        InputDataError: On empty or nan scores, bad edges, or scores outside explicit edges.
    """
    _check_epsilon(epsilon)
    reference = _finite_scores(expected, "expected")
    current = _finite_scores(actual, "actual")
    cut = _bin_edges(reference, edges, bins)
    return _psi_from_shares(
        _bin_shares(reference, cut, epsilon, "expected"), _bin_shares(current, cut, epsilon, "actual")
    )


def _category_counts(band: pd.Series, categories: pd.Index, name: str) -> npt.NDArray[np.float64]:
    """Lead count per category, in the order of ``categories``; raise on an empty or incomplete series."""
    if len(band) == 0:
        raise InputDataError(name, "no leads", "pass at least one band value")
    if band.isna().any():
        missing = int(band.isna().sum())
        raise InputDataError(name, f"{missing} lead(s) without a band", "band every lead first")
    counts = pd.Series(band.to_numpy(dtype=object)).value_counts(sort=False)
    return np.asarray(counts.reindex(categories, fill_value=0).to_numpy(), dtype=np.float64)


def _categories(band: pd.Series) -> list[object]:
    """Categories of a band series: its declared categories, else its sorted distinct values."""
    if isinstance(band.dtype, pd.CategoricalDtype):
        return list(band.cat.categories)
    return sorted(band.dropna().unique().tolist())


def psi_by_band(expected_band: pd.Series, actual_band: pd.Series, *, epsilon: float = 1e-4) -> float:
    """Population stability index between two band (or tier) assignments, one bin per category.

    Args:
        expected_band: Reference band per lead, categorical (categories low to high); shape (n,).
        actual_band: Current band per lead; shape (m,). Categories it has beyond the reference's
            are added as extra bins with an expected share of ``epsilon``.
        epsilon: Share given to an empty category so the logarithm stays finite.

    Returns:
        PSI, a non-negative float (0 when both populations spread over the bands alike).

    Raises:
        InputDataError: On an empty series or a lead without a band.
    """
    _check_epsilon(epsilon)
    known = _categories(expected_band)
    extra = [c for c in _categories(actual_band) if c not in known]
    categories = pd.Index(known + extra, dtype=object)
    shares = []
    for band, name in ((expected_band, "expected_band"), (actual_band, "actual_band")):
        counts = _category_counts(band, categories, name)
        share = counts / counts.sum()
        shares.append(np.where(share == 0, epsilon, share))
    return _psi_from_shares(shares[0], shares[1])
