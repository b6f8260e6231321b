"""Point weights suggested from history, and checked on a holdout (issue 7; DOMAIN.md sections 1, 4, 5).

    result = calibrate(history, "Converted", np.random.default_rng(0), date=dt.date(2026, 11, 1))
    result.verdict, result.summary["holdout_roc_auc"], result.model_text

Design, with every number a CalibrationSettings field:

- holdout: a stratified share (default 25%) of each class drawn with `rng`; everything below is learnt
  on the other 75% (the training rows) and only measured on the holdout.
- leak screen, from the data and never from names: a column is *leaky* when alone it separates the
  outcome (out-of-fold single-column ROC-AUC >= 0.9), or when most conversions (>= 50%) sit in levels
  converting >= 95%. Leaky columns are reported and never get points. Columns at AUC >= 0.75 alone are
  listed as *suspect* (kept; check they are known before first contact, or pass them in `exclude`).
  Identifier-like and constant columns are skipped too.
- variables: each remaining column is cut into groups (frequent levels, "other", quantile bins,
  "missing"); greedy forward selection by out-of-fold AUC keeps the 5-8 strongest (at most
  `max_variables`, stopping early when a variable adds less than `min_gain`).
- points: a logistic regression on the chosen groups; each variable is shifted so its weakest group
  scores 0 (no rule written), then all are scaled so the best possible lead scores at most 100 and
  rounded to whole points. Fit rules carry the points; the model combines by `sum`, so the total is
  the sum of the points, 0-100.
- probability: P(convert) = 1 / (1 + exp(-(a + b * total))) fit on the training totals; the holdout
  gets a reliability table and a Brier score.
- refusal: fewer than `min_leads` rows or `min_positives` of either class gives verdict "too_small";
  no variable beating chance (none selected, or the holdout AUC's permutation p-value >= `alpha`) gives
  "no_signal". Both come without a model: points are never invented.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from scoring._calibration_checks import (
    auc_interval,
    brier_score,
    conversion_jumps,
    permutation_p_value,
    reliability_table,
    stratified_holdout,
)
from scoring._calibration_columns import ColumnScreen, Variable, group_masks, rank_auc, screen_column, variable_of
from scoring._calibration_fit import (
    Block,
    fitted_coefficients,
    forward_selection,
    integer_points,
    holdout_log_odds,
    stratified_folds,
    total_to_probability,
)
from scoring._calibration_report import (
    FIT_ONLY_AS_OF,
    band_checks,
    current_model_check,
    fit_only_scores,
    history_leads,
    records,
)
from scoring._calibration_toml import model_text
from scoring.errors import InputDataError
from scoring.inputs import require_columns
from scoring.model import ChangelogEntry, FitRule, FitSection, ModelInfo, ModelSpec, ScoringSection, Thresholds
from scoring.model_file import parse_model

__all__ = ["CalibrationSettings", "Calibration", "calibrate", "history_leads", "outcome_labels", "FIT_ONLY_AS_OF"]

_BOOKKEEPING = ("lead_id", "created_at")
_TRUE = {"1", "1.0", "true", "yes", "y", "t", "converted", "won"}
_FALSE = {"0", "0.0", "false", "no", "n", "f", "not converted", "lost"}


@dataclass(frozen=True)
class CalibrationSettings:
    """Every threshold of a calibration run (shares are 0-1, AUCs 0.5-1)."""

    holdout_share: float = 0.25
    max_variables: int = 8
    min_gain: float = 0.002
    folds: int = 3
    regularisation_c: float = 1.0
    numeric_bins: int = 5
    max_levels: int = 8
    min_level_rows: int = 30
    min_level_share: float = 0.01
    leak_auc: float = 0.9
    suspect_auc: float = 0.75
    purity_cut: float = 0.95
    purity_share: float = 0.5
    min_leads: int = 1000
    min_positives: int = 200
    alpha: float = 0.01
    permutations: int = 999
    jump_window: float = 10.0
    exclude: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0.05 <= self.holdout_share <= 0.5:
            raise InputDataError("calibration settings", f"holdout_share {self.holdout_share} is outside 0.05-0.5",
                                 "use 0.25 for a 25% holdout")
        if not 1 <= self.max_variables <= 20:
            raise InputDataError("calibration settings", f"max_variables {self.max_variables} is outside 1-20",
                                 "working models have 5-8 variables")


@dataclass(frozen=True)
class Calibration:
    """The outcome of a calibration run.

    verdict is 'ok' (spec and model_text set), 'too_small' or 'no_signal' (no model; reason says why).
    screen has one row per column (status, single_auc, positive_purity, reason); weights one row per
    group of each chosen variable (coefficient in log-odds, points); reliability and lift are measured
    on the holdout; summary is the JSON-ready record written to calibration.json.
    """

    verdict: str
    reason: str
    spec: ModelSpec | None
    model_text: str | None
    screen: pd.DataFrame
    weights: pd.DataFrame
    reliability: pd.DataFrame
    lift: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def outcome_labels(values: pd.Series, column: str) -> npt.NDArray[np.float64]:
    """The target column as 1.0 / 0.0, nan where empty; accepts 0/1, booleans and yes/no-like text."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(np.float64).to_numpy()
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isnan(numbers) & ~np.isin(numbers, (0.0, 1.0))
        if bad.any():
            raise InputDataError(column, f"target holds {int(bad.sum())} value(s) other than 0/1, "
                                 f"e.g. {numbers[bad][0]:g}", "the target must be 0/1, true/false or yes/no")
        return numbers
    text = values.astype("string").str.strip().str.casefold()
    out = np.full(len(values), np.nan)
    out[text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)] = 1.0
    out[text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)] = 0.0
    bad = np.isnan(out) & text.notna().to_numpy() & (text != "").fillna(False).to_numpy(dtype=bool)
    if bad.any():
        raise InputDataError(column, f"target holds {int(bad.sum())} value(s) that are not yes/no, "
                             f"e.g. {values[bad].iloc[0]!r}", "the target must be 0/1, true/false or yes/no")
    return out


