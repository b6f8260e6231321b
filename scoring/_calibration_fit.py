"""Logistic regression on group indicators: greedy forward selection of variables, integer points.

Each variable enters as indicators of its groups minus its largest group (the reference, coefficient
0). Selection adds, one at a time, the variable that most raises the out-of-fold ROC-AUC on the
training rows, and stops at `max_variables` or when no variable adds `min_gain`. Points shift every
variable so its weakest group scores 0, then scale so the best lead scores (at most) 100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from scoring._calibration_columns import Variable, rank_auc

__all__ = ["Block", "Selection", "Fitted", "stratified_folds", "oof_predictions", "holdout_log_odds", "forward_selection",
           "fitted_coefficients", "integer_points", "total_to_probability"]


@dataclass(frozen=True)
class Block:
    """A variable's group indicators on the training rows, (n_rows, n_groups), and its reference group."""

    variable: Variable
    masks: npt.NDArray[np.bool_]
    reference: int

    def design(self) -> npt.NDArray[np.float64]:
        """Indicators without the reference group, as floats for the regression."""
        return np.delete(self.masks, self.reference, axis=1).astype(np.float64)


@dataclass(frozen=True)
class Selection:
    """Chosen variables in order of entry, with the out-of-fold AUC after each step."""

    columns: tuple[str, ...]
    steps: tuple[tuple[str, float], ...]
    oof_auc: float


@dataclass(frozen=True)
class Fitted:
    """Logistic coefficients per variable and group (reference 0) and the intercept, log-odds."""

    coefficients: dict[str, npt.NDArray[np.float64]]
    intercept: float


def stratified_folds(y: npt.NDArray[np.bool_], k: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Fold number (0..k-1) per row, each class dealt round-robin in a random order."""
    folds = np.empty(len(y), dtype=np.int64)
    for label in (False, True):
        rows = np.flatnonzero(y == label)
        folds[rng.permutation(rows)] = np.arange(len(rows)) % k
    return folds


def _model(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, solver="newton-cholesky", max_iter=200)


def oof_predictions(x: npt.NDArray[np.float64], y: npt.NDArray[np.bool_], folds: npt.NDArray[np.int64],
                    c: float) -> npt.NDArray[np.float64]:
    """Out-of-fold log-odds of a logistic regression on `x`."""
    out = np.zeros(len(y))
    for fold in np.unique(folds):
        held = folds == fold
        model = _model(c).fit(x[~held], y[~held])
        out[held] = model.decision_function(x[held])
    return out


def holdout_log_odds(x_train: npt.NDArray[np.float64], y_train: npt.NDArray[np.bool_],
                     x_hold: npt.NDArray[np.float64], c: float) -> npt.NDArray[np.float64]:
    """Log-odds on held-out rows of a logistic regression fit on the training rows (before rounding)."""
    return _model(c).fit(x_train, y_train).decision_function(x_hold)


def forward_selection(blocks: dict[str, Block], y: npt.NDArray[np.bool_], folds: npt.NDArray[np.int64], *,
                      max_variables: int, min_gain: float, c: float) -> Selection:
    """Add variables greedily by out-of-fold AUC; a first variable must beat 0.5 by `min_gain`."""
    chosen: list[str] = []
    steps: list[tuple[str, float]] = []
    best_auc = 0.5
    while len(chosen) < max_variables:
        base = [blocks[name].design() for name in chosen]
        trials = []
        for name in sorted(set(blocks) - set(chosen)):
            x = np.hstack([*base, blocks[name].design()])
            trials.append((rank_auc(y, oof_predictions(x, y, folds, c)), name))
        if not trials:
            break
        auc, name = max(trials, key=lambda t: t[0])  # ties: the first name in sorted order
        if not auc - best_auc >= min_gain:
            break
        chosen.append(name)
        steps.append((name, auc))
        best_auc = auc
    return Selection(tuple(chosen), tuple(steps), best_auc if chosen else math.nan)


def fitted_coefficients(blocks: dict[str, Block], columns: tuple[str, ...], y: npt.NDArray[np.bool_],
                        c: float) -> Fitted:
    """Fit on all training rows; coefficients per group of each chosen variable, reference group at 0."""
    x = np.hstack([blocks[name].design() for name in columns])
    model = _model(c).fit(x, y)
    flat = model.coef_[0]
    out, start = {}, 0
    for name in columns:
        block = blocks[name]
        width = block.masks.shape[1] - 1
        out[name] = np.insert(flat[start:start + width], block.reference, 0.0)
        start += width
    return Fitted(out, float(model.intercept_[0]))


def integer_points(fitted: Fitted, top: float = 100.0) -> tuple[dict[str, npt.NDArray[np.int64]], float]:
    """Whole points per group: coefficients shifted so each variable's weakest group is 0, scaled so the
    best possible lead scores at most `top`; returns the points and the scale (points per log-odds unit)."""
    shifted = {name: coef - coef.min() for name, coef in fitted.coefficients.items()}
    span = sum(float(v.max()) for v in shifted.values())
    if span <= 0:
        return {name: np.zeros(len(v), dtype=np.int64) for name, v in shifted.items()}, 0.0
    scale = top / span
    while True:
        points = {name: np.rint(v * scale).astype(np.int64) for name, v in shifted.items()}
        if sum(int(p.max()) for p in points.values()) <= top:
            return points, scale
        scale *= 0.995


def total_to_probability(totals: npt.NDArray[np.float64], y: npt.NDArray[np.bool_]) -> tuple[float, float]:
    """Intercept and slope (per point) of P(convert) = 1 / (1 + exp(-(a + b * total))), fit on training."""
    model = LogisticRegression(C=1e6, max_iter=5000).fit((totals / 100.0)[:, None], y)
    return float(model.intercept_[0]), float(model.coef_[0, 0]) / 100.0
