"""The engine's rules evaluated per row of running scores (simulator.mql_timing): behaviour points of each
action at any moment from the qualifying events up to an event, fit and field rules per lead, inactivity, and
the pillars combined as score_totals() combines them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring.compiled import CompiledAction, CompiledModel
from scoring.matchers import ColumnCodes, matcher_masks
from simulator._sampling import FloatArray, IntArray

__all__ = ["DAY_NS", "ActionStates", "LeadEvents", "Qualifying", "account_contribution", "after_inactivity",
           "behaviour_at_events", "combined", "index_ranges", "negative_at_events", "per_lead_rules", "pillar", "segment_starts"]

DAY_NS = 86_400 * 10**9


def segment_starts(lead: IntArray) -> tuple[IntArray, IntArray]:
    """(index of each run's first element, run lengths) of a sorted key array."""
    starts = np.flatnonzero(np.r_[True, lead[1:] != lead[:-1]]) if lead.size else np.zeros(0, np.int64)
    return starts, np.diff(np.r_[starts, lead.size])


def index_ranges(start: IntArray, length: IntArray) -> IntArray:
    """Every index of each [start, start + length), the ranges one after the other."""
    out = np.repeat(start - (np.cumsum(length) - length), length)
    out += np.arange(out.size)
    return out


@dataclass(frozen=True, eq=False)
class LeadEvents:
    """Events sorted by (lead, time), indexed once for every action and rule: where each lead's events end and
    which events have each type."""

    lead: IntArray
    at: IntArray
    starts: IntArray
    """Per lead with events: its first event."""
    counts: IntArray
    """Per lead with events: its events."""
    lead_start: IntArray
    """Per lead position: its first event (for a lead without events, where its events would be)."""
    lead_end: IntArray
    """Per lead position: one past its last event (`lead_start` for a lead without events)."""
    type_code: IntArray
    """Per event: code into `type_names`, -1 for none."""
    type_names: list[str]

    @classmethod
    def of(cls, lead: IntArray, at: IntArray, type_code: IntArray, type_names: list[str], n_leads: int,
           ) -> LeadEvents:
        """From per-event lead position, time (ns) and type code into `type_names`, sorted by (lead, time)."""
        starts, counts = segment_starts(lead)
        lead_end = np.zeros(n_leads, dtype=np.int64)
        lead_end[lead[starts]] = counts
        np.cumsum(lead_end, out=lead_end)
        lead_start = lead_end.copy()
        lead_start[lead[starts]] -= counts
        return cls(lead, at, starts, counts, lead_start, lead_end, type_code, type_names)

    @cached_property
    def _by_type(self) -> tuple[IntArray, IntArray]:
        """(event indices grouped by type code, in order within a type; where code c's start, at c + 1)."""
        n_types = len(self.type_names)
        small = np.int8 if n_types < 127 else np.int16 if n_types < 2**15 else np.int64
        by_type = np.argsort(self.type_code.astype(small), kind="stable")  # a radix sort for small codes
        return by_type, np.r_[0, np.cumsum(np.bincount(self.type_code + 1, minlength=n_types + 1))]

    def of_type(self, name: str) -> IntArray:
        """Indices of the events of type `name`, in order (none when no event has it)."""
        if name not in self.type_names:
            return np.zeros(0, dtype=np.int64)
        code = self.type_names.index(name)
        by_type, start = self._by_type
        return by_type[start[code + 1]:start[code + 2]]

    def running_sum(self, change: FloatArray) -> FloatArray:
        """Per event: the sum of `change` over its lead's events up to it (exact for whole numbers)."""
        total = np.cumsum(change)
        total -= np.repeat(np.r_[0.0, total][self.starts], self.counts)
        return total

    def from_first(self, event: IntArray) -> IntArray:
        """Every event from each lead's first of `event` (indices, in order) to the lead's last event."""
        lead = self.lead[event]
        first = event[np.r_[True, lead[1:] != lead[:-1]]] if event.size else event
        return index_ranges(first, self.lead_end[self.lead[first]] - first)


def _multiplicative_points(action: CompiledAction, q_at: IntArray, starts: IntArray, counts: IntArray,
                           ) -> FloatArray:
    """Points of one action at each of its qualifying events (sorted by lead, time; each lead's run from
    `starts`, `counts` long), evaluated at that event.

    V_n = p + f * d(t_n - t_(n-1)) * V_(n-1) - [n >= m] p * f**m * d(t_n - t_(n-m)), rank by rank (the n-th
    qualifying event of every lead at once), for a multiplicative decay curve d. The events are laid out rank
    by rank, the leads in the same order (most events first) in every rank, so that rank r reads the first
    entries of rank r - 1 (and r - m) as one contiguous slice.
    """
    p, f, m = action.points, action.repeat_factor, action.max_repeats
    most = int(counts.max(initial=0))
    order = np.argsort(-counts.astype(np.int16) if most < 2**15 else -counts, kind="stable")
    first, longest = starts[order], counts[order]
    ranks = [first[: np.searchsorted(-longest, -r, side="left")] + r for r in range(most)]
    event = np.concatenate(ranks) if ranks else first
    begin = np.r_[0, np.cumsum([rank.size for rank in ranks])]
    at = q_at[event]
    ranked = np.full(event.size, p, dtype=np.float64)
    for r in range(1, most):
        now = slice(begin[r], begin[r + 1])
        n = begin[r + 1] - begin[r]
        before = slice(begin[r - 1], begin[r - 1] + n)
        value = ranked[now]
        np.multiply(f * action.decay((at[now] - at[before]) / DAY_NS), ranked[before], out=value)
        value += p
        if r >= m:
            back = slice(begin[r - m], begin[r - m] + n)
            value -= p * f**m * action.decay((at[now] - at[back]) / DAY_NS)
    out = np.empty(q_at.size)
    out[event] = ranked
    return out


@dataclass(frozen=True, eq=False)
class Qualifying:
    """One action's qualifying events (sorted by lead, time): where each is its lead's latest, and its points;
    each part computed on first use (plain counts summed by `behaviour_at_events` need none)."""

    action: CompiledAction
    events: LeadEvents
    values: FloatArray
    """Per event: its value (NaN for none), for the action's min_value."""

    @cached_property
    def event(self) -> IntArray:
        """Per qualifying event: its index in the events (sorted by lead, time)."""
        event = self.events.of_type(self.action.event)
        if self.action.min_value is not None:
            event = event[self.values[event] >= self.action.min_value]
        return event

    @cached_property
    def _runs(self) -> tuple[IntArray, IntArray]:
        """(first qualifying event of each lead that has one, their count), indices into the qualifying events."""
        return segment_starts(self.events.lead[self.event])

    @cached_property
    def span(self) -> IntArray:
        """Per qualifying event: the events at which it is its lead's latest (itself up to the lead's next
        qualifying event or past its last event)."""
        starts, counts = self._runs
        stop = np.empty_like(self.event)
        stop[:-1] = self.event[1:]
        last = starts + counts - 1
        stop[last] = self.events.lead_end[self.events.lead[self.event[last]]]
        return stop - self.event

    @cached_property
    def rank(self) -> IntArray:
        """Per qualifying event: the lead's qualifying events before it."""
        starts, counts = self._runs
        return np.arange(self.event.size) - np.repeat(starts, counts)

    @cached_property
    def at(self) -> IntArray:
        """Per qualifying event: time, ns."""
        return self.events.at[self.event]

    @cached_property
    def carried(self) -> FloatArray | None:
        """Per qualifying event: the action's points there, carried from event to event (multiplicative decays
        with a repeat factor or a curve; None for a plain count or step decay)."""
        action = self.action
        if action.decay_kind == "exponential" or (action.decay_kind == "none" and action.repeat_factor != 1.0):
            return _multiplicative_points(action, self.at, *self._runs)
        return None

    def at_events(self) -> tuple[IntArray, IntArray, FloatArray]:
        """(the events from each lead's first qualifying one on, the lead's latest qualifying event at each (index
        into this action's), the action's points there): 0 elsewhere."""
        latest = np.repeat(np.arange(self.event.size), self.span)
        rows = (self.event - (np.cumsum(self.span) - self.span))[latest]
        rows += np.arange(rows.size)
        if self.carried is None and self.action.decay_kind == "none":
            return rows, latest, (self.action.points * np.minimum(self.rank + 1, self.action.max_repeats))[latest]
        return rows, latest, self.points(self.events.at[rows], latest)

    def is_count(self) -> bool:
        """A plain count: p per qualifying event, up to max_repeats."""
        return self.action.decay_kind == "none" and self.action.repeat_factor == 1.0

    def increments(self) -> FloatArray:
        """Per qualifying event of a plain count: what it adds to its lead's points (p within the cap, else 0)."""
        return np.where(self.rank < self.action.max_repeats, self.action.points, 0.0)

    def latest_of(self, rows: IntArray, first: IntArray) -> tuple[IntArray, IntArray]:
        """(which of `rows` (events, in order, for speed) have a qualifying event of their lead up to them, the
        latest one of each: index into this action's); `first`: per row, its lead's first event."""
        latest = np.searchsorted(self.event, rows, side="right") - 1  # the latest of any lead
        own = latest >= 0
        own[own] = self.event[latest[own]] >= first[own]
        has = np.flatnonzero(own)
        return has, latest[has]

    def points(self, when: IntArray, latest: IntArray) -> FloatArray:
        """Points at times `when` of leads whose latest qualifying event is `latest` (index into this action's)."""
        action = self.action
        p, f = action.points, action.repeat_factor
        carried = self.carried
        if carried is None and action.decay_kind == "none":
            return p * np.minimum(self.rank[latest] + 1, action.max_repeats)
        if carried is not None:
            out = carried[latest]
            if action.decay_kind == "exponential":
                out *= action.decay((when - self.at[latest]) / DAY_NS)
            return out
        out = np.zeros(when.size)
        has, q_pos = np.arange(when.size), latest
        count = self.rank[latest] + 1
        for r in range(int(min(action.max_repeats, count.max(initial=0)))):
            weight = f**r
            if weight == 0.0:
                break
            term = p * action.decay((when[has] - self.at[q_pos - r]) / DAY_NS)
            if f != 1.0:
                term = term * weight
            out[has] += term
            keep = (count > r + 1) & (term != 0.0)
            has, q_pos, count = has[keep], q_pos[keep], count[keep]
        return out


def _whole_counts(states: list[Qualifying], n_events: int) -> int:
    """How many of the leading actions are plain counts with whole points: their sum at every event is a
    whole number of points below 2**53, the same in any order, and a running sum gives it exactly."""
    whole = 0
    for state in states:
        if not state.is_count() or not float(state.action.points).is_integer():
            break
        whole += 1
    while whole and sum(abs(state.action.points) for state in states[:whole]) * n_events >= 2.0**53:
        whole -= 1
    return whole


@dataclass(frozen=True, eq=False)
class ActionStates:
    """Each action's state (the actions whose event type occurs, in model order) and, where kept, per event
    its lead's latest qualifying event of the action (-1 for none), for points at later times."""

    states: list[Qualifying]
    latest: list[npt.NDArray[np.signedinteger[Any]] | None]
    """Per action: int32 (or int64 for 2**31 events or more) per event, or None (found by search instead)."""

    def behaviour_at(self, when: IntArray, rows: IntArray) -> FloatArray:
        """Behaviour points (before inactivity) at times `when` of the leads of events `rows` (in order, for
        speed), from their qualifying events up to those events, summed in model order: exact when none of a
        lead's events lies between its row and `when`."""
        out = np.zeros(when.size)
        first = None
        for state, latest_at in zip(self.states, self.latest):
            if latest_at is None:
                events = state.events
                first = events.lead_start[events.lead[rows]] if first is None else first
                has, latest = state.latest_of(rows, first)
            else:
                latest = latest_at[rows]
                has = np.flatnonzero(latest >= 0)
                latest = latest[has].astype(np.int64)
            out[has] += state.points(when[has], latest)
        return out


def behaviour_at_events(model: CompiledModel, events: LeadEvents, values: FloatArray, keep_latest: bool,
                        ) -> tuple[ActionStates, FloatArray]:
    """(each action's state, behaviour points just after each event, before inactivity): the actions' points
    summed in model order. `values`: per event, NaN for none; `keep_latest`: keep each action's latest
    qualifying event per event where it comes for free (for query rows).

    Leading plain counts with whole points are one running sum per lead (exact in any order; uncapped ones
    without min_value through a points-per-type table); the other actions are added at the events from each
    lead's first qualifying one on."""
    n_events = events.lead.size
    qualifying = [Qualifying(action, events, values) for action in model.actions if action.event in events.type_names]
    whole = _whole_counts(qualifying, n_events)
    latest_per_event: list[npt.NDArray[np.signedinteger[Any]] | None] = [None] * len(qualifying)
    behaviour = np.zeros(n_events)
    if whole:
        per_type = np.zeros(len(events.type_names) + 1)  # the last one for code -1 (no type)
        for state in qualifying[:whole]:
            action = state.action
            if action.min_value is None and action.max_repeats >= n_events:
                per_type[events.type_names.index(action.event)] += action.points
            else:
                behaviour[state.event] += state.increments()
        if per_type.any():
            behaviour += per_type[events.type_code]
        behaviour = events.running_sum(behaviour)
    for i in range(whole, len(qualifying)):
        rows, latest, points = qualifying[i].at_events()
        behaviour[rows] += points
        if keep_latest:
            latest_at = np.full(n_events, -1, dtype=np.int32) if n_events < 2**31 \
                else np.full(n_events, -1, dtype=np.int64)
            latest_at[rows] = latest
            latest_per_event[i] = latest_at
    return ActionStates(qualifying, latest_per_event), behaviour


def negative_at_events(model: CompiledModel, events: LeadEvents, field_negative: FloatArray) -> FloatArray:
    """Negative points just after each event: the lead's field rules plus each event rule from the lead's first
    such event on, added in model order."""
    negative = field_negative[events.lead]
    rules = [(events.of_type(event), points) for _label, event, points in model.negative_events
             if event in events.type_names]
    if rules:
        negative += 0.0  # -0.0 to 0.0, as adding 0.0 for a rule not triggered yet does
    for event, points in rules:
        negative[events.from_first(event)] += points
    return negative


def per_lead_rules(columns: ColumnCodes, model: CompiledModel) -> tuple[FloatArray, FloatArray]:
    """(raw fit points, negative field-rule points) per lead, with the engine's matchers (`columns` of the
    leads with their email_domain)."""
    fit = np.zeros(len(columns))
    negative = np.zeros(len(columns))
    if model.fit_rules:
        fit = (matcher_masks(columns, model.fit_rules) * [r.points for r in model.fit_rules]).sum(axis=1)
    if model.negative_rules:
        negative = (matcher_masks(columns, model.negative_rules)
                    * [r.points for r in model.negative_rules]).sum(axis=1)
    return fit, negative


def pillar(raw: FloatArray, max_points: float, weight: float = 1.0) -> FloatArray:
    """weight x the 0-100 pillar of raw points (a new array)."""
    out = raw / max_points
    np.clip(out, 0.0, 1.0, out=out)
    out *= 100.0
    if weight != 1.0:
        out *= weight
    return out


def combined(model: CompiledModel, fit_raw: FloatArray, behaviour: FloatArray, account: FloatArray,
             negative: FloatArray, lead: IntArray | None = None) -> FloatArray:
    """clip(blended + negative, 0, 100) as score_totals() combines pillars (raw points in); `fit_raw` per lead
    and `lead` per row, when given (the fit term is then taken per lead once)."""
    if model.combine == "sum":
        if lead is None:
            blended = fit_raw + behaviour
        else:
            blended = fit_raw[lead]
            blended += behaviour
        blended += account
    else:
        w_fit, w_behaviour, w_account = model.weights
        blended = pillar(fit_raw, model.fit_max, w_fit)
        if lead is not None:
            blended = blended[lead]
        blended += pillar(behaviour, model.behaviour_max, w_behaviour)
        blended += pillar(account, model.account_max, w_account)
    blended += negative
    return np.clip(blended, 0.0, 100.0, out=blended)


def account_contribution(model: CompiledModel, account: FloatArray) -> FloatArray:
    """What raw account points add to the blended score: themselves (sum) or the weighted 0-100 pillar."""
    if model.combine == "sum":
        return account
    return pillar(account, model.account_max, model.weights[2])


def after_inactivity(model: CompiledModel, behaviour: FloatArray, silent: FloatArray) -> FloatArray:
    """Behaviour points after the inactivity step `silent` days reach, as score_totals() adds it."""
    step = np.searchsorted(model.inactivity_days, silent, side="right") - 1
    has = step >= 0
    out = behaviour.copy()
    out[has] += behaviour[has] * (model.inactivity_multipliers[step[has]] - 1.0)
    return out
