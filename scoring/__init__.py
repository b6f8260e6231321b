"""The scoring model: rules file -> scores, bands, tiers, reasons; and its evaluation. Pure: frames in, frames out.

    spec = load_model("models/candidate.toml")
    scores = score(leads, events, spec, as_of="2026-11-01")
    lift = lift_curve(scores, outcomes)
"""

import importlib as _importlib
from typing import Any as _Any

from scoring.band_entries import band_entries
from scoring.compiled import CompiledModel, compile_model
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
from scoring.drift import psi, psi_by_band
from scoring.engine import score
from scoring.errors import ConfigFileError, InputDataError, ModelFileError, ModelProblem, ScorebenchError, SettingsError
from scoring.fields import ScoreField
from scoring.model import ModelSpec
from scoring.model_file import load_model, model_hash, parse_model
from scoring.quality import missing_fields
from scoring.shadow import MODELS, MOTIONS, SNAPSHOT_COLUMNS, RoutingMap, snapshot
from scoring.shadow_agreement import BandMigration, band_migration, score_psi_by_day, tier_agreement
from scoring.shadow_load import MotionCapacity, tier_load
from scoring.shadow_outcomes import TwoProportionTest, early_outcomes_by_band, top_band_test, two_proportion_test
from scoring.summary import EvaluationCosts, comparison_summary, model_summary
from scoring.thresholds import ThresholdMetrics, best_threshold, expected_value_curve, threshold_metrics

__all__ = [
    "Calibration",
    "CalibrationSettings",
    "calibrate",
    "history_leads",
    "outcome_labels",
    "MODELS",
    "MOTIONS",
    "SNAPSHOT_COLUMNS",
    "BandMigration",
    "MotionCapacity",
    "RoutingMap",
    "TwoProportionTest",
    "band_migration",
    "early_outcomes_by_band",
    "score_psi_by_day",
    "snapshot",
    "tier_agreement",
    "tier_load",
    "top_band_test",
    "two_proportion_test",
    "CompiledModel",
    "ConfigFileError",
    "EvaluationCosts",
    "GapTest",
    "InputDataError",
    "ModelFileError",
    "ModelProblem",
    "ModelSpec",
    "ScoreField",
    "ScorebenchError",
    "SettingsError",
    "ThresholdMetrics",
    "TierRatio",
    "band_conversion",
    "band_entries",
    "best_threshold",
    "comparison_summary",
    "compile_model",
    "expected_value_curve",
    "gap_test",
    "is_monotone",
    "lift_curve",
    "load_model",
    "missing_fields",
    "model_hash",
    "model_summary",
    "parse_model",
    "psi",
    "psi_by_band",
    "score",
    "stage_reached",
    "threshold_metrics",
    "tier_conversion_ratio",
    "wilson_interval",
]

_LAZY = {name: "scoring.calibration" for name in
         ("Calibration", "CalibrationSettings", "calibrate", "history_leads", "outcome_labels")}
"""Loaded on first use: calibration needs scikit-learn, which would add ~1 s to every `import scoring`."""


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        value = getattr(_importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'scoring' has no attribute {name!r}")
