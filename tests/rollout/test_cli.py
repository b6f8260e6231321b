"""The CLI end to end, as a user runs it: demo, simulate -> score -> evaluate, push, undo, bad input."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from rollout.cli import app

MODELS = Path(__file__).resolve().parents[2] / "models"
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def lead_scores(db: Path) -> pd.Series:
    with sqlite3.connect(db) as conn:
        frame = pd.read_sql("SELECT lead_id, lead_score FROM leads ORDER BY lead_id", conn)
    conn.close()
    return frame.set_index("lead_id")["lead_score"]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    code, output = run("demo", "--out", out, "--leads", "6000", "--seed", "11", "--shadow-leads", "0")
    assert code == 0, output
    assert "pushed candidate scores" in output
    return out


def test_demo_writes_report_summary_and_scores_into_the_local_crm(demo_dir: Path) -> None:
    report = (demo_dir / "report.html").read_text()
    assert report.count("<svg") >= 3 and "Band lift curves" in report
    summary = json.loads((demo_dir / "summary.json").read_text())
    candidate, baseline = summary["models"]["candidate"], summary["models"]["baseline"]
    assert candidate["lift_monotone"]

    def top_over_bottom(model: dict) -> float:
        rates = [row["rate"] for row in model["lift_curve"] if row["leads"] >= 30]
        return rates[-1] / rates[0]

    assert top_over_bottom(candidate) > 2 * top_over_bottom(baseline)
    scores = lead_scores(demo_dir / "crm.sqlite")
    assert len(scores) == 6000 and scores.notna().all()
    assert summary["push"]["applied"] > 0 and summary["push"]["failed"] == 0


def test_push_again_changes_nothing_then_undo_restores_the_empty_fields(demo_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "crm.sqlite"
    db.write_bytes((demo_dir / "crm.sqlite").read_bytes())
    before = lead_scores(db)
    code, output = run("push", "--model", MODELS / "candidate.toml", "--db", db, "--as-of", "2026-11-01")
    assert code == 0, output
    assert "changed 0 field values" in output
    summary = json.loads((demo_dir / "summary.json").read_text())
    code, output = run("undo", summary["push"]["push_id"], "--db", db)
    assert code == 0, output
    after = lead_scores(db)
    assert before.notna().all() and after.isna().all()


def test_push_dry_run_shows_the_plan_and_writes_nothing(demo_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "crm.sqlite"
    db.write_bytes((demo_dir / "crm.sqlite").read_bytes())
    before = lead_scores(db)
    code, output = run("push", "--model", MODELS / "candidate.toml", "--db", db, "--as-of", "2026-12-15",
                       "--dry-run")
    assert code == 0, output
    assert "would change" in output and "lead_score" in output
    pd.testing.assert_series_equal(before, lead_scores(db))


def test_simulate_score_evaluate_chain(tmp_path: Path) -> None:
    data = tmp_path / "funnel"
    code, output = run("simulate", "--out", data, "--leads", "2500", "--seed", "3")
    assert code == 0, output
    assert {p.name for p in data.iterdir()} >= {"leads.csv", "events.csv", "outcomes.csv", "accounts.csv", "funnel.json"}
    code, output = run("score", "--model", MODELS / "candidate.toml", "--data", data, "--out", tmp_path / "s.csv")
    assert code == 0, output
    scores = pd.read_csv(tmp_path / "s.csv")
    assert len(scores) == 2500 and scores["total"].between(0, 100).all()
    assert scores["scored_at"].eq("2026-11-01T00:00:00Z").all()
    code, output = run("evaluate", "--data", data, "--model", MODELS / "baseline.toml",
                       "--model", MODELS / "candidate.toml", "--out", tmp_path / "eval")
    assert code == 0, output
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert set(summary["models"]) == {"baseline", "candidate"}
    assert (tmp_path / "eval" / "scores_candidate.csv").is_file()


def test_a_malformed_model_file_names_file_key_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text((MODELS / "candidate.toml").read_text().replace("max_repeats = 1\n", "max_repeat = 1\n", 1))
    code, output = run("score", "--model", bad, "--data", tmp_path, "--out", tmp_path / "s.csv")
    assert code == 1
    assert "bad.toml" in output and "max_repeat" in output and "line" in output and "max_repeats" in output


def test_bad_csv_input_fails_clearly_and_writes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "funnel"
    assert run("simulate", "--out", data, "--leads", "300")[0] == 0
    events = pd.read_csv(data / "events.csv")
    events.loc[5, "at"] = "not a time"
    events.to_csv(data / "events.csv", index=False)
    out = tmp_path / "s.csv"
    code, output = run("score", "--model", MODELS / "candidate.toml", "--data", data, "--out", out)
    assert code == 1
    assert "unparsable" in output and "line(s) 7" in output
    assert not out.exists()


def test_missing_input_file_and_unknown_push_fail_with_exit_1(tmp_path: Path, demo_dir: Path) -> None:
    code, output = run("score", "--model", MODELS / "candidate.toml", "--data", tmp_path, "--out", tmp_path / "s.csv")
    assert code == 1 and "leads.csv" in output and "file not found" in output
    db = tmp_path / "crm.sqlite"
    db.write_bytes((demo_dir / "crm.sqlite").read_bytes())
    code, output = run("undo", "p20990101T000000-dead", "--db", db)
    assert code == 1 and "p20990101T000000-dead" in output
    code, output = run("push", "--model", MODELS / "candidate.toml", "--db", tmp_path / "nope.sqlite")
    assert code == 1 and "does not exist" in output


def test_pull_writes_canonical_csvs_and_an_incremental_pull_keeps_every_row(demo_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "crm.sqlite"
    db.write_bytes((demo_dir / "crm.sqlite").read_bytes())
    out = tmp_path / "pulled"
    code, output = run("pull", "--crm", "local", "--db", db, "--out", out)
    assert code == 0, output
    first = {name: pd.read_csv(out / f"{name}.csv") for name in ("leads", "events", "outcomes")}
    assert len(first["leads"]) == 6000
    code, output = run("pull", "--crm", "local", "--db", db, "--out", out)
    assert code == 0 and "changed since" in output, output
    second = {name: pd.read_csv(out / f"{name}.csv") for name in ("leads", "events", "outcomes")}
    for name in first:
        assert len(second[name]) == len(first[name]), name
    code, output = run("score", "--model", MODELS / "candidate.toml", "--data", out, "--out", tmp_path / "s.csv",
                       "--as-of", "2026-11-01")
    assert code == 0, output


def test_fields_ensure_creates_missing_local_fields_once(tmp_path: Path, demo_dir: Path) -> None:
    db = tmp_path / "crm.sqlite"
    db.write_bytes((demo_dir / "crm.sqlite").read_bytes())
    renamed = tmp_path / "renamed.toml"
    renamed.write_text((MODELS / "candidate.toml").read_text().replace('total = "lead_score"', 'total = "lead_score_v2"'))
    code, output = run("fields", "ensure", "--model", renamed, "--db", db, "--dry-run")
    assert code == 0 and "would create" in output and "lead_score_v2" in output, output
    code, output = run("fields", "ensure", "--model", renamed, "--db", db)
    assert code == 0 and "created" in output, output
    code, output = run("fields", "ensure", "--model", renamed, "--db", db)
    assert code == 0 and "created" not in output and "exists" in output, output


def test_unknown_crm_is_a_clear_error(tmp_path: Path) -> None:
    code, output = run("push", "--model", MODELS / "candidate.toml", "--crm", "pipedrive", "--db", tmp_path / "x")
    assert code == 1 and "unknown CRM 'pipedrive'" in output


def test_simulate_a_scenario_writes_parquet_rates_and_a_plot(tmp_path: Path) -> None:
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "default.toml"
    code, output = run("simulate", "--scenario", scenario, "--out", tmp_path / "s", "--seed", "2")
    assert code == 0, output
    meta = json.loads((tmp_path / "s" / "funnel.json").read_text())
    rates = meta["rates"]["stage_to_stage"]
    assert 0 < rates["opportunity_to_won"] < 1 and meta["rates"]["leads"] > 1000
    leads = pd.read_parquet(tmp_path / "s" / "leads.parquet")
    assert len(leads) == meta["rates"]["leads"]
    assert (tmp_path / "s" / "arrivals.svg").read_text().startswith("<svg")
    code, output = run("simulate", "--scenario", tmp_path / "nope.toml", "--out", tmp_path / "x")
    assert code == 1 and "nope.toml" in output


def test_sweep_recommends_a_capacity_aware_threshold(tmp_path: Path) -> None:
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "default.toml"
    code, output = run("sweep", "--scenario", scenario, "--model", MODELS / "candidate.toml", "--thresholds", "50:70:10",
                       "--reps", "2,8", "--replications", "3", "--out", tmp_path / "sweep")
    assert code == 0, output
    assert "capacity-aware MQL threshold" in output
    sweep = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert {r["reps"] for r in sweep["recommendations"]} == {2, 8}
    assert (tmp_path / "sweep" / "results.parquet").is_file() and (tmp_path / "sweep" / "report.html").is_file()
    code, output = run("sweep", "--scenario", scenario, "--thresholds", "90:50:5", "--out", tmp_path / "bad")
    assert code == 1 and "90:50:5" in output


def test_demo_runs_the_shadow_cycle_and_prints_the_gate_table(tmp_path: Path) -> None:
    code, output = run("demo", "--out", tmp_path / "d", "--leads", "500", "--shadow-leads", "600")
    assert code == 0, output
    assert "go / no-go gates" in output and "verdict:" in output
    assert "undone by" in output and (tmp_path / "d" / "shadow" / "shadow-report" / "report.html").is_file()