def _slug(text: str) -> str:
    text = text.replace("<=", " le ").replace(">=", " ge ").casefold()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "x"


def _rules(variables: dict[str, Variable], points: dict[str, npt.NDArray[np.int64]]) -> list[FitRule]:
    """One fit rule per group with points; levels of a variable with equal points share one `in` rule."""
    rules: list[FitRule] = []
    for column, variable in variables.items():
        merged: dict[int, list[int]] = {}
        for j, group in enumerate(variable.groups):
            if points[column][j] != 0 and group.kind in ("level", "other"):
                merged.setdefault(int(points[column][j]), []).append(j)
        done: set[int] = set()
        for j, group in enumerate(variable.groups):
            value = int(points[column][j])
            if value == 0 or j in done:
                continue
            members = merged.get(value, [j]) if group.kind in ("level", "other") else [j]
            done.update(members)
            labels = " / ".join(variable.groups[m].label for m in members)
            matcher: dict[str, Any] = variable.groups[j].matcher()
            if len(members) > 1:
                matcher = {"in": [v for m in members for v in variable.groups[m].values]}
            name = f"{_slug(column)}_{_slug(labels)}"[:80]
            while any(r.name == name for r in rules):
                name += "_"
            rules.append(FitRule(name=name, label=f"{column}: {labels}", field=column, points=float(value),
                                 **matcher))
    return rules


def _spec(rules: list[FitRule], best: float, mql: float, name: str, version: str, date: dt.date,
          change: str) -> ModelSpec:
    """A fit-only model summing whole points; `best` is the highest total a lead can reach (<= 100)."""
    return ModelSpec(
        model=ModelInfo(name=name, version=version, description="Fit points suggested from history by "
                        "`scorebench calibrate` (logistic regression turned into whole points)."),
        changelog=[ChangelogEntry(version=version, date=date, change=change, author="scorebench calibrate")],
        scoring=ScoringSection(combine="sum"),
        fit=FitSection(max_points=max(1.0, best), rules=rules),
        thresholds=Thresholds(mql=mql),
    )


def _frame(rows: list[ColumnScreen]) -> pd.DataFrame:
    columns = ["column", "kind", "status", "single_auc", "positive_purity", "distinct", "missing_share", "reason"]
    return pd.DataFrame([[getattr(r, c) for c in columns] for r in rows], columns=columns)


def _refusal(verdict: str, reason: str, screen: pd.DataFrame, summary: dict[str, Any]) -> Calibration:
    summary = {**summary, "verdict": verdict, "reason": reason, "model_written": False,
               "holdout_roc_auc": summary.get("holdout_roc_auc"), "n_variables": 0, "brier": None}
    empty = pd.DataFrame()
    return Calibration(verdict, reason, None, None, screen, empty, empty, empty, summary)


