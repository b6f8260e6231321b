"""Threshold x reps sweeps: one replication's metrics per (threshold, reps), their summary, the capacity-aware pick.

    grid = SweepGrid((load_scenario("scenarios/default.toml"),), compile_model(load_model(path)),
                     thresholds=(50, 60, 70), reps=(4, 8), replications=20, seed=7)
    results = sweep_results(grid)                 # one row per scenario x threshold x reps x replication
    summary = sweep_summary(results)              # mean, sd, 95% t interval per metric
    picks = recommended_thresholds(summary, grid.settings)

One task is (scenario, replication): its seed is SeedSequence(seed, spawn_key=(scenario, replication)), so
results never depend on execution order or grid size. The funnel is drawn and scored once, and so are the
running scores of every lead; each reps value compiles one routing plan; each threshold T routes its MQLs as a
live system would (`simulator.queue_entry`): every lead whose score reached T at some moment of the history
(its own events and its account's, account points included), at that moment and with its P(won) then (a lead
that crossed in month one and has decayed since was still routed then). Model top tier at that moment -> hot
tier "A", other MQLs -> warm tier "B", the rest to nurture. Speed to lead then sets won / lost from ONE uniform
per lead shared by every threshold and reps (common random numbers); a lead reaches opportunity when that
uniform is under its adjusted P(won) ** (the accepted + meeting + opportunity stage shares), so opportunities
contain wins.
EV = TP deal_value - FP fp_cost - FN fn_cost with TP = worked & won, FP = worked & not won, FN = not worked &
would have won at the base propensity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scoring.compiled import CompiledModel
from scoring.engine import score
from scoring.errors import SettingsError
from scoring.summary import EvaluationCosts
from simulator._queue import to_working
from simulator._sweep_team import sweep_team, t975, team_policy, team_windows, working_days_between
from simulator.capacity import rep_load
from simulator.reps import RoutingPolicy
from simulator.queue_entry import QueueClock
from simulator.routing import compile_routing, route_arrays, vocabulary_codes
from simulator.scenario import Scenario, scenario_funnel
from simulator.speed_to_lead import SpeedToLead, speed_adjusted_propensity

__all__ = ["KEY_COLUMNS", "Recommendation", "SweepGrid", "SweepSettings", "combined_results", "recommended_thresholds",
           "replication_results", "sweep_results", "sweep_summary", "task_seed"]

KEY_COLUMNS: tuple[str, ...] = ("scenario", "threshold", "reps", "replication")
"""The key of a results row; summary rows drop replication."""
_CLOCKS = ("working", "calendar")
_DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class SweepSettings:
    """Costs, routing and speed-to-lead behind every sweep cell, and the recommendation's limits."""

    costs: EvaluationCosts = field(default_factory=EvaluationCosts)
    """Deal value, false-positive and false-negative cost in dollars (DOMAIN: 10,000 / 500 / 20,000)."""
    policy: RoutingPolicy = field(default_factory=RoutingPolicy)
    """Routing of tiers "A" (hot: AE or SDR) and "B" (warm: SDR); each scenario's [team] sla_hours replace its
    SLAs (hot -> A, warm -> B; DOMAIN: hot 2 h, warm 24 h)."""
    speed: SpeedToLead = field(default_factory=SpeedToLead)
    max_breach_rate: float = 0.10
    """The recommended threshold's mean SLA breach rate may not exceed this share of routed leads."""
    sla_clock: str = "working"
    """Clock of the constrained breach rate: "working" (SLA hours count inside the team's working hours,
    as CRM business-hours SLAs do) or "calendar" (wall-clock hours, as `route` reports)."""
    tail_days: int = 14
    """Routing runs this many days past as_of so the last leads can still be worked."""

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 <= self.max_breach_rate <= 1.0:
            problems.append(f"max_breach_rate must be in [0, 1], got {self.max_breach_rate}")
        if self.sla_clock not in _CLOCKS:
            problems.append(f"sla_clock must be one of {list(_CLOCKS)}, got {self.sla_clock!r}")
        if self.tail_days < 0:
            problems.append(f"tail_days must be >= 0, got {self.tail_days}")
        missing = [t for t in ("A", "B") if t not in self.policy.tier_roles or t not in self.speed.tier_order]
        if missing:
            problems.append(f"policy and speed must route tiers 'A' (hot) and 'B' (warm); missing {missing}")
        if problems:
            raise SettingsError("SweepSettings: " + "; ".join(problems))

    @property
    def breach_column(self) -> str:
        """The results column the SLA constraint reads."""
        return "sla_breach_rate" if self.sla_clock == "working" else "sla_breach_rate_calendar"


