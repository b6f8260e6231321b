"""A shadow run's cycle on the local CRM: start, snapshots, status, report, approve, push, undo, through the CLI
(rollout.shadow_cli) and the step functions of rollout.shadow_start, shadow_snapshot, shadow_review, shadow_approval."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from connectors.journal import PushHeader, PushJournal
from connectors.local import LocalCRM
from rollout.cli import app as main_app
from rollout.shadow_approval import approve_run, push_run
from rollout.shadow_cli import shadow_app
from rollout.shadow_demo import window_outcomes
from rollout.shadow_review import report_run, stored_shadow
from rollout.shadow_snapshot import snapshot_run
from rollout.shadow_start import start_run
from rollout.shadow_store import ApprovalError, ShadowLockedError, ShadowRunError, ShadowStore, ShadowStoreError
from scoring.columns import OUTCOME_COLUMNS
from scoring.compiled import compile_model
from scoring.fields import ScoreField
from scoring.model_file import load_model
from simulator import FunnelSpec, generate_funnel
from tests.rollout.conftest import WallClock

MODELS = Path(__file__).resolve().parents[2] / "models"
runner = CliRunner()
app = typer.Typer()
app.add_typer(shadow_app, name="shadow")
app.command("noop")(lambda: None)


class Setup(NamedTuple):
    crm: Path
    store: Path
    champion: Path
    challenger: Path
    start: str
    leads: int


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    """A local CRM holding a 300-lead funnel; model copies the test may tamper with; the window's first day."""
    spec = FunnelSpec(n_leads=300)
    funnel = generate_funnel(spec, np.random.default_rng(3))
    start = spec.as_of - pd.Timedelta(days=3)
    crm = tmp_path / "crm.sqlite"
    with LocalCRM(crm) as local:
        local.load_funnel(funnel.leads, funnel.accounts, funnel.events, window_outcomes(funnel, start))
    champion, challenger = tmp_path / "baseline.toml", tmp_path / "candidate.toml"
    champion.write_text((MODELS / "baseline.toml").read_text(encoding="utf-8"), encoding="utf-8")
    challenger.write_text((MODELS / "candidate.toml").read_text(encoding="utf-8"), encoding="utf-8")
    return Setup(crm, tmp_path / "state" / "shadow.sqlite", champion, challenger, str(start.date()), len(funnel.leads))


def run(*args: object, cli: typer.Typer = app) -> tuple[int, str]:
    result = runner.invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def started(s: Setup, *extra: object) -> str:
    code, out = run("shadow", "start", "--crm", "local", "--db", s.crm, "--champion", s.champion, "--challenger",
                    s.challenger, "--days", 3, "--store", s.store, "--clock", "simulated", "--start", s.start, *extra)
    assert code == 0, out
    return out.split("started shadow run ", 1)[1].split(":", 1)[0]


def live_values(crm: Path, names: list[str]) -> pd.DataFrame:
    with LocalCRM(crm) as local:
        return local.read_score_values([ScoreField("total", n, "number") if "score" in n and "band" not in n
                                        else ScoreField("band", n, "text") for n in names])


def test_full_cycle_from_the_cli(setup: Setup, tmp_path: Path) -> None:
    """Three snapshots, report with gates, approval (override on NO-GO), push, undo restores exactly."""
    run_id = started(setup, "--shadow-fields")
    for day in range(3):
        code, out = run("shadow", "snapshot", run_id, "--store", setup.store)
        assert code == 0 and "stored day" in out, out
    assert "window is complete" in out
    code, out = run("shadow", "status", "--store", setup.store)
    assert code == 0 and run_id in out and "3/3" in out, out

    code, out = run("shadow", "report", run_id, "--store", setup.store, "--out", tmp_path / "report")
    assert code == 0 and "go / no-go gates" in out and "verdict" in out, out
    document = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert document["run"]["days_recorded"] == 3 and document["report_hash"] in html and "<svg" in html
    assert {g["kind"] for g in document["gates"]} == {"capacity", "top_band_lift", "tier_ratio", "gap",
                                                      "data_quality", "drift"}
    for key in ("agreement", "band_migration", "load", "early_outcomes", "top_band_test", "psi", "data_quality"):
        assert document[key], key
    again = report_run(setup.store, run_id, tmp_path / "report2")
    assert again.report_hash == document["report_hash"], "the same run gives the same report hash"

    verdict = document["verdict"]
    args = ["shadow", "approve", run_id, "--by", "dana", "--store", setup.store]
    if verdict == "NO-GO":
        code, out = run(*args)
        assert code == 1 and "NO-GO" in out and "--override" in out, out
        code, out = run(*args, "--override")
        assert code == 1 and "needs a --note" in out, out
        args += ["--override", "--note", "pilot accepted the capacity risk"]
    code, out = run(*args)
    assert code == 0 and "dana approved challenger" in out and document["report_hash"] in out, out

    before = live_values(setup.crm, ["lead_score"]) if _has_field(setup.crm, "lead_score") else None
    assert before is None, "snapshots never create or write live score fields"
    pushed = push_run(setup.store, run_id)
    assert pushed.failed == 0 and pushed.applied > 0
    assert live_values(setup.crm, ["lead_score"])["lead_score"].between(0, 100).all()
    code, out = run("undo", pushed.push_id, "--db", setup.crm, cli=main_app)
    assert code == 0 and "failed 0" in out, out
    assert live_values(setup.crm, ["lead_score"])["lead_score"].isna().all()
    shadow = live_values(setup.crm, ["shadow_lead_score", "shadow_score_band"])
    assert shadow["shadow_lead_score"].notna().all(), "shadow fields keep the challenger's last snapshot"


