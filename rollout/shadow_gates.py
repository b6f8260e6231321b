"""Go / no-go gates of a shadow run, as data: which checks, against which thresholds (DOMAIN.md sections 4-7).

A settings file (TOML, validated by pydantic) holds the gates, the team's capacity per motion and the
tier -> motion routing; every number has a DOMAIN default and can be changed:

    [[gates]]
    name = "A converts 3x C"
    kind = "tier_ratio"          # capacity | top_band_lift | tier_ratio | gap | data_quality | drift
    threshold = 3.0
    stage = "accepted"
    high = "A"
    low = "C"

    [capacity.hot]
    reps = 6
    leads_per_rep_per_day = 2.5

Gates read a `GateEvidence` (frames computed from the run by rollout._shadow_report) and return one row
each: value, threshold, status ("pass", "fail", "insufficient": the sample cannot decide it) and a
reason. The verdict is GO when every required gate passes; an insufficient sample is not a pass.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypedDict

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scoring.columns import FUNNEL_STAGES
from scoring.conversion import GapTest
from scoring.errors import ConfigFileError, ModelProblem
from scoring.shadow import MOTIONS, RoutingMap
from scoring.shadow_load import MotionCapacity
from scoring.shadow_outcomes import two_proportion_test
from simulator.scenario import TeamSpec
from simulator.shadow_replay import team_capacity

__all__ = [
    "GATE_KINDS",
    "GateSpec",
    "CapacitySpec",
    "ShadowSettings",
    "GateEvidence",
    "GateTable",
    "GateRecord",
    "default_settings",
    "load_settings",
    "parse_settings",
    "evaluate_gates",
    "threshold_text",
    "SettingsFileError",
]

GateKind = Literal["capacity", "top_band_lift", "tier_ratio", "gap", "data_quality", "drift"]
GATE_KINDS: tuple[str, ...] = ("capacity", "top_band_lift", "tier_ratio", "gap", "data_quality", "drift")
_AT_LEAST = {"top_band_lift", "tier_ratio", "gap"}
"""Kinds whose value must reach the threshold; the others must stay at or under it."""


class GateSpec(BaseModel):
    """One gate: a kind of check on the challenger, its threshold and the options of that kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: GateKind
    threshold: float
    required: bool = True
    """A failing gate that is not required is reported as a warning and does not block GO."""
    motion: str = "hot"
    """capacity: the motion whose new work per day is set against its reps' capacity."""
    statistic: Literal["max", "mean"] = "max"
    """capacity: utilisation over the window's days (max: every day must fit); drift: PSI statistic."""
    stage: str = "accepted"
    """top_band_lift, tier_ratio: the stage counted as converted (a 14-day window mostly sees 'accepted')."""
    high: str = "A"
    low: str = "C"
    """tier_ratio: the challenger's tiers compared (DOMAIN: A converts 3-5x C)."""
    min_leads: int = Field(default=30, ge=1)
    """top_band_lift, tier_ratio: fewer leads in a group than this is an insufficient sample."""
    n: int = Field(default=50, ge=1)
    min_closed: int = Field(default=10, ge=1)
    """gap: the last n won and n lost leads are compared; fewer than min_closed on a side is insufficient."""

    @field_validator("threshold")
    @classmethod
    def _threshold_is_a_number(cls, value: float) -> float:
        if math.isnan(value):
            raise ValueError("threshold is nan, which fails every comparison; give a number")
        return value

    @model_validator(mode="after")
    def _known_stage(self) -> GateSpec:
        if self.stage not in FUNNEL_STAGES:
            raise ValueError(f"stage {self.stage!r} is not one of {list(FUNNEL_STAGES)}")
        if self.motion not in MOTIONS:
            raise ValueError(f"motion {self.motion!r} is not one of {list(MOTIONS)}")
        return self


