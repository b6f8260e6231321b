"""Figures of a shadow run (scoring.shadow_* frames in, matplotlib figures out) and the notebook's simulated run.

    replay = notebook_shadow_replay("../scenarios/default.toml", "../models/baseline.toml", "../models/candidate.toml")
    agreement_figure(tier_agreement(replay.snapshots, replay.routing))
    migration_figure(band_migration(replay.snapshots))
    load_figure(replay.load)
    early_outcomes_figure(early_outcomes_by_band(replay.snapshots, replay.outcomes))

Figures are bare `matplotlib.figure.Figure`s wrapped so a notebook shows them as PNG without pyplot state.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rollout.notebook_env import notebook_leads_per_day
from rollout.plots import ShownFigure
from rollout.shadow_review import StoredShadow, stored_shadow
from scoring.model_file import load_model
from scoring.shadow import MODELS, MOTIONS
from scoring.shadow_agreement import BandMigration
from simulator.scenario import load_scenario
from simulator.shadow_replay import ShadowReplay, replay_shadow

__all__ = ["agreement_figure", "early_outcomes_figure", "load_figure", "migration_figure",
           "notebook_shadow_replay", "notebook_shadow_run"]

_MODEL_COLOUR = {"champion": "#6e7781", "challenger": "#1f6feb"}
_MOTION_COLOUR = {"hot": "#d1242f", "warm": "#bf8700", "nurture": "#6e7781"}


def notebook_shadow_run(store: str | Path = "../demo-out/shadow/shadow.sqlite", run_id: str | None = None,
                        scenario: str | Path = "../scenarios/default.toml",
                        champion: str | Path = "../models/baseline.toml",
                        challenger: str | Path = "../models/candidate.toml",
                        days: int = 14, seed: int = 7, leads: float | None = None) -> StoredShadow | ShadowReplay:
    """The shadow run to explore: the stored run in `store` (the demo's, by default) when that file exists,
    else a simulated run of the two model files on the scenario (sized by SCOREBENCH_NOTEBOOK_LEADS)."""
    if Path(store).is_file():
        return stored_shadow(Path(store), run_id)
    return notebook_shadow_replay(scenario, champion, challenger, days=days, seed=seed, leads=leads)


def notebook_shadow_replay(scenario: str | Path = "scenarios/default.toml",
                           champion: str | Path = "models/baseline.toml",
                           challenger: str | Path = "models/candidate.toml", days: int = 14, seed: int = 7,
                           leads: float | None = None) -> ShadowReplay:
    """A simulated `days`-day shadow run of two model files on a scenario (leads default SCOREBENCH_NOTEBOOK_LEADS).

    Args:
        leads: leads over the scenario's history; None reads SCOREBENCH_NOTEBOOK_LEADS, else the scenario's volume.
    """
    loaded = load_scenario(scenario)
    history = loaded.funnel.history_days
    per_day = leads / history if leads is not None else notebook_leads_per_day(history)
    if per_day is not None:
        loaded = dataclasses.replace(loaded, funnel=dataclasses.replace(loaded.funnel, leads_per_day=per_day))
    return replay_shadow(loaded, load_model(champion), load_model(challenger), np.random.default_rng(seed), days=days)


def agreement_figure(agreement: pd.DataFrame) -> ShownFigure:
    """Daily share of leads both models route the same way (routed or not), per champion tier and overall."""
    figure = Figure(figsize=(9.0, 3.4), layout="constrained")
    ax = figure.subplots()
    daily = agreement.loc[agreement["day"].notna()]
    for tier, rows in daily.groupby("tier", sort=False):
        ax.plot(rows["day"], 100 * rows["agreement"], marker="o", markersize=3,
                linewidth=2.5 if tier == "all" else 1.2, color="black" if tier == "all" else None,
                label=f"champion tier {tier}" if tier != "all" else "all leads")
    overall = agreement.loc[agreement["day"].isna() & (agreement["tier"] == "all"), "agreement"]
    title = "routing agreement by day" + (f" (all days: {overall.iloc[0]:.1%})" if len(overall) else "")
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("% of leads, same decision")
    ax.set_ylim(0, 105)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    figure.autofmt_xdate()
    return ShownFigure(figure)


def migration_figure(migration: BandMigration) -> ShownFigure:
    """Champion band (rows) x challenger band (columns) on one day: row shares shaded, lead counts written."""
    figure = Figure(figsize=(5.6, 4.4), layout="constrained")
    ax = figure.subplots()
    shares = migration.row_shares.to_numpy(dtype=np.float64)
    image = ax.imshow(np.nan_to_num(shares), cmap="Blues", vmin=0, vmax=1)
    counts = migration.counts.to_numpy()
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            dark = np.nan_to_num(shares[i, j]) > 0.55
            ax.text(j, i, f"{counts[i, j]:,}", ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")
    ax.set_xticks(range(counts.shape[1]), list(migration.counts.columns))
    ax.set_yticks(range(counts.shape[0]), list(migration.counts.index))
    ax.set_xlabel(str(migration.counts.columns.name))
    ax.set_ylabel(str(migration.counts.index.name))
    ax.set_title(f"migration on {migration.day.date()} (shade: share of row)", fontsize=10)
    figure.colorbar(image, ax=ax, shrink=0.8)
    return ShownFigure(figure)


def load_figure(load: pd.DataFrame) -> ShownFigure:
    """New work per day entering each routed motion, per model, against the motion's capacity (dashed)."""
    motions = [m for m in MOTIONS if m != "nurture" and m in set(load["key"])]
    figure = Figure(figsize=(5.0 * max(len(motions), 1), 3.4), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, max(len(motions), 1)))
    for ax, motion in zip(axes, motions):
        rows = load.loc[load["key"] == motion]
        for model in MODELS:
            mine = rows.loc[rows["model"] == model]
            ax.plot(mine["day"], mine["new_work"], marker="o", markersize=3, color=_MODEL_COLOUR[model], label=model)
        capacity = rows["capacity"].dropna()
        if len(capacity):
            ax.axhline(float(capacity.iloc[0]), color=_MOTION_COLOUR[motion], linestyle="--",
                       label=f"capacity {float(capacity.iloc[0]):.1f}/day")
        ax.set_title(f"{motion}: new work per day vs capacity", fontsize=10)
        ax.set_ylabel("leads")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    figure.autofmt_xdate()
    return ShownFigure(figure)


