"""Sweep helpers: a scenario's team at a given SDR head count, its working clock, and interval statistics."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from simulator._queue import Windows, working_windows
from simulator.reps import Rep, RoutingPolicy
from simulator.scenario import TeamSpec

TIER_LABELS: dict[str, str] = {"A": "hot", "B": "warm"}
"""Routing tier -> the [team] sla_hours label that sets its first-touch SLA."""

# Two-sided 95% Student t quantiles for 1..30 degrees of freedom.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)


def t975(df: int) -> float:
    """The 97.5% quantile of Student's t with `df` degrees of freedom (NaN for df < 1)."""
    if df < 1:
        return math.nan
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def integer_capacities(count: int, per_rep: float) -> list[int]:
    """Whole first touches a day per rep whose sum is count * per_rep rounded (e.g. 6 x 3.5 -> 4,4,4,3,3,3)."""
    total = max(round(count * per_rep), count)
    base, extra = divmod(total, count)
    return [base + (1 if i < extra else 0) for i in range(count)]


def utc_offset_hours(team: TeamSpec, at: pd.Timestamp) -> float:
    """The team's local time minus UTC at `at`, in hours (one fixed offset for the whole sweep)."""
    offset = at.tz_convert(team.timezone).utcoffset()
    return 0.0 if offset is None else offset.total_seconds() / 3600.0


def sweep_team(team: TeamSpec, sdrs: int, at: pd.Timestamp) -> tuple[Rep, ...]:
    """`sdrs` SDRs and the scenario's AEs, with the team's daily capacities, hours, days and time zone."""
    start, end = team.working_hours
    offset = utc_offset_hours(team, at)
    days = tuple(sorted(team.working_days))
    sdr = [Rep(f"SDR{i + 1:03d}", "sdr", c, (), start, end, days, offset)
           for i, c in enumerate(integer_capacities(sdrs, team.sdr_daily_capacity))]
    ae = [Rep(f"AE{i + 1:03d}", "ae", c, (), start, end, days, offset)
          for i, c in enumerate(integer_capacities(team.ae_reps, team.ae_daily_capacity))]
    return (*sdr, *ae)


def team_policy(team: TeamSpec, policy: RoutingPolicy) -> RoutingPolicy:
    """The policy with the team's SLAs: tier A gets the team's "hot" sla_hours, tier B its "warm" one."""
    sla = {**policy.sla_hours, **{tier: float(team.sla_hours[label]) for tier, label in TIER_LABELS.items()}}
    return dataclasses.replace(policy, sla_hours=sla)


def team_windows(team: TeamSpec, start: pd.Timestamp, days: float) -> Windows:
    """The team's working windows in seconds after `start` (a UTC midnight) over `days`."""
    first, last = team.working_hours
    return working_windows(start.weekday(), days, first, last, tuple(team.working_days),
                           utc_offset_hours(team, start))


def working_days_between(team: TeamSpec, start: pd.Timestamp, days: int) -> int:
    """Working days of the team in the `days` days from `start` (at least 1, so rates stay finite)."""
    weekdays = (start.weekday() + np.arange(days)) % 7
    return max(int(np.isin(weekdays, np.asarray(team.working_days)).sum()), 1)
