"""What-if of one funnel: thresholds, decay, inactivity, team and volume in -> lift, load, SLA breaches and EV out.

    bench = WhatIfBench(load_scenario("scenarios/default.toml"), load_model("models/candidate.toml"))
    result = bench.what_if(bench.defaults())                      # the files as they are
    result = bench.what_if(dataclasses.replace(bench.defaults(), mql=70, sdr_reps=6))

The JupyterLab what-if notebook calls `what_if` on every widget change, so one call must answer in well
under two seconds at the scenario's own size. The funnel (volume, segment mix, seed) is drawn once and
remembered; a threshold, decay, inactivity or team change re-scores and re-routes that same funnel.

Semantics, shared with `simulator.sweep` where it can be:

- MQL threshold: the model's MQL threshold; its per-segment thresholds move by the same number of points.
  A lead enters the sales queue when its score first reaches its segment's threshold (account points
  included), at that moment and with its P(won) then (`simulator.queue_entry`, as sweeps route).
- SQL threshold: an MQL whose score was at or above it when it entered the queue is hot (routing tier "A":
  AE or SDR within the scenario's hot SLA, 2 h by default); other MQLs are warm (tier "B": SDR within the warm
  SLA, 24 h); the rest go to nurture.
- Decay half-life: the behaviour track's default half-life; actions with their own half-life keep their
  ratio to it (candidate: demo 14 / default 21 days stays 2:3).
- Capacity factor: rep_load = leads x factor / reps (DOMAIN section 6), so each rep's daily first touches
  are divided by the factor.
- EV per threshold is the sweep's: worked and won leads (speed to lead applied) x deal value, minus
  worked-not-won x FP cost, minus not-worked-would-have-won x FN cost; the recommended threshold is
  `recommended_thresholds` (highest EV within the SLA-breach limit and usable capacity).
"""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring.compiled import compile_model
from scoring.conversion import lift_curve
from scoring.engine import score
from scoring.errors import SettingsError
from scoring.model import ModelSpec
from scoring.model_checks import model_problems
from scoring.thresholds import best_threshold, expected_value_curve
from simulator._queue import to_working
from simulator._sweep_team import sweep_team, team_policy, team_windows, working_days_between
from simulator.funnel import Funnel
from simulator.routing import compile_routing, route_arrays, vocabulary_codes
from simulator.queue_entry import QueueClock, QueueEntries
from simulator.scenario import Scenario, scenario_funnel
from simulator.speed_to_lead import speed_adjusted_propensity
from simulator.sweep import (
    Recommendation,
    SweepSettings,
    _outcome_metrics,
    _queue_metrics,
    recommended_thresholds,
    sweep_summary,
)

__all__ = ["LIFT_STAGES", "WhatIf", "WhatIfBench", "WhatIfSettings", "what_if_model"]

LIFT_STAGES: tuple[str, ...] = ("opportunity", "won")
"""Stages the lift curves are drawn for."""
_EV_STEP = 5.0
_MOTIONS = ("hot", "warm", "nurture")


