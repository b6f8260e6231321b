"""A validated model compiled once into arrays and chosen functions, so the hot path never reads config."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scoring.fields import SCORE_FIELD_KINDS, ScoreField
from scoring.model import AccountSignal, Decay, ExponentialDecay, Matcher, ModelSpec, NegativeRule, StepDecay

__all__ = [
    "CompiledModel",
    "CompiledMatcher",
    "CompiledAction",
    "CompiledSignal",
    "DecayFn",
    "compile_model",
    "decay_function",
]

DecayFn = Callable[[np.ndarray], np.ndarray]
"""Maps days since an event (float array) to the share of its points still counted."""


def decay_function(decay: Decay) -> DecayFn:
    """The decay curve a model asks for, chosen once: exponential half-life, fixed step, or none."""
    if isinstance(decay, ExponentialDecay):
        half_life = decay.half_life_days
        return lambda days: np.exp2(-days / half_life)
    if isinstance(decay, StepDecay):
        keep, every = 1.0 - decay.step, decay.every_days
        return lambda days: keep ** np.floor(days / every)
    return lambda days: np.ones_like(days, dtype=np.float64)


@dataclass(frozen=True)
class CompiledMatcher:
    """A field test ready to run on factorised values; `points` given when it matches."""

    name: str
    label: str
    field: str
    kind: str
    points: float
    text: frozenset[str] = frozenset()
    numbers: frozenset[float] = frozenset()
    low: float = -np.inf
    high: float = np.inf
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True)
class CompiledAction:
    """A behaviour action: event type, optional minimum value, points, decay, repeat handling."""

    label: str
    event: str
    points: float
    min_value: float | None
    decay: DecayFn
    max_repeats: int
    repeat_factor: float
    decay_kind: str
    """The curve behind `decay`: "exponential", "step" or "none". Exponential and none are multiplicative,
    decay(a + b) == decay(a) * decay(b), which lets running scores carry points from event to event."""


@dataclass(frozen=True)
class CompiledSignal:
    """An account signal: trigger kind ('event', 'department', 'engaged_people', 'departments_engaged')."""

    label: str
    kind: str
    points: float
    event: str = ""
    department: str = ""
    minimum: float = 0.0


@dataclass(frozen=True)
class CompiledModel:
    """Everything score() needs, as plain values and arrays."""

    name: str
    version: str
    combine: str
    weights: tuple[float, float, float]
    fit_max: float
    behaviour_max: float
    account_max: float
    fit_rules: tuple[CompiledMatcher, ...]
    actions: tuple[CompiledAction, ...]
    inactivity_days: np.ndarray
    inactivity_multipliers: np.ndarray
    archive_after_days: float
    negative_rules: tuple[CompiledMatcher, ...]
    negative_events: tuple[tuple[str, str, float], ...]
    account_window_days: float
    account_decay: DecayFn
    seniority_weights: dict[str, float]
    default_seniority_weight: float
    signals: tuple[CompiledSignal, ...]
    band_mins: np.ndarray
    band_names: tuple[str, ...]
    tier_mins: np.ndarray
    tier_names: tuple[str, ...]
    mql: float
    sql: float
    segment_mql: dict[str, float]
    borderline: float
    fields: dict[str, tuple[ScoreField, ...]]

    @property
    def lead_fields(self) -> tuple[str, ...]:
        """Lead columns the rules read, in rule order, without repeats."""
        names = [r.field for r in (*self.fit_rules, *self.negative_rules)]
        return tuple(dict.fromkeys(names))

    def score_fields(self, crm: str) -> tuple[ScoreField, ...]:
        """The score fields this model writes to `crm` (empty when the model names none)."""
        return self.fields.get(crm, ())


def _matcher(rule: Matcher | NegativeRule, name: str, label: str, points: float) -> CompiledMatcher:
    assert rule.field is not None
    base = {"name": name, "label": label or name, "field": rule.field, "points": points}
    if rule.equals is not None or rule.in_ is not None:
        values = [rule.equals] if rule.equals is not None else list(rule.in_ or [])
        text = frozenset(str(v).casefold() for v in values if isinstance(v, str | bool))
        numbers = frozenset(float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool))
        return CompiledMatcher(kind="in", text=text, numbers=numbers, **base)  # type: ignore[arg-type]
    if rule.between is not None:
        low, high = rule.between
        return CompiledMatcher(kind="between", low=low, high=high, **base)  # type: ignore[arg-type]
    if rule.regex is not None:
        return CompiledMatcher(kind="regex", pattern=re.compile(rule.regex), **base)  # type: ignore[arg-type]
    return CompiledMatcher(kind="missing", **base)  # type: ignore[arg-type]


def _signal(s: AccountSignal) -> CompiledSignal:
    label, points = s.label or s.name, float(s.points)
    if s.event is not None:
        return CompiledSignal(label, "event", points, event=s.event)
    if s.department is not None:
        return CompiledSignal(label, "department", points, department=s.department)
    if s.engaged_people is not None:
        return CompiledSignal(label, "engaged_people", points, minimum=float(s.engaged_people))
    return CompiledSignal(label, "departments_engaged", points, minimum=float(s.departments_engaged or 0))


def compile_model(spec: ModelSpec) -> CompiledModel:
    """Turn a validated ModelSpec into a CompiledModel (done once per scoring run)."""
    behaviour = spec.behaviour
    actions = tuple(
        CompiledAction(
            label=a.label or a.name or a.event,
            event=a.event,
            points=a.points,
            min_value=a.min_value,
            decay=decay_function(a.decay or behaviour.decay),
            max_repeats=a.max_repeats or np.iinfo(np.int32).max,
            repeat_factor=a.repeat_factor,
            decay_kind=(a.decay or behaviour.decay).kind,
        )
        for a in behaviour.actions
    )
    steps = behaviour.inactivity.steps
    negatives = spec.negative.rules
    tiers = sorted(spec.tiers, key=lambda t: t.min_score)
    fields = {
        crm: tuple(ScoreField(column, name, SCORE_FIELD_KINDS[column]) for column, name in mapping.items())
        for crm, mapping in spec.fields.items()
    }
    weights = spec.scoring.weights
    return CompiledModel(
        name=spec.model.name,
        version=spec.model.version,
        combine=spec.scoring.combine,
        weights=(weights.fit, weights.behaviour, weights.account),
        fit_max=spec.fit.max_points,
        behaviour_max=behaviour.max_points,
        account_max=spec.account.max_points,
        fit_rules=tuple(_matcher(r, r.name, r.label, r.points) for r in spec.fit.rules),
        actions=actions,
        inactivity_days=np.array([s.after_days for s in steps], dtype=np.float64),
        inactivity_multipliers=np.array([s.multiplier for s in steps], dtype=np.float64),
        archive_after_days=behaviour.inactivity.archive_after_days or np.inf,
        negative_rules=tuple(_matcher(r, r.name, r.label, r.points) for r in negatives if r.event is None),
        negative_events=tuple((r.label or r.name, r.event, r.points) for r in negatives if r.event is not None),
        account_window_days=spec.account.window_days,
        account_decay=decay_function(spec.account.decay),
        seniority_weights=dict(spec.account.seniority_weights),
        default_seniority_weight=spec.account.default_seniority_weight,
        signals=tuple(_signal(s) for s in spec.account.signals),
        band_mins=np.array([b.min for b in spec.bands], dtype=np.float64),
        band_names=tuple(b.name for b in spec.bands),
        tier_mins=np.array([t.min_score for t in tiers], dtype=np.float64),
        tier_names=tuple(t.name for t in tiers),
        mql=spec.thresholds.mql,
        sql=spec.thresholds.sql if spec.thresholds.sql is not None else np.inf,
        segment_mql=dict(spec.thresholds.segments),
        borderline=spec.thresholds.borderline,
        fields=fields,
    )
