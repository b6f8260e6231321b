"""The simulated shadow cycle behind `scorebench demo`: 14 snapshots -> report -> approve -> push -> undo."""

from __future__ import annotations

import json
from pathlib import Path

from connectors.local import LocalCRM
from rollout.shadow_demo import run_shadow_demo
from scoring.fields import ScoreField


def test_the_simulated_cycle_ends_with_the_crm_as_it_started(tmp_path: Path) -> None:
    result = run_shadow_demo(tmp_path, n_leads=300, seed=7)
    document = json.loads(result.report.json.read_text(encoding="utf-8"))
    assert document["run"]["days_recorded"] == 14 and document["report_hash"] == result.report.report_hash
    assert result.gates.verdict in ("GO", "NO-GO") and len(result.gates.rows) == 6
    assert result.approval.override == (result.gates.verdict == "NO-GO")
    assert result.push.failed == 0 and result.push.applied > 0
    assert result.undo.applied == result.push.applied and result.undo.failed == 0
    with LocalCRM(result.crm_path) as crm:
        live = crm.read_score_values([ScoreField("total", "lead_score", "number")])
    assert live["lead_score"].isna().all(), "undo restored the empty live fields exactly"