class CapacitySpec(BaseModel):
    """Who works one motion: reps and leads per rep per calendar day, and the DOMAIN load factor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reps: int = Field(ge=1)
    leads_per_rep_per_day: float = Field(gt=0)
    factor: float = Field(default=1.0, gt=0)


class SettingsFileError(ConfigFileError):
    """A shadow settings file (gates, capacity, routing) cannot be used; names every problem."""

    kind = "shadow settings file"


def _default_gates() -> tuple[GateSpec, ...]:
    return (
        GateSpec(name="challenger's hot-tier volume fits capacity", kind="capacity", motion="hot", threshold=1.0),
        GateSpec(name="challenger's top-band lift at least the champion's", kind="top_band_lift", threshold=1.0),
        GateSpec(name="challenger's A tier converts 3x its C tier", kind="tier_ratio", threshold=3.0),
        GateSpec(name="won-lost gap of 20 points", kind="gap", threshold=20.0),
        GateSpec(name="no data-quality regression", kind="data_quality", threshold=0.05),
        GateSpec(name="score drift day over day", kind="drift", threshold=0.25, required=False),
    )


def _default_capacity() -> dict[str, CapacitySpec]:
    return {motion: CapacitySpec(reps=c.reps, leads_per_rep_per_day=c.leads_per_rep_per_day, factor=c.factor)
            for motion, c in team_capacity(TeamSpec()).items()}


class ShadowSettings(BaseModel):
    """Gates, capacity per motion and routing of a shadow run (defaults: DOMAIN.md and TeamSpec())."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gates: tuple[GateSpec, ...] = Field(default_factory=_default_gates)
    capacity: dict[str, CapacitySpec] = Field(default_factory=_default_capacity)
    routing_champion: dict[str, str] | None = None
    routing_challenger: dict[str, str] | None = None
    """Tier -> motion maps; None keeps scoring.shadow.RoutingMap's defaults."""

    @model_validator(mode="after")
    def _consistent(self) -> ShadowSettings:
        names = [g.name for g in self.gates]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"gate names must be unique; repeated: {twice}")
        unknown = sorted(set(self.capacity) - set(MOTIONS))
        if unknown:
            raise ValueError(f"capacity for unknown motion(s) {unknown}; motions are {list(MOTIONS)}")
        self.routing()  # raises on a bad motion
        return self

    def routing(self) -> RoutingMap:
        """The tier -> motion map per model."""
        default = RoutingMap()
        return RoutingMap(champion=self.routing_champion or default.champion,
                          challenger=self.routing_challenger or default.challenger)

    def capacity_per_day(self) -> dict[str, MotionCapacity]:
        """Motion -> MotionCapacity for scoring.shadow_load.tier_load."""
        return {m: MotionCapacity(c.reps, c.leads_per_rep_per_day, c.factor) for m, c in self.capacity.items()}

    def stages(self) -> tuple[str, ...]:
        """Stages the outcome gates count, in FUNNEL_STAGES order (the report shows each)."""
        used = {g.stage for g in self.gates if g.kind in ("top_band_lift", "tier_ratio")} | {"accepted"}
        return tuple(s for s in FUNNEL_STAGES if s in used)


def default_settings() -> ShadowSettings:
    """The DOMAIN defaults: six gates, TeamSpec() capacity, RoutingMap() routing."""
    return ShadowSettings()


def parse_settings(text: str, source: str = "<settings>") -> ShadowSettings:
    """Settings from TOML text; ConfigFileError naming every problem (key and what is wrong)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsFileError(source, [ModelProblem("", f"not valid TOML: {exc}")]) from None
    routing = data.pop("routing", None)
    if isinstance(routing, dict):
        data["routing_champion"] = routing.get("champion")
        data["routing_challenger"] = routing.get("challenger")
    try:
        return ShadowSettings.model_validate(data)
    except ValidationError as exc:
        problems = [ModelProblem(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        raise SettingsFileError(source, problems) from None


def load_settings(path: str | Path | None) -> ShadowSettings:
    """Settings from a TOML file, or the defaults when `path` is None."""
    if path is None:
        return default_settings()
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsFileError(str(source), [ModelProblem("", f"cannot read the file: {exc.strerror}")]) from None
    return parse_settings(text, str(source))


@dataclass(frozen=True, eq=False)
class GateEvidence:
    """What the gates look at, computed from a run (rollout._shadow_report) or written inline in tests.

    Attributes:
        load: scoring.shadow_load.tier_load by motion: day, model, key, new_work, capacity, utilisation.
        early_band: stage -> early_outcomes_by_band(level="band"): model, band, leads, converted, rate.
        early_tier: stage -> early_outcomes_by_band(level="tier"), same columns (band holds the tier).
        gap: model -> GapTest of its last-day totals against the won/lost outcomes seen.
        quality: day, model, field, missing, share (0-1) of each field a model reads, per snapshot day.
        psi: scoring.shadow_agreement.score_psi_by_day: day, model, leads, psi, band_psi.
    """

    load: pd.DataFrame
    early_band: Mapping[str, pd.DataFrame]
    early_tier: Mapping[str, pd.DataFrame]
    gap: Mapping[str, GapTest] = field(default_factory=dict)
    quality: pd.DataFrame = field(default_factory=pd.DataFrame)
    psi: pd.DataFrame = field(default_factory=pd.DataFrame)


GATE_COLUMNS: tuple[str, ...] = ("gate", "kind", "value", "threshold", "status", "passed", "required", "reason")


class GateRecord(TypedDict):
    """One row of the gate table (GATE_COLUMNS), JSON-ready: value None when it is NaN (an undecided gate)."""

    gate: str
    kind: str
    value: float | None
    threshold: float
    status: str
    passed: bool
    required: bool
    reason: str


@dataclass(frozen=True, eq=False)
class GateTable:
    """The gates' outcome: one row per gate (GATE_COLUMNS) and the overall verdict with its reasons."""

    rows: pd.DataFrame
    verdict: Literal["GO", "NO-GO"]
    reasons: tuple[str, ...]
    """Why NO-GO (each failing or undecided required gate), then warnings of gates that are not required."""

    def as_records(self) -> list[GateRecord]:
        """Rows as JSON-ready dicts (NaN -> None; GateSpec refuses a NaN threshold, so only value can be None)."""
        return [
            GateRecord(gate=r["gate"], kind=r["kind"], value=None if _nan(r["value"]) else r["value"],
                       threshold=r["threshold"], status=r["status"], passed=r["passed"], required=r["required"],
                       reason=r["reason"])
            for r in self.rows.to_dict("records")
        ]


