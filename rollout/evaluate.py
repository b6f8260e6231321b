"""Score the same leads with several models and evaluate each against outcomes (report-ready data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from scoring.compiled import CompiledModel, compile_model
from scoring.engine import score
from scoring.inputs import as_utc, checked_outcomes
from scoring.model import ModelSpec
from scoring.summary import EvaluationCosts, comparison_summary, model_summary

__all__ = ["ModelEvaluation", "evaluate_models"]


@dataclass(frozen=True)
class ModelEvaluation:
    """Scores and summary per model name, plus the comparison of the last model against the first."""

    scores: dict[str, pd.DataFrame]
    summaries: dict[str, dict[str, Any]]
    comparison: dict[str, Any] | None = None
    compiled: dict[str, CompiledModel] = field(default_factory=dict)


def evaluate_models(leads: pd.DataFrame, events: pd.DataFrame, outcomes: pd.DataFrame,
                    models: dict[str, ModelSpec], as_of: str | pd.Timestamp,
                    costs: EvaluationCosts = EvaluationCosts()) -> ModelEvaluation:
    """Score `leads` with every model as of `as_of` and summarise each against `outcomes`.

    The first model is the champion (what runs today) and the last the challenger; the comparison
    reports how far the challenger moves scores (PSI, share of leads changing band).
    """
    moment = as_utc(as_of)
    outcomes = checked_outcomes(outcomes)
    compiled = {name: compile_model(spec) for name, spec in models.items()}
    scores = {name: score(leads, events, model, moment) for name, model in compiled.items()}
    summaries = {name: model_summary(scores[name], outcomes, leads, compiled[name], costs) for name in compiled}
    names = list(models)
    comparison = comparison_summary(scores[names[-1]], scores[names[0]]) if len(names) > 1 else None
    return ModelEvaluation(scores, summaries, comparison, compiled)