@dataclass(frozen=True, eq=False)
class SweepGrid:
    """Scenarios x thresholds (points) x SDR head counts x replications, the model, a seed and settings."""

    scenarios: tuple[Scenario, ...]
    model: CompiledModel
    thresholds: tuple[float, ...]
    """MQL thresholds in points (the model's `mql`); per-segment thresholds move by the same number of points,
    as in the what-if (candidate: SMB 60, mid-market 75, enterprise 90 at mql 60)."""
    reps: tuple[int, ...]
    """SDR head counts; the scenario's AEs (team.ae_reps) take hot leads alongside them."""
    replications: int
    seed: int
    settings: SweepSettings = field(default_factory=SweepSettings)
    funnel_overrides: Mapping[str, Any] = field(default_factory=dict)
    """FunnelSpec fields replaced in every scenario (e.g. leads_per_day=5 for a quick run)."""

    def __post_init__(self) -> None:
        problems = []
        if not self.scenarios:
            problems.append("scenarios: give at least one")
        names = [s.name for s in self.scenarios]
        if len(set(names)) != len(names):
            problems.append(f"scenarios: names must be unique, got {names}")
        if not self.thresholds:
            problems.append("thresholds: give at least one")
        bad = [t for t in self.thresholds if not (math.isfinite(t) and 0 <= t <= 100)]
        if bad:
            problems.append(f"thresholds: must lie in 0..100 points, got {bad}")
        if len(set(self.thresholds)) != len(self.thresholds):
            problems.append(f"thresholds: repeated values in {list(self.thresholds)}")
        if not self.reps or any(int(r) != r or r < 1 for r in self.reps):
            problems.append(f"reps: needs whole SDR head counts >= 1, got {list(self.reps)}")
        if len(set(self.reps)) != len(self.reps):
            problems.append(f"reps: repeated values in {list(self.reps)}")
        if self.replications < 1:
            problems.append(f"replications: must be >= 1, got {self.replications}")
        if self.seed < 0:
            problems.append(f"seed: must be >= 0, got {self.seed}")
        if problems:
            raise SettingsError(f"sweep grid has {len(problems)} problem(s):\n" + "\n".join(f"  {p}" for p in problems))

    @property
    def tasks(self) -> list[tuple[int, int]]:
        """(scenario index, replication) per task, in results order."""
        return [(s, r) for s in range(len(self.scenarios)) for r in range(self.replications)]


def task_seed(seed: int, scenario: int, replication: int) -> np.random.SeedSequence:
    """The seed of one task: independent of the grid's size and of the order tasks run in."""
    return np.random.SeedSequence(seed, spawn_key=(scenario, replication))