def _has_field(crm: Path, name: str) -> bool:
    with sqlite3.connect(crm) as conn:
        return any(r[1] == name for r in conn.execute("PRAGMA table_info(leads)"))


def test_snapshots_store_every_lead_each_day_and_match_the_replay_contract(setup: Setup) -> None:
    run_id = started(setup)
    first = snapshot_run(setup.store, run_id)
    assert [d.day_index for d in first.days] == [0, 1], "the first snapshot stores the baseline and day 1"
    snapshot_run(setup.store, run_id)
    with ShadowStore(setup.store) as store:
        days = store.days(run_id)
        scores = store.scores(run_id)
        entries = store.entry_counts(run_id)
    assert [str(d.day.date()) for d in days[1:]] == [setup.start, str((pd.Timestamp(setup.start) + pd.Timedelta(days=1)).date())]
    assert all(d.as_of == pd.Timestamp(d.day, tz="UTC") + pd.Timedelta(days=1) for d in days)
    assert scores.groupby("day_index")["lead_id"].nunique().tolist() == [d.leads for d in days]
    assert set(entries.query("day_index == 0")["direction"]) == {"new"}
    assert not any(path.name == "lead_score" for path in [])  # no live field was created
    assert not _has_field(setup.crm, "lead_score") and not _has_field(setup.crm, "shadow_lead_score")


def test_an_unfinished_window_refuses_approval_and_a_finished_one_refuses_more_snapshots(setup: Setup,
                                                                                      tmp_path: Path) -> None:
    run_id = started(setup)
    snapshot_run(setup.store, run_id)
    with pytest.raises(ApprovalError, match="1 of 3 days"):
        approve_run(setup.store, run_id, "dana")
    snapshot_run(setup.store, run_id)
    snapshot_run(setup.store, run_id)
    with pytest.raises(ApprovalError, match="no report of its last day"):
        approve_run(setup.store, run_id, "dana", "ok", override=True)
    code, out = run("shadow", "snapshot", run_id, "--store", setup.store)
    assert code == 1 and "window ended" in out and "shadow report" in out, out


def test_a_model_file_tampered_after_approval_blocks_the_push(setup: Setup, tmp_path: Path) -> None:
    run_id = started(setup)
    for _ in range(3):
        snapshot_run(setup.store, run_id)
    report_run(setup.store, run_id, tmp_path / "r")
    approve_run(setup.store, run_id, "dana", "accepting", override=True)
    setup.challenger.write_text(setup.challenger.read_text(encoding="utf-8").replace("points = 50", "points = 55", 1),
                                encoding="utf-8")
    with pytest.raises(ApprovalError, match="changed since approval") as caught:
        push_run(setup.store, run_id)
    assert "nothing pushed" in str(caught.value)
    assert not _has_field(setup.crm, "lead_score")
    with pytest.raises(ApprovalError, match="changed since the run started"):
        approve_run(setup.store, run_id, "dana", "again", override=True)


