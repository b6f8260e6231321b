"""Shadow replay: a simulated shadow run, day by day; the champion routes and the challenger only scores.

DOMAIN.md section 7: before a new model changes routing it runs in shadow for 14 days. The replay draws
one funnel whose as_of is the end of the window, so leads arrive through the history and the window and
behave up to the window's end. Each day both models score every lead created so far from the events
seen so far (`score(leads_so_far, events_up_to_day_end, model, as_of=day_end)`), and the day becomes one
snapshot (scoring.shadow.snapshot); the comparison itself lives in scoring.shadow_agreement, shadow_load and
shadow_outcomes, unchanged for live runs.

Outcomes: the generator draws outcomes after its as_of. The replay keeps each lead's drawn delays but
starts its clock when the lead can first be worked: at the window's start for leads created before it,
at creation for leads created during it (`at = max(created_at, start) + (drawn at - as_of)`). Only
outcomes with at <= the window's end are returned, as seen by the last day. They do not depend on
which model routed the lead (no selection bias from champion routing; see speed_to_lead for that).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.compiled import CompiledModel, compile_model
from scoring.engine import score
from scoring.errors import SettingsError
from scoring.inputs import as_utc
from scoring.model import ModelSpec
from scoring.shadow import RoutingMap, snapshot
from scoring.shadow_load import MotionCapacity, tier_load
from simulator.funnel import Funnel, generate_funnel
from simulator.scenario import Scenario, TeamSpec
from simulator.spec import FunnelSpec

__all__ = ["ShadowReplay", "replay_funnel", "replay_shadow", "team_capacity"]

_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True, eq=False)
class ShadowReplay:
    """A simulated shadow run: what a live run would have recorded, plus the funnel behind it."""

    snapshots: pd.DataFrame
    """scoring.shadow.SNAPSHOT_COLUMNS, one row per (day, lead) for each of the window's days."""
    baseline: pd.DataFrame
    """The snapshot at the window's start (the day before day 1), the reference for band entries."""
    outcomes: pd.DataFrame
    """OUTCOME_COLUMNS seen by the window's end (at <= end), clocks started as in the module docstring."""
    load: pd.DataFrame
    """scoring.shadow_load.tier_load by motion: leads entering per day and model against capacity."""
    capacity: dict[str, MotionCapacity]
    """Motion -> team capacity (team_capacity of the team)."""
    routing: RoutingMap
    start: pd.Timestamp
    """The window's start (UTC): day 1 is [start, start + 1 day)."""
    end: pd.Timestamp
    """The window's end (UTC) = the funnel's as_of."""
    funnel: Funnel


def team_capacity(team: TeamSpec, peak: bool = False) -> dict[str, MotionCapacity]:
    """Motion -> capacity of a team: hot to the AEs, warm to the SDRs (DOMAIN section 4 motions).

    Daily capacities are per working day; they are spread over the calendar week
    (x working days / 7) because snapshots come every calendar day.
    """
    week = len(team.working_days) / 7.0
    factor = team.peak_capacity_factor if peak else team.capacity_factor
    return {"hot": MotionCapacity(team.ae_reps, team.ae_daily_capacity * week, factor),
            "warm": MotionCapacity(team.sdr_reps, team.sdr_daily_capacity * week, factor)}