def early_outcomes_figure(early: pd.DataFrame, stage: str = "accepted") -> ShownFigure:
    """Early conversion by band for each model with Wilson 95% intervals (bands of each model, low to high)."""
    figure = Figure(figsize=(9.0, 3.4), layout="constrained")
    axes = figure.subplots(1, len(MODELS), sharey=True)
    for ax, model in zip(axes, MODELS):
        rows = early.loc[early["model"] == model]
        rate = 100 * rows["rate"].to_numpy(dtype=np.float64)
        low = np.nan_to_num(rate - 100 * rows["ci_low"].to_numpy(dtype=np.float64))
        high = np.nan_to_num(100 * rows["ci_high"].to_numpy(dtype=np.float64) - rate)
        x = np.arange(len(rows))
        ax.bar(x, np.nan_to_num(rate), color=_MODEL_COLOUR[model], alpha=0.8)
        ax.errorbar(x, np.nan_to_num(rate), yerr=[low, high], fmt="none", color="black", capsize=3)
        for xi, n in zip(x, rows["leads"]):
            ax.annotate(f"n={n:,}", (xi, 0), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7)
        ax.set_xticks(x, list(rows["band"]))
        ax.set_title(f"{model}: reached {stage} so far", fontsize=10)
        ax.set_xlabel("band")
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel("% of leads in band")
    return ShownFigure(figure)
