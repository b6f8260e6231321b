"""Columns of a history cut into groups for calibration, and screened for leaks, identifiers and constants.

A *variable* is one lead column; its *groups* are mutually exclusive on the rows they were built from:
a categorical column gives one group per frequent level (case-insensitive, as the model's `equals`/`in`
match), one pooled "other" group and one "missing" group; a numeric column gives quantile bins cut
half-way between neighbouring observed values (so no training value sits on an edge) and "missing".
Each group is written to the model file as one matcher, and rows are matched with the engine's own
matcher code, so calibration sees exactly what `score()` will see.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from scoring.compiled import compile_model
from scoring.matchers import ColumnCodes, matcher_masks
from scoring.model import ChangelogEntry, FitRule, FitSection, ModelInfo, ModelSpec

__all__ = ["Group", "Variable", "ColumnScreen", "variable_of", "group_masks", "group_codes", "rank_auc",
           "screen_column", "oof_rates"]


@dataclass(frozen=True)
class Group:
    """One group of a variable: kind 'level' / 'other' (text or numbers matched with `in`), 'bin', 'missing'."""

    kind: str
    label: str
    values: tuple[str | float, ...] = ()
    low: float = -math.inf
    high: float = math.inf

    def matcher(self) -> dict[str, object]:
        """The model-file matcher keys of this group (one of in, between, missing)."""
        if self.kind == "missing":
            return {"missing": True}
        if self.kind == "bin":
            return {"between": (self.low, self.high)}
        return {"in": list(self.values)}


@dataclass(frozen=True)
class Variable:
    """A lead column (kind 'categorical' or 'numeric') and its groups, built on the training rows."""

    column: str
    kind: str
    groups: tuple[Group, ...]


@dataclass(frozen=True)
class ColumnScreen:
    """What the screen found for one column: status, single-column AUC (0.5-1) and purity (share 0-1).

    status is one of 'candidate', 'leaky', 'identifier', 'constant', 'too_sparse', 'excluded'; `positive_purity` is
    the share of converted training rows that sit in levels converting >= the purity cut-off.
    """

    column: str
    kind: str
    status: str
    single_auc: float
    positive_purity: float
    distinct: int
    missing_share: float
    reason: str


def _is_missing(values: pd.Series) -> npt.NDArray[np.bool_]:
    """NaN or blank text, as the engine's `missing = true` matcher sees it."""
    blank = values.astype("string").str.strip().eq("").fillna(False).to_numpy(dtype=bool)
    return values.isna().to_numpy() | blank


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _level_keys(values: pd.Series) -> tuple[npt.NDArray[np.object_], bool]:
    """Per row the level key (case-folded text, or the number), None where missing; and whether numeric."""
    missing = _is_missing(values)
    if _is_numeric(values):
        keys = values.to_numpy(dtype=np.float64, na_value=np.nan).astype(object)
        keys[missing] = None
        return keys, True
    keys = np.array([None if m else str(v).casefold() for v, m in zip(values.to_numpy(dtype=object), missing)],
                    dtype=object)
    return keys, False


def _display_names(values: pd.Series, keys: npt.NDArray[np.object_]) -> dict[object, str]:
    """The most frequent original spelling of each case-folded level (ties: first in sort order)."""
    frame = pd.DataFrame({"key": keys, "raw": values.astype(str).to_numpy(dtype=object)}).dropna(subset=["key"])
    counts = frame.groupby(["key", "raw"], sort=True).size().reset_index(name="n")
    best = counts.sort_values(["key", "n"], ascending=[True, False], kind="stable").drop_duplicates("key")
    return dict(zip(best["key"], best["raw"]))


def _number_text(value: float) -> str:
    return f"{value:g}"


