"""Behaviour events: background activity, buying-window sequences, committee signals, unsubscribes.

Four sources, all drawn as Poisson counts per lead and then expanded with `np.repeat`:

- background: every lead, at `event_base_rates` per day since creation; content consumers add a
  large volume of blog reads and email opens that says nothing about fit or intent;
- buying windows: blog_read -> case_study -> pricing_page (long visits) -> demo_request, counts
  scaled by the window's strength, times placed by `intent_event_positions` within the window;
- committees: engaged security/IT contacts visit the security page; some committee windows end in
  an rfp_received, preferably to a procurement contact;
- unsubscribes, after which a lead opens and clicks no more email.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.columns import EVENT_COLUMNS
from scoring.event_arrays import EventArrays
from simulator._sampling import (
    BoolArray,
    FloatArray,
    IntArray,
    day_seconds,
    lognormal_around,
    per_group_pick,
    str_take,
    tilted_probability,
    timestamps,
)
from simulator._scenario_time import has_event_season, seasonal_event_copies
from simulator.intent import LeadWindows
from simulator.population import Contacts
from simulator.spec import FunnelSpec
from simulator.vocabulary import DEPARTMENTS, EVENT_TYPES

__all__ = ["EventDraw", "draw_events", "draw_unsubscribed", "draw_content_consumers"]

_PRICING = EVENT_TYPES.index("pricing_page")
_EMAIL = np.array([EVENT_TYPES.index("email_open"), EVENT_TYPES.index("email_click")])
_ONCE = np.array([EVENT_TYPES.index("unsubscribe"), EVENT_TYPES.index("rfp_received")])

_DAY_NS = 86_400 * 10**9

_Block = tuple[IntArray, IntArray, FloatArray, FloatArray]
"""(lead index, type code, day relative to as_of, value) of a batch of events."""


def _block(lead: IntArray, type_code: int, day: FloatArray, value: FloatArray | None = None) -> _Block:
    values = np.full(lead.size, np.nan) if value is None else value
    return lead, np.full(lead.size, type_code, dtype=np.int64), day, values


def _pricing_seconds(rng: np.random.Generator, median_sigma: tuple[float, float], size: int) -> FloatArray:
    """Seconds on the pricing page, rounded to whole seconds (at least 1)."""
    return np.maximum(np.round(lognormal_around(rng, *median_sigma, size)), 1.0)


def _background(spec: FunnelSpec, created: FloatArray, consumer: BoolArray,
                rng: np.random.Generator) -> list[_Block]:
    """Events at a constant daily rate over each lead's lifetime, uniform in time."""
    n = created.size
    age = -created
    blocks: list[_Block] = []
    for code, event_type in enumerate(EVENT_TYPES):
        base = spec.event_base_rates.get(event_type, 0.0)
        extra = spec.content_consumer_rates.get(event_type, 0.0)
        if base <= 0.0 and extra <= 0.0:
            continue
        counts = rng.poisson((base + extra * consumer) * age)
        lead = np.repeat(np.arange(n), counts)
        day = created[lead] + age[lead] * rng.random(lead.size)
        value = _pricing_seconds(rng, spec.casual_pricing_seconds, lead.size) if code == _PRICING else None
        blocks.append(_block(lead, code, day, value))
    return blocks


def _window_events(spec: FunnelSpec, windows: LeadWindows, rng: np.random.Generator) -> list[_Block]:
    """The rising sequence of a buying window: counts by strength, times by position in the window."""
    in_window = np.flatnonzero(windows.kind > 0)
    start, length = windows.start, windows.end - windows.start
    blocks: list[_Block] = []
    for event_type, rate in spec.intent_event_rates.items():
        code = EVENT_TYPES.index(event_type)
        counts = rng.poisson(rate * windows.strength[in_window])
        lead = np.repeat(in_window, counts)
        centre = spec.intent_event_positions[event_type]
        position = np.clip(centre + spec.intent_position_sd * rng.standard_normal(lead.size), 0.0, 1.0)
        day = start[lead] + length[lead] * position
        value = _pricing_seconds(rng, spec.intent_pricing_seconds, lead.size) if code == _PRICING else None
        blocks.append(_block(lead, code, day, value))
    return blocks


def _committee_events(spec: FunnelSpec, contacts: Contacts, windows: LeadWindows,
                      rng: np.random.Generator) -> list[_Block]:
    """Security-page visits by engaged security/IT contacts; one RFP for some committee windows."""
    start, length = windows.start, windows.end - windows.start
    security_codes = [DEPARTMENTS.index(d) for d in ("security", "it")]
    reviewers = np.flatnonzero(windows.engaged & np.isin(contacts.department, security_codes))
    counts = rng.poisson(spec.committee_security_rate, reviewers.size)
    lead = np.repeat(reviewers, counts)
    centre = spec.committee_security_position
    position = np.clip(centre + spec.intent_position_sd * rng.standard_normal(lead.size), 0.0, 1.0)
    security = _block(lead, EVENT_TYPES.index("security_page"), start[lead] + length[lead] * position)

    engaged = np.flatnonzero(windows.engaged)
    procurement = contacts.department[engaged] == DEPARTMENTS.index("procurement")
    key = rng.random(engaged.size) + procurement
    recipients = engaged[per_group_pick(contacts.account[engaged], key)]
    recipients = recipients[rng.random(recipients.size) < spec.committee_rfp_share]
    centre = spec.committee_rfp_position
    position = np.clip(centre + spec.intent_position_sd * rng.standard_normal(recipients.size), 0.0, 1.0)
    day = start[recipients] + length[recipients] * position
    rfp = _block(recipients, EVENT_TYPES.index("rfp_received"), day)
    return [security, rfp]