def _nan(value: float) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _capacity(gate: GateSpec, ev: GateEvidence) -> tuple[float, str, str | None]:
    rows = ev.load[(ev.load["model"] == "challenger") & (ev.load["key"] == gate.motion)]
    if rows.empty or not (rows["capacity"] > 0).any():
        return math.nan, "insufficient", f"no {gate.motion} capacity or no days in the load table"
    util = rows["utilisation"].astype(float)
    value = float(util.max() if gate.statistic == "max" else util.mean())
    over = int((util > gate.threshold).sum())
    text = (f"{gate.statistic} utilisation {value:.2f} of {gate.motion} capacity; {over} of {len(util)} days over; "
            f"{rows['new_work'].sum():,.0f} new {gate.motion} leads against {rows['capacity'].iloc[0]:.1f} a day")
    return value, "", text


def _rate(frame: pd.DataFrame) -> float:
    leads, converted = float(frame["leads"].sum()), float(frame["converted"].sum())
    return converted / leads if leads else math.nan


def _top_band_lift(gate: GateSpec, ev: GateEvidence) -> tuple[float, str, str | None]:
    early = ev.early_band.get(gate.stage)
    if early is None or early.empty:
        return math.nan, "insufficient", f"no outcomes at stage {gate.stage!r} computed"
    lifts, tops = {}, {}
    for model in ("champion", "challenger"):
        rows = early[early["model"] == model]
        top = rows.iloc[-1]
        tops[model] = top
        overall = _rate(rows)
        lifts[model] = float(top["rate"]) / overall if overall and not _nan(overall) else math.nan
    test = two_proportion_test(int(tops["champion"]["converted"]), int(tops["champion"]["leads"]),
                               int(tops["challenger"]["converted"]), int(tops["challenger"]["leads"]),
                               min_leads=gate.min_leads)
    value = lifts["challenger"] / lifts["champion"] if lifts["champion"] else math.nan
    text = (f"top band {gate.stage} lift: challenger {lifts['challenger']:.2f}x ({tops['challenger']['band']}, "
            f"{int(tops['challenger']['leads']):,} leads), champion {lifts['champion']:.2f}x "
            f"({tops['champion']['band']}, {int(tops['champion']['leads']):,} leads); rate difference "
            f"{test.difference:+.1%}, p = {test.p_value:.3g}")
    if test.too_small or _nan(value):
        return value, "insufficient", text + f"; sample too small (needs {gate.min_leads}+ leads and 5+ expected " \
                                             "conversions per group)"
    return value, "", text


def _tier_ratio(gate: GateSpec, ev: GateEvidence) -> tuple[float, str, str | None]:
    early = ev.early_tier.get(gate.stage)
    if early is None or early.empty:
        return math.nan, "insufficient", f"no outcomes at stage {gate.stage!r} computed"
    rows = early[early["model"] == "challenger"].set_index("band")
    missing = [t for t in (gate.high, gate.low) if t not in rows.index]
    if missing:
        return math.nan, "insufficient", f"challenger has no tier(s) {missing}; tiers: {rows.index.tolist()}"
    high, low = rows.loc[gate.high], rows.loc[gate.low]
    test = two_proportion_test(int(low["converted"]), int(low["leads"]), int(high["converted"]), int(high["leads"]),
                               min_leads=gate.min_leads)
    value = test.rate_b / test.rate_a if test.rate_a else (math.inf if test.rate_b else math.nan)
    text = (f"{gate.stage} rate {gate.high} {test.rate_b:.1%} of {test.leads_b:,} leads vs {gate.low} "
            f"{test.rate_a:.1%} of {test.leads_a:,} leads")
    if test.too_small or _nan(value):
        return value, "insufficient", text + "; sample too small to decide"
    return value, "", text


