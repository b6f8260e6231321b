"""The capacity formula and Erlang C beside the simulated queue, per sweep cell."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring import compile_model, load_model
from simulator import load_scenario
from simulator.capacity import erlang_c
from simulator.sweep import SweepGrid, sweep_results, sweep_summary
from simulator.sweep_capacity import CAPACITY_CHECK_COLUMNS, capacity_check

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def checked() -> tuple[pd.DataFrame, pd.DataFrame, SweepGrid]:
    grid = SweepGrid((load_scenario(ROOT / "scenarios" / "default.toml"),),
                     compile_model(load_model(ROOT / "models" / "candidate.toml")), (30.0, 45.0, 60.0), (1, 4), 3, 9,
                     funnel_overrides={"leads_per_day": 20.0})
    summary = sweep_summary(sweep_results(grid))
    return capacity_check(summary, grid.scenarios, "sla_breach_rate", 0.10), summary, grid


def test_one_row_per_cell_with_the_formula_and_queue_verdicts(checked: tuple[pd.DataFrame, pd.DataFrame, SweepGrid],
                                                              ) -> None:
    table, summary, grid = checked
    assert list(table.columns) == list(CAPACITY_CHECK_COLUMNS) and len(table) == 3 * 2
    team = grid.scenarios[0].team
    month = team.sdr_daily_capacity * 5 * 52 / 12  # 2 first touches a weekday
    assert table["sdr_capacity_month"].to_numpy() == pytest.approx(np.full(6, month))
    means = summary.pivot_table(index=["reps", "threshold"], columns="metric", values="mean")
    for row in table.itertuples():
        cell = means.loc[(row.reps, row.threshold)]
        assert row.mqls_per_sdr_month == pytest.approx(cell["rep_load"])
        assert row.formula_ok == (cell["rep_load"] <= month)
        assert row.queue_ok == (cell["sla_breach_rate"] <= 0.10)
        assert row.disagrees == (row.formula_ok != row.queue_ok)
        queue = erlang_c(cell["mqls_per_day"] / 8.0, team.sdr_daily_capacity / 8.0, row.reps)
        assert row.erlang_utilisation == pytest.approx(queue.utilisation)


def test_an_overloaded_single_sdr_fails_both_checks_and_more_sdrs_pass_them(
        checked: tuple[pd.DataFrame, pd.DataFrame, SweepGrid]) -> None:
    table = checked[0].set_index(["reps", "threshold"])
    low = table.loc[(1, 30.0)]
    assert not low["formula_ok"] and not low["queue_ok"] and low["erlang_utilisation"] > 1.0
    high = table.loc[(4, 60.0)]
    assert high["formula_ok"] and high["queue_ok"] and high["erlang_utilisation"] < 1.0
