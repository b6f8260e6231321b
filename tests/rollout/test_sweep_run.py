"""Sweep runs: grid parsing, in-process vs Dask, and the files a sweep writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from distributed import Client, LocalCluster

from rollout.sweep_run import parse_ints, parse_range, run_sweep, sweep_to_dir
from scoring import SettingsError, compile_model, load_model
from simulator import load_scenario
from simulator.sweep import SweepGrid

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "default.toml"
MODEL = ROOT / "models" / "candidate.toml"


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """A real in-process Dask cluster: two workers of one thread, no dashboard, quiet logs."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as connected:
        yield connected


def test_parse_range_includes_the_stop() -> None:
    assert parse_range("50:90:5") == [50, 55, 60, 65, 70, 75, 80, 85, 90]
    assert parse_range("60") == [60.0]
    assert parse_range("50, 62.5") == [50.0, 62.5]
    assert parse_range("0:1:0.5") == [0.0, 0.5, 1.0]


@pytest.mark.parametrize("text", ["50:90", "90:50:5", "50:90:0", "a:b:c", "", "50,50", "0:100000:0.01"])
def test_parse_range_rejects_bad_text(text: str) -> None:
    with pytest.raises(SettingsError, match="range|list"):
        parse_range(text)


def test_parse_ints_reads_a_comma_list_and_rejects_the_rest() -> None:
    assert parse_ints("4,8, 12") == [4, 8, 12]
    for text in ("4,8.5", "", "4,4", "four"):
        with pytest.raises(SettingsError, match="list"):
            parse_ints(text)


def test_dask_gives_the_same_frame_as_in_process(client: Client) -> None:
    grid = SweepGrid((load_scenario(SCENARIO),), compile_model(load_model(MODEL)), (55.0, 70.0), (2, 4),
                     replications=2, seed=3, funnel_overrides={"leads_per_day": 8.0})
    seen: list[tuple[int, int]] = []
    local = run_sweep(grid, None)
    distributed = run_sweep(grid, client, progress=lambda done, total: seen.append((done, total)))
    pd.testing.assert_frame_equal(local, distributed)
    assert len(local) == 2 * 2 * 2
    assert seen[-1] == (2, 2)


def test_unreachable_scheduler_is_a_settings_error() -> None:
    grid = SweepGrid((load_scenario(SCENARIO),), compile_model(load_model(MODEL)), (60.0,), (2,), 1, 1)
    with pytest.raises(SettingsError, match="cannot reach the Dask scheduler"):
        run_sweep(grid, "tcp://127.0.0.1:9", connect_timeout_s=0.5)


def test_sweep_to_dir_writes_results_summary_recommendations_and_report(tmp_path: Path) -> None:
    outcome = sweep_to_dir([SCENARIO], MODEL, [50.0, 60.0, 70.0], [1, 4], replications=2, seed=5,
                           out=tmp_path, scheduler=None, progress=None, n_leads=1_500)
    results = pd.read_parquet(outcome.results)
    summary = pd.read_parquet(outcome.summary)
    assert len(results) == 3 * 2 * 2
    assert set(summary.columns) == {"scenario", "threshold", "reps", "metric", "n", "mean", "sd", "ci_low",
                                    "ci_high"}
    payload = json.loads(outcome.sweep_json.read_text(encoding="utf-8"))
    assert payload["grid"]["thresholds"] == [50.0, 60.0, 70.0]
    assert payload["grid"]["funnel_overrides"] == {"leads_per_day": 1_500 / 180}
    assert [(r["reps"], bool(r["reason"])) for r in payload["recommendations"]] == [(1, True), (4, True)]
    assert len(outcome.recommendations) == 2
    assert {p.suffix for p in outcome.figures} == {".svg", ".png"} and all(p.is_file() for p in outcome.figures)
    page = outcome.report.read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and "capacity-aware threshold" in page
    assert "Capacity formula vs simulated queue" in page
    assert len(payload["capacity_check"]) == len(outcome.capacity) == 3 * 2
    assert payload["capacity_check"][0]["scenario"] == "default"


def test_sweep_to_dir_rejects_n_leads_for_csv_arrivals(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CSV"):
        sweep_to_dir([ROOT / "scenarios" / "olist_arrivals.toml"], MODEL, [60.0], [2], 1, 1, tmp_path, None, None,
                     n_leads=100)
