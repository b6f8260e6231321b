"""`scorebench calibrate`: read a history, suggest fit points (scoring.calibration), write the results.

Writes, into the output directory:

- calibration.json: always; verdict ('ok', 'too_small', 'no_signal'), holdout_roc_auc, n_variables,
  brier, leaky_columns and every table behind them;
- model.toml: only when the verdict is 'ok' (a history that cannot support weights gets no model);
- calibration.html: the reliability diagram and conversion by band, when there is a model.

The history is a CSV export (one row per lead, the target a 0/1 or yes/no column) or a canonical pull
directory (leads.csv + outcomes.csv, the target a funnel stage such as `won`: a lead is positive when
it reached that stage; leads without outcomes count as not converted).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rollout.data_files import read_frame
from rollout.calibration_plots import calibration_figure
from rollout.plots import figure_svg
from scoring._json import json_ready
from scoring.calibration import Calibration, CalibrationSettings, calibrate
from scoring.columns import FUNNEL_STAGES
from scoring.conversion import stage_reached
from scoring.errors import InputDataError
from scoring.model_file import load_model

__all__ = ["CalibrationRun", "read_history", "calibrate_history", "calibrate_to_dir", "MODEL_FILE", "SUMMARY_FILE", "PLOT_FILE"]

MODEL_FILE = "model.toml"
SUMMARY_FILE = "calibration.json"
PLOT_FILE = "calibration.html"


@dataclass(frozen=True)
class CalibrationRun:
    """A finished run: the calibration, the files written (model None when refused), seconds taken."""

    result: Calibration
    summary_path: Path
    model_path: Path | None
    plot_path: Path | None
    seconds: float


def read_history(path: Path, target: str) -> tuple[pd.DataFrame, str]:
    """The history as one frame holding `target`, and a short description of where it came from.

    A file is read as a CSV export; a directory as a pull (leads.csv, outcomes.csv) where `target` is a
    leads column or a funnel stage turned into a 0/1 column of that name.
    """
    if path.is_dir():
        leads = read_frame(path / "leads.csv", "leads")
        if target in leads.columns:
            return leads, f"{path.name}/leads.csv"
        if target not in FUNNEL_STAGES:
            raise InputDataError(str(path), f"target {target!r} is neither a leads column nor a funnel stage",
                                 f"use a stage ({', '.join(FUNNEL_STAGES)}) or a column of leads.csv")
        outcomes = read_frame(path / "outcomes.csv", "outcomes")
        reached = stage_reached(outcomes, leads["lead_id"].to_numpy(dtype=object), target)
        return leads.assign(**{target: reached.astype(np.int64)}), f"{path.name} (pull, target stage {target!r})"
    if not path.is_file():
        raise InputDataError(str(path), "no such file or directory", "give a CSV export or a pull directory")
    try:
        return pd.read_csv(path), path.name
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputDataError(str(path), f"not a readable CSV: {exc}", "export it as UTF-8 CSV with a header row") from None


def _figure_html(result: Calibration) -> str:
    svg = figure_svg(calibration_figure(result))
    return ("<!doctype html><meta charset='utf-8'><title>scorebench calibration</title>"
            f"<h1>Calibration of {result.summary['source']}</h1>{svg}")


def calibrate_history(history: Path, target: str, *, exclude: tuple[str, ...] = (), model: Path | None = None,
                      seed: int = 0, today: dt.date | None = None) -> Calibration:
    """Calibrate a history file or pull directory without writing anything (for the notebook)."""
    frame, source = read_history(history, target)
    settings = CalibrationSettings(exclude=tuple(exclude))
    current = load_model(model) if model is not None else None
    return calibrate(frame, target, np.random.default_rng(seed), date=today or dt.datetime.now(dt.UTC).date(),
                     settings=settings, current=current, source=source)


def calibrate_to_dir(history: Path, target: str, out: Path, *, model: Path | None = None, seed: int = 0,
                     settings: CalibrationSettings = CalibrationSettings(), name: str = "calibrated",
                     version: str = "1.0.0", today: dt.date | None = None) -> CalibrationRun:
    """Read `history`, calibrate with `numpy.random.default_rng(seed)` and write the files into `out`."""
    started = time.perf_counter()
    frame, source = read_history(history, target)
    current = load_model(model) if model is not None else None
    date = today or dt.datetime.now(dt.UTC).date()
    result = calibrate(frame, target, np.random.default_rng(seed), date=date, settings=settings, current=current,
                       name=name, version=version, source=source)
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / MODEL_FILE
    plot_path: Path | None = None
    if result.model_text is not None:
        model_path.write_text(result.model_text, encoding="utf-8")
        plot_path = out / PLOT_FILE
        plot_path.write_text(_figure_html(result), encoding="utf-8")
    else:
        model_path.unlink(missing_ok=True)
        (out / PLOT_FILE).unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    summary = {**result.summary, "seed": seed, "model_file": MODEL_FILE if result.model_text else None,
               "current_model_file": str(model) if model else None, "runtime_seconds": round(seconds, 2)}
    summary_path = out / SUMMARY_FILE
    summary_path.write_text(json.dumps(json_ready(summary), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return CalibrationRun(result, summary_path, model_path if result.model_text else None, plot_path, seconds)