@dataclass(frozen=True)
class WhatIfSettings:
    """Everything a what-if can change; `WhatIfBench.defaults()` reads them off the model and scenario files."""

    mql: float = 60.0
    """MQL threshold (points); per-segment thresholds move with it."""
    sql: float = 75.0
    """SQL threshold (points): MQLs at or above it are hot."""
    half_life_days: float | None = 21.0
    """Behaviour decay half-life (days); None keeps the model's decay as written."""
    inactivity: tuple[tuple[float, float], ...] = ((30.0, 0.8), (60.0, 0.5), (90.0, 0.0))
    """Inactivity steps as (days without an event, multiplier on the behaviour track); () for none."""
    sdr_reps: int = 4
    ae_reps: int = 6
    capacity_factor: float = 1.0
    """rep_load = leads x factor / reps: each rep's first touches a day are divided by it."""
    leads_per_day: float = 66.0
    """Inbound leads a calendar day."""
    segment_mix: tuple[tuple[str, float], ...] = (("smb", 0.6), ("mid_market", 0.3), ("enterprise", 0.1))
    """Accounts by segment (weights, normalised)."""
    seed: int = 7
    max_breach_rate: float = 0.10
    """The recommended threshold's SLA breach rate (working clock) may not exceed this share."""

    def __post_init__(self) -> None:
        problems = []
        for name in ("mql", "sql"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value <= 100):
                problems.append(f"{name}: must lie in 0..100 points, got {value}")
        if self.half_life_days is not None and not self.half_life_days > 0:
            problems.append(f"half_life_days: must be > 0 (or None to keep the model's), got {self.half_life_days}")
        days = [d for d, _ in self.inactivity]
        if any(not d > 0 for d in days) or days != sorted(set(days)):
            problems.append(f"inactivity: days must be > 0 and rising, got {days}")
        if any(not 0 <= m <= 1 for _, m in self.inactivity):
            problems.append(f"inactivity: multipliers must lie in 0..1, got {[m for _, m in self.inactivity]}")
        if self.sdr_reps < 1 or self.ae_reps < 1:
            problems.append(f"sdr_reps, ae_reps: need at least 1 each, got {self.sdr_reps}, {self.ae_reps}")
        if not self.capacity_factor > 0:
            problems.append(f"capacity_factor: must be > 0, got {self.capacity_factor}")
        if not self.leads_per_day > 0:
            problems.append(f"leads_per_day: must be > 0, got {self.leads_per_day}")
        weights = [w for _, w in self.segment_mix]
        if not weights or any(w < 0 for w in weights) or sum(weights) <= 0:
            problems.append("segment_mix: needs non-negative weights with a positive sum, "
                            f"got {dict(self.segment_mix)}")
        if self.seed < 0:
            problems.append(f"seed: must be >= 0, got {self.seed}")
        if not 0 <= self.max_breach_rate <= 1:
            problems.append(f"max_breach_rate: must lie in 0..1, got {self.max_breach_rate}")
        if problems:
            raise SettingsError("WhatIfSettings: " + "; ".join(problems))


@dataclass(frozen=True, eq=False)
class WhatIf:
    """One what-if's answer: frames for the four panels and the numbers behind the readout."""

    settings: WhatIfSettings
    scores: pd.DataFrame
    """`scoring.score` output of the what-if model on the funnel."""
    lift: pd.DataFrame
    """Columns model ("what-if" / "as in file"), stage, band, leads, converted, rate, ci_low, ci_high, lift."""
    volume: pd.DataFrame
    """Columns motion (hot, warm, nurture), leads_per_day (per working day), capacity_per_day (None for nurture)."""
    sla: pd.DataFrame
    """Columns motion (hot, warm, all), routed, worked, breach_rate (working clock), mean_queue_hours."""
    curve: pd.DataFrame
    """One row per MQL threshold: threshold, mqls_per_day, usable_capacity_per_day, sla_breach_rate,
    expected_value (routed, speed to lead), static_expected_value (every MQL worked at once)."""
    recommendation: Recommendation
    """`recommended_thresholds` on the curve: the capacity-aware pick and why."""
    static_best: float
    """Threshold with the highest static EV (`scoring.best_threshold`)."""
    leads: int
    mqls: int
    hot: int

    def readout(self) -> str:
        """One line of the numbers a reader checks first (also what the browser test watches)."""
        s, hot = self.settings, self.sla.set_index("motion")
        pick = "none" if self.recommendation.threshold is None else f"{self.recommendation.threshold:g}"
        return (f"MQL {s.mql:g} / SQL {s.sql:g}: {self.mqls:,} MQLs of {self.leads:,} leads ({self.hot:,} hot); "
                f"SLA breaches hot {_pct(hot.at['hot', 'breach_rate'])}, warm {_pct(hot.at['warm', 'breach_rate'])}; "
                f"recommended MQL threshold {pick} (static EV best {self.static_best:g})")


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1%}"