def test_a_re_run_push_resumes_the_unfinished_push_added_last(setup: Setup, tmp_path: Path,
                                                              store_clock: WallClock) -> None:
    """Two interrupted pushes recorded within one second, the wall clock stepping back 0.2 s in between."""
    run_id = started(setup)
    for _ in range(3):
        snapshot_run(setup.store, run_id)
    report_run(setup.store, run_id, tmp_path / "r")
    approval = approve_run(setup.store, run_id, "dana", "resume test", override=True)
    challenger = compile_model(load_model(setup.challenger))
    fields = challenger.score_fields("local")
    total = next(f.name for f in fields if f.column == "total")
    with LocalCRM(setup.crm) as local:
        local.ensure_score_fields(fields)
        lead = str(local.read_leads()["lead_id"].iloc[0])
    journaled = (("p-b", 41.0, datetime(2026, 11, 23, 14, 45, 1, 100_000, tzinfo=UTC)),
                 ("p-a", 42.0, datetime(2026, 11, 23, 14, 45, 0, 900_000, tzinfo=UTC)))
    with PushJournal(setup.crm) as journal, ShadowStore(setup.store) as store:
        for push_id, value, at in journaled:
            journal.start_push(PushHeader(push_id, "push", "local", challenger.version, fields))
            journal.append_entries(push_id, pd.DataFrame({"record_id": [lead], "field": [total], "old": [None],
                                                          "new": [value]}))
            store_clock.at = at
            store.add_push(run_id, push_id, approval.approval_id, "local", setup.crm)
    resumed = push_run(setup.store, run_id)
    assert (resumed.kind, resumed.push_id, resumed.applied) == ("resume", "p-a", 1)
    assert live_values(setup.crm, [total]).set_index("record_id").loc[lead, total] == 42.0
    with PushJournal(setup.crm) as journal:
        assert journal.pending_push_ids() == ["p-b"]


def test_push_refuses_a_run_that_is_not_approved(setup: Setup) -> None:
    run_id = started(setup)
    snapshot_run(setup.store, run_id)
    with pytest.raises(ApprovalError, match="not approved"):
        push_run(setup.store, run_id)


def test_snapshots_are_once_a_day_on_the_wall_clock_and_missed_days_are_backfilled(setup: Setup) -> None:
    run = start_run(setup.store, "local", setup.champion, setup.challenger, days=3, db=setup.crm, clock="wall",
                    start=setup.start)
    day1_end = pd.Timestamp(setup.start, tz="UTC") + pd.Timedelta(days=1, hours=1)
    early = snapshot_run(setup.store, run.run_id, now=lambda: day1_end - pd.Timedelta(hours=2))
    assert early.days == () and "up to date" in early.message
    first = snapshot_run(setup.store, run.run_id, now=lambda: day1_end)
    assert [d.day_index for d in first.days] == [0, 1]
    same_day = snapshot_run(setup.store, run.run_id, now=lambda: day1_end + pd.Timedelta(hours=5))
    assert same_day.days == (), "a second snapshot on the same day stores nothing"
    later = day1_end + pd.Timedelta(days=2)
    with pytest.raises(ShadowRunError, match="missed day"):
        snapshot_run(setup.store, run.run_id, now=lambda: later, backfill=False)
    filled = snapshot_run(setup.store, run.run_id, now=lambda: later)
    assert [(d.day_index, d.backfilled) for d in filled.days] == [(2, True), (3, False)]

    simulated = start_run(setup.store, "local", setup.champion, setup.challenger, days=3, db=setup.crm,
                          clock="simulated", start=setup.start)
    for _ in range(3):
        snapshot_run(setup.store, simulated.run_id)
    with ShadowStore(setup.store) as store:
        wall, sim = store.scores(run.run_id), store.scores(simulated.run_id)
    pd.testing.assert_frame_equal(wall, sim, obj="a back-filled day equals the day scored on time")


def test_a_stored_run_without_cached_outcomes_reads_back_empty_outcomes(setup: Setup) -> None:
    run_id = started(setup)
    snapshot_run(setup.store, run_id)
    with sqlite3.connect(setup.store) as conn:
        conn.execute("DELETE FROM shadow_cache WHERE run_id = ? AND name = 'outcomes'", (run_id,))
    stored = stored_shadow(setup.store, run_id)
    assert stored.outcomes.empty and tuple(stored.outcomes.columns) == OUTCOME_COLUMNS
    assert str(stored.outcomes["at"].dtype) == "datetime64[ns, UTC]"
    assert stored.snapshots["day"].nunique() == 1 and stored.baseline["day"].nunique() == 1


def test_two_snapshots_at_once_are_refused(setup: Setup) -> None:
    run_id = started(setup)
    with ShadowStore(setup.store) as store, store.locked(run_id):
        with pytest.raises(ShadowLockedError, match="locked by another snapshot"):
            snapshot_run(setup.store, run_id)
    assert snapshot_run(setup.store, run_id).days, "the lock is released afterwards"


