"""Large funnels chunk by chunk: generate -> score -> MQL time, keeping per-lead arrays for MQLs only.

    result = simulate_in_chunks(FunnelSpec(n_leads=1_000_000, history_days=90, ...), model, seed=7)

Each chunk is an independent funnel of whole accounts (`generate_funnel` at the chunk's share of n_leads,
same as_of and history), drawn from its own seed `chunk_seeds(seed, n_chunks)[i]`, so a chunk's result
does not depend on the order chunks run in. A chunk is scored from its event arrays (no events frame, no
reasons) and its lead columns coded from the draws (`simulator.lead_columns`: no leads frame, no emails, no
outcomes or latent frames for models whose rules read coded columns), its events are dropped, and only the MQLs'
arrival second, tier code, segment code, P(won) at arrival and uniform draw are kept (plus counts); after the
last chunk every MQL is routed together through one team (`route_arrays`) and speed to lead decides wins.
Peak memory is one chunk's funnel plus a few numbers per MQL, whatever the total lead count.

A lead is an MQL when its score reached its threshold at some moment of the history, as a live system
routes it then, as `simulator.sweep` counts them. It arrives when its score first reaches its threshold
(`simulator.mql_timing`): the engine's total, account pillar included, at each of the lead's events and at
the moments its account's points may lift it to a new high (other contacts' events), and not before the
lead's creation. The chunk's lead columns carry account_id, seniority and department, and chunks hold whole
accounts, so account points are the engine's.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import resource
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scoring.compiled import CompiledModel
from scoring.engine import mql_thresholds_of_codes, score_totals
from scoring.errors import SettingsError
from simulator._sampling import FloatArray, IntArray
from simulator._scenario_time import has_volume_season
from simulator.funnel import generate_funnel
from simulator.lead_columns import DrawnLeadColumns
from simulator.mql_timing import running_scores_of_arrays
from simulator.queue_entry import QueueClock
from simulator.reps import Rep, RoutingPolicy, rep_team
from simulator.routing import coded_vocabulary, compile_routing, route_arrays
from simulator.spec import FunnelSpec
from simulator.speed_to_lead import SpeedToLead, speed_adjusted_propensity
from simulator.vocabulary import EVENT_TYPES, SEGMENTS

_DAY_NS = 86_400 * 10**9

__all__ = ["ChunkedResult", "MQLArrivals", "chunk_seeds", "chunk_sizes", "mql_arrivals", "simulate_in_chunks",
           "sized_team"]


@dataclass(frozen=True)
class ChunkedResult:
    """Totals of a chunked simulation (counts over every lead of every chunk)."""

    leads: int
    events: int
    mqls: int
    routed: int
    worked: int
    sla_breach_rate: float
    """Share of routed MQLs first-touched after the tier's SLA (or untouched with the deadline inside the
    horizon), on the wall clock as `route` reports."""
    mean_queue_hours: float
    """Mean hours from MQL arrival to first touch over worked MQLs."""
    wins: int
    """Won leads after speed to lead (every lead; leads that are not routed get the untouched odds)."""
    reps: int
    chunks: int
    workers: int
    seconds: float
    """Wall-clock seconds of the whole run."""
    peak_rss_mib: float
    """High-water resident memory in MiB: this process's ru_maxrss, plus `workers` times the largest worker's
    (an upper bound on what was resident at once when chunks ran in worker processes)."""
    lead_days: float = field(default=0.0)
    """leads x history days: the simulated volume."""


def chunk_sizes(n_leads: int, chunk_leads: int) -> list[int]:
    """Leads per chunk: ceil(n_leads / chunk_leads) chunks of near-equal size summing to n_leads."""
    n_chunks = max(1, math.ceil(n_leads / chunk_leads))
    base, extra = divmod(n_leads, n_chunks)
    return [base + (1 if i < extra else 0) for i in range(n_chunks)]


def chunk_seeds(seed: int, n_chunks: int) -> list[tuple[np.random.SeedSequence, np.random.SeedSequence]]:
    """(funnel seed, outcome-draw seed) per chunk, from SeedSequence(seed).spawn(n_chunks)."""
    return [tuple(child.spawn(2)) for child in np.random.SeedSequence(seed).spawn(n_chunks)]  # type: ignore[misc]


@dataclass(frozen=True, eq=False)
class MQLArrivals:
    """One chunk's MQLs as arrays (arrival in seconds after the routing start) and its counts."""

    arrival: FloatArray
    tier: IntArray
    """Index into the policy's tier_order: 0 ("A") for MQLs in the model's top tier when they crossed, 1 ("B") for
    other MQLs."""
    segment: IntArray
    """Index into simulator.vocabulary.SEGMENTS (routing.compile_routing's segments), -1 for none."""
    propensity: FloatArray
    """P(won) at the moment of arrival (`Funnel.in_market`), at the reference delay."""
    uniform: FloatArray
    leads: int
    events: int
    base_wins: int
    """Wins among the chunk's leads that are not MQLs: never touched, at the untouched odds of their P(won) at
    their most in-market moment."""