def _observed_outcomes(funnel: Funnel, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Outcomes with clocks started at max(created_at, start), kept when at <= end; sorted by (at, lead_id)."""
    outcomes = funnel.outcomes
    created = funnel.leads.set_index("lead_id")["created_at"].reindex(outcomes["lead_id"])
    begin = np.maximum(created.to_numpy("datetime64[ns]"), start.tz_convert(None).to_datetime64())
    delay = (outcomes["at"] - funnel.spec.as_of).to_numpy("timedelta64[ns]")
    at = pd.DatetimeIndex(begin + delay).tz_localize("UTC")
    keep = (at <= end)
    frame = pd.DataFrame({"lead_id": outcomes["lead_id"].to_numpy(dtype=object)[keep],
                          "stage": outcomes["stage"].to_numpy(dtype=object)[keep], "at": at[keep]})
    return frame.sort_values(["at", "lead_id"], kind="stable").reset_index(drop=True)


def replay_funnel(funnel: Funnel, champion: ModelSpec | CompiledModel, challenger: ModelSpec | CompiledModel,
                  days: int = 14, team: TeamSpec | None = None, routing: RoutingMap | None = None,
                  ) -> ShadowReplay:
    """Replay the last `days` days of a funnel as a shadow run (deterministic: no randomness here).

    Args:
        funnel: a generated funnel; the window is (as_of - days, as_of].
        champion: the model that routes (its tiers decide the load).
        challenger: the model that only scores.
        days: window length in days (DOMAIN: 14).
        team: the team whose capacity the load is set against; default TeamSpec().
        routing: tier -> motion per model; default RoutingMap().

    Returns:
        The ShadowReplay.
    """
    if days < 1 or days > funnel.spec.history_days:
        raise SettingsError(f"days must be in 1..history_days ({funnel.spec.history_days}), got {days}")
    end = funnel.spec.as_of
    start = end - days * _DAY
    models = [compile_model(m) if isinstance(m, ModelSpec) else m for m in (champion, challenger)]
    leads = funnel.leads.sort_values("created_at", kind="stable")
    created = leads["created_at"].to_numpy("datetime64[ns]")
    events = funnel.events.sort_values("at", kind="stable")
    event_at = events["at"].to_numpy("datetime64[ns]")
    lead_created = created[pd.Index(leads["lead_id"]).get_indexer(events["lead_id"])]
    frames = []
    for k in range(days + 1):
        as_of = start + k * _DAY
        moment = as_of.tz_convert(None).to_datetime64()
        known = leads.iloc[: int(np.searchsorted(created, moment, side="right"))]
        upto = int(np.searchsorted(event_at, moment, side="right"))
        seen = events.iloc[:upto][lead_created[:upto] <= moment]
        champion_scores, challenger_scores = (score(known, seen, m, as_of) for m in models)
        frames.append(snapshot(known, champion_scores, challenger_scores, as_of - _DAY))
    snapshots = pd.concat(frames[1:], ignore_index=True)
    team = team or TeamSpec()
    routing = routing or RoutingMap()
    capacity = team_capacity(team)
    load = tier_load(snapshots, capacity, routing, baseline=frames[0])
    return ShadowReplay(snapshots=snapshots, baseline=frames[0], outcomes=_observed_outcomes(funnel, start, end),
                        load=load, capacity=capacity, routing=routing, start=start, end=end, funnel=funnel)


def replay_shadow(scenario_or_spec: Scenario | FunnelSpec, champion: ModelSpec | CompiledModel,
                  challenger: ModelSpec | CompiledModel, rng: np.random.Generator, days: int = 14,
                  start: str | pd.Timestamp | None = None, routing: RoutingMap | None = None) -> ShadowReplay:
    """Simulate a `days`-day shadow run: draw the funnel, then replay_funnel over its last days.

    Args:
        scenario_or_spec: a loaded Scenario (funnel, team, given arrivals) or a FunnelSpec (TeamSpec()).
        champion: the model that routes.
        challenger: the model that only scores.
        rng: the only source of randomness (the funnel draw).
        days: window length in days (DOMAIN: 14); must not exceed the spec's history_days.
        start: the window's first day (UTC midnight); default as_of - days, else as_of becomes
            start + days.
        routing: tier -> motion per model; default RoutingMap().

    Returns:
        The ShadowReplay; its funnel's as_of is the window's end.
    """
    if isinstance(scenario_or_spec, Scenario):
        spec, team, arrivals = scenario_or_spec.funnel, scenario_or_spec.team, scenario_or_spec.arrivals
    else:
        spec, team, arrivals = scenario_or_spec, TeamSpec(), None
    if start is not None:
        spec = dataclasses.replace(spec, as_of=as_utc(start) + days * _DAY)
    if days < 1 or days > spec.history_days:
        raise SettingsError(f"days must be in 1..history_days ({spec.history_days}), got {days}; "
                            "raise history_days")
    funnel = generate_funnel(spec, rng, arrivals=arrivals)
    return replay_funnel(funnel, champion, challenger, days=days, team=team, routing=routing)