def _gap(gate: GateSpec, ev: GateEvidence) -> tuple[float, str, str | None]:
    test = ev.gap.get("challenger")
    if test is None:
        return math.nan, "insufficient", "no won/lost outcomes computed"
    champion = ev.gap.get("champion")
    text = (f"last {test.n_won} won average {test.mean_won:.1f} vs last {test.n_lost} lost {test.mean_lost:.1f}"
            + (f"; champion gap {champion.gap:.1f}" if champion is not None and not _nan(champion.gap) else ""))
    if min(test.n_won, test.n_lost) < gate.min_closed or _nan(test.gap):
        return test.gap, "insufficient", text + f"; sample too small (needs {gate.min_closed}+ won and lost)"
    return float(test.gap), "", text


def _data_quality(gate: GateSpec, ev: GateEvidence) -> tuple[float, str, str | None]:
    q = ev.quality
    if q.empty or "challenger" not in set(q["model"]):
        return math.nan, "insufficient", "no data-quality measurements"
    rows = q[q["model"] == "challenger"].sort_values("day")
    first_day, last_day = rows["day"].min(), rows["day"].max()
    first = rows[rows["day"] == first_day].set_index("field")["share"]
    last = rows[rows["day"] == last_day].set_index("field")["share"]
    change = (last - first.reindex(last.index).fillna(0.0)).sort_values(ascending=False)
    if change.empty:
        return 0.0, "", "the challenger reads no lead fields"
    worst = str(change.index[0])
    value = float(change.iloc[0])
    text = (f"largest rise in missing share: {worst} {first.get(worst, 0.0):.1%} -> {last[worst]:.1%} "
            f"between {pd.Timestamp(first_day).date()} and {pd.Timestamp(last_day).date()}")
    return value, "", text


def _drift(gate: GateSpec, ev: GateEvidence) -> tuple[float, str, str | None]:
    rows = ev.psi[ev.psi["model"] == "challenger"] if not ev.psi.empty else ev.psi
    if rows.empty:
        return math.nan, "insufficient", "one day only: no day-over-day PSI"
    values = rows["psi"].astype(float)
    value = float(values.max() if gate.statistic == "max" else values.mean())
    return value, "", f"{gate.statistic} PSI of the challenger's totals day over day over {len(values)} days"


_CHECKS = {"capacity": _capacity, "top_band_lift": _top_band_lift, "tier_ratio": _tier_ratio, "gap": _gap,
           "data_quality": _data_quality, "drift": _drift}


def evaluate_gates(settings: ShadowSettings, evidence: GateEvidence) -> GateTable:
    """Each gate's value against its threshold, and GO when every required gate passes.

    Returns:
        GateTable with rows GATE_COLUMNS (value and threshold in the gate's unit; status pass, fail or
        insufficient) and the verdict's reasons.
    """
    rows: list[tuple[str, str, float, float, str, bool, bool, str]] = []
    blocking: list[str] = []
    warnings: list[str] = []
    for gate in settings.gates:
        value, status, text = _CHECKS[gate.kind](gate, evidence)
        at_least = gate.kind in _AT_LEAST
        if not status:
            passed = value >= gate.threshold if at_least else value <= gate.threshold
            status = "pass" if passed else "fail"
        passed = status == "pass"
        sign = ">=" if at_least else "<="
        reason = f"{text}" + ("" if passed or status == "insufficient" else f"; needs {sign} {gate.threshold:g}")
        if not passed:
            (blocking if gate.required else warnings).append(
                f"{gate.name}: {status}" + ("" if gate.required else " (not required)") + f" - {reason}")
        rows.append((gate.name, gate.kind, value, gate.threshold, status, passed, gate.required, reason))
    frame = pd.DataFrame(rows, columns=list(GATE_COLUMNS))
    frame["value"] = frame["value"].astype(float)
    verdict: Literal["GO", "NO-GO"] = "NO-GO" if blocking else "GO"
    return GateTable(frame, verdict, tuple(blocking + warnings))


def threshold_text(kind: str, threshold: float) -> str:
    """'>= 3' or '<= 1' for a gate kind and threshold."""
    return f"{'>=' if kind in _AT_LEAST else '<='} {threshold:g}"
