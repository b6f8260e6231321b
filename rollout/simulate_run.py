"""`scorebench simulate`: one synthetic funnel (a scenario file or plain settings) written as CSV, parquet,
funnel.json (settings and realised rates) and a plot of daily arrivals."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rollout.data_files import write_funnel_files
from rollout.plots import figure_svg
from rollout.progress import Steps, quiet_steps
from scoring.columns import FUNNEL_STAGES
from scoring.inputs import as_utc
from simulator import Funnel, FunnelSpec, generate_funnel, load_scenario

__all__ = ["funnel_rates", "simulate_to_dir"]


def funnel_rates(funnel: Funnel) -> dict[str, Any]:
    """Realised sizes and stage rates of a funnel (shares of leads; stage-to-stage conversion)."""
    outcomes = funnel.outcomes
    n = len(funnel.leads)
    reached = {stage: int(outcomes.loc[outcomes["stage"] == stage, "lead_id"].nunique()) for stage in FUNNEL_STAGES}
    steps = {f"{a}_to_{b}": (reached[b] / reached[a] if reached[a] else None)
             for a, b in zip(FUNNEL_STAGES, FUNNEL_STAGES[1:])}
    return {"leads": n, "accounts": int(len(funnel.accounts)), "events": int(len(funnel.events)),
            "events_per_lead": len(funnel.events) / n if n else 0.0,
            "reached": reached, "share_of_leads": {k: v / n if n else 0.0 for k, v in reached.items()},
            "stage_to_stage": steps}


def _arrivals_figure(funnel: Funnel) -> str:
    import matplotlib.pyplot as plt

    days = funnel.leads["created_at"].dt.floor("D").value_counts().sort_index()
    figure, ax = plt.subplots(figsize=(8, 3.2))
    ax.bar(days.index, days.to_numpy(), width=1.0, color="#1f6feb")
    ax.set_ylabel("leads created")
    ax.set_title("lead arrivals per day", fontsize=10)
    ax.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure_svg(figure)


def simulate_to_dir(out_dir: Path, scenario: Path | None, n_leads: int | None, seed: int, days: int | None,
                    as_of: str | None, progress: Steps | None = None) -> list[Path]:
    """Generate one seeded funnel and write leads/accounts/events/outcomes (CSV and parquet), funnel.json
    (settings, seed, realised rates) and arrivals.svg; returns the paths written."""
    steps = progress or quiet_steps()
    loaded = load_scenario(scenario) if scenario else None
    spec = loaded.funnel if loaded else FunnelSpec()
    overrides: dict[str, Any] = {}
    if n_leads is not None and spec.leads_per_day is None and (loaded is None or loaded.arrivals is None):
        overrides["n_leads"] = n_leads
    if days is not None:
        overrides["history_days"] = days
    if as_of is not None:
        overrides["as_of"] = as_utc(as_of)
    spec = dataclasses.replace(spec, **overrides) if overrides else spec
    steps.step("generating the funnel" + (f" of scenario {loaded.name}" if loaded else ""))
    funnel = generate_funnel(spec, np.random.default_rng(seed), arrivals=loaded.arrivals if loaded else None)
    steps.step("writing CSV, parquet, funnel.json and arrivals.svg")
    frames: dict[str, pd.DataFrame] = {"leads": funnel.leads, "accounts": funnel.accounts,
                                       "events": funnel.events, "outcomes": funnel.outcomes}
    meta = {"as_of": funnel.spec.as_of.isoformat(), "seed": seed, "scenario": str(scenario) if scenario else None,
            "history_days": funnel.spec.history_days, "outcome_days": funnel.spec.outcome_days,
            "rates": funnel_rates(funnel), "generator": "scorebench simulator"}
    paths = write_funnel_files(out_dir, frames, meta)
    for name, frame in frames.items():
        path = out_dir / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        paths.append(path)
    plot = out_dir / "arrivals.svg"
    plot.write_text(_arrivals_figure(funnel), encoding="utf-8")
    return [*paths, plot]