def what_if_model(spec: ModelSpec, mql: float, sql: float, half_life_days: float | None,
                  inactivity: tuple[tuple[float, float], ...]) -> ModelSpec:
    """The model with thresholds, behaviour decay and inactivity steps replaced (validated like a file).

    Per-segment MQL thresholds move by (mql - the model's mql), clipped to 0..100 points; per-action
    exponential half-lives keep their ratio to the section's; a model without exponential decay gets one.

    Raises:
        SettingsError: when the changed model breaks a model-file rule (e.g. a segment threshold > 100).
    """
    data: dict[str, Any] = spec.model_dump(by_alias=True, exclude_none=True)
    shift = mql - spec.thresholds.mql
    thresholds = data["thresholds"]
    thresholds.update(mql=float(mql), sql=float(sql))
    thresholds["segments"] = {k: float(min(max(v + shift, 0.0), 100.0)) for k, v in spec.thresholds.segments.items()}
    behaviour = data["behaviour"]
    if half_life_days is not None:
        old = spec.behaviour.decay
        ratio = half_life_days / old.half_life_days if old.kind == "exponential" else 1.0
        behaviour["decay"] = {"kind": "exponential", "half_life_days": float(half_life_days)}
        for action in behaviour["actions"]:
            own = action.get("decay")
            if own is not None and own["kind"] == "exponential":
                action["decay"] = {"kind": "exponential", "half_life_days": own["half_life_days"] * ratio}
    behaviour["inactivity"]["steps"] = [{"after_days": float(d), "multiplier": float(m)} for d, m in inactivity]
    try:
        changed = ModelSpec.model_validate(data)
    except ValueError as exc:
        raise SettingsError(f"what-if model is not valid: {exc}") from None
    problems = model_problems(changed)
    if problems:
        raise SettingsError("what-if model: " + "; ".join(".".join(map(str, loc)) + f": {m}" for loc, m in problems))
    return changed


class WhatIfBench:
    """A scenario and a model ready for what-ifs; remembers the last few funnels drawn.

    Funnels are keyed by (leads_per_day, segment_mix, seed): the same key gives the same funnel, so
    a threshold change compares like with like. The model as written is scored once per funnel too.
    """

    def __init__(self, scenario: Scenario, model: ModelSpec, sweep: SweepSettings | None = None,
                 cache_size: int = 4) -> None:
        if scenario.arrivals is not None:
            raise SettingsError(f"scenario {scenario.name!r} has given arrivals; the what-if needs drawn ones "
                                "(arrivals process 'poisson' or 'uniform')")
        self.scenario = scenario
        self.model = model
        self.sweep = sweep or SweepSettings()
        self._compiled_file_model = compile_model(model)
        self._cache_size = cache_size
        self._funnels: OrderedDict[tuple[Any, ...], tuple[Funnel, pd.DataFrame, np.ndarray]] = OrderedDict()

    def defaults(self) -> WhatIfSettings:
        """The files' settings: the model's thresholds, decay and inactivity; the scenario's team and volume."""
        spec, team, model = self.scenario.funnel, self.scenario.team, self.model
        decay = model.behaviour.decay
        top = model.tiers[0].min_score if model.tiers else 75.0
        per_day = spec.leads_per_day if spec.leads_per_day is not None else spec.n_leads / spec.history_days
        return WhatIfSettings(
            mql=model.thresholds.mql, sql=model.thresholds.sql if model.thresholds.sql is not None else top,
            half_life_days=decay.half_life_days if decay.kind == "exponential" else None,
            inactivity=tuple((s.after_days, s.multiplier) for s in model.behaviour.inactivity.steps),
            sdr_reps=team.sdr_reps, ae_reps=team.ae_reps, capacity_factor=team.capacity_factor,
            leads_per_day=float(per_day), segment_mix=tuple((k, float(v)) for k, v in spec.segment_mix.items()),
            max_breach_rate=self.sweep.max_breach_rate)

    def funnel(self, settings: WhatIfSettings) -> Funnel:
        """The funnel of the settings' volume, segment mix and seed (drawn once, then remembered)."""
        return self._drawn(settings)[0]

    def _drawn(self, settings: WhatIfSettings) -> tuple[Funnel, pd.DataFrame, np.ndarray]:
        """Funnel, scores of the model as written, and one uniform per lead for the won/lost draws."""
        key = (settings.leads_per_day, settings.segment_mix, settings.seed)
        if key in self._funnels:
            self._funnels.move_to_end(key)
            return self._funnels[key]
        funnel_seed, draw_seed = np.random.SeedSequence(settings.seed).spawn(2)
        funnel = scenario_funnel(self.scenario, np.random.default_rng(funnel_seed),
                                 leads_per_day=settings.leads_per_day, segment_mix=dict(settings.segment_mix))
        file_scores = score(funnel.leads, funnel.events, self._compiled_file_model, funnel.spec.as_of)
        uniform = np.random.default_rng(draw_seed).random(len(funnel.leads))
        self._funnels[key] = (funnel, file_scores, uniform)
        while len(self._funnels) > self._cache_size:
            self._funnels.popitem(last=False)
        return self._funnels[key]

    def what_if(self, settings: WhatIfSettings) -> WhatIf:
        """Re-score, re-route and re-evaluate the (remembered) funnel under `settings`.

        Returns:
            The WhatIf: lift by band (what-if and as in file), volume per motion against capacity,
            SLA breaches, the EV curve by MQL threshold and the recommended threshold.

        Raises:
            SettingsError: when the settings make an invalid model.
        """
        funnel, file_scores, uniform = self._drawn(settings)
        model = what_if_model(self.model, settings.mql, settings.sql, settings.half_life_days, settings.inactivity)
        compiled = compile_model(model)
        scores = score(funnel.leads, funnel.events, compiled, funnel.spec.as_of)
        lift = pd.concat([_lift(scores, funnel.outcomes, "what-if"), _lift(file_scores, funnel.outcomes, "as in file")],
                         ignore_index=True)
        routing = _Routing(self.scenario, settings, funnel, self.sweep)
        offset = scores["mql_threshold"].to_numpy(dtype=np.float64) - settings.mql
        total = scores["total"].to_numpy(dtype=np.float64)
        live = ~scores["suppressed"].to_numpy()
        cuts = np.union1d(np.arange(0.0, 100.0 + _EV_STEP / 2, _EV_STEP), [settings.mql])
        clock = QueueClock.of(funnel, compiled, routing.start)
        rows = [routing.row(float(t), clock.entries(t + offset, live & (total >= t + offset), routing.windows),
                            total, uniform) for t in cuts]
        results = pd.DataFrame(rows)
        static = expected_value_curve(scores.assign(total=total - offset), funnel.outcomes, cuts,
                                      self.sweep.costs.deal_value, self.sweep.costs.fp_cost, self.sweep.costs.fn_cost)
        results["static_expected_value"] = static["expected_value"].to_numpy()
        sweep = dataclasses.replace(self.sweep, max_breach_rate=settings.max_breach_rate)
        pick = recommended_thresholds(sweep_summary(results.drop(columns="static_expected_value")), sweep)[0]
        current = results.loc[results["threshold"] == settings.mql].iloc[0]
        curve = results[["threshold", "mqls_per_day", "usable_capacity_per_day", sweep.breach_column,
                         "expected_value", "static_expected_value"]].rename(
            columns={sweep.breach_column: "sla_breach_rate"})
        return WhatIf(settings=settings, scores=scores, lift=lift, volume=routing.volume(current),
                      sla=routing.sla(current), curve=curve.reset_index(drop=True), recommendation=pick,
                      static_best=best_threshold(static), leads=len(scores), mqls=int(current["mqls"]),
                      hot=int(current["mqls_hot"]))


