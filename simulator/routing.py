"""Routing: which rep first-touches each lead, when, and whether the tier's SLA held; plus queue metrics.

Reps with the same role, segments and working hours share one queue (a pool): the lead goes to the next
rep of the pool with a free slot, so "owner at capacity -> next rep" holds inside a pool by construction.
A queue serves tiers by priority (A before B, preemptive) and arrivals first-come-first-served within a
tier; a pool first-touches at most its daily capacity per working day (see `simulator._queue`).

Across pools a lead follows its chain: the pools of the tier's roles covering its segment, in the policy's
order, then the overflow pools (managers). A lead whose pool forecasts a first touch later than the tier's
escalation hours moves on to the next pool of its chain; a lead no pool can make in time stays with the
pool that forecast the earliest touch. Each pool is simulated in full (all P tiers in P vectorised
passes) at most three times, so the cost is O(pools x tiers) array operations, whatever the lead count.
Leads arriving before `start` queue from `start`; leads arriving after the horizon are not routed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.errors import SettingsError
from simulator._queue import Windows, from_working, priority_starts, rank_within, to_working, working_windows
from simulator._sampling import BoolArray, FloatArray, IntArray
from simulator.reps import Rep, RoutingPolicy
from simulator.vocabulary import SEGMENTS

__all__ = ["ROUTING_COLUMNS", "RoutedArrays", "RoutingPlan", "RoutingSummary", "compile_routing", "route",
           "route_arrays", "routing_summary", "coded_vocabulary", "vocabulary_codes"]

ROUTING_COLUMNS: tuple[str, ...] = (
    "lead_id", "tier", "routed", "worked", "rep_id", "first_touch_at", "queue_hours", "sla_breached",
    "escalated",
)
"""One row per lead: routed (tier goes to sales and arrived within the horizon), worked (first-touched within
the horizon), rep_id and first_touch_at (NaN / NaT if not worked), queue_hours (arrival to first touch,
NaN if not worked), sla_breached (touched after the SLA, or untouched with the SLA deadline inside the
horizon), escalated (worked by a pool other than the owner's)."""


@dataclass(frozen=True, eq=False)
class _Pool:
    role: str
    reps: IntArray
    """Rep indices (into plan.reps)."""
    windows: Windows
    service: float
    """Working seconds per first touch: working hours / the pool's daily capacity."""
    sequence: IntArray
    """Rep index of the k-th first touch of a working day, k < daily capacity."""
    capacity: FloatArray
    """First touches each rep can make within the horizon."""


@dataclass(frozen=True, eq=False)
class RoutingPlan:
    """Reps, policy and horizon compiled once into pools, working windows and lead chains."""

    reps: tuple[Rep, ...]
    policy: RoutingPolicy
    start: pd.Timestamp
    days: float
    segments: tuple[str, ...]
    """Segment vocabulary; codes >= len(segments) mean "other" (only all-segment pools take them)."""
    pools: tuple[_Pool, ...]
    chains: IntArray
    """Pool index per (tier code, segment code, chain position), -1 past the end of the chain."""
    sla_seconds: FloatArray
    """SLA per tier code (inf for tiers that are not routed)."""
    escalate_seconds: FloatArray

    @property
    def horizon_seconds(self) -> float:
        return self.days * 86_400.0


def _rep_sequence(capacities: IntArray) -> IntArray:
    """Positions 0..n_reps-1 interleaved by capacity, one entry per first touch of a working day."""
    owners = np.repeat(np.arange(capacities.size), capacities)
    slots = np.concatenate([(np.arange(c) + 0.5) / c for c in capacities])
    return owners[np.lexsort((owners, slots))].astype(np.int64)


def compile_routing(reps: tuple[Rep, ...], policy: RoutingPolicy, start: str | pd.Timestamp,
                    days: float) -> RoutingPlan:
    """Group reps into pools, lay out their working windows and each tier x segment's chain of pools.

    Args:
        reps: the team; reps sharing (role, segments, working hours) share a queue.
        policy: tiers, roles, SLAs and overflow.
        start: simulation start, a UTC midnight; arrivals are measured from it.
        days: horizon in days.

    Returns:
        A RoutingPlan to pass to `route` or `route_arrays` any number of times.
    """
    start_ts = pd.Timestamp(start)
    start_ts = start_ts.tz_localize("UTC") if start_ts.tzinfo is None else start_ts.tz_convert("UTC")
    if start_ts != start_ts.normalize() or days <= 0 or not reps:
        raise SettingsError(f"routing needs reps, a UTC-midnight start and days > 0; got {len(reps)} reps, "
                            f"start {start_ts}, days {days}")
    if len({r.rep_id for r in reps}) != len(reps):
        raise SettingsError("rep_id values must be unique")
    role_rank: dict[str, int] = {}
    for tier in policy.tier_order:
        for role in (*policy.tier_roles.get(tier, ()), *policy.overflow_roles):
            role_rank.setdefault(role, len(role_rank))
    for tier, roles in policy.tier_roles.items():
        ranks = [role_rank[r] for r in (*roles, *policy.overflow_roles)]
        if ranks != sorted(ranks):
            raise SettingsError(f"tier {tier!r} chains roles {roles} in an order that contradicts another tier's "
                                f"(role order {list(role_rank)}); keep one order of roles for every tier")

    keys: dict[tuple[str, tuple[str, ...], tuple[float, float, tuple[int, ...], float]], list[int]] = {}
    for i, rep in sorted(enumerate(reps), key=lambda ir: role_rank.get(ir[1].role, len(role_rank))):
        keys.setdefault((rep.role, tuple(sorted(rep.segments)), rep.schedule), []).append(i)
    pools = []
    for (role, _, schedule), members in keys.items():
        start_hour, end_hour, workdays, offset = schedule
        windows = working_windows(start_ts.weekday(), days, start_hour, end_hour, workdays, offset)
        capacities = np.array([reps[i].daily_capacity for i in members], dtype=np.int64)
        hours_s = (end_hour - start_hour) * 3600.0
        pools.append(_Pool(str(role), np.array(members, dtype=np.int64), windows,
                           hours_s / float(capacities.sum()), _rep_sequence(capacities),
                           np.asarray(capacities * windows.total / hours_s, dtype=np.float64)))

    segments = tuple(dict.fromkeys((*SEGMENTS, *(s for r in reps for s in r.segments))))
    tiers = policy.tier_order
    width = len(pools) + 1
    chains = np.full((len(tiers), len(segments) + 1, width), -1, dtype=np.int64)
    for t, tier in enumerate(tiers):
        if tier not in policy.tier_roles:
            continue
        roles = (*policy.tier_roles[tier], *policy.overflow_roles)
        for g in range(len(segments) + 1):
            chain = [p for role in dict.fromkeys(roles) for p, pool in enumerate(pools) if pool.role == role
                     and (not reps[pool.reps[0]].segments or (g < len(segments)
                                                                and segments[g] in reps[pool.reps[0]].segments))]
            chains[t, g, :len(chain)] = chain
    sla = np.array([policy.sla_hours[t] * 3600.0 if t in policy.tier_roles else np.inf for t in tiers])
    escalate = np.array([policy.escalation_hours(t) * 3600.0 if t in policy.tier_roles else np.inf
                         for t in tiers])
    return RoutingPlan(tuple(reps), policy, start_ts, float(days), segments, tuple(pools), chains, sla, escalate)


@dataclass(frozen=True, eq=False)
class RoutedArrays:
    """Per-lead routing result as arrays, in input order (seconds after the plan's start)."""

    routed: BoolArray
    worked: BoolArray
    start: FloatArray
    """First touch in seconds after plan.start; NaN if not worked."""
    rep: IntArray
    """Index into plan.reps; -1 if not worked."""
    escalated: BoolArray
    sla_breached: BoolArray


def _pool_starts(pool: _Pool, arrival: FloatArray, priority: IntArray) -> tuple[FloatArray, FloatArray]:
    """Working-second and real first-touch times of one pool's leads (inf where beyond the horizon)."""
    start_w = priority_starts(to_working(pool.windows, arrival), priority, pool.service)
    start_w = np.round(start_w, 3)  # whole milliseconds: a touch due at a day's end moves to the next day
    inside = start_w < pool.windows.total
    real = np.full(arrival.size, np.inf)
    real[inside] = np.maximum(from_working(pool.windows, start_w[inside])[0], arrival[inside])
    return start_w, real


def route_arrays(plan: RoutingPlan, arrival: FloatArray, tier: IntArray, segment: IntArray) -> RoutedArrays:
    """Route leads given as arrays: arrival seconds after plan.start, tier codes and segment codes.

    Args:
        plan: from `compile_routing`.
        arrival: float seconds after plan.start.
        tier: index into plan.policy.tier_order (0 = highest priority); -1 for no tier (not routed).
        segment: index into plan.segments; len(plan.segments) (or -1) for any other segment.

    Returns:
        RoutedArrays in input order.
    """
    n = arrival.size
    n_seg = len(plan.segments)
    segment = np.where((segment < 0) | (segment > n_seg), n_seg, segment)
    tier_c = np.maximum(tier, 0)
    in_horizon = (arrival < plan.horizon_seconds) & (tier >= 0)
    chains = plan.chains[tier_c, segment]
    routed = in_horizon & (chains[:, 0] >= 0) & np.isin(tier_c, np.flatnonzero(np.isfinite(plan.sla_seconds)))
    patience = plan.escalate_seconds[tier_c]
    position = np.zeros(n, dtype=np.int64)
    best_position = np.zeros(n, dtype=np.int64)
    best_start = np.full(n, np.inf)
    assigned = np.full(n, -1, dtype=np.int64)
    rows_all = np.arange(n)
    for p, pool in enumerate(plan.pools):
        rows = np.flatnonzero(routed & (chains[rows_all, position] == p))
        if rows.size == 0:
            continue
        _, real = _pool_starts(pool, arrival[rows], tier_c[rows])
        better = real < best_start[rows]
        best_start[rows[better]] = real[better]
        best_position[rows[better]] = position[rows[better]]
        has_next = chains[rows, np.minimum(position[rows] + 1, chains.shape[1] - 1)] >= 0
        move = (real - arrival[rows] > patience[rows]) & has_next & (position[rows] + 1 < chains.shape[1])
        position[rows[move]] += 1
        stay = rows[~move]
        if stay.size:
            _, real_stay = _pool_starts(pool, arrival[stay], tier_c[stay])
            late = real_stay - arrival[stay] > patience[stay]
            on_time = ~late
            assigned[stay[on_time]] = p
            better = real_stay < best_start[stay]
            best_start[stay[better]] = real_stay[better]
            best_position[stay[better]] = position[stay[better]]
    undecided = routed & (assigned < 0)
    assigned[undecided] = chains[np.flatnonzero(undecided), best_position[undecided]]

    start = np.full(n, np.nan)
    rep = np.full(n, -1, dtype=np.int64)
    for p, pool in enumerate(plan.pools):
        rows = np.flatnonzero(assigned == p)
        if rows.size == 0:
            continue
        start_w, real = _pool_starts(pool, arrival[rows], tier_c[rows])
        inside = np.isfinite(real)
        rows, start_w, real = rows[inside], start_w[inside], real[inside]
        start[rows] = real
        window = from_working(pool.windows, start_w)[1]
        rank = rank_within(window, start_w)
        rep[rows] = pool.reps[pool.sequence[rank % pool.sequence.size]]
    worked = ~np.isnan(start)
    deadline = arrival + plan.sla_seconds[tier_c]
    breached = routed & np.where(worked, start > deadline, deadline < plan.horizon_seconds)
    owner = chains[:, 0]
    escalated = worked & (assigned != owner)
    return RoutedArrays(routed, worked, start, rep, escalated, breached)


def _seconds_after(start: pd.Timestamp, at: pd.Series) -> FloatArray:
    values = pd.to_datetime(at, utc=True).to_numpy("datetime64[ns]").view(np.int64)
    return (values - start.value) / 1e9


def vocabulary_codes(values: pd.Series, vocabulary: tuple[str, ...]) -> IntArray:
    """Index of each value in `vocabulary`, -1 for NaN or a value not in it (factorises once, maps uniques)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return coded_vocabulary(codes, uniques, vocabulary)


def coded_vocabulary(codes: np.ndarray, uniques: np.ndarray, vocabulary: tuple[str, ...]) -> IntArray:
    """`vocabulary_codes` of already factorised values (codes, -1 for NaN, into `uniques`)."""
    lookup = {v: i for i, v in enumerate(vocabulary)}
    mapped = np.array([lookup.get(u, -1) for u in uniques] + [-1], dtype=np.int64)
    return mapped[np.asarray(codes, dtype=np.int64)]


def route(arrivals: pd.DataFrame, plan: RoutingPlan) -> pd.DataFrame:
    """Route leads with a tier: who first-touches each one, when, and whether the SLA held.

    Args:
        arrivals: lead_id, created_at (UTC), segment, tier (a name from plan.policy.tier_order or NaN).
        plan: from `compile_routing`.

    Returns:
        ROUTING_COLUMNS, one row per lead in input order; tier and rep_id are categoricals.
    """
    tier = vocabulary_codes(arrivals["tier"], plan.policy.tier_order)
    segment = vocabulary_codes(arrivals["segment"], plan.segments)
    arrival = _seconds_after(plan.start, arrivals["created_at"])
    result = route_arrays(plan, arrival, tier, segment)
    base = plan.start.tz_localize(None).as_unit("us").to_datetime64()
    micros = np.where(result.worked, np.round(np.nan_to_num(result.start) * 1e6), 0).astype(np.int64)
    touch = (base + micros.astype("timedelta64[us]")).astype("datetime64[us]")
    touch[~result.worked] = np.datetime64("NaT")
    return pd.DataFrame({
        "lead_id": arrivals["lead_id"].reset_index(drop=True),
        "tier": pd.Categorical.from_codes(tier, categories=list(plan.policy.tier_order)),
        "routed": result.routed,
        "worked": result.worked,
        "rep_id": pd.Categorical.from_codes(result.rep, categories=[r.rep_id for r in plan.reps]),
        "first_touch_at": pd.DatetimeIndex(touch).tz_localize("UTC"),
        "queue_hours": np.where(result.worked, (result.start - arrival) / 3600.0, np.nan),
        "sla_breached": result.sla_breached,
        "escalated": result.escalated,
    }, columns=list(ROUTING_COLUMNS))


@dataclass(frozen=True)
class RoutingSummary:
    """Queue metrics of one routing run (routed leads only)."""

    routed: int
    mean_queue_hours: float
    """Mean hours from arrival to first touch over worked leads (NaN if none)."""
    p90_queue_hours: float
    breach_rate: dict[str, float]
    """Share of routed leads of each tier that breached the SLA."""
    never_worked_share: float
    escalated_share: float
    utilisation: pd.Series
    """First touches / first-touch capacity in the horizon, per rep_id."""

    def as_row(self) -> dict[str, float]:
        """A flat dict for sweep tables: scalars, breach_<tier> and mean utilisation."""
        row = {"routed": float(self.routed), "mean_queue_hours": self.mean_queue_hours,
               "p90_queue_hours": self.p90_queue_hours, "never_worked_share": self.never_worked_share,
               "escalated_share": self.escalated_share, "utilisation": float(self.utilisation.mean())}
        row.update({f"breach_{tier}": rate for tier, rate in self.breach_rate.items()})
        return row


def routing_summary(routed: pd.DataFrame, plan: RoutingPlan) -> RoutingSummary:
    """Mean and p90 queue hours, SLA breach rate per routed tier, never-worked share, utilisation per rep.

    Args:
        routed: ROUTING_COLUMNS from `route`.
        plan: the plan it was routed with.
    """
    r = routed.loc[routed["routed"].to_numpy()]
    queue = r["queue_hours"].dropna().to_numpy()
    tiers = r["tier"].astype(object).to_numpy()
    breached = r["sla_breached"].to_numpy()
    breach = {t: float(breached[tiers == t].mean()) if (tiers == t).any() else float("nan")
              for t in plan.policy.tier_order if t in plan.policy.tier_roles}
    touches = r["rep_id"].astype(object).value_counts()
    capacity = pd.Series(0.0, index=[rep.rep_id for rep in plan.reps])
    for pool in plan.pools:
        capacity.iloc[pool.reps] = pool.capacity
    utilisation = touches.reindex(capacity.index, fill_value=0) / capacity.where(capacity > 0)
    n = len(r)
    return RoutingSummary(
        routed=n,
        mean_queue_hours=float(queue.mean()) if queue.size else float("nan"),
        p90_queue_hours=float(np.quantile(queue, 0.9)) if queue.size else float("nan"),
        breach_rate=breach,
        never_worked_share=float((~r["worked"].to_numpy()).mean()) if n else float("nan"),
        escalated_share=float(r["escalated"].to_numpy().mean()) if n else float("nan"),
        utilisation=utilisation.rename("utilisation"),
    )
