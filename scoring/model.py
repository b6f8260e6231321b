"""The model file's schema: a TOML rules file validated with pydantic (DOMAIN.md sections 1-4).

Every key is checked; unknown keys are errors, so a typo cannot silently change a model. Semantic
checks that span keys (weights summing to 1, contiguous bands, one matcher per rule) live in
`scoring.model_checks`; loading and error reporting in `scoring.model_file`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ModelSpec",
    "ModelInfo",
    "ChangelogEntry",
    "Matcher",
    "FitRule",
    "FitSection",
    "ExponentialDecay",
    "StepDecay",
    "NoDecay",
    "Decay",
    "BehaviourAction",
    "InactivityStep",
    "Inactivity",
    "BehaviourSection",
    "NegativeRule",
    "NegativeSection",
    "AccountSignal",
    "AccountSection",
    "PillarWeights",
    "ScoringSection",
    "Band",
    "Tier",
    "Thresholds",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ModelInfo(_Strict):
    """Who the model is: name and semantic version (the version is written to the CRM)."""

    name: str = Field(min_length=1)
    version: str = Field(min_length=1, pattern=r"^[0-9A-Za-z][0-9A-Za-z.\-+_]*$")
    description: str = ""


class ChangelogEntry(_Strict):
    """One change of the model, newest first; change one variable at a time (DOMAIN.md section 5)."""

    version: str
    date: dt.date
    change: str = Field(min_length=1)
    author: str = ""


class Matcher(_Strict):
    """A test on one lead field; exactly one of equals / in / between / regex / missing is set.

    String comparisons ignore case; `between` is inclusive on both ends (use `inf` for no upper end);
    `regex` is searched, not anchored; `missing = true` matches NaN and empty strings.
    """

    field: str = Field(min_length=1)
    equals: str | float | bool | None = None
    in_: list[str | float] | None = Field(default=None, alias="in")
    between: tuple[float, float] | None = None
    regex: str | None = None
    missing: bool | None = None


class FitRule(Matcher):
    """Fit points (can they buy?) given when the lead's field matches."""

    name: str = Field(min_length=1)
    label: str = ""
    points: float


class FitSection(_Strict):
    """Fit track: rules and the raw points that map to 100 on the 0-100 fit score."""

    max_points: float = Field(default=100.0, gt=0)
    rules: list[FitRule] = Field(default_factory=list)


class ExponentialDecay(_Strict):
    """points * 0.5 ** (days_since_event / half_life_days)."""

    kind: Literal["exponential"]
    half_life_days: float = Field(gt=0)


class StepDecay(_Strict):
    """points * (1 - step) ** floor(days_since_event / every_days), for CRMs without exponential decay."""

    kind: Literal["step"]
    step: float = Field(gt=0, le=1)
    every_days: float = Field(default=30.0, gt=0)


class NoDecay(_Strict):
    """Points never fade (what most teams run today)."""

    kind: Literal["none"]


Decay = Annotated[ExponentialDecay | StepDecay | NoDecay, Field(discriminator="kind")]


class BehaviourAction(_Strict):
    """Points for an event type, fading with time, with a cap or diminishing returns on repeats.

    The most recent matching event counts in full, the k-th earlier one is worth
    `repeat_factor ** k` of it, and at most `max_repeats` events count.
    """

    event: str = Field(min_length=1)
    name: str = ""
    label: str = ""
    points: float
    min_value: float | None = None
    decay: Decay | None = None
    max_repeats: int | None = Field(default=None, ge=1)
    repeat_factor: float = Field(default=1.0, gt=0, le=1)


class InactivityStep(_Strict):
    """After `after_days` without any event, the behaviour track is multiplied by `multiplier`."""

    after_days: float = Field(gt=0)
    multiplier: float = Field(ge=0, le=1)


class Inactivity(_Strict):
    """Inactivity penalties on the behaviour track, and when a silent lead is suppressed (days)."""

    steps: list[InactivityStep] = Field(default_factory=list)
    archive_after_days: float | None = Field(default=None, gt=0)


class BehaviourSection(_Strict):
    """Behaviour (engagement) track: actions, default decay, inactivity; raw points mapping to 100."""

    max_points: float = Field(default=100.0, gt=0)
    decay: Decay = Field(default_factory=lambda: NoDecay(kind="none"))
    actions: list[BehaviourAction] = Field(default_factory=list)
    inactivity: Inactivity = Field(default_factory=Inactivity)