def mql_arrivals(spec: FunnelSpec, model: CompiledModel, funnel_seed: np.random.SeedSequence,
                 draw_seed: np.random.SeedSequence, start: pd.Timestamp, tier_codes: tuple[int, int],
                 speed: SpeedToLead | None = None) -> MQLArrivals:
    """Generate, score and reduce one chunk to its MQLs' arrays (events are dropped before returning).

    Args:
        spec: the chunk's funnel spec (n_leads = the chunk's size).
        model: the compiled scoring model.
        funnel_seed, draw_seed: the chunk's seeds (see chunk_seeds).
        start: the routing start (UTC midnight); arrivals are seconds after it.
        tier_codes: policy tier codes of (top-tier MQL, other MQL).
    """
    funnel = generate_funnel(spec, np.random.default_rng(funnel_seed))
    columns, draw = DrawnLeadColumns(funnel), funnel.event_draw  # codes from the draws, shared by both scorers
    n = len(columns)
    created_ns = columns.created_ns
    totals = score_totals(columns, draw.arrays(n), (spec.as_of.value - created_ns) / _DAY_NS, model)
    threshold = mql_thresholds_of_codes(columns, model)
    event_ns = spec.as_of.value + draw.seconds * 10**9
    running = running_scores_of_arrays(columns, lambda: created_ns, draw.lead, event_ns, draw.type_code,
                                       list(EVENT_TYPES), draw.value, model, start)
    clock = QueueClock(running, (created_ns - start.value) / 1e9, funnel.in_market,
                       float((spec.as_of - start) / pd.Timedelta(days=1)))
    entry = clock.entries(threshold, (totals.total >= threshold) & ~totals.suppressed(model))
    uniform = np.random.default_rng(draw_seed).random(n)
    rows, rest = np.flatnonzero(entry.mql), np.flatnonzero(~entry.mql)
    arrival, base = entry.arrival[rows], entry.propensity
    nurture = speed_adjusted_propensity(base[rest], np.full(rest.size, np.nan), np.zeros(rest.size, dtype=np.int64),
                                        np.zeros(rest.size, dtype=bool), speed or SpeedToLead())
    base_wins = int((uniform[rest] < nurture).sum())
    hot = entry.hot(float(model.tier_mins[-1]), totals.total)[rows]
    tier = np.where(hot, tier_codes[0], tier_codes[1]).astype(np.int64)
    segment = coded_vocabulary(*columns.codes("segment"), SEGMENTS)[rows]
    n_events = int(draw.lead.size)
    return MQLArrivals(arrival, tier, segment, base[rows], uniform[rows], n, n_events, base_wins)


_ChunkTask = tuple[FunnelSpec, np.random.SeedSequence, np.random.SeedSequence, pd.Timestamp, tuple[int, int],
                   SpeedToLead]
_worker_model: list[CompiledModel] = []
"""The model of a worker process, set once by _init_worker (forked, so it is never pickled)."""


def _init_worker(model: CompiledModel) -> None:
    _worker_model[:] = [model]


def _chunk_in_worker(task: _ChunkTask) -> MQLArrivals:
    spec, funnel_seed, draw_seed, start, tier_codes, speed = task
    return mql_arrivals(spec, _worker_model[0], funnel_seed, draw_seed, start, tier_codes, speed)


def _chunk_results(tasks: list[_ChunkTask], model: CompiledModel, workers: int) -> Iterator[MQLArrivals]:
    """Each chunk's reduction in chunk order, in this process or in `workers` forked processes."""
    if workers <= 1 or len(tasks) <= 1:
        for spec, funnel_seed, draw_seed, start, tier_codes, speed in tasks:
            yield mql_arrivals(spec, model, funnel_seed, draw_seed, start, tier_codes, speed)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=context, initializer=_init_worker,
                             initargs=(model,)) as pool:
        yield from pool.map(_chunk_in_worker, tasks)


def sized_team(mqls: int, start: pd.Timestamp, days: int, *, capacity: int = 20, utilisation: float = 0.85,
               ) -> tuple[Rep, ...]:
    """SDRs (9-17 UTC weekdays, `capacity` first touches a day) for `utilisation` of capacity by `mqls` over
    `days` days from `start`."""
    weekdays = max(1, sum((start.weekday() + d) % 7 < 5 for d in range(days)))
    return rep_team(max(1, math.ceil(mqls / weekdays / capacity / utilisation)), sdr_capacity=capacity)