def replication_results(grid: SweepGrid, scenario: int, replication: int) -> pd.DataFrame:
    """Metrics of one replication of one scenario, one row per (threshold, reps).

    Args:
        grid: the sweep.
        scenario: index into grid.scenarios.
        replication: 0-based replication number.

    Returns:
        KEY_COLUMNS then metric columns: volumes (leads, mqls, mqls_hot, mqls_warm, mqls_per_day,
        capacity_per_day, usable_capacity_per_day, rep_load), queue (routed, worked, never_worked_share,
        mean_queue_hours, sla_breach_rate[_hot|_warm] on the working clock and *_calendar on the wall
        clock), outcomes (wins, tp, fp, fn, expected_value, opportunities, pipeline) and won_rate_<band>;
        sorted by KEY_COLUMNS.
    """
    spec_scenario = grid.scenarios[scenario]
    settings, team = grid.settings, spec_scenario.team
    funnel_seed, draw_seed = task_seed(grid.seed, scenario, replication).spawn(2)
    funnel = scenario_funnel(spec_scenario, np.random.default_rng(funnel_seed), **dict(grid.funnel_overrides))
    spec = funnel.spec
    scores = score(funnel.leads, funnel.events, grid.model, spec.as_of)
    lead_ids = funnel.leads["lead_id"].to_numpy()
    uniform = np.random.default_rng(draw_seed).random(lead_ids.size)
    start = (spec.as_of - pd.Timedelta(days=spec.history_days)).floor("D")
    days = float((spec.as_of - start) / pd.Timedelta(days=1)) + settings.tail_days
    windows = team_windows(team, start, days)
    per_day = 1.0 / working_days_between(team, start, spec.history_days)
    total = scores["total"].to_numpy(dtype=np.float64)
    clock = QueueClock.of(funnel, grid.model, start)
    live = ~scores["suppressed"].to_numpy()
    offset = scores["mql_threshold"].to_numpy(dtype=np.float64) - grid.model.mql
    entries = {t: clock.entries(t + offset, live & (total >= t + offset), windows) for t in grid.thresholds}
    top_min = float(grid.model.tier_mins[-1])
    band = scores["band"].cat.codes.to_numpy()
    opportunity_share = sum(spec.stage_propensity_shares[s] for s in ("accepted", "meeting", "opportunity"))
    policy = team_policy(team, settings.policy)
    policy_codes = {t: policy.tier_order.index(t) for t in ("A", "B")}
    speed_codes = np.array([settings.speed.tier_order.index(t) for t in policy.tier_order])
    rows: list[dict[str, Any]] = []
    for reps in grid.reps:
        crew = sweep_team(team, reps, start)
        plan = compile_routing(crew, policy, start, days)
        segment = vocabulary_codes(funnel.leads["segment"], plan.segments)
        capacity = float(sum(r.daily_capacity for r in crew))
        ae_capacity = float(sum(r.daily_capacity for r in crew if r.role == "ae"))
        for threshold in grid.thresholds:
            entry = entries[threshold]
            mql, arrival, arrival_w, base = entry.mql, entry.arrival, entry.arrival_working, entry.propensity
            assert arrival_w is not None, "sweep entries come with the team's working clock"
            hot = entry.hot(top_min, total)
            tier = np.where(mql, np.where(hot, policy_codes["A"], policy_codes["B"]), -1)
            routed = route_arrays(plan, arrival, tier, segment)
            delay = np.where(routed.worked, routed.start - arrival, np.nan)
            adjusted = speed_adjusted_propensity(base, delay / 3600.0, speed_codes[np.maximum(tier, 0)],
                                                 routed.routed, settings.speed)
            won = uniform < adjusted
            would_win = uniform < base
            opportunity = uniform < adjusted ** opportunity_share
            sla = plan.sla_seconds[np.maximum(tier, 0)]
            start_w = to_working(windows, np.nan_to_num(routed.start, nan=0.0))
            breached_w = routed.routed & np.where(routed.worked, start_w - arrival_w > sla,
                                                  windows.total - arrival_w > sla)
            is_hot = tier == policy_codes["A"]
            row: dict[str, Any] = {"scenario": spec_scenario.name, "threshold": float(threshold),
                                   "reps": int(reps), "replication": int(replication)}
            mqls, hot_mqls = int(mql.sum()), int(hot.sum())
            row.update(leads=int(lead_ids.size), mqls=mqls, mqls_hot=hot_mqls, mqls_warm=mqls - hot_mqls,
                       mqls_per_day=mqls * per_day, capacity_per_day=capacity,
                       usable_capacity_per_day=capacity - ae_capacity + min(ae_capacity, hot_mqls * per_day),
                       rep_load=rep_load(mqls / spec.history_days * _DAYS_PER_MONTH, reps, team.capacity_factor))
            row.update(_queue_metrics(routed.routed, routed.worked, delay, is_hot, breached_w,
                                      routed.sla_breached))
            row.update(_outcome_metrics(routed.worked, won, would_win, opportunity, settings.costs))
            for code, name in enumerate(grid.model.band_names):
                in_band = band == code
                row[f"won_rate_{name}"] = float(won[in_band].mean()) if in_band.any() else math.nan
            rows.append(row)
    return combined_results([pd.DataFrame(rows)])