class NegativeRule(_Strict):
    """Points (<= 0) subtracted from the total: on a field match, or when the lead did `event`."""

    name: str = Field(min_length=1)
    label: str = ""
    points: float = Field(le=0)
    event: str | None = None
    field: str | None = None
    equals: str | float | bool | None = None
    in_: list[str | float] | None = Field(default=None, alias="in")
    between: tuple[float, float] | None = None
    regex: str | None = None
    missing: bool | None = None


class NegativeSection(_Strict):
    """Filters: competitor or free-mail domain, student title, unsubscribe (3-6 rules in practice)."""

    rules: list[NegativeRule] = Field(default_factory=list)


class AccountSignal(_Strict):
    """An account-level signal from all contacts of one account; exactly one trigger is set.

    - `event`: a contact did this event type in the window (seniority-weighted, decayed);
    - `department`: a contact of this department engaged in the window (seniority-weighted, decayed);
    - `engaged_people`: at least this many seniority-weighted contacts engaged in the window;
    - `departments_engaged`: at least this many distinct departments engaged in the window.
    """

    name: str = Field(min_length=1)
    label: str = ""
    points: float
    event: str | None = None
    department: str | None = None
    engaged_people: float | None = Field(default=None, gt=0)
    departments_engaged: int | None = Field(default=None, ge=1)


class AccountSection(_Strict):
    """Account roll-up: signals over a window (days), seniority weights, decay, raw points to 100."""

    max_points: float = Field(default=100.0, gt=0)
    window_days: float = Field(default=90.0, gt=0)
    decay: Decay = Field(default_factory=lambda: NoDecay(kind="none"))
    seniority_weights: dict[str, float] = Field(default_factory=dict)
    default_seniority_weight: float = Field(default=1.0, ge=0)
    signals: list[AccountSignal] = Field(default_factory=list)


class PillarWeights(_Strict):
    """Share of each 0-100 pillar in the weighted total; must add up to 1."""

    fit: float = Field(default=0.5, ge=0, le=1)
    behaviour: float = Field(default=0.5, ge=0, le=1)
    account: float = Field(default=0.0, ge=0, le=1)


class ScoringSection(_Strict):
    """How pillars combine: `weighted` (normalised pillars x weights) or `sum` (raw points, one blend)."""

    combine: Literal["weighted", "sum"] = "weighted"
    weights: PillarWeights = Field(default_factory=PillarWeights)


class Band(_Strict):
    """A score band starting at `min` (inclusive); bands cover 0-100 without gaps."""

    name: str = Field(min_length=1)
    min: float = Field(ge=0, le=100)


class Tier(_Strict):
    """A routing tier: leads at or above `min_score`, the motion and its SLA (hours to first touch)."""

    name: str = Field(min_length=1)
    label: str = ""
    min_score: float = Field(ge=0, le=100)
    sla_hours: float | None = Field(default=None, gt=0)
    motion: str = ""


class Thresholds(_Strict):
    """MQL / SQL cut-offs on the 0-100 total, per-segment MQL overrides, borderline width (points)."""

    mql: float = Field(default=60.0, ge=0, le=100)
    sql: float | None = Field(default=None, ge=0, le=100)
    segments: dict[str, float] = Field(default_factory=dict)
    borderline: float = Field(default=0.0, ge=0, le=50)


def _default_bands() -> list[Band]:
    return [Band(name="0-24", min=0), Band(name="25-49", min=25), Band(name="50-74", min=50),
            Band(name="75-100", min=75)]


def _default_tiers() -> list[Tier]:
    return [
        Tier(name="A", label="hot", min_score=75, sla_hours=2, motion="AE or SDR within 2 hours"),
        Tier(name="B", label="warm", min_score=50, sla_hours=24, motion="SDR within 24 hours"),
        Tier(name="C", label="nurture", min_score=25, motion="long-term nurture"),
        Tier(name="D", label="awareness", min_score=0, motion="awareness only"),
    ]


class ModelSpec(_Strict):
    """A whole model file, as written by the user."""

    model: ModelInfo
    changelog: list[ChangelogEntry] = Field(min_length=1)
    scoring: ScoringSection = Field(default_factory=ScoringSection)
    fit: FitSection = Field(default_factory=FitSection)
    behaviour: BehaviourSection = Field(default_factory=BehaviourSection)
    negative: NegativeSection = Field(default_factory=NegativeSection)
    account: AccountSection = Field(default_factory=AccountSection)
    bands: list[Band] = Field(default_factory=_default_bands)
    tiers: list[Tier] = Field(default_factory=_default_tiers)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    fields: dict[str, dict[str, str]] = Field(default_factory=dict)

    @property
    def version(self) -> str:
        """The model's version string, as written to the CRM's model-version field."""
        return self.model.version

