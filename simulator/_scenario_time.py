"""Time in a scenario: daily lead arrivals, a yearly peak season and drifting propensity weights.

Pure and vectorised: arrays and a Generator in, arrays out. Day k (an integer <= -1) is the 24 hours
[as_of + k days, as_of + (k + 1) days); with as_of at midnight UTC that is one calendar day.

- arrivals: leads per day are Poisson at `leads_per_day` times the season's volume multiplier, or
  n_leads spread over the days in proportion to the multiplier, or given (a CSV read at the edge);
- creation times: each lead gets one arrival time, rank-matched so that a lead with a buying window
  tends to get an arrival before its window (the arrival times themselves are never changed);
- peak season: a recurring "MM-DD".."MM-DD" window that multiplies volume and event rates;
- drift: the propensity weights on fit, intent and account heat move from their base values (leads
  created at the start of the history) to `drift_weights` (leads created at as_of), linearly or in
  steps of `drift_step_days`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from simulator._sampling import BoolArray, FloatArray, IntArray, sigmoid
from simulator.vocabulary import SOURCES

if TYPE_CHECKING:
    from simulator.spec import FunnelSpec

__all__ = [
    "DRIFT_TERMS",
    "LeadArrivals",
    "time_problems",
    "has_volume_season",
    "has_event_season",
    "has_drift",
    "peak_flags",
    "season_multiplier",
    "arrival_days",
    "arrival_created_days",
    "seasonal_event_copies",
    "drift_fraction",
    "drift_weight",
    "drifted_propensity",
]

DRIFT_TERMS: tuple[str, ...] = ("fit", "intent", "heat")
"""Propensity terms whose weight can drift: propensity_<term>_weight."""

_MONTH_DAY = re.compile(r"^(\d\d)-(\d\d)$")
_NO_SOURCE = -1
_MATCH_ROUNDS = 8
"""Re-rankings that move leads which arrived after their buying window began to earlier arrivals."""


@dataclass(frozen=True, eq=False)
class LeadArrivals:
    """Given lead arrivals (e.g. read from a CRM export): one entry per lead.

    day: arrival day relative to as_of (integers <= -1; the lead arrives at a random time that day).
    source: code into SOURCES per lead, -1 where the source is unknown (drawn from source_mix).
    """

    day: IntArray
    source: IntArray

    def __post_init__(self) -> None:
        if self.day.shape != self.source.shape or self.day.ndim != 1:
            raise ValueError("LeadArrivals: day and source must be 1-d arrays of the same length")
        if self.source.size and (self.source.min() < _NO_SOURCE or self.source.max() >= len(SOURCES)):
            raise ValueError(f"LeadArrivals: source codes must be -1 or index SOURCES {list(SOURCES)}")

    @property
    def size(self) -> int:
        """Number of leads."""
        return int(self.day.size)


def _month_day(text: str) -> int | None:
    """"MM-DD" -> MM * 100 + DD, or None when it is not a calendar day (02-29 allowed)."""
    match = _MONTH_DAY.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    month, day = int(match.group(1)), int(match.group(2))
    try:
        pd.Timestamp(year=2000, month=month, day=day)
    except ValueError:
        return None
    return month * 100 + day


def time_problems(spec: FunnelSpec) -> list[str]:
    """Problems with the arrival, season and drift fields, as "field: what is wrong" lines."""
    out: list[str] = []
    rate = spec.leads_per_day
    if rate is not None and not (math.isfinite(rate) and rate > 0):
        out.append(f"leads_per_day: must be > 0 leads per day or None, got {rate}")
    if spec.peak_season is not None:
        season = tuple(spec.peak_season)
        if len(season) != 2 or any(_month_day(s) is None for s in season):
            out.append(f'peak_season: needs ("MM-DD", "MM-DD") calendar days, got {spec.peak_season!r}')
    for name in ("peak_volume_multiplier", "peak_event_multiplier"):
        value = getattr(spec, name)
        if not (math.isfinite(value) and value >= 0):
            out.append(f"{name}: must be >= 0 (1 = no change), got {value}")
    if spec.peak_volume_multiplier == 0 and spec.peak_season is not None and rate is None:
        out.append("peak_volume_multiplier: 0 needs leads_per_day (n_leads cannot be spread over no days)")
    unknown = sorted(set(spec.drift_weights) - set(DRIFT_TERMS))
    if unknown:
        out.append(f"drift_weights: unknown terms {unknown} (allowed {list(DRIFT_TERMS)})")
    if any(not math.isfinite(v) for v in spec.drift_weights.values()):
        out.append(f"drift_weights: weights must be finite, got {dict(spec.drift_weights)}")
    if not (math.isfinite(spec.drift_step_days) and spec.drift_step_days >= 0):
        out.append(f"drift_step_days: must be >= 0 (0 = linear), got {spec.drift_step_days}")
    return out


def has_volume_season(spec: FunnelSpec) -> bool:
    """Whether the peak season changes lead volume."""
    return spec.peak_season is not None and spec.peak_volume_multiplier != 1.0


def has_event_season(spec: FunnelSpec) -> bool:
    """Whether the peak season changes event rates."""
    return spec.peak_season is not None and spec.peak_event_multiplier != 1.0


def has_drift(spec: FunnelSpec) -> bool:
    """Whether any propensity weight drifts over the history."""
    return bool(spec.drift_weights)


def peak_flags(spec: FunnelSpec, day: IntArray) -> BoolArray:
    """Whether each day (relative to as_of) falls in the peak season; all False without one."""
    if spec.peak_season is None:
        return np.zeros(day.shape, dtype=bool)
    start, end = (_month_day(s) for s in spec.peak_season)
    assert start is not None and end is not None
    low, high = int(day.min(initial=0)), int(day.max(initial=0))
    dates = pd.date_range(spec.as_of + pd.Timedelta(days=low), periods=high - low + 1, freq="D")
    table = dates.month.to_numpy() * 100 + dates.day.to_numpy()
    inside = (table >= start) & (table <= end) if start <= end else (table >= start) | (table <= end)
    return inside[day - low]


def season_multiplier(spec: FunnelSpec, day: IntArray, multiplier: float) -> FloatArray:
    """`multiplier` on peak days, 1 elsewhere."""
    return np.where(peak_flags(spec, day), multiplier, 1.0)


def arrival_days(spec: FunnelSpec, rng: np.random.Generator) -> IntArray:
    """Arrival day of each lead over the history, sorted (days relative to as_of, -history_days..-1).

    With `leads_per_day`, daily counts are Poisson(leads_per_day * volume multiplier); otherwise
    n_leads leads are spread over the days in proportion to the volume multiplier.
    """
    days = np.arange(-spec.history_days, 0, dtype=np.int64)
    weight = season_multiplier(spec, days, spec.peak_volume_multiplier)
    if spec.leads_per_day is not None:
        counts = rng.poisson(spec.leads_per_day * weight)
        return np.repeat(days, counts)
    drawn = rng.choice(days.size, size=spec.n_leads, p=weight / weight.sum())
    return days[np.sort(drawn)]


def arrival_created_days(spec: FunnelSpec, arrival_day: IntArray, window_start: FloatArray,
                         rng: np.random.Generator) -> tuple[FloatArray, IntArray]:
    """Creation day of each lead (relative to as_of) taken from the arrivals, and the arrival used.

    Each arrival gets a uniform time within its day. Leads are ranked by a target (a random arrival
    time, moved before the lead's buying window like `created_days` does) and the k-th ranked lead
    gets the k-th earliest arrival, so the arrival times are kept exactly. A lead that lands after
    its window's deadline has its target moved earlier by twice the miss and the ranking is redone,
    at most `_MATCH_ROUNDS` times; what is left (windows that start before the first arrival) has its
    early events clipped to the creation time, as in the original draw.

    Returns:
        (created days, index into arrival_day per lead).
    """
    n = arrival_day.size
    times = arrival_day.astype(np.float64) + rng.random(n)
    by_time = np.argsort(times, kind="stable")
    base = times[rng.permutation(n)]
    deadline = window_start - spec.window_creation_lead_days * rng.random(n)
    target = np.where(np.isnan(window_start), base, np.fmin(base, deadline))
    reachable = np.maximum(deadline, times[by_time[0]])
    arrival = np.empty(n, dtype=np.int64)
    for _ in range(_MATCH_ROUNDS):
        arrival[np.argsort(target, kind="stable")] = by_time
        late = times[arrival] - reachable
        missed = late > 0.0
        if not missed.any():
            break
        target = np.where(missed, target - 2.0 * late, target)
    return times[arrival], arrival


def seasonal_event_copies(spec: FunnelSpec, day: FloatArray, seasonal: BoolArray,
                          rng: np.random.Generator) -> IntArray:
    """How many copies of each event to keep: about peak_event_multiplier on peak days, 1 elsewhere.

    Copies = floor(m) + Bernoulli(m - floor(m)) for `seasonal` events on peak days, so the expected
    count there is m times the base; other events keep exactly one copy.
    """
    m = spec.peak_event_multiplier
    peak = seasonal & peak_flags(spec, np.floor(day).astype(np.int64))
    extra = (rng.random(day.size) < m - math.floor(m)).astype(np.int64)
    return np.where(peak, math.floor(m) + extra, 1).astype(np.int64)


def drift_fraction(spec: FunnelSpec, created: FloatArray) -> FloatArray:
    """How far each lead's creation lies through the history: 0 at its start, 1 at as_of.

    With drift_step_days > 0 the fraction moves in steps: constant within each step of that many
    days, 0 for the first step and 1 for the last.
    """
    history = float(spec.history_days)
    elapsed = np.clip(created + history, 0.0, history)
    if spec.drift_step_days <= 0:
        return elapsed / history
    steps = max(math.ceil(history / spec.drift_step_days), 2)
    step = np.minimum(np.floor(elapsed / spec.drift_step_days), steps - 1)
    return step / (steps - 1)


def drift_weight(spec: FunnelSpec, term: str, fraction: FloatArray) -> FloatArray:
    """Propensity weight of `term` per lead: base weight moving to drift_weights[term]."""
    base = float(getattr(spec, f"propensity_{term}_weight"))
    end = float(spec.drift_weights.get(term, base))
    return base + (end - base) * fraction


def drifted_propensity(spec: FunnelSpec, created: FloatArray, fit: FloatArray, intent: FloatArray,
                       account_heat: FloatArray, unsubscribed: BoolArray, competitor: BoolArray,
                       ) -> FloatArray:
    """P(won) per lead with weights that depend on when the lead was created (0 for competitors)."""
    fraction = drift_fraction(spec, created)
    terms: Mapping[str, FloatArray] = {"fit": fit, "intent": intent, "heat": account_heat}
    z = spec.propensity_base + spec.propensity_unsubscribe_weight * unsubscribed
    for term, value in terms.items():
        z = z + drift_weight(spec, term, fraction) * value
    return np.where(competitor, 0.0, sigmoid(np.asarray(z, dtype=np.float64)))
