"""The DOMAIN capacity formula and Erlang C against each sweep cell's simulated queue, in one table.

`rep_load = leads * factor / reps` (DOMAIN.md section 6) and an M/M/c queue both judge a head count from
averages; the sweep's queue sees nights, weekends, the peak season, tiers and when each lead crosses the
threshold. `capacity_check` lays the three side by side per (scenario, SDRs, threshold) and marks the cells
where the formula and the simulated queue disagree, e.g. the formula says a team is within capacity while
its queue breaches the SLA.
"""

from __future__ import annotations

import pandas as pd

from simulator.capacity import erlang_c
from simulator.scenario import Scenario

__all__ = ["CAPACITY_CHECK_COLUMNS", "capacity_check"]

CAPACITY_CHECK_COLUMNS: tuple[str, ...] = (
    "scenario", "reps", "threshold", "mqls_per_sdr_month", "sdr_capacity_month", "formula_ok",
    "erlang_utilisation", "erlang_wait_probability", "erlang_mean_wait_hours", "sim_breach_rate",
    "sim_mean_queue_hours", "queue_ok", "disagrees",
)

_WEEKS_PER_MONTH = 52.0 / 12.0


def capacity_check(summary: pd.DataFrame, scenarios: tuple[Scenario, ...], breach_column: str,
                   max_breach_rate: float) -> pd.DataFrame:
    """Formula, Erlang C and the simulated queue per sweep cell (means over replications).

    Args:
        summary: `sweep_summary` output (needs rep_load, mqls_per_day, mean_queue_hours and `breach_column`).
        scenarios: the sweep's scenarios (their teams: SDR capacity, working hours and days).
        breach_column: the SLA breach metric the recommendation constrains.
        max_breach_rate: the queue is fine at or under this mean breach rate.

    Returns:
        CAPACITY_CHECK_COLUMNS, one row per (scenario, reps, threshold): MQLs a month per SDR by the formula
        (leads x capacity factor / reps) against an SDR's month of first touches (daily capacity x working
        days); Erlang C with the MQLs of a working hour, one SDR's first touches an hour and the SDR head
        count (AEs, who also take hot leads, left out as in the formula); the simulated breach rate and mean
        queue hours. `disagrees`: the formula and the simulated queue reach different verdicts.
    """
    teams = {s.name: s.team for s in scenarios}
    means = summary.pivot_table(index=["scenario", "reps", "threshold"], columns="metric", values="mean",
                                sort=True, dropna=False)
    rows = []
    for (scenario, reps, threshold), cell in means.iterrows():
        team = teams[str(scenario)]
        hours = team.working_hours[1] - team.working_hours[0]
        capacity_month = team.sdr_daily_capacity * len(team.working_days) * _WEEKS_PER_MONTH
        formula_ok = bool(cell["rep_load"] <= capacity_month)
        queue = erlang_c(float(cell["mqls_per_day"]) / hours, team.sdr_daily_capacity / hours, int(reps))
        breach = float(cell[breach_column])
        queue_ok = bool(breach <= max_breach_rate)
        rows.append((str(scenario), int(reps), float(threshold), float(cell["rep_load"]), capacity_month, formula_ok,
                     queue.utilisation, queue.wait_probability, queue.mean_wait, breach,
                     float(cell["mean_queue_hours"]), queue_ok, formula_ok != queue_ok))
    return pd.DataFrame(rows, columns=list(CAPACITY_CHECK_COLUMNS))