def _seasonal(spec: FunnelSpec, lead: IntArray, type_code: IntArray, day: FloatArray, value: FloatArray,
              rng: np.random.Generator) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Events on peak-season days repeated (or dropped) to peak_event_multiplier times the base rate.

    Extra copies land at a random time of the same day; unsubscribes and RFPs are never repeated.
    """
    copies = seasonal_event_copies(spec, day, ~np.isin(type_code, _ONCE), rng)
    index = np.repeat(np.arange(day.size), copies)
    extra = np.ones(index.size, dtype=bool)
    extra[(np.cumsum(copies) - copies)[copies > 0]] = False
    day = day[index]
    day[extra] = np.floor(day[extra]) + rng.random(int(extra.sum()))
    return lead[index], type_code[index], day, value[index]


def draw_unsubscribed(spec: FunnelSpec, fit: FloatArray, created: FloatArray, rng: np.random.Generator,
                      ) -> FloatArray:
    """Day each lead unsubscribed (relative to as_of), NaN for leads still subscribed; low fit likelier."""
    p = tilted_probability(spec.unsubscribe_share, fit, -spec.unsubscribe_fit_slope)
    unsubscribed = rng.random(fit.size) < p
    day = created + (-created) * rng.random(fit.size)
    return np.where(unsubscribed, day, np.nan)


def draw_content_consumers(spec: FunnelSpec, n: int, rng: np.random.Generator) -> BoolArray:
    """Which of n leads are content consumers (high blog/email volume, independent of everything)."""
    return rng.random(n) < spec.content_consumer_share


@dataclass(frozen=True, eq=False)
class EventDraw:
    """A funnel's events as arrays, sorted by (lead index, time): what scoring needs, before any strings."""

    lead: IntArray
    """Lead index (row of the leads frame) per event."""
    type_code: IntArray
    """Index into simulator.vocabulary.EVENT_TYPES."""
    seconds: IntArray
    """Whole seconds relative to as_of (<= 0)."""
    value: FloatArray
    """Seconds on page for pricing_page, NaN otherwise."""

    def frame(self, as_of: pd.Timestamp, lead_ids: np.ndarray) -> pd.DataFrame:
        """The canonical events frame (EVENT_COLUMNS), `lead_ids[lead]` as lead_id, in the same order."""
        return pd.DataFrame({
            "lead_id": str_take(lead_ids, self.lead),
            "type": str_take(EVENT_TYPES, self.type_code),
            "at": pd.Series(timestamps(as_of, self.seconds)),
            "value": self.value,
        }, columns=list(EVENT_COLUMNS))

    def arrays(self, n_leads: int) -> EventArrays:
        """The scoring engine's EventArrays (days before as_of, as `event_arrays` computes them from the frame)."""
        days = -(self.seconds * 10**9) / _DAY_NS
        return EventArrays(self.lead, days, self.type_code.astype(np.int32), EVENT_TYPES, self.value, n_leads)


def _by_lead_then_time(lead: IntArray, seconds: IntArray) -> IntArray:
    """The stable order of events by (lead, seconds): one argsort of a combined int64 key (lexsort's order,
    ~30% faster); seconds span less than 2**40 (34,000 years), leads less than 2**23."""
    span = seconds - seconds.min() if seconds.size else seconds
    if seconds.size and (int(span.max()) >= 1 << 40 or int(lead.max()) >= 1 << 23):
        return np.lexsort((seconds, lead))
    return np.argsort((lead.astype(np.int64) << 40) | span, kind="stable")


def draw_events(spec: FunnelSpec, contacts: Contacts, windows: LeadWindows, created: FloatArray,
                unsubscribed_day: FloatArray, consumer: BoolArray, rng: np.random.Generator) -> EventDraw:
    """The events of a funnel, as arrays.

    Args:
        spec: the funnel spec (rates, positions, committee and content-consumer settings).
        contacts: the drawn leads (department, account).
        windows: each lead's buying window and whether it engaged with its committee.
        created: creation day of each lead relative to as_of (<= 0).
        unsubscribed_day: day each lead unsubscribed, NaN for none.
        consumer: which leads are content consumers.
        rng: the random generator.

    Returns:
        An EventDraw sorted by (lead, time), every event within [the lead's creation, as_of]; its
        `frame(as_of, lead_ids)` is the canonical events frame.
    """
    blocks = _background(spec, created, consumer, rng)
    blocks += _window_events(spec, windows, rng)
    blocks += _committee_events(spec, contacts, windows, rng)
    unsubscribers = np.flatnonzero(~np.isnan(unsubscribed_day))
    blocks.append(_block(unsubscribers, EVENT_TYPES.index("unsubscribe"), unsubscribed_day[unsubscribers]))

    lead = np.concatenate([b[0] for b in blocks])
    type_code = np.concatenate([b[1] for b in blocks])
    day = np.concatenate([b[2] for b in blocks])
    value = np.concatenate([b[3] for b in blocks])
    happened = day <= 0.0  # a window still running at as_of has the rest of its events ahead
    lead, type_code, day, value = lead[happened], type_code[happened], day[happened], value[happened]
    day = np.maximum(day, created[lead])
    if has_event_season(spec):
        lead, type_code, day, value = _seasonal(spec, lead, type_code, day, value, rng)
        day = np.clip(day, created[lead], 0.0)

    after_unsubscribe = np.isin(type_code, _EMAIL) & (day > unsubscribed_day[lead])
    keep = ~after_unsubscribe
    lead, type_code, day, value = lead[keep], type_code[keep], day[keep], value[keep]
    seconds = day_seconds(day)
    order = _by_lead_then_time(lead, seconds)
    return EventDraw(lead[order], type_code[order], seconds[order], value[order])