def _lift(scores: pd.DataFrame, outcomes: pd.DataFrame, model: str) -> pd.DataFrame:
    """lift_curve of each LIFT_STAGES stage, stacked, with model and stage columns first."""
    frames = [lift_curve(scores, outcomes, stage).assign(stage=stage) for stage in LIFT_STAGES]
    out = pd.concat(frames, ignore_index=True).assign(model=model)
    out["band"] = out["band"].astype(str)
    return out[["model", "stage", "band", "leads", "converted", "rate", "ci_low", "ci_high", "lift"]]


class _Routing:
    """The scenario's team at the settings' head counts and capacity factor, compiled once per what-if."""

    def __init__(self, scenario: Scenario, settings: WhatIfSettings, funnel: Funnel, sweep: SweepSettings) -> None:
        spec, factor = funnel.spec, settings.capacity_factor
        team = dataclasses.replace(scenario.team, ae_reps=settings.ae_reps, capacity_factor=factor,
                                   sdr_daily_capacity=scenario.team.sdr_daily_capacity / factor,
                                   ae_daily_capacity=scenario.team.ae_daily_capacity / factor)
        self.sweep, self.reps, self.spec, self.sql = sweep, settings.sdr_reps, spec, settings.sql
        start = (spec.as_of - pd.Timedelta(days=spec.history_days)).floor("D")
        days = float((spec.as_of - start) / pd.Timedelta(days=1)) + sweep.tail_days
        crew = sweep_team(team, settings.sdr_reps, start)
        policy = team_policy(team, sweep.policy)
        self.plan = compile_routing(crew, policy, start, days)
        self.segment = vocabulary_codes(funnel.leads["segment"], self.plan.segments)
        self.start = start
        self.windows = team_windows(team, start, days)
        self.per_day = 1.0 / working_days_between(team, start, spec.history_days)
        self.capacity = float(sum(r.daily_capacity for r in crew))
        self.ae_capacity = float(sum(r.daily_capacity for r in crew if r.role == "ae"))
        self.opportunity_share = sum(spec.stage_propensity_shares[s] for s in ("accepted", "meeting", "opportunity"))
        self.codes = {t: policy.tier_order.index(t) for t in ("A", "B")}
        self.speed_codes = np.array([sweep.speed.tier_order.index(t) for t in policy.tier_order])

    def row(self, threshold: float, entry: QueueEntries, total: np.ndarray, uniform: np.ndarray) -> dict[str, Any]:
        """The sweep's metrics of one MQL threshold: volumes, queue, SLA breaches, outcomes and EV."""
        mql, arrival, base, arrival_w = entry.mql, entry.arrival, entry.propensity, entry.arrival_working
        assert arrival_w is not None, "what-if entries come with the team's working clock"
        hot = entry.hot(self.sql, total)
        tier = np.where(mql, np.where(hot, self.codes["A"], self.codes["B"]), -1)
        routed = route_arrays(self.plan, arrival, tier, self.segment)
        delay = np.where(routed.worked, routed.start - arrival, np.nan)
        adjusted = speed_adjusted_propensity(base, delay / 3600.0, self.speed_codes[np.maximum(tier, 0)],
                                             routed.routed, self.sweep.speed)
        won = uniform < adjusted
        sla = self.plan.sla_seconds[np.maximum(tier, 0)]
        start_w = to_working(self.windows, np.nan_to_num(routed.start, nan=0.0))
        breached_w = routed.routed & np.where(routed.worked, start_w - arrival_w > sla,
                                              self.windows.total - arrival_w > sla)
        mqls, hot_mqls = int(mql.sum()), int(hot.sum())
        row: dict[str, Any] = {"scenario": "what-if", "threshold": threshold, "reps": self.reps, "replication": 0,
                               "mqls": mqls, "mqls_hot": hot_mqls, "mqls_per_day": mqls * self.per_day,
                               "hot_per_day": hot_mqls * self.per_day,
                               "warm_per_day": (mqls - hot_mqls) * self.per_day,
                               "nurture_per_day": (mql.size - mqls) * self.per_day,
                               "capacity_per_day": self.capacity, "ae_capacity_per_day": self.ae_capacity,
                               "usable_capacity_per_day": self.capacity - self.ae_capacity
                               + min(self.ae_capacity, hot_mqls * self.per_day)}
        row.update(_queue_metrics(routed.routed, routed.worked, delay, tier == self.codes["A"], breached_w,
                                  routed.sla_breached))
        row.update(_outcome_metrics(routed.worked, won, uniform < base, uniform < adjusted ** self.opportunity_share,
                                    self.sweep.costs))
        row["routed_hot"] = int((routed.routed & hot).sum())
        row["routed_warm"] = int((routed.routed & ~hot).sum())
        row["worked_hot"] = int((routed.worked & hot).sum())
        row["worked_warm"] = int((routed.worked & mql & ~hot).sum())
        for motion, among in (("hot", hot), ("warm", mql & ~hot)):
            done = routed.worked & among
            row[f"mean_queue_hours_{motion}"] = float(delay[done].mean() / 3600.0) if done.any() else math.nan
        return row

    def volume(self, row: Mapping[str, Any]) -> pd.DataFrame:
        """Leads per working day by motion against capacity: hot vs AEs + SDRs, warm vs SDRs."""
        sdr = row["capacity_per_day"] - row["ae_capacity_per_day"]
        return pd.DataFrame({"motion": list(_MOTIONS),
                             "leads_per_day": [row["hot_per_day"], row["warm_per_day"], row["nurture_per_day"]],
                             "capacity_per_day": [row["capacity_per_day"], sdr, math.nan]})

    def sla(self, row: Mapping[str, Any]) -> pd.DataFrame:
        """SLA breach rate (working clock) and routed / worked counts per motion and for all routed leads."""
        return pd.DataFrame({
            "motion": ["hot", "warm", "all"],
            "routed": [row["routed_hot"], row["routed_warm"], row["routed"]],
            "worked": [row["worked_hot"], row["worked_warm"], row["worked"]],
            "breach_rate": [row["sla_breach_rate_hot"], row["sla_breach_rate_warm"], row["sla_breach_rate"]],
            "mean_queue_hours": [row["mean_queue_hours_hot"], row["mean_queue_hours_warm"], row["mean_queue_hours"]],
        })
