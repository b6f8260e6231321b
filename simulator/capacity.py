"""Capacity: the DOMAIN rep-load formula, the Erlang C (M/M/c) queue, and where they disagree with the queue.

DOMAIN.md section 6: `rep_load = total_leads * factor / reps` (1,200 leads, 12 reps -> 100 a rep; 120 at
a 1.2 peak) says nothing about *when* leads arrive. Erlang C adds random arrivals within working hours;
the routing simulation adds nights, weekends, peaks, tiers and overflow. `formula_vs_queue` puts the three
side by side and flags the rows where the formula calls a team fine while the queue breaches the SLA (or
the reverse).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.errors import SettingsError
from simulator.arrivals import arrival_weights, synthetic_arrivals
from simulator.reps import RoutingPolicy, rep_team
from simulator.routing import compile_routing, route, routing_summary

__all__ = ["ErlangC", "FORMULA_VS_QUEUE_COLUMNS", "erlang_c", "formula_vs_queue", "rep_load"]


def rep_load(total_leads: float, reps: int, factor: float = 1.0) -> float:
    """Leads per rep for a period: total_leads * factor / reps (DOMAIN: 1,200 / 12 -> 100; x1.2 -> 120)."""
    if reps < 1:
        raise SettingsError(f"reps must be >= 1, got {reps}")
    return total_leads * factor / reps


@dataclass(frozen=True)
class ErlangC:
    """M/M/c queue figures; times in the unit of 1 / arrival_rate (e.g. hours)."""

    offered_load: float
    """A = arrival_rate / service_rate, in Erlangs."""
    utilisation: float
    """A / servers."""
    wait_probability: float
    """P(an arrival waits) = Erlang C(A, c); 1 when the queue is unstable (A >= c)."""
    mean_wait: float
    """Mean wait before service over all arrivals; inf when unstable."""
    within_sla: float
    """P(wait <= sla) = 1 - C * exp(-(c - A) * mu * sla); 0 when unstable, NaN without an sla."""


def erlang_c(arrival_rate: float, service_rate: float, servers: int, sla: float | None = None) -> ErlangC:
    """Probability of waiting, mean wait and service level of an M/M/c queue.

    Args:
        arrival_rate: lambda, arrivals per unit time.
        service_rate: mu, services per server per unit time.
        servers: c.
        sla: wait target in the same time unit, or None.
    """
    if arrival_rate < 0 or service_rate <= 0 or servers < 1:
        raise SettingsError(f"need arrival_rate >= 0, service_rate > 0, servers >= 1; got {arrival_rate}, "
                            f"{service_rate}, {servers}")
    a = arrival_rate / service_rate
    rho = a / servers
    if rho >= 1.0:
        return ErlangC(a, rho, 1.0, math.inf, 0.0 if sla is not None else math.nan)
    blocking = 1.0  # Erlang B by the stable recursion B(k) = A B(k-1) / (k + A B(k-1))
    for k in range(1, servers + 1):
        blocking = a * blocking / (k + a * blocking)
    wait = blocking / (1.0 - rho * (1.0 - blocking))
    mean_wait = wait / (servers * service_rate - arrival_rate)
    within = math.nan if sla is None else 1.0 - wait * math.exp(-(servers - a) * service_rate * sla)
    return ErlangC(a, rho, wait, mean_wait, within)


FORMULA_VS_QUEUE_COLUMNS: tuple[str, ...] = (
    "reps", "factor", "leads", "leads_per_rep", "formula_ok", "erlang_wait_probability", "erlang_mean_wait_hours",
    "erlang_within_sla", "sim_breach_rate", "sim_mean_queue_hours", "sim_p90_queue_hours", "sim_utilisation",
    "sim_never_worked_share", "queue_ok", "disagrees",
)


def formula_vs_queue(rng: np.random.Generator, reps: Sequence[int] = (4, 8, 12), peak_factor: float = 1.2, *,
                     total_leads: int = 1_200, rep_capacity: float = 100.0, days: int = 28,
                     working_hours: float = 8.0, tier_mix: Mapping[str, float] | None = None,
                     policy: RoutingPolicy | None = None, max_breach_rate: float = 0.10,
                     start: str | pd.Timestamp = "2026-11-02") -> pd.DataFrame:
    """The capacity formula against Erlang C and the simulated queue, per head count and load factor.

    Each row routes `total_leads * factor` routed leads arriving over `days` (a weekday / business-hours
    profile, the whole horizon at `factor`) to `reps` SDRs whose daily first-touch capacity is
    rep_capacity / working days. The formula is fine when leads_per_rep <= rep_capacity; the queue is fine
    when the simulated SLA breach rate <= max_breach_rate; `disagrees` marks rows where they differ.
    Erlang C takes all arrivals over the working hours (lambda), one rep's hourly capacity (mu) and the
    head count (c), with the hot tier's SLA counted in working hours.

    Args:
        rng: random generator (arrivals).
        reps: SDR head counts to compare.
        peak_factor: the load factor of the peak rows (the other rows use 1.0).
        total_leads: routed leads in the period at factor 1.0.
        rep_capacity: leads a rep handles in the period (DOMAIN: 50-100 a month).
        days: period length in days (28 = four working weeks).
        working_hours: working hours per weekday (9 to 9 + working_hours, UTC).
        tier_mix: tiers of the routed leads (default A 25%, B 75%).
        policy: routing policy; default RoutingPolicy() with SDRs owning tiers A and B and no managers.
        max_breach_rate: the breach rate the queue may not exceed.
        start: a UTC midnight.

    Returns:
        FORMULA_VS_QUEUE_COLUMNS, one row per (reps, factor).
    """
    policy = policy or RoutingPolicy(tier_roles={"A": ("sdr",), "B": ("sdr",)}, overflow_roles=())
    tier_mix = tier_mix or {"A": 0.25, "B": 0.75}
    start_ts = pd.Timestamp(start, tz="UTC") if pd.Timestamp(start).tzinfo is None else pd.Timestamp(start)
    weekday = (start_ts.weekday() + np.arange(days)) % 7 < 5
    work_days = int(weekday.sum())
    daily = max(1, round(rep_capacity / work_days))
    weights = arrival_weights(days, start_ts.weekday(), business_hours=(9, 9 + int(working_hours)))
    sla_hot = policy.sla_hours[policy.tier_order[0]]
    rows = []
    for factor in (1.0, peak_factor):
        leads = round(total_leads * factor)
        arrivals = synthetic_arrivals(leads, start_ts, days, rng, tier_mix=tier_mix, weights=weights)
        for count in reps:
            plan = compile_routing(rep_team(count, sdr_capacity=daily, end_hour=9.0 + working_hours), policy,
                                   start_ts, days)
            summary = routing_summary(route(arrivals, plan), plan)
            breached = routing_summary_breach(summary.breach_rate, tier_mix)
            queue = erlang_c(leads / (work_days * working_hours), daily / working_hours, count, sla_hot)
            per_rep = rep_load(total_leads, count, factor)
            formula_ok = per_rep <= rep_capacity
            queue_ok = breached <= max_breach_rate
            rows.append((count, factor, leads, per_rep, formula_ok, queue.wait_probability, queue.mean_wait,
                         queue.within_sla, breached, summary.mean_queue_hours, summary.p90_queue_hours,
                         float(summary.utilisation.mean()), summary.never_worked_share, queue_ok,
                         formula_ok != queue_ok))
    table = pd.DataFrame(rows, columns=list(FORMULA_VS_QUEUE_COLUMNS))
    return table.sort_values(["reps", "factor"], kind="stable").reset_index(drop=True)


def routing_summary_breach(breach_rate: Mapping[str, float], mix: Mapping[str, float]) -> float:
    """Breach rate over all routed leads, weighting each tier's rate by its share of the mix."""
    total = sum(mix.values())
    return float(sum(breach_rate.get(t, 0.0) * share for t, share in mix.items() if not
                     math.isnan(breach_rate.get(t, 0.0))) / total)
