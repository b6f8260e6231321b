"""TeamSpec: the sales team a routing and capacity simulation works with, validated at construction."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from scoring.errors import SettingsError

__all__ = ["TeamSpec", "team_problems"]


def _sla_default() -> dict[str, float]:
    return {"hot": 2.0, "warm": 24.0, "cold": 24.0}


@dataclass(frozen=True)
class TeamSpec:
    """The sales team a routing/capacity simulation works with (DOMAIN.md section 6 defaults)."""

    sdr_reps: int = 4
    """SDRs (BDRs) who work inbound leads (DOMAIN: 2,000 leads a month, 4 BDRs)."""
    ae_reps: int = 6
    """Account executives who take sales-qualified leads."""
    sdr_daily_capacity: float = 2.0
    """Leads one SDR works per working day (4 SDRs ~ 170 a month: the top 5-10% of 2,000)."""
    ae_daily_capacity: float = 3.5
    """SQLs one AE works per working day (~75 a month; DOMAIN: 50-100 SQLs a month)."""
    working_hours: tuple[float, float] = (9.0, 17.0)
    """Start and end of the working day, hours in `timezone`."""
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    """Working weekdays, Monday = 0."""
    timezone: str = "UTC"
    capacity_factor: float = 1.0
    """rep_load = leads * capacity_factor / reps outside the peak season (DOMAIN: 1.0)."""
    peak_capacity_factor: float = 1.2
    """capacity_factor in the peak season (DOMAIN: 1.2 at peaks)."""
    sla_hours: Mapping[str, float] = field(default_factory=_sla_default)
    """First-touch SLA per tier label in hours, what routing holds reps to (sweeps and the what-if: hot -> tier A,
    warm -> tier B). DOMAIN section 4: hot within 2 h, warm within 24 h. Section 6's 5 min / 15 min are the
    speed-to-lead anchors (simulator.speed_to_lead: a touch in 5 min is worth ~9x one in 60 for a hot lead);
    as SLAs they need a rep idle at every arrival, and a sweep under them recommends routing almost nothing."""

    def __post_init__(self) -> None:
        problems = team_problems(self)
        if problems:
            lines = "\n".join(f"  {p}" for p in problems)
            raise SettingsError(f"TeamSpec has {len(problems)} problem(s):\n{lines}")


def team_problems(team: TeamSpec) -> list[str]:
    """Every problem with a team, as "field: what is wrong" lines."""
    out: list[str] = []
    for name in ("sdr_reps", "ae_reps"):
        if getattr(team, name) < 1:
            out.append(f"{name}: must be >= 1, got {getattr(team, name)}")
    for name in ("sdr_daily_capacity", "ae_daily_capacity", "capacity_factor", "peak_capacity_factor"):
        value = getattr(team, name)
        if not (math.isfinite(value) and value > 0):
            out.append(f"{name}: must be > 0, got {value}")
    start, end = team.working_hours
    if not 0 <= start < end <= 24:
        out.append(f"working_hours: needs 0 <= start < end <= 24, got {team.working_hours}")
    if not team.working_days or any(d not in range(7) for d in team.working_days):
        out.append(f"working_days: needs weekdays 0 (Monday) .. 6, got {team.working_days}")
    if len(set(team.working_days)) != len(team.working_days):
        out.append(f"working_days: repeated days in {team.working_days}")
    try:
        pd.Timestamp("2026-01-01", tz=team.timezone)
    except (KeyError, ValueError, TypeError):
        out.append(f"timezone: unknown time zone {team.timezone!r} (an IANA name like 'Europe/Berlin')")
    missing = [label for label in ("hot", "warm") if label not in team.sla_hours]
    if missing:
        out.append(f"sla_hours: needs {missing} (the SLAs of routing tiers A and B), got {dict(team.sla_hours)}")
    for tier, hours in team.sla_hours.items():
        if not (math.isfinite(hours) and hours > 0):
            out.append(f"sla_hours: {tier} must be > 0 hours, got {hours}")
    return out