def test_a_lock_left_by_a_killed_process_is_taken_over(setup: Setup) -> None:
    run_id = started(setup)
    with sqlite3.connect(setup.store) as conn:
        conn.execute("INSERT INTO shadow_locks VALUES (?, ?, ?, ?)", (run_id, 2 ** 22 + 12345,
                                                                      __import__("socket").gethostname(), "x"))
    assert snapshot_run(setup.store, run_id).days


def test_a_crm_error_during_a_snapshot_leaves_the_run_as_it_was_and_is_reported(setup: Setup) -> None:
    run_id = started(setup)
    snapshot_run(setup.store, run_id)
    healthy = setup.crm.read_bytes()
    setup.crm.write_bytes(b"this is not a database" * 100)
    code, out = run("shadow", "snapshot", run_id, "--store", setup.store)
    assert code == 1 and "not a local CRM file" in out, out
    with ShadowStore(setup.store) as store:
        assert len(store.days(run_id)) == 2
        log = store.log_lines(run_id)
    assert log.iloc[-1]["kind"] == "error" and log.iloc[-1]["day"] == str((pd.Timestamp(setup.start)
                                                                           + pd.Timedelta(days=1)).date())
    code, out = run("shadow", "status", run_id, "--store", setup.store)
    assert code == 0 and "last snapshot failed" in out and "not a local CRM file" in out, out
    setup.crm.write_bytes(healthy)
    assert [d.day_index for d in snapshot_run(setup.store, run_id).days] == [2]
    code, out = run("shadow", "status", run_id, "--store", setup.store)
    assert "last snapshot failed" not in out


@pytest.mark.parametrize("args, message", [
    (("shadow", "snapshot", "s-nope"), "unknown shadow run 's-nope'"),
    (("shadow", "report", "s-nope", "--out", "r"), "unknown shadow run"),
    (("shadow", "approve", "s-nope", "--by", "x"), "unknown shadow run"),
])
def test_an_unknown_run_is_a_clear_error(setup: Setup, args: tuple[str, ...], message: str) -> None:
    started(setup)
    code, out = run(*args, "--store", setup.store)
    assert code == 1 and message in out, out


def test_a_missing_state_store_is_a_clear_error(tmp_path: Path) -> None:
    code, out = run("shadow", "status", "--store", tmp_path / "nowhere.sqlite")
    assert code == 1 and "does not exist" in out and "shadow start" in out, out
    with pytest.raises(ShadowStoreError):
        report_run(tmp_path / "nowhere.sqlite", None, tmp_path / "r")


def test_start_checks_its_inputs(setup: Setup, tmp_path: Path) -> None:
    code, out = run("shadow", "start", "--crm", "local", "--db", tmp_path / "missing.sqlite", "--champion",
                    setup.champion, "--challenger", setup.challenger, "--store", setup.store)
    assert code == 1 and "does not exist" in out, out
    code, out = run("shadow", "start", "--crm", "pipedrive", "--champion", setup.champion, "--challenger",
                    setup.challenger, "--store", setup.store)
    assert code == 1 and "unknown CRM" in out, out
    code, out = run("shadow", "start", "--db", setup.crm, "--champion", setup.champion, "--challenger",
                    setup.challenger, "--store", setup.store, "--shadow-fields", "--crm", "local")
    assert code == 0, out
    # the baseline names a local total and band field; without a CRM mapping there are no shadow fields
    text = setup.challenger.read_text(encoding="utf-8")
    setup.challenger.write_text(text.split("[fields.local]")[0], encoding="utf-8")
    code, out = run("shadow", "start", "--db", setup.crm, "--champion", setup.champion, "--challenger",
                    setup.challenger, "--store", setup.store, "--shadow-fields")
    assert code == 1 and "no shadow fields" in out, out


def test_a_simulated_clock_defaults_to_the_days_ending_with_the_latest_activity(setup: Setup) -> None:
    run = start_run(setup.store, "local", setup.champion, setup.challenger, days=3, db=setup.crm, clock="simulated")
    assert str(run.start_day.date()) == setup.start


def test_the_shadow_journal_lives_in_the_store_and_ends_with_nothing_pending(setup: Setup) -> None:
    run_id = started(setup, "--shadow-fields")
    result = snapshot_run(setup.store, run_id)
    assert result.shadow_push is not None and result.shadow_push.failed == 0
    with PushJournal(setup.store) as journal:
        assert journal.pending_push_ids() == []
        fields = set(journal.entries(result.shadow_push.push_id or "")["field"])
    assert fields and all(f.startswith("shadow_") for f in fields)