def _screened_columns(target: str, train: pd.DataFrame, y_train: npt.NDArray[np.bool_],
                      folds: npt.NDArray[np.int64], settings: CalibrationSettings,
                      min_rows: int) -> tuple[list[ColumnScreen], dict[str, Variable]]:
    """The screen of every column but the target, and the groups of the candidate columns (training rows)."""
    screens: list[ColumnScreen] = []
    variables: dict[str, Variable] = {}
    for column in train.columns:
        if column == target:
            continue
        if column in settings.exclude or column in _BOOKKEEPING:
            why = "excluded by the user" if column in settings.exclude else "bookkeeping column of the leads frame"
            screens.append(ColumnScreen(str(column), "", "excluded", math.nan, math.nan, 0, 0.0, why))
            continue
        found = screen_column(str(column), train[column], y_train, folds, leak_auc=settings.leak_auc,
                              purity_cut=settings.purity_cut, purity_share=settings.purity_share, min_rows=min_rows)
        if found.status == "candidate":
            variable = variable_of(str(column), train[column], bins=settings.numeric_bins, min_rows=min_rows,
                                   max_levels=settings.max_levels)
            if len(variable.groups) < 2:
                found = ColumnScreen(found.column, found.kind, "too_sparse", found.single_auc,
                                     found.positive_purity, found.distinct, found.missing_share,
                                     f"one group after pooling levels under {min_rows} rows")
            else:
                variables[str(column)] = variable
        screens.append(found)
    return screens, variables


