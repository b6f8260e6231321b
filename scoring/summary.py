"""One model's evaluation as plain data (for summary.json and the HTML report), and a two-model comparison."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring._json import json_ready, json_records
from scoring.columns import FUNNEL_STAGES
from scoring.compiled import CompiledModel
from scoring.conversion import band_conversion, gap_test, is_monotone, lift_curve, tier_conversion_ratio
from scoring.drift import psi
from scoring.quality import missing_fields
from scoring.thresholds import best_threshold, expected_value_curve, threshold_metrics

__all__ = ["EvaluationCosts", "model_summary", "comparison_summary"]


@dataclass(frozen=True)
class EvaluationCosts:
    """Dollar values behind the EV curve (DOMAIN.md section 4) and the thresholds it tries (points)."""

    deal_value: float = 10_000.0
    fp_cost: float = 500.0
    fn_cost: float = 20_000.0
    threshold_step: float = 5.0


def _histogram(totals: np.ndarray, width: float = 5.0) -> dict[str, list[float]]:
    edges = np.arange(0.0, 100.0 + width, width)
    counts, _ = np.histogram(totals, bins=edges)
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def model_summary(scores: pd.DataFrame, outcomes: pd.DataFrame, leads: pd.DataFrame, model: CompiledModel,
                  costs: EvaluationCosts = EvaluationCosts(), stage: str = "won") -> dict[str, Any]:
    """Everything the report shows about one model, as JSON-ready data.

    Args:
        scores: the scores frame of `model` (score()).
        outcomes: lead_id, stage, at (stages reached after scoring).
        leads: the scored leads (for per-segment and per-source tables and data quality).
        model: the compiled model (version, MQL threshold).
        costs: deal value and false-positive / false-negative costs for the EV curve, dollars.
        stage: the stage the lift curve, gap test and EV curve are judged on.
    """
    totals = scores["total"].to_numpy(np.float64)
    lift = lift_curve(scores, outcomes, stage=stage)
    thresholds = np.arange(0.0, 100.0 + costs.threshold_step / 2, costs.threshold_step)
    ev = expected_value_curve(scores, outcomes, thresholds, deal_value=costs.deal_value,
                              fp_cost=costs.fp_cost, fn_cost=costs.fn_cost, stage=stage)
    best = best_threshold(ev)
    high_tier = model.tier_names[-1]
    low_tier = model.tier_names[-3] if len(model.tier_names) >= 3 else model.tier_names[0]
    tiers = tier_conversion_ratio(scores, outcomes, stage=stage, high=high_tier, low=low_tier)
    bands = band_conversion(scores, outcomes, stages=FUNNEL_STAGES)
    return {
        "model": {"name": model.name, "version": model.version},
        "leads": int(len(scores)),
        "stage": stage,
        "score": {
            "mean": float(np.mean(totals)) if len(totals) else None,
            "quantiles": {f"p{q}": float(np.percentile(totals, q)) for q in (25, 50, 75, 90)} if len(totals) else {},
            "histogram": _histogram(totals),
        },
        "band_conversion": json_records(bands),
        "band_conversion_by_segment": json_records(band_conversion(scores, outcomes, stages=(stage,), by="segment",
                                                               leads=leads)) if "segment" in leads else [],
        "band_conversion_by_source": json_records(band_conversion(scores, outcomes, stages=(stage,), by="source",
                                                              leads=leads)) if "source" in leads else [],
        "lift_curve": json_records(lift),
        "lift_monotone": bool(is_monotone(lift)),
        "tier_ratio": {"high": high_tier, "low": low_tier, **{k: json_ready(v) for k, v in asdict(tiers).items()}},
        "gap_test": {k: json_ready(v) for k, v in asdict(gap_test(scores, outcomes)).items()},
        "at_mql_threshold": {k: json_ready(v) for k, v in asdict(threshold_metrics(scores, outcomes, model.mql,
                                                                                 stage=stage)).items()},
        "mql_share": float(scores["mql"].mean()) if "mql" in scores and len(scores) else None,
        "expected_value": {"curve": json_records(ev), "best_threshold": json_ready(best),
                           "best_value": json_ready(float(ev.loc[ev["threshold"] == best, "expected_value"].iloc[0])),
                           **asdict(costs)},
        "data_quality": json_records(missing_fields(leads, model)),
    }


def comparison_summary(challenger: pd.DataFrame, champion: pd.DataFrame) -> dict[str, Any]:
    """How far apart two models' scores of the same leads are: PSI of totals, share changing band."""
    merged = challenger[["lead_id", "total", "band"]].merge(champion[["lead_id", "total", "band"]],
                                                             on="lead_id", suffixes=("_new", "_old"))
    same = merged["band_new"].astype(str) == merged["band_old"].astype(str)
    return {
        "psi_total": json_ready(psi(merged["total_old"].to_numpy(), merged["total_new"].to_numpy())),
        "leads_compared": int(len(merged)),
        "share_changing_band": float(1.0 - same.mean()) if len(merged) else 0.0,
        "mean_total_change": float((merged["total_new"] - merged["total_old"]).mean()) if len(merged) else 0.0,
    }
