"""The full shadow cycle on a simulated local CRM, in seconds: 14 snapshots -> report with gates -> approve -> push -> undo.

The simulated CRM holds the whole synthetic funnel from the start; the run's simulated clock starts
`days` days before the funnel's as_of and advances one day per snapshot, and every snapshot reads
only what the CRM held at the clock's time (leads created and events by then: rollout.shadow_snapshot).
Outcomes: the generator draws them after as_of, so, as the simulated replay does
(simulator.shadow_replay), each lead keeps its drawn delay but its clock starts when it can first be
worked (the window's start, or its creation): at = max(created_at, start) + (drawn at - as_of).
The same comparison, report and push code serve live runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.local import LocalCRM
from rollout.demo import shipped_model_path
from rollout.progress import Steps, quiet_steps
from rollout.push import PushResult, undo_push
from rollout.shadow_approval import ApprovalResult, approve_run, push_run
from rollout.shadow_gates import GateTable
from rollout.shadow_review import ReportResult, report_run
from rollout.shadow_snapshot import snapshot_run
from rollout.shadow_start import start_run
from connectors.journal import PushJournal
from simulator import FunnelSpec, generate_funnel
from simulator.funnel import Funnel

__all__ = ["ShadowDemoResult", "run_shadow_demo", "window_outcomes"]


@dataclass(frozen=True, eq=False)
class ShadowDemoResult:
    """Paths and outcomes of the simulated cycle, for `scorebench demo` to print."""

    crm_path: Path
    store_path: Path
    run_id: str
    report: ReportResult
    gates: GateTable
    approval: ApprovalResult
    push: PushResult
    undo: PushResult
    seconds: dict[str, float]
    """Wall time per stage: funnel, snapshots, report, approve_push_undo, total."""


def window_outcomes(funnel: Funnel, start: pd.Timestamp) -> pd.DataFrame:
    """Outcomes with each lead's clock started at max(created_at, start): lead_id, stage, at (UTC)."""
    outcomes = funnel.outcomes
    created = funnel.leads.set_index("lead_id")["created_at"].reindex(outcomes["lead_id"])
    begin = np.maximum(created.to_numpy("datetime64[ns]"), start.tz_convert(None).to_datetime64())
    delay = (outcomes["at"] - funnel.spec.as_of).to_numpy("timedelta64[ns]")
    return pd.DataFrame({"lead_id": outcomes["lead_id"].to_numpy(dtype=object),
                         "stage": outcomes["stage"].to_numpy(dtype=object),
                         "at": pd.DatetimeIndex(begin + delay).tz_localize("UTC")})


def run_shadow_demo(out_dir: Path, n_leads: int = 20_000, seed: int = 7, days: int = 14,
                    approver: str = "demo", progress: Steps | None = None) -> ShadowDemoResult:
    """Run the whole cycle under out_dir (crm.sqlite, shadow.sqlite, shadow-report/); see the module docstring.

    The demo approves whatever the verdict: on NO-GO it records an override with a note saying so.
    """
    steps = progress or quiet_steps()
    seconds: dict[str, float] = {}
    began = tick = time.perf_counter()
    spec = FunnelSpec(n_leads=n_leads)
    steps.step(f"generating a synthetic funnel of {n_leads:,} leads")
    funnel = generate_funnel(spec, np.random.default_rng(seed))
    start = spec.as_of - pd.Timedelta(days=days)
    out_dir.mkdir(parents=True, exist_ok=True)
    crm_path, store_path = out_dir / "crm.sqlite", out_dir / "shadow.sqlite"
    for path in (crm_path, store_path):
        path.unlink(missing_ok=True)
    with LocalCRM(crm_path) as crm:
        steps.step("loading the funnel into the simulated local CRM")
        crm.load_funnel(funnel.leads, funnel.accounts, funnel.events, window_outcomes(funnel, start))
    seconds["funnel"] = time.perf_counter() - tick
    tick = time.perf_counter()
    run = start_run(store_path, "local", shipped_model_path("baseline"), shipped_model_path("candidate"), days=days,
                    db=crm_path, clock="simulated", start=str(start.date()), write_shadow_fields=True)
    counter = steps.counter(f"{days} daily snapshots on the simulated clock")
    for day in range(days):
        snapshot_run(store_path, run.run_id)
        counter(day + 1, days)
    seconds["snapshots"] = time.perf_counter() - tick
    tick = time.perf_counter()
    report = report_run(store_path, run.run_id, out_dir / "shadow-report", progress=steps)
    seconds["report"] = time.perf_counter() - tick
    tick = time.perf_counter()
    steps.step("approving, pushing and undoing")
    override = report.gates.verdict != "GO"
    note = ("demo: approved despite NO-GO to show push and undo" if override else "demo: all gates passed")
    approval = approve_run(store_path, run.run_id, approver, note, override=override)
    pushed = push_run(store_path, run.run_id)
    with LocalCRM(crm_path) as crm, PushJournal(crm_path) as journal:
        undone = undo_push(crm, journal, pushed.push_id or "")
    seconds["approve_push_undo"] = time.perf_counter() - tick
    seconds["total"] = time.perf_counter() - began
    return ShadowDemoResult(crm_path, store_path, run.run_id, report, report.gates, approval, pushed, undone, seconds)
