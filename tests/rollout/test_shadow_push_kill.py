"""A push of an approved run killed with SIGKILL mid-way, then re-run: every change is applied exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connectors.journal import PushJournal
from connectors.local import BATCH_RECORDS_ENV, WRITE_DELAY_ENV, LocalCRM
from rollout.shadow_approval import approve_run, push_run
from rollout.shadow_demo import window_outcomes
from rollout.shadow_review import report_run
from rollout.shadow_snapshot import snapshot_run
from rollout.shadow_start import start_run
from scoring.fields import ScoreField
from simulator import FunnelSpec, generate_funnel

ROOT = Path(__file__).resolve().parents[2]


def _applied(crm: Path) -> tuple[int, int]:
    with PushJournal(crm) as journal:
        ids = journal.pending_push_ids("local")
        if not ids:
            return 0, 0
        entries = journal.entries(ids[0])
    return int((entries["status"] == "applied").sum()), int((entries["status"] == "pending").sum())


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_push_killed_mid_way_completes_exactly_once_when_run_again(tmp_path: Path) -> None:
    spec = FunnelSpec(n_leads=300)
    funnel = generate_funnel(spec, np.random.default_rng(11))
    start = spec.as_of - pd.Timedelta(days=2)
    crm, store = tmp_path / "crm.sqlite", tmp_path / "shadow.sqlite"
    with LocalCRM(crm) as local:
        local.load_funnel(funnel.leads, funnel.accounts, funnel.events, window_outcomes(funnel, start))
    run = start_run(store, "local", ROOT / "models" / "baseline.toml", ROOT / "models" / "candidate.toml", days=2,
                    db=crm, clock="simulated", start=str(start.date()))
    snapshot_run(store, run.run_id)
    snapshot_run(store, run.run_id)
    report_run(store, run.run_id, tmp_path / "report")
    approve_run(store, run.run_id, "dana", "kill test", override=True)

    script = (f"from pathlib import Path; from rollout.shadow_cli import push_run; "
              f"push_run({run.run_id!r}, Path({str(store)!r}))")
    env = {**os.environ, BATCH_RECORDS_ENV: "20", WRITE_DELAY_ENV: "0.25", "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env=env)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            applied, pending = _applied(crm) if crm.exists() else (0, 0)
            if applied and pending:
                break
            assert child.poll() is None, "the push ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("the push never got part-way")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    applied_before, pending_before = _applied(crm)
    assert applied_before > 0 and pending_before > 0

    resumed = push_run(store, run.run_id)
    assert resumed.kind == "resume" and resumed.failed == 0 and resumed.skipped == 0
    assert resumed.applied == pending_before, "only the pending changes are written on resume"
    with PushJournal(crm) as journal:
        assert journal.pending_push_ids() == []
        entries = journal.entries(resumed.push_id or "")
    assert (entries["status"] == "applied").all() and not entries.duplicated(["record_id", "field"]).any()
    assert len(entries) == applied_before + pending_before
    with LocalCRM(crm) as local:
        totals = local.read_score_values([ScoreField("total", "lead_score", "number")])
    assert totals["lead_score"].notna().all() and len(totals) == len(funnel.leads)
    again = push_run(store, run.run_id)
    assert again.kind == "push" and again.planned == 0, "a third run finds nothing left to change"
