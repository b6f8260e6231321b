"""A stored shadow run read back: its snapshots as scoring.shadow frames, `shadow status`, the frames the shadow
notebook explores, and the written report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rollout._shadow_reads import cached_outcomes
from rollout.progress import Steps, quiet_steps
from rollout.shadow_gates import GateTable, ShadowSettings
from rollout.shadow_schema import RunRecord
from rollout.shadow_start import run_models
from rollout.shadow_store import ShadowRunError, ShadowStore
from scoring.shadow import MODELS, SNAPSHOT_COLUMNS, RoutingMap
from scoring.shadow_load import tier_load

__all__ = ["RunStatus", "StoredShadow", "ReportResult", "run_snapshots", "run_status", "stored_shadow", "report_run"]


# ---- reading the run back ------------------------------------------------------------------------

def run_snapshots(store: ShadowStore, run: RunRecord) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run's snapshots (days >= 1) and its baseline (day 0) as scoring.shadow.SNAPSHOT_COLUMNS frames.

    snapshot_run stores the baseline with day 1, so it is there whenever snapshots are; a store without day 0
    gives an empty baseline (the first snapshot day is then the reference, as with no baseline).
    """
    days = {d.day_index: d for d in store.days(run.run_id)}
    codes = store.scores(run.run_id)
    if codes.empty:
        raise ShadowRunError(f"run {run.run_id} has no snapshots yet; run `scorebench shadow snapshot {run.run_id}`")
    index = codes["day_index"].to_numpy()
    day_of = {i: d.day.to_datetime64() for i, d in days.items()}
    as_of_of = {i: d.as_of for i, d in days.items()}
    frame: dict[str, object] = {
        "day": pd.Series(index).map(day_of).astype("datetime64[ns]").to_numpy(),
        "as_of": pd.DatetimeIndex(pd.Series(index).map(as_of_of)).tz_convert("UTC").as_unit("ns"),
        "lead_id": codes["lead_id"].to_numpy(dtype=object),
        "segment": codes["segment"].to_numpy(dtype=object),
    }
    for m in MODELS:
        frame[f"{m}_total"] = codes[f"{m}_total"].to_numpy(np.float64)
        for c in ("band", "tier"):
            frame[f"{m}_{c}"] = pd.Categorical.from_codes(codes[f"{m}_{c}"].to_numpy(np.int64),
                                                          categories=pd.Index(run.categories[m][c]), ordered=True)
    frame["champion_version"] = pd.Series(index).map({i: d.champion_version for i, d in days.items()}).to_numpy(object)
    frame["challenger_version"] = pd.Series(index).map(
        {i: d.challenger_version for i, d in days.items()}).to_numpy(object)
    whole = pd.DataFrame(frame, columns=list(SNAPSHOT_COLUMNS))
    return whole.loc[index >= 1].reset_index(drop=True), whole.loc[index == 0].reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class RunStatus:
    """One run as `shadow status` shows it."""

    run: RunRecord
    days_recorded: int
    last_day: pd.Timestamp | None
    complete: bool
    last_error: str | None
    report: dict[str, object] | None
    approval: dict[str, object] | None
    pushes: pd.DataFrame


def run_status(store_path: Path, run_id: str | None = None) -> list[RunStatus]:
    """Every run in the store (or the one named), with progress, last error, report and approval."""
    with ShadowStore(store_path) as store:
        ids = [store.run(run_id).run_id] if run_id else store.run_ids()
        out = []
        for rid in ids:
            run = store.run(rid)
            days = [d for d in store.days(rid) if d.day_index >= 1]
            log = store.log_lines(rid)
            errors = log[log["kind"] == "error"]
            last_ok = log[log["kind"] == "snapshot"].index.max() if (log["kind"] == "snapshot").any() else -1
            error = None if errors.empty or errors.index.max() < last_ok else str(errors.iloc[-1]["message"])
            out.append(RunStatus(run, len(days), days[-1].day if days else None, len(days) >= run.days, error,
                                 store.report(rid), store.approval(rid), store.pushes(rid)))
        return out


@dataclass(frozen=True, eq=False)
class StoredShadow:
    """A stored shadow run's frames for exploring it (the 02_shadow_report notebook): the same fields the
    simulated replay has, read from the state store."""

    run_id: str
    snapshots: pd.DataFrame
    """SNAPSHOT_COLUMNS of days >= 1."""
    baseline: pd.DataFrame
    """SNAPSHOT_COLUMNS of day 0 (see run_snapshots)."""
    outcomes: pd.DataFrame
    """OUTCOME_COLUMNS (lead_id, stage, at) read so far; empty while none are cached."""
    routing: RoutingMap
    load: pd.DataFrame


def stored_shadow(store_path: Path, run_id: str | None = None) -> StoredShadow:
    """Snapshots, outcomes seen so far, routing map and load per day of a stored run (default: the latest)."""
    with ShadowStore(store_path) as store:
        run = store.run(run_id)
        snapshots, baseline = run_snapshots(store, run)
        outcomes = cached_outcomes(store.cache(run.run_id))
        settings = ShadowSettings.model_validate_json(run.settings)
    routing = settings.routing()
    load = tier_load(snapshots, settings.capacity_per_day(), routing, baseline=baseline)
    return StoredShadow(run.run_id, snapshots, baseline, outcomes, routing, load)


# ---- report ------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ReportResult:
    """The written report: paths, its hash, the gate table and whether the window is complete."""

    run_id: str
    html: Path
    json: Path
    report_hash: str
    gates: GateTable
    complete: bool
    days_recorded: int


def report_run(store_path: Path, run_id: str | None, out: Path, progress: Steps | None = None) -> ReportResult:
    """Compare the run's models on what is stored so far and write out/report.html and out/report.json."""
    from rollout._shadow_report import shadow_report

    steps = progress or quiet_steps()
    with ShadowStore(store_path) as store:
        run = store.run(run_id)
        steps.step("comparing champion and challenger")
        models = run_models(store, run)
        snapshots, baseline = run_snapshots(store, run)
        days = [d for d in store.days(run.run_id) if d.day_index >= 1]
        outcomes = cached_outcomes(store.cache(run.run_id))
        built = shadow_report(run, models, snapshots, baseline, days, outcomes, store.quality(run.run_id),
                              store.entry_counts(run.run_id), ShadowSettings.model_validate_json(run.settings))
        steps.step("writing report.html and report.json")
        out.mkdir(parents=True, exist_ok=True)
        html_path, json_path = out / "report.html", out / "report.json"
        html_path.write_text(built.html, encoding="utf-8")
        json_path.write_text(built.json, encoding="utf-8")
        store.add_report(run.run_id, built.report_hash, days[-1].day, built.gates.verdict, html_path.resolve(),
                         json_path.resolve())
        return ReportResult(run.run_id, html_path, json_path, built.report_hash, built.gates,
                            len(days) >= run.days, len(days))