def calibrate(history: pd.DataFrame, target: str, rng: np.random.Generator, *, date: dt.date,
              settings: CalibrationSettings = CalibrationSettings(), current: ModelSpec | None = None,
              name: str = "calibrated", version: str = "1.0.0", source: str = "history") -> Calibration:
    """Suggest whole fit points from `history` and check them on a stratified holdout.

    Args:
        history: One row per lead: the outcome column `target` and lead columns (names become rule fields).
        target: Outcome column: 0/1, true/false or yes/no; rows where it is empty are dropped.
        rng: Draws the holdout, the folds and the permutations; the same seed gives the same result.
        date: Date of the changelog entry of the suggested model.
        settings: Thresholds of the run (holdout share, leak screen, selection, refusal).
        current: The model running today, scored on the same holdout when its fields exist.
        name: Model name written to the model file.
        version: Model version written to the model file and its changelog.
        source: What the history was (a file name), for the changelog and the summary.

    Returns:
        Calibration: verdict 'ok' with a ModelSpec and its TOML text, or 'too_small' / 'no_signal'
        without one; the summary holds holdout_roc_auc, n_variables, brier, leaky_columns and the rest.

    Raises:
        InputDataError: When the target or an excluded column is missing, or the target holds values
            that are not outcomes.
    """
    require_columns(history, (target,), "history", "calibration")
    require_columns(history, settings.exclude, "history", "the excluded columns")
    labels = outcome_labels(history[target], target)
    known = ~np.isnan(labels)
    frame = history.loc[known].reset_index(drop=True)
    y = labels[known].astype(bool)
    n, n_pos = len(y), int(y.sum())
    summary: dict[str, Any] = {
        "source": source, "target": target, "rows": n, "rows_without_outcome": int((~known).sum()),
        "positives": n_pos, "base_rate": n_pos / n if n else None, "leaky_columns": [], "suspect_columns": [],
        "holdout": {"design": f"stratified {settings.holdout_share:.0%} holdout of each class", "share":
                    settings.holdout_share},
        "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(settings).items()},
    }
    if n < settings.min_leads or min(n_pos, n - n_pos) < settings.min_positives:
        reason = (f"history too small to support weights: {n:,} leads with an outcome, {n_pos:,} converted and "
                  f"{n - n_pos:,} not; calibration needs {settings.min_leads:,} leads and "
                  f"{settings.min_positives:,} of each outcome (DOMAIN.md section 5)")
        return _refusal("too_small", reason, _frame([]), summary)
    held = stratified_holdout(y, settings.holdout_share, rng)
    train, y_train, y_hold = frame.loc[~held], y[~held], y[held]
    summary["holdout"] |= {"train_rows": int((~held).sum()), "holdout_rows": int(held.sum()),
                           "holdout_positives": int(y_hold.sum())}
    folds = stratified_folds(y_train, settings.folds, rng)
    min_rows = max(settings.min_level_rows, int(settings.min_level_share * len(y_train)))
    screens, variables = _screened_columns(target, train, y_train, folds, settings, min_rows)
    screen = _frame(screens)
    summary["leaky_columns"] = [s.column for s in screens if s.status == "leaky"]
    summary["suspect_columns"] = [s.column for s in screens
                                  if s.status == "candidate" and s.single_auc >= settings.suspect_auc]
    summary["columns"] = records(screen)
    blocks = {}
    for column, variable in variables.items():
        masks = group_masks(train, variable)
        blocks[column] = Block(variable, masks, int(np.argmax(masks.sum(axis=0))))
    selection = forward_selection(blocks, y_train, folds, max_variables=settings.max_variables,
                                  min_gain=settings.min_gain, c=settings.regularisation_c)
    summary["selection"] = [{"column": c, "oof_auc": a} for c, a in selection.steps]
    if not selection.columns:
        reason = (f"no variable beats chance: none of {len(blocks)} candidate columns lifts the out-of-fold AUC "
                  f"above 0.5 by {settings.min_gain}; no points suggested")
        return _refusal("no_signal", reason, screen, summary)
    fitted = fitted_coefficients(blocks, selection.columns, y_train, settings.regularisation_c)
    points, scale = integer_points(fitted)
    chosen = {c: variables[c] for c in selection.columns}
    rules = _rules(chosen, points)
    best = float(sum(int(p.max()) for p in points.values()))
    draft = _spec(rules, best, 50.0, name, version, date, "draft")
    leads = history_leads(frame)
    totals = fit_only_scores(leads, draft)["total"].to_numpy(dtype=np.float64)
    t_train, t_hold = totals[~held], totals[held]
    auc = rank_auc(y_hold, t_hold)
    low, high = auc_interval(auc, int(y_hold.sum()), int((~y_hold).sum()))
    p_value = permutation_p_value(y_hold, t_hold, settings.permutations, rng)
    x_hold = np.hstack([np.delete(group_masks(frame.loc[held], chosen[c]), blocks[c].reference, axis=1)
                        for c in selection.columns]).astype(np.float64)
    x_train = np.hstack([blocks[c].design() for c in selection.columns])
    unrounded = holdout_log_odds(x_train, y_train, x_hold, settings.regularisation_c)
    summary |= {"holdout_roc_auc": auc, "holdout_roc_auc_ci95": [low, high], "permutation_p_value": p_value,
                "holdout_roc_auc_unrounded": rank_auc(y_hold, unrounded)}
    if p_value >= settings.alpha:
        reason = (f"no variable beats chance: the best {len(selection.columns)} variable(s) reach holdout AUC "
                  f"{auc:.3f} (95% CI {low:.3f}-{high:.3f}, permutation p = {p_value:.3f} >= {settings.alpha}); "
                  "no points suggested")
        return _refusal("no_signal", reason, screen, summary)
    intercept, slope = total_to_probability(t_train, y_train)
    probability = 1.0 / (1.0 + np.exp(-(intercept + slope * t_hold)))
    reliability = reliability_table(probability, y_hold)
    jumps = conversion_jumps(t_train, y_train, settings.jump_window, min_rows)
    mql = float(jumps["cutoff"].iloc[0]) if len(jumps) else 50.0
    change = (f"Fit points suggested from {source} ({n:,} leads, {n_pos:,} converted): "
              f"{len(selection.columns)} variables, holdout ROC-AUC {auc:.3f}; MQL at the largest conversion "
              f"jump ({mql:g} points).")
    spec = _spec(rules, best, mql, name, version, date, change)
    comment = [f"Calibrated by `scorebench calibrate` from {source} ({n:,} leads, target {target!r}).",
               f"Holdout ({settings.holdout_share:.0%} stratified): ROC-AUC {auc:.3f}; leaky columns left out: "
               f"{', '.join(summary['leaky_columns']) or 'none'}.",
               "Points: logistic regression, each variable's weakest group at 0, best lead at most 100.",
               f"P(convert) = 1 / (1 + exp(-({intercept:.4f} + {slope:.5f} * total)))."]
    text = model_text(spec, comment)
    parse_model(text, source="calibrated model")
    weights = pd.DataFrame([
        {"variable": c, "group": g.label, "kind": g.kind, "coefficient": float(fitted.coefficients[c][j]),
         "points": int(points[c][j])} for c in selection.columns for j, g in enumerate(chosen[c].groups)])
    lift, bands = band_checks(spec, leads.loc[held], y_hold)
    summary |= {
        "verdict": "ok", "reason": "", "model_written": True, "n_variables": len(selection.columns),
        "variables": list(selection.columns), "n_rules": len(rules), "points_per_log_odds": scale,
        "brier": brier_score(probability, y_hold),
        "brier_reference": brier_score(np.full(len(y_hold), y_train.mean()), y_hold),
        "probability": {"intercept": intercept, "slope_per_point": slope,
                        "by_total": [{"total": t, "probability": 1.0 / (1.0 + math.exp(-(intercept + slope * t)))}
                                     for t in range(0, 101, 5)]},
        "reliability": records(reliability), "weights": records(weights),
        "thresholds": {"suggested_mql": mql, "jumps": records(jumps.head(5)), **bands.pop("expected_value")},
        **bands, "current_model": current_model_check(current, frame.loc[held], y_hold),
    }
    return Calibration("ok", "", spec, text, screen, weights, reliability, lift, summary)