def _share(flags: np.ndarray, among: np.ndarray) -> float:
    return float(flags[among].mean()) if among.any() else math.nan


def _queue_metrics(routed: np.ndarray, worked: np.ndarray, delay: np.ndarray, hot: np.ndarray,
                   breached: np.ndarray, breached_calendar: np.ndarray) -> dict[str, float]:
    """Routed and worked counts, never-worked share, mean queue hours and SLA breach rates on both clocks."""
    warm = routed & ~hot
    hot = routed & hot
    done = routed & worked
    return {
        "routed": int(routed.sum()), "worked": int(done.sum()),
        "never_worked_share": _share(~worked, routed),
        "mean_queue_hours": float(delay[done].mean() / 3600.0) if done.any() else math.nan,
        "sla_breach_rate": _share(breached, routed), "sla_breach_rate_hot": _share(breached, hot),
        "sla_breach_rate_warm": _share(breached, warm),
        "sla_breach_rate_calendar": _share(breached_calendar, routed),
        "sla_breach_rate_calendar_hot": _share(breached_calendar, hot),
        "sla_breach_rate_calendar_warm": _share(breached_calendar, warm),
    }


def _outcome_metrics(worked: np.ndarray, won: np.ndarray, would_win: np.ndarray, opportunity: np.ndarray,
                     costs: EvaluationCosts) -> dict[str, float]:
    """Wins, the confusion counts behind EV (dollars), and pipeline (worked leads reaching opportunity)."""
    tp = int((worked & won).sum())
    fp = int((worked & ~won).sum())
    fn = int((~worked & would_win).sum())
    opportunities = int((worked & opportunity).sum())
    return {
        "wins": int(won.sum()), "tp": tp, "fp": fp, "fn": fn,
        "expected_value": tp * costs.deal_value - fp * costs.fp_cost - fn * costs.fn_cost,
        "opportunities": opportunities, "pipeline": opportunities * costs.deal_value,
    }