def _categorical(column: str, values: pd.Series, min_rows: int, max_levels: int) -> Variable:
    keys, numeric = _level_keys(values)
    present = pd.Series(keys[pd.notna(keys)], dtype=object)
    counts = present.value_counts(sort=False)
    counts = counts.iloc[np.lexsort((counts.index.astype(str).to_numpy(), -counts.to_numpy()))]
    frequent = [k for k, n in counts.items() if n >= min_rows][:max_levels]
    rare = sorted((k for k in counts.index if k not in set(frequent)), key=str)
    names = {k: _number_text(float(k)) for k in counts.index} if numeric else _display_names(values, keys)
    groups = [Group("level", names[k], (float(k) if numeric else names[k],)) for k in frequent]
    if rare:
        pooled = tuple(float(k) for k in rare) if numeric else tuple(names[k] for k in rare)
        groups.append(Group("other", f"other ({len(rare)} level{'s' * (len(rare) != 1)})", pooled))
    if (~pd.notna(keys)).any():
        groups.append(Group("missing", "missing"))
    return Variable(column, "categorical", tuple(groups))


def _bin_edges(numbers: npt.NDArray[np.float64], bins: int, min_rows: int) -> list[float]:
    """Edges half-way between neighbouring distinct values at the quantiles, small bins merged away."""
    distinct = np.unique(numbers)
    edges: list[float] = []
    for q in np.quantile(numbers, np.arange(1, bins) / bins):
        at = int(np.searchsorted(distinct, q, side="right")) - 1
        if 0 <= at < len(distinct) - 1:
            edge = float((distinct[at] + distinct[at + 1]) / 2)
            if edge not in edges:
                edges.append(edge)
    edges.sort()
    while edges:
        counts = np.bincount(np.searchsorted(edges, numbers), minlength=len(edges) + 1)
        smallest = int(np.argmin(counts))
        if counts[smallest] >= min_rows:
            break
        if smallest == 0:
            drop = 0
        elif smallest == len(edges):
            drop = len(edges) - 1
        else:
            drop = smallest - 1 if counts[smallest - 1] <= counts[smallest + 1] else smallest
        del edges[drop]
    return edges


def _numeric(column: str, values: pd.Series, bins: int, min_rows: int) -> Variable:
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    present = numbers[~np.isnan(numbers)]
    edges = _bin_edges(present, bins, min_rows) if len(present) else []
    bounds = [-math.inf, *edges, math.inf]
    groups = []
    for low, high in zip(bounds, bounds[1:]):
        if math.isinf(low):
            label = f"<= {_number_text(high)}" if not math.isinf(high) else "any value"
        elif math.isinf(high):
            label = f">= {_number_text(low)}"
        else:
            label = f"{_number_text(low)} to {_number_text(high)}"
        groups.append(Group("bin", label, low=low, high=high))
    if np.isnan(numbers).any():
        groups.append(Group("missing", "missing"))
    return Variable(column, "numeric", tuple(groups))


def variable_of(column: str, values: pd.Series, *, bins: int, min_rows: int, max_levels: int) -> Variable:
    """Groups of one column built on training values: numeric columns with many values are binned."""
    numbers_distinct = values.nunique(dropna=True)
    if _is_numeric(values) and numbers_distinct > max_levels:
        return _numeric(column, values, bins, min_rows)
    return _categorical(column, values, min_rows, max_levels)


def _spec(rules: list[FitRule]) -> ModelSpec:
    return ModelSpec(model=ModelInfo(name="calibration", version="0"),
                     changelog=[ChangelogEntry(version="0", date=dt.date(2000, 1, 1), change="screen")],
                     fit=FitSection(rules=rules))


def group_masks(frame: pd.DataFrame, variable: Variable) -> npt.NDArray[np.bool_]:
    """Boolean (n_rows, n_groups): row i matches group j, computed by the engine's matchers."""
    rules = [FitRule(name=f"g{j}", field=variable.column, points=0.0, **group.matcher())  # type: ignore[arg-type]
             for j, group in enumerate(variable.groups)]
    compiled = compile_model(_spec(rules))
    return matcher_masks(ColumnCodes(frame), compiled.fit_rules)


