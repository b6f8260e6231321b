"""Vectorised sampling helpers shared by the simulator modules (no state, no global RNG)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_SECONDS_PER_DAY = 86_400


def sigmoid(x: FloatArray) -> FloatArray:
    """Logistic function, elementwise."""
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: float) -> float:
    """Log-odds of a probability in (0, 1); clipped away from 0 and 1."""
    q = min(max(p, 1e-9), 1 - 1e-9)
    return float(np.log(q / (1 - q)))


def mix_codes(rng: np.random.Generator, mix: Mapping[str, float], vocabulary: Sequence[str],
              size: int) -> IntArray:
    """Indices into `vocabulary` drawn with the mix's relative weights (keys missing from it get 0)."""
    weights = np.array([float(mix.get(v, 0.0)) for v in vocabulary])
    return rng.choice(len(vocabulary), size=size, p=weights / weights.sum()).astype(np.int64)


def tilted_probability(share: float, score: FloatArray, slope: float) -> FloatArray:
    """Per-item probabilities averaging `share` whose log-odds rise by `slope` per unit of score."""
    if score.size == 0 or share <= 0.0:
        return np.full(score.shape, max(share, 0.0))
    centred = score - score.mean()
    raw = sigmoid(logit(share) + slope * centred)
    return np.clip(raw * (share / raw.mean()), 0.0, 1.0)


def uniform_between(rng: np.random.Generator, low: FloatArray | float, high: FloatArray | float,
                    size: int) -> FloatArray:
    """Uniform draws in [low, high), elementwise when low/high are arrays."""
    return np.asarray(low) + (np.asarray(high) - np.asarray(low)) * rng.random(size)


def lognormal_around(rng: np.random.Generator, median: float, sigma: float, size: int) -> FloatArray:
    """Log-normal draws with the given median and log-scale standard deviation."""
    return median * np.exp(sigma * rng.standard_normal(size))


def per_group_pick(groups: IntArray, key: FloatArray) -> IntArray:
    """Positions of the item with the largest key within each group (one position per group present)."""
    order = np.lexsort((key, groups))
    sorted_groups = groups[order]
    last = np.ones(order.size, dtype=bool)
    last[:-1] = sorted_groups[1:] != sorted_groups[:-1]
    return order[last].astype(np.int64)


def group_ranks(groups: IntArray) -> IntArray:
    """0-based position of each item among the items of its group, in array order."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = sorted_groups[1:] != sorted_groups[:-1]
    position = np.arange(order.size, dtype=np.int64)
    ranks = np.empty(order.size, dtype=np.int64)
    ranks[order] = position - np.maximum.accumulate(np.where(first, position, 0))
    return ranks


def day_seconds(days: FloatArray) -> IntArray:
    """Days relative to as_of rounded to whole seconds (rounding keeps the order of the inputs)."""
    return np.round(days * _SECONDS_PER_DAY).astype(np.int64)


def timestamps(as_of: pd.Timestamp, seconds: IntArray) -> pd.DatetimeIndex:
    """UTC timestamps `seconds` after as_of, as datetime64[us, UTC]."""
    base = as_of.tz_convert("UTC").tz_localize(None).as_unit("us").to_datetime64()
    values = base + (seconds * 1_000_000).astype("timedelta64[us]")
    return pd.DatetimeIndex(values).tz_localize("UTC")


def labels(vocabulary: Sequence[str], codes: IntArray) -> npt.NDArray[np.str_]:
    """Vocabulary strings for integer codes, as a numpy unicode array."""
    return np.asarray(vocabulary, dtype=np.str_)[codes]


def str_series(values: npt.NDArray[np.str_] | npt.NDArray[np.object_], missing: BoolArray | None = None,
               ) -> pd.Series:
    """A pandas `str` Series, with NaN where `missing` is True."""
    out = pd.Series(values, dtype="str")
    if missing is not None and missing.any():
        out = out.mask(missing)
    return out


def str_take(values: Sequence[str] | np.ndarray, codes: IntArray, missing: BoolArray | None = None,
             ) -> pd.Series:
    """A pandas `str` Series of values[codes] (NaN where `missing`), sharing one object per value."""
    pool = pd.array(np.asarray(values, dtype=object), dtype="str")
    out = pd.Series(pool.take(codes))
    if missing is not None and missing.any():
        out = out.mask(missing)
    return out


def padded_ids(prefix: str, width: int, count: int) -> npt.NDArray[np.str_]:
    """IDs like "L0000001": prefix plus a 1-based number zero-padded to `width` digits."""
    numbers = np.char.zfill(np.arange(1, count + 1).astype(np.str_), width)
    return np.char.add(prefix, numbers)