def combined_results(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Task frames as one results frame sorted by KEY_COLUMNS (the same whatever order tasks finished in)."""
    results = pd.concat(list(frames), ignore_index=True)
    return results.sort_values(list(KEY_COLUMNS), kind="stable").reset_index(drop=True)


def sweep_results(grid: SweepGrid, progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Every task in this process: KEY_COLUMNS + metrics, one row per scenario x threshold x reps x replication.

    Args:
        grid: the sweep.
        progress: called with (tasks done, tasks in all) after each task.
    """
    tasks = grid.tasks
    frames = []
    for done, (scenario, replication) in enumerate(tasks, start=1):
        frames.append(replication_results(grid, scenario, replication))
        if progress is not None:
            progress(done, len(tasks))
    return combined_results(frames)


def sweep_summary(results: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd and 95% t interval of each metric across replications, in long form.

    Args:
        results: from `sweep_results`.

    Returns:
        Columns scenario, threshold, reps, metric, n (replications with a value), mean, sd, ci_low,
        ci_high; one row per (scenario, threshold, reps, metric). NaN cells (e.g. no hot lead routed)
        are left out of n.
    """
    keys = [k for k in KEY_COLUMNS if k != "replication"]
    metrics = [c for c in results.columns if c not in KEY_COLUMNS]
    long = results.melt(id_vars=keys, value_vars=metrics, var_name="metric", value_name="value")
    long["value"] = long["value"].astype(np.float64)
    grouped = long.groupby([*keys, "metric"], sort=False)["value"]
    out = grouped.agg(n="count", mean="mean", sd="std").reset_index()
    half = out["n"].map(lambda n: t975(int(n) - 1)) * out["sd"] / np.sqrt(out["n"].clip(lower=1))
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    order = {m: i for i, m in enumerate(metrics)}
    out = out.sort_values([*keys, "metric"], key=lambda s: s.map(order) if s.name == "metric" else s,
                          kind="stable")
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class Recommendation:
    """The capacity-aware threshold of one (scenario, reps), the EV-best one, and why they differ."""

    scenario: str
    reps: int
    threshold: float | None
    """Highest mean EV among thresholds within the SLA limit and capacity; None if no threshold is."""
    expected_value: float | None
    unconstrained_threshold: float
    unconstrained_expected_value: float
    reason: str


def recommended_thresholds(summary: pd.DataFrame, settings: SweepSettings) -> list[Recommendation]:
    """Per (scenario, reps): the threshold with the highest mean EV whose mean SLA breach rate (settings'
    clock) is at most settings.max_breach_rate and whose MQLs per working day fit the usable capacity.

    Usable capacity is the SDRs' first touches a day plus the AEs' up to the hot MQLs a day (AEs only
    take hot leads). Ties go to the higher threshold (less rep time for the same value).
    """
    means = summary.pivot_table(index=["scenario", "reps", "threshold"], columns="metric", values="mean",
                                sort=False, dropna=False)
    out = []
    for (scenario, reps), table in means.groupby(level=["scenario", "reps"], sort=False):
        table = table.droplevel(["scenario", "reps"]).sort_index()
        ev = table["expected_value"]
        breach = table[settings.breach_column].fillna(0.0)
        over_sla = breach > settings.max_breach_rate
        over_capacity = table["mqls_per_day"] > table["usable_capacity_per_day"] + 1e-9
        feasible = ev[~over_sla & ~over_capacity]
        free_best = float(ev[ev == ev.max()].index.max())
        pick = float(feasible[feasible == feasible.max()].index.max()) if len(feasible) else None
        reason = _reason(pick, free_best, table, over_sla, over_capacity, settings)
        out.append(Recommendation(str(scenario), int(reps), pick, None if pick is None else float(ev[pick]),
                                  free_best, float(ev[free_best]), reason))
    return out


def _reason(pick: float | None, free_best: float, table: pd.DataFrame, over_sla: pd.Series,
            over_capacity: pd.Series, settings: SweepSettings) -> str:
    """One sentence on why the pick is what it is, with the numbers that decided it."""
    limit = f"{settings.max_breach_rate:.0%} SLA breaches ({settings.sla_clock} clock)"
    ev = table["expected_value"]
    if pick is None:
        least = float(table[settings.breach_column].fillna(0.0).idxmin())
        return (f"no threshold stays within {limit} and capacity; the lowest breach rate is at {least:g} "
                f"({table.at[least, settings.breach_column]:.1%}, {table.at[least, 'mqls_per_day']:.1f} MQLs/day "
                f"vs {table.at[least, 'usable_capacity_per_day']:.1f} usable capacity/day): add reps or widen the SLA")
    head = f"{pick:g} has the highest mean EV (${ev[pick]:,.0f}) within {limit} and capacity"
    if len(table) > 1 and pick in (table.index.min(), table.index.max()):
        side = "lowest" if pick == table.index.min() else "highest"
        head += f" ({pick:g} is the {side} threshold swept: widen the thresholds to see past it)"
    if pick == free_best:
        return head + "; it is also the unconstrained EV-best threshold"
    why = []
    if over_capacity[free_best]:
        why.append(f"{table.at[free_best, 'mqls_per_day']:.1f} MQLs/day exceed "
                   f"{table.at[free_best, 'usable_capacity_per_day']:.1f} usable capacity/day")
    if over_sla[free_best]:
        why.append(f"it breaches the SLA for {table.at[free_best, settings.breach_column]:.1%} of routed leads")
    return head + f"; the EV-best threshold {free_best:g} (${ev[free_best]:,.0f}) is out of reach: " + " and ".join(why)