def group_codes(masks: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Index of the first matching group per row, -1 where no group matches."""
    codes = np.argmax(masks, axis=1).astype(np.int64)
    codes[~masks.any(axis=1)] = -1
    return codes


def rank_auc(y: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64]) -> float:
    """ROC-AUC from ranks (ties count half); nan when one class is absent."""
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def oof_rates(codes: npt.NDArray[np.int64], y: npt.NDArray[np.bool_], folds: npt.NDArray[np.int64],
              prior: float = 1.0) -> npt.NDArray[np.float64]:
    """Out-of-fold conversion rate of each row's code (shrunk to the base rate by `prior` rows)."""
    out = np.empty(len(codes))
    size = int(codes.max()) + 2 if len(codes) else 1
    shifted = codes + 1
    for fold in np.unique(folds):
        held = folds == fold
        fit = ~held
        base = float(y[fit].mean())
        leads = np.bincount(shifted[fit], minlength=size)
        wins = np.bincount(shifted[fit], weights=y[fit].astype(np.float64), minlength=size)
        rate = (wins + prior * base) / (leads + prior)
        out[held] = rate[shifted[held]]
    return out


def _purity(codes: npt.NDArray[np.int64], y: npt.NDArray[np.bool_], min_rows: int, cut: float) -> float:
    """Share of converted rows inside levels (>= min_rows rows) converting at >= `cut`."""
    positives = int(y.sum())
    if positives == 0:
        return 0.0
    shifted = codes + 1
    leads = np.bincount(shifted)
    wins = np.bincount(shifted, weights=y.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        pure = (leads >= min_rows) & (wins / leads >= cut)
    pure[0] = False
    return float(wins[pure].sum() / positives)


def screen_column(column: str, values: pd.Series, y: npt.NDArray[np.bool_], folds: npt.NDArray[np.int64], *,
                  leak_auc: float, purity_cut: float, purity_share: float, min_rows: int) -> ColumnScreen:
    """Screen one training column: identifier, constant, leaky (alone separates the outcome) or candidate.

    The single-column AUC is out of fold (each level's rate learnt on the other folds), so a column of
    unique ids scores about 0.5 instead of 1; numeric columns also try their raw order.
    """
    keys, numeric = _level_keys(values)
    missing = ~pd.notna(keys)
    codes_index, _ = pd.factorize(pd.Series(keys, dtype=object), use_na_sentinel=True)
    codes = np.asarray(codes_index, dtype=np.int64)
    distinct = int(codes.max()) + 1 if len(codes) else 0
    kind = "numeric" if numeric else "categorical"
    n = len(values)
    missing_share = float(missing.mean()) if n else 0.0

    def result(status: str, auc: float, purity: float, reason: str) -> ColumnScreen:
        return ColumnScreen(column, kind, status, auc, purity, distinct, missing_share, reason)

    if distinct + int(missing.any()) <= 1:
        return result("constant", 0.5, 0.0, "one value on every row")
    present = keys[~missing]
    integer_ids = numeric and distinct == n and np.all(np.mod(present.astype(np.float64), 1) == 0)
    if (not numeric and distinct >= 0.9 * n) or integer_ids:
        return result("identifier", 0.5, 0.0, f"{distinct:,} distinct values in {n:,} rows: an identifier")
    auc = rank_auc(y, oof_rates(codes, y, folds))
    if numeric:
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        low, high = np.nanmin(numbers), np.nanmax(numbers)
        for fill in (low - 1.0, high + 1.0):
            raw = rank_auc(y, np.where(np.isnan(numbers), fill, numbers))
            auc = max(auc, raw, 1.0 - raw)
    purity = _purity(codes, y, min_rows, purity_cut)
    if auc >= leak_auc:
        return result("leaky", auc, purity, f"alone it separates the outcome (AUC {auc:.3f} >= {leak_auc:g})")
    if purity >= purity_share:
        return result("leaky", auc, purity, f"{purity:.0%} of conversions sit in levels converting "
                      f">= {purity_cut:.0%} (limit {purity_share:.0%})")
    return result("candidate", auc, purity, "")
