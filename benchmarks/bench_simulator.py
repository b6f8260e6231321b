"""Routing + outcome simulation throughput: the vectorised queue (simulator.routing + speed_to_lead) against
the same funnel written as a SimPy process model (arrivals, a rep pool as a simpy.PriorityResource with
working hours held by shift blockers, one first touch per lead), measured in the same run on a small funnel;
the vectorised model also runs 1M leads x 90 days. Prints lead-days/s for both, their ratio, whether both
models agree on the small funnel (mean queue hours, SLA breach rate), and peak memory; the last line is one
JSON object.

Run: `.venv/bin/python benchmarks/bench_simulator.py [--leads N] [--days D] [--sample N] [--sample-days D]`.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.arrivals import synthetic_arrivals  # noqa: E402
from simulator.reps import RoutingPolicy, rep_team  # noqa: E402
from simulator.routing import compile_routing, route, routing_summary  # noqa: E402
from simulator.speed_to_lead import SpeedToLead, speed_adjusted_propensity, won_after_routing  # noqa: E402

START = pd.Timestamp("2026-11-02", tz="UTC")  # a Monday
POLICY = RoutingPolicy(tier_roles={"A": ("sdr",), "B": ("sdr",)}, overflow_roles=())
"""One SDR pool works hot and warm leads: the queue both models implement."""
CAPACITY = 20
"""First touches per SDR per working day (9-17 UTC, weekdays)."""
TIERS = ("A", "B", "C", "D")


def team_size(arrivals: pd.DataFrame, days: int) -> int:
    """SDRs for ~85% utilisation of weekday capacity by the routed leads."""
    routed = arrivals["tier"].isin(["A", "B"]).sum()
    weekdays = sum((START.weekday() + d) % 7 < 5 for d in range(days))
    return max(1, math.ceil(routed / weekdays / CAPACITY / 0.85))


def vectorised(arrivals: pd.DataFrame, days: int, sdrs: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    plan = compile_routing(rep_team(sdrs, sdr_capacity=CAPACITY), POLICY, START, days)
    routed = route(arrivals, plan)
    won = won_after_routing(routed, arrivals["propensity"].to_numpy(), SpeedToLead(), np.random.default_rng(seed))
    return routed, won


def simpy_model(arrivals: pd.DataFrame, days: int, sdrs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """First-touch second per lead (NaN if not worked in the horizon) and won flags, by a SimPy process model."""
    env = simpy.Environment()
    pool = simpy.PriorityResource(env, capacity=sdrs)
    service = 8 * 3600.0 / CAPACITY
    horizon = days * 86_400.0
    seconds = (arrivals["created_at"].to_numpy("datetime64[ns]").view(np.int64) - START.value) / 1e9
    tier_code = {t: i for i, t in enumerate(TIERS)}
    tiers = [tier_code[t] for t in arrivals["tier"]]
    touched = np.full(len(arrivals), np.nan)

    def next_open(t: float) -> float:
        day = math.floor(t / 86_400.0)
        while True:
            opening = day * 86_400.0 + 9 * 3600.0
            if (START.weekday() + day) % 7 < 5 and opening >= t:
                return opening
            day += 1

    def shift_blocker(env: simpy.Environment):  # type: ignore[no-untyped-def]
        """Holds one rep from each close (and from time 0) to the next opening, ahead of every lead."""
        t = 0.0
        while t < horizon:
            with pool.request(priority=-1) as req:
                yield req
                yield env.timeout(max(next_open(env.now) - env.now, 0.0))
            close = env.now + 8 * 3600.0
            yield env.timeout(close - env.now)
            t = env.now

    def lead(env: simpy.Environment, i: int):  # type: ignore[no-untyped-def]
        with pool.request(priority=tiers[i]) as req:
            yield req
            touched[i] = env.now
            yield env.timeout(service)

    def source(env: simpy.Environment):  # type: ignore[no-untyped-def]
        for i in np.argsort(seconds, kind="stable"):
            if tiers[i] > 1 or seconds[i] >= horizon:
                continue
            yield env.timeout(max(seconds[i] - env.now, 0.0))
            env.process(lead(env, int(i)))

    for _ in range(sdrs):
        env.process(shift_blocker(env))
    env.process(source(env))
    env.run(until=horizon)
    touched[touched >= horizon] = np.nan
    delay = (touched - seconds) / 3600.0
    routed = np.array([t <= 1 for t in tiers]) & (seconds < horizon)
    adjusted = speed_adjusted_propensity(arrivals["propensity"].to_numpy(), delay, np.array(tiers), routed,
                                         SpeedToLead())
    won = np.random.default_rng(seed).random(len(arrivals)) < adjusted
    return touched, won


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--sample", type=int, default=5_000)
    parser.add_argument("--sample-days", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    small = synthetic_arrivals(args.sample, START, args.sample_days, np.random.default_rng(1))
    small_sdrs = team_size(small, args.sample_days)
    start = time.perf_counter()
    touched, simpy_won = simpy_model(small, args.sample_days, small_sdrs, seed=7)
    simpy_seconds = time.perf_counter() - start
    small_lead_days = args.sample * args.sample_days
    simpy_rate = small_lead_days / simpy_seconds
    print(f"SimPy process model: {simpy_seconds:.3f} s for {args.sample:,} leads x {args.sample_days} days "
          f"({small_sdrs} SDRs) -> {simpy_rate:,.0f} lead-days/s")

    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        routed, won = vectorised(small, args.sample_days, small_sdrs, seed=7)
        times.append(time.perf_counter() - start)
    small_rate = small_lead_days / statistics.median(times)
    print(f"vectorised, same funnel: {statistics.median(times) * 1000:.1f} ms -> {small_rate:,.0f} lead-days/s "
          f"({small_rate / simpy_rate:.0f}x SimPy)")

    plan = compile_routing(rep_team(small_sdrs, sdr_capacity=CAPACITY), POLICY, START, args.sample_days)
    fast = routing_summary(routed, plan)
    mask = routed["routed"].to_numpy()
    seconds = (small["created_at"].to_numpy("datetime64[ns]").view(np.int64) - START.value) / 1e9
    slow_queue = (touched - seconds)[mask] / 3600.0
    slow_mean = float(np.nanmean(slow_queue))
    sla = np.where(small["tier"].to_numpy()[mask] == "A", 2.0, 24.0)
    deadline_inside = seconds[mask] + sla * 3600 < args.sample_days * 86_400
    slow_breach = float(np.where(np.isnan(slow_queue), deadline_inside, slow_queue > sla).mean())
    fast_breach = float(routed.loc[mask, "sla_breached"].mean())
    n = int(mask.sum())
    breach_tol = 3 * math.sqrt(max(slow_breach * (1 - slow_breach), 0.01) / n) + 0.03
    queue_tol = 0.15 * slow_mean + 0.25
    agree = abs(fast.mean_queue_hours - slow_mean) <= queue_tol and abs(fast_breach - slow_breach) <= breach_tol
    print(f"agreement on {n:,} routed leads: mean queue {fast.mean_queue_hours:.2f} h vs SimPy {slow_mean:.2f} h "
          f"(tol {queue_tol:.2f}); breach rate {fast_breach:.3f} vs {slow_breach:.3f} (tol {breach_tol:.3f}); "
          f"wins {int(won['won'].sum())} vs {int(simpy_won.sum())}; agree: {agree}")

    big = synthetic_arrivals(args.leads, START, args.days, np.random.default_rng(2))
    big_sdrs = team_size(big, args.days)
    start = time.perf_counter()
    big_routed, big_won = vectorised(big, args.days, big_sdrs, seed=8)
    big_seconds = time.perf_counter() - start
    big_rate = args.leads * args.days / big_seconds
    big_summary = routing_summary(big_routed, compile_routing(rep_team(big_sdrs, sdr_capacity=CAPACITY), POLICY,
                                                              START, args.days))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    ratio = big_rate / simpy_rate
    print(f"vectorised: {big_seconds:.2f} s for {args.leads:,} leads x {args.days} days ({big_sdrs} SDRs, "
          f"{int(big_routed['routed'].sum()):,} routed, mean queue {big_summary.mean_queue_hours:.2f} h, "
          f"{int(big_won['won'].sum()):,} won) -> {big_rate:,.0f} lead-days/s")
    print(f"ratio: {ratio:.0f}x SimPy (goal >= 100x); {args.leads:,} x {args.days} time {big_seconds:.2f} s "
          f"(goal <= 20 s); peak memory {peak_mib:,.0f} MiB (ru_maxrss, whole process incl. arrivals)")
    print(json.dumps({
        "metric": "lead_days_simulated_per_second",
        "value": round(big_rate),
        "unit": "lead-days/s",
        "baseline": f"SimPy process model of the same queue, {args.sample:,} leads x {args.sample_days} days, "
                    "same run",
        "baseline_value": round(simpy_rate),
        "ratio": round(ratio, 1),
        "ratio_same_size": round(small_rate / simpy_rate, 1),
        "seconds_at_scale": round(big_seconds, 3),
        "models_agree": agree,
        "peak_memory_mib": round(peak_mib, 1),
    }))


if __name__ == "__main__":
    main()
