"""Full-funnel simulation throughput: the vectorised pipeline (simulator.chunked: generate -> score -> MQL time
-> route -> speed-to-lead outcome) against the same funnel written as a SimPy process model, measured in the
same run on a small funnel; then the vectorised pipeline alone at 1M leads x 90 days (and, with --big, 10M).

The SimPy model simulates the funnel drawn by the same `generate_funnel` call (same seed), reading the same
arrays as the vectorised path (the event draw and the lead columns coded from the draws, no frames): one
process per lead that arrives at created_at, waits (simpy timeouts) for each of its behaviour events, keeps a running
score (the model's fit points plus each action's points, decayed per event with the model's own decay
curve), becomes an MQL when the score reaches the lead's threshold, then requests a first touch from one
SDR pool (simpy.PriorityResource, tier A before B; working hours 9-17 UTC on weekdays held by shift
blockers), and wins with the same speed-to-lead curve and the same uniforms. With the baseline model (points
simply added, no decay) the running score at as_of equals the engine's score, so both models pick the same
MQLs; agreement on MQLs, mean queue hours and wins is printed.

Prints lead-days/s for each, their ratio, the 1M x 90 time in one process and in --workers forked processes
(same totals), and peak memory (ru_maxrss); the last line is one JSON object. A secondary line repeats the
older queue-only comparison (routing alone, synthetic arrivals).

Run: `.venv/bin/python benchmarks/bench_simulator.py [--sample N] [--leads N] [--days D] [--workers W] [--big]`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring import compile_model, load_model  # noqa: E402
from scoring.compiled import CompiledModel  # noqa: E402
from scoring.engine import mql_thresholds_of_codes  # noqa: E402
from scoring.matchers import matcher_masks  # noqa: E402
from simulator.arrivals import synthetic_arrivals  # noqa: E402
from simulator.chunked import ChunkedResult, chunk_seeds, simulate_in_chunks, sized_team  # noqa: E402
from simulator.funnel import generate_funnel  # noqa: E402
from simulator.lead_columns import DrawnLeadColumns  # noqa: E402
from simulator.reps import RoutingPolicy, rep_team  # noqa: E402
from simulator.routing import compile_routing, route, routing_summary  # noqa: E402
from simulator.spec import FunnelSpec  # noqa: E402
from simulator.speed_to_lead import SpeedToLead, speed_adjusted_propensity, won_after_routing  # noqa: E402
from simulator.vocabulary import EVENT_TYPES  # noqa: E402

POLICY = RoutingPolicy(tier_roles={"A": ("sdr",), "B": ("sdr",)}, overflow_roles=())
"""One SDR pool works hot and warm MQLs: the queue both models implement."""
CAPACITY = 20
"""First touches per SDR per working day (9-17 UTC, weekdays)."""
UTILISATION = 0.7
TAIL_DAYS = 14
SEED = 7
TIERS = ("A", "B", "C", "D")
DAY = 86_400.0


def funnel_spec(n_leads: int, days: int) -> FunnelSpec:
    """The benchmark funnel: FunnelSpec defaults over `days` of history."""
    return FunnelSpec(n_leads=n_leads, history_days=days)


def routing_start(spec: FunnelSpec) -> pd.Timestamp:
    return (spec.as_of - pd.Timedelta(days=spec.history_days)).floor("D")


# ---- SimPy process model of the whole funnel ------------------------------------------------------------------

def next_open(start: pd.Timestamp, t: float) -> float:
    """Seconds after `start` (a UTC midnight) of the first 9:00 UTC weekday opening at or after t."""
    day = math.floor(t / DAY)
    while True:
        opening = day * DAY + 9 * 3600.0
        if (start.weekday() + day) % 7 < 5 and opening >= t:
            return opening
        day += 1


def shift_blocker(env: simpy.Environment, pool: simpy.PriorityResource, start: pd.Timestamp,
                  horizon: float) -> Generator[Any, Any, None]:
    """Holds one rep from each close (and from time 0) to the next opening, ahead of every lead (9-17 UTC)."""
    while env.now < horizon:
        with pool.request(priority=-1) as req:
            yield req
            yield env.timeout(max(next_open(start, env.now) - env.now, 0.0))
        yield env.timeout(8 * 3600.0)


@dataclasses.dataclass
class SimpyResult:
    mqls: int
    routed: int
    worked: int
    mean_queue_hours: float
    sla_breach_rate: float
    wins: int
    seconds_draw: float
    seconds_process: float


def simpy_funnel(spec: FunnelSpec, model: CompiledModel, sdrs: int, seed: int) -> SimpyResult:
    """Draw the funnel (generate_funnel, chunk 0's seed as simulate_in_chunks does) and run it as processes."""
    began = time.perf_counter()
    funnel_seed, draw_seed = chunk_seeds(seed, 1)[0]
    funnel = generate_funnel(spec, np.random.default_rng(funnel_seed))
    uniform = np.random.default_rng(draw_seed).random(spec.n_leads)
    drawn = time.perf_counter()

    start = routing_start(spec)
    horizon = (float((spec.as_of - start) / pd.Timedelta(days=1)) + TAIL_DAYS) * DAY
    columns, draw = DrawnLeadColumns(funnel), funnel.event_draw  # the arrays the vectorised path reads too
    n = len(columns)
    created = ((columns.created_ns - start.value) / 1e9).tolist()
    fit_points = (matcher_masks(columns, model.fit_rules).astype(np.float64)
                  @ np.array([r.points for r in model.fit_rules])).tolist()
    threshold = mql_thresholds_of_codes(columns, model).tolist()
    top_min = float(model.tier_mins[-1])
    at = (draw.seconds + (spec.as_of.value - start.value) / 1e9).tolist()
    types = [EVENT_TYPES[c] for c in draw.type_code.tolist()]
    values = draw.value.tolist()
    bounds = np.searchsorted(draw.lead, np.arange(n + 1)).tolist()  # events are sorted by (lead, time)
    actions: dict[str, list[Any]] = {}
    for a in model.actions:
        actions.setdefault(a.event, []).append(a)
    w_fit, w_behaviour, _ = model.weights

    def total(fit: float, behaviour: float) -> float:
        if model.combine == "sum":
            return fit + behaviour
        return (w_fit * min(max(fit / model.fit_max, 0.0), 1.0) * 100.0
                + w_behaviour * min(max(behaviour / model.behaviour_max, 0.0), 1.0) * 100.0)

    env = simpy.Environment()
    pool = simpy.PriorityResource(env, capacity=sdrs)
    service = 8 * 3600.0 / CAPACITY
    mql_at = [math.nan] * n
    tier_of = [-1] * n
    touched = [math.nan] * n

    def lead(env: simpy.Environment, i: int) -> Generator[Any, Any, None]:
        yield env.timeout(created[i])
        sums: dict[int, float] = {}
        last: dict[int, float] = {}
        score = total(fit_points[i], 0.0)
        for k in range(bounds[i], bounds[i + 1]):
            yield env.timeout(max(at[k] - env.now, 0.0))
            for a in actions.get(types[k], ()):
                if a.min_value is not None and not values[k] >= a.min_value:
                    continue
                key = id(a)
                decayed = sums.get(key, 0.0) * float(a.decay((env.now - last.get(key, env.now)) / DAY))
                sums[key], last[key] = decayed + a.points, env.now
            behaviour = sum(s * float(a.decay((env.now - last[id(a)]) / DAY))
                            for acts in actions.values() for a in acts if (s := sums.get(id(a))) is not None)
            score = total(fit_points[i], behaviour)
            if score >= threshold[i]:
                break
        else:
            return
        mql_at[i] = env.now
        tier_of[i] = 0 if score >= top_min else 1
        with pool.request(priority=tier_of[i]) as req:
            yield req
            touched[i] = env.now
            yield env.timeout(service)

    for _ in range(sdrs):
        env.process(shift_blocker(env, pool, start, horizon))
    for i in range(n):
        env.process(lead(env, i))
    env.run(until=horizon)

    mql_s, touch = np.array(mql_at), np.array(touched)
    touch[touch >= horizon] = np.nan
    routed = ~np.isnan(mql_s)
    delay_h = (touch - mql_s) / 3600.0
    tier = np.maximum(np.array(tier_of), 0)
    moment = funnel.in_market.peak_day()  # P(won) when routed, or at the most in-market moment (as chunks do)
    moment[routed] = mql_s[routed] / DAY - float((spec.as_of - start) / pd.Timedelta(days=1))
    base = funnel.in_market.propensity_at(moment)
    won = uniform < speed_adjusted_propensity(base, delay_h, tier, routed, SpeedToLead())
    sla = np.where(tier == 0, POLICY.sla_hours["A"], POLICY.sla_hours["B"]) * 3600.0
    worked = routed & ~np.isnan(touch)
    breached = routed & np.where(worked, touch - mql_s > sla, mql_s + sla < horizon)
    done = time.perf_counter()
    return SimpyResult(int(routed.sum()), int(routed.sum()), int(worked.sum()),
                       float(np.nanmean(delay_h[worked])) if worked.any() else math.nan,
                       float(breached[routed].mean()) if routed.any() else math.nan, int(won.sum()),
                       drawn - began, done - drawn)


# ---- the older queue-only comparison (routing alone, synthetic arrivals) ---------------------------------------

def queue_only(sample: int, days: int) -> tuple[float, float]:
    """(SimPy, vectorised) lead-days/s of routing + outcome alone on synthetic arrivals."""
    start = pd.Timestamp("2026-11-02", tz="UTC")
    arrivals = synthetic_arrivals(sample, start, days, np.random.default_rng(1))
    routed_n = int(arrivals["tier"].isin(["A", "B"]).sum())
    sdrs = max(1, math.ceil(routed_n / sum((start.weekday() + d) % 7 < 5 for d in range(days)) / CAPACITY / 0.85))
    seconds = (arrivals["created_at"].to_numpy("datetime64[ns]").view(np.int64) - start.value) / 1e9
    tiers = [TIERS.index(t) for t in arrivals["tier"]]
    horizon = days * DAY

    began = time.perf_counter()
    env = simpy.Environment()
    pool = simpy.PriorityResource(env, capacity=sdrs)
    touched = np.full(sample, np.nan)

    def lead(env: simpy.Environment, i: int) -> Generator[Any, Any, None]:
        with pool.request(priority=tiers[i]) as req:
            yield req
            touched[i] = env.now
            yield env.timeout(8 * 3600.0 / CAPACITY)

    def source(env: simpy.Environment) -> Generator[Any, Any, None]:
        for i in np.argsort(seconds, kind="stable"):
            if tiers[i] <= 1 and seconds[i] < horizon:
                yield env.timeout(max(seconds[i] - env.now, 0.0))
                env.process(lead(env, int(i)))

    for _ in range(sdrs):
        env.process(shift_blocker(env, pool, start, horizon))
    env.process(source(env))
    env.run(until=horizon)
    touched[touched >= horizon] = np.nan
    routed = np.array(tiers) <= 1
    speed_adjusted_propensity(arrivals["propensity"].to_numpy(), (touched - seconds) / 3600.0, np.array(tiers),
                              routed, SpeedToLead())
    slow = time.perf_counter() - began

    times = []
    for _ in range(3):
        began = time.perf_counter()
        plan = compile_routing(rep_team(sdrs, sdr_capacity=CAPACITY), POLICY, start, days)
        result = route(arrivals, plan)
        won_after_routing(result, arrivals["propensity"].to_numpy(), SpeedToLead(), np.random.default_rng(7))
        times.append(time.perf_counter() - began)
    routing_summary(result, plan)
    return sample * days / slow, sample * days / statistics.median(times)


# ---- main ---------------------------------------------------------------------------------------------------------

def vectorised(spec: FunnelSpec, model: CompiledModel, sdrs: int, chunk_leads: int, workers: int = 1,
               ) -> ChunkedResult:
    return simulate_in_chunks(spec, model, rep_team(sdrs, sdr_capacity=CAPACITY), POLICY, SEED, chunk_leads,
                              tail_days=TAIL_DAYS, workers=workers)


def team_for(spec: FunnelSpec, mql_share: float) -> int:
    """SDRs for UTILISATION of weekday capacity by the expected MQLs."""
    return len(sized_team(round(spec.n_leads * mql_share), routing_start(spec), spec.history_days,
                          capacity=CAPACITY, utilisation=UTILISATION))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sample", type=int, default=5_000, help="leads of the small funnel both models run")
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--chunk", type=int, default=250_000, help="leads per chunk")
    parser.add_argument("--model", default="baseline", help="model file in models/ (baseline: exact MQL match)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="processes for the large runs (goal: 2 cores)")
    parser.add_argument("--big", action="store_true", help="also run 10,000,000 leads (a few minutes)")
    args = parser.parse_args()
    model = compile_model(load_model(ROOT / "models" / f"{args.model}.toml"))

    small = funnel_spec(args.sample, args.days)
    probe = vectorised(small, model, 1, args.sample)
    mql_share = probe.mqls / probe.leads
    sdrs = team_for(small, mql_share)
    lead_days = args.sample * args.days

    slow = simpy_funnel(small, model, sdrs, SEED)
    simpy_seconds = slow.seconds_draw + slow.seconds_process
    simpy_rate = lead_days / simpy_seconds
    print(f"SimPy process model: {simpy_seconds:.3f} s ({slow.seconds_draw:.3f} s drawing the funnel + "
          f"{slow.seconds_process:.3f} s processes) for {args.sample:,} leads x {args.days} days ({sdrs} SDRs) "
          f"-> {simpy_rate:,.0f} lead-days/s ({lead_days / slow.seconds_process:,.0f} processes only)")

    times, fast = [], probe
    for _ in range(args.repeats):
        fast = vectorised(small, model, sdrs, args.chunk)
        times.append(fast.seconds)
    small_rate = lead_days / statistics.median(times)
    ratio_small = small_rate / simpy_rate
    print(f"vectorised, same funnel: {statistics.median(times) * 1000:.1f} ms -> {small_rate:,.0f} lead-days/s "
          f"({ratio_small:.1f}x SimPy draw + processes; {small_rate * slow.seconds_process / lead_days:.1f}x "
          "SimPy's processes alone)")

    mql_tol = 0.02 * slow.mqls + 3
    queue_tol = 0.15 * slow.mean_queue_hours + 0.25
    win_tol = 3 * math.sqrt(max(slow.wins, 1)) + 2
    agree = (abs(fast.mqls - slow.mqls) <= mql_tol and abs(fast.mean_queue_hours - slow.mean_queue_hours) <= queue_tol
             and abs(fast.wins - slow.wins) <= win_tol)
    print(f"agreement: MQLs {fast.mqls:,} vs SimPy {slow.mqls:,} (tol {mql_tol:.0f}); mean queue "
          f"{fast.mean_queue_hours:.2f} h vs {slow.mean_queue_hours:.2f} h (tol {queue_tol:.2f}); SLA breach "
          f"{fast.sla_breach_rate:.3f} vs {slow.sla_breach_rate:.3f}; wins {fast.wins} vs {slow.wins} "
          f"(tol {win_tol:.0f}); agree: {agree}")

    q_slow, q_fast = queue_only(5_000, 30)
    print(f"secondary, queue only (routing + outcome on 5,000 synthetic arrivals x 30 days): SimPy "
          f"{q_slow:,.0f} vs vectorised {q_fast:,.0f} lead-days/s ({q_fast / q_slow:.0f}x)")

    big = funnel_spec(args.leads, args.days)
    one_core = vectorised(big, model, team_for(big, mql_share), args.chunk)
    print(f"vectorised, 1 process: {one_core.seconds:.2f} s for {one_core.leads:,} leads x {args.days} days "
          f"({one_core.chunks} chunks, {one_core.events:,} events, {one_core.mqls:,} MQLs, {one_core.reps} SDRs, "
          f"mean queue {one_core.mean_queue_hours:.2f} h, {one_core.wins:,} won) -> "
          f"{one_core.lead_days / one_core.seconds:,.0f} lead-days/s; peak RSS {one_core.peak_rss_mib:,.0f} MiB")
    at_scale = vectorised(big, model, team_for(big, mql_share), args.chunk, args.workers)
    scale_rate = at_scale.lead_days / at_scale.seconds
    same = (at_scale.mqls, at_scale.wins, at_scale.events) == (one_core.mqls, one_core.wins, one_core.events)
    print(f"vectorised, {at_scale.workers} processes: {at_scale.seconds:.2f} s for {at_scale.leads:,} leads x "
          f"{args.days} days -> {scale_rate:,.0f} lead-days/s (goal <= 20 s on 2 cores; same totals as 1 process: "
          f"{same}); peak RSS <= {at_scale.peak_rss_mib:,.0f} MiB (parent + workers x largest worker)")
    huge: ChunkedResult | None = None
    if args.big:
        spec = funnel_spec(10_000_000, args.days)
        huge = vectorised(spec, model, team_for(spec, mql_share), args.chunk, args.workers)
        print(f"vectorised, {huge.workers} processes: {huge.seconds:.1f} s for {huge.leads:,} leads x {args.days} "
              f"days ({huge.chunks} chunks, {huge.events:,} events, {huge.mqls:,} MQLs) -> "
              f"{huge.lead_days / huge.seconds:,.0f} lead-days/s; peak RSS <= {huge.peak_rss_mib:,.0f} MiB "
              "(goal <= 24 GiB)")
    peak_mib = max(r.peak_rss_mib for r in (one_core, at_scale, huge) if r is not None)
    ratio_scale = scale_rate / simpy_rate
    print(f"ratio: {ratio_small:.1f}x SimPy at {args.sample:,} leads, {ratio_scale:.1f}x at {args.leads:,} with "
          f"{at_scale.workers} processes (goal >= 100x); peak memory {peak_mib:,.0f} MiB (ru_maxrss: parent + "
          "workers x largest worker)")
    record: dict[str, Any] = {
        "metric": "lead_days_simulated_per_second",
        "value": round(small_rate),
        "unit": "lead-days/s",
        "baseline": (f"SimPy process model of the same {args.sample:,}-lead x {args.days}-day funnel, same run: "
                     "generate_funnel draw, one process per lead (arrival, behaviour events as timeouts, running "
                     f"{args.model} score per event, MQL on crossing the threshold), PriorityResource SDR pool "
                     "with working hours, speed-to-lead outcome"),
        "baseline_value": round(simpy_rate),
        "ratio": round(ratio_small, 1),
        "ratio_at_scale": round(ratio_scale, 1),
        "scale_leads": args.leads,
        "seconds_at_scale": round(at_scale.seconds, 2),
        "seconds_at_scale_1_process": round(one_core.seconds, 2),
        "workers": at_scale.workers,
        "value_at_scale": round(scale_rate),
        "models_agree": agree,
        "peak_memory_mib": round(peak_mib, 1),
    }
    if huge is not None:
        record.update(seconds_10m=round(huge.seconds, 1), peak_memory_mib_10m=round(huge.peak_rss_mib, 1))
    print(json.dumps(record))


if __name__ == "__main__":
    main()