def _peak_rss_mib(workers: int) -> float:
    """ru_maxrss of this process plus `workers` times the largest finished child's, in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if workers else 0
    return (own + workers * children) / 1024.0


def simulate_in_chunks(spec: FunnelSpec, model: CompiledModel, team: tuple[Rep, ...] | None = None,
                       policy: RoutingPolicy | None = None, seed: int = 0, chunk_leads: int = 250_000, *,
                       speed: SpeedToLead | None = None, tail_days: int = 14, workers: int = 1,
                       progress: Callable[[int, int], None] | None = None) -> ChunkedResult:
    """Simulate spec.n_leads leads x spec.history_days days in chunks of at most `chunk_leads` leads.

    Args:
        spec: the whole funnel; n_leads is split over chunks (n_accounts, if set, in proportion).
        model: compiled scoring model; MQL = its `mql` flag at as_of, top tier -> tier "A", else "B".
        team: reps for the whole funnel; None sizes SDRs to ~85% of capacity (see `sized_team`).
        policy: routing policy (default: tiers A and B to SDRs, no overflow).
        seed: root seed; chunk i draws from chunk_seeds(seed, n_chunks)[i].
        chunk_leads: most leads per chunk (peak memory scales with this, not with n_leads).
        speed: the speed-to-lead curve (default SpeedToLead()).
        tail_days: routing runs this many days past as_of so the last MQLs can be worked.
        workers: processes generating and scoring chunks (forked; 1 = this process). Results do not depend
            on it: each chunk has its own seed and chunks are combined in chunk order.
        progress: called with (chunks done, chunks in all) after each chunk.

    Returns:
        ChunkedResult totals.

    Raises:
        SettingsError: spec draws leads per day (leads_per_day, a peak-season volume), which chunks cannot split.
    """
    if spec.leads_per_day is not None or has_volume_season(spec) or chunk_leads < 1:
        raise SettingsError(
            f"simulate_in_chunks splits n_leads over chunks: needs leads_per_day=None and no peak-season volume "
            f"multiplier (got leads_per_day={spec.leads_per_day}, peak_volume_multiplier="
            f"{spec.peak_volume_multiplier}) and chunk_leads >= 1 (got {chunk_leads}); set n_leads instead")
    began = time.perf_counter()
    policy = policy or RoutingPolicy(tier_roles={"A": ("sdr",), "B": ("sdr",)}, overflow_roles=())
    speed = speed or SpeedToLead()
    sizes = chunk_sizes(spec.n_leads, chunk_leads)
    seeds = chunk_seeds(seed, len(sizes))
    start = (spec.as_of - pd.Timedelta(days=spec.history_days)).floor("D")
    days = float((spec.as_of - start) / pd.Timedelta(days=1)) + tail_days
    tier_codes = (policy.tier_order.index("A"), policy.tier_order.index("B"))
    tasks: list[_ChunkTask] = []
    for size, (funnel_seed, draw_seed) in zip(sizes, seeds, strict=True):
        accounts = None if spec.n_accounts is None else max(1, round(spec.n_accounts * size / spec.n_leads))
        tasks.append((dataclasses.replace(spec, n_leads=size, n_accounts=accounts), funnel_seed, draw_seed, start,
                      tier_codes, speed))
    parts: list[MQLArrivals] = []
    for part in _chunk_results(tasks, model, workers):
        parts.append(part)
        if progress is not None:
            progress(len(parts), len(sizes))
    arrival = np.concatenate([p.arrival for p in parts])
    tier = np.concatenate([p.tier for p in parts])
    segment = np.concatenate([p.segment for p in parts])
    base = np.concatenate([p.propensity for p in parts])
    uniform = np.concatenate([p.uniform for p in parts])
    crew = team if team is not None else sized_team(arrival.size, start, spec.history_days)
    plan = compile_routing(crew, policy, start, days)
    routed = route_arrays(plan, arrival, tier, segment)
    delay_h = np.where(routed.worked, routed.start - arrival, np.nan) / 3600.0
    speed_tier = np.array([speed.tier_order.index(t) for t in policy.tier_order])[tier]
    won = uniform < speed_adjusted_propensity(base, delay_h, speed_tier, routed.routed, speed)
    n_routed = int(routed.routed.sum())
    done = routed.routed & routed.worked
    leads = sum(p.leads for p in parts)
    return ChunkedResult(
        leads=leads, events=sum(p.events for p in parts), mqls=int(arrival.size), routed=n_routed,
        worked=int(done.sum()),
        sla_breach_rate=float(routed.sla_breached[routed.routed].mean()) if n_routed else math.nan,
        mean_queue_hours=float(delay_h[done].mean()) if done.any() else math.nan,
        wins=int(won.sum()) + sum(p.base_wins for p in parts), reps=len(crew), chunks=len(sizes),
        workers=max(1, min(workers, len(sizes))), seconds=time.perf_counter() - began,
        peak_rss_mib=_peak_rss_mib(workers if workers > 1 and len(sizes) > 1 else 0),
        lead_days=float(leads) * spec.history_days)
