"""When does a lead become an MQL? Each lead's exact running score at each of its events, and first crossings.

    running = running_scores(leads, events, model, origin=start)     # once
    crossing = first_crossing(running, threshold)                    # per threshold: seconds after origin
    arrival = mql_arrival_seconds(running, crossing, created)        # not before creation; fallback

Just after one of the lead's own events (`score` with as_of = the event's time, on the events up to it) the
engine's total is made of: fit points and negative field rules (constant per lead, the engine's own
matchers); behaviour points, per action the `max_repeats` most recent qualifying events up to that moment
(type, `min_value`), the latest at full points and the k-th before it times repeat_factor ** k, each decayed
by the action's own curve; inactivity, which is 0 there (silent days are min(0 days since the latest event,
...) = 0 and every step starts after more than 0 days; nor is the lead suppressed); event negative rules,
counted once from the lead's first such event on; combined by `sum` or weighted 0-100 pillars, then
round(clip(blended + negative, 0, 100), 1). Events at the same moment all count at that moment. Between its
events a lead's score only falls (decay and inactivity take points away), so the first moment it reaches a
threshold is one of its event times, or any time at all when fit and field rules alone get there.

Exact: the running totals are the engine's totals, to 1e-9 points before its rounding to 0.1, for every decay
kind, cap, repeat factor, min_value, inactivity step, negative rule and both combinations; the test compares
them with `scoring.engine.score` itself on random funnels and a hypothesis-drawn mix of models
(tests/simulator/test_mql_timing.py). Left out: the account pillar (signals from every contact of the
account, windowed and decayed). Account points are >= 0 (the weighted pillar is clipped to 0-100; in `sum`
mode as long as no account signal has negative points), so a running total is never above the engine's and
a crossing found here is never earlier than the true one.

Cost, per action, over the events of the leads asked for: decay "exponential" and "none" are multiplicative,
so each lead's points are carried from one qualifying event to the next (the k-th qualifying event of every
lead at once, one pass per rank; the event that drops out of a repeat cap is subtracted) and then decayed to
every later event in one pass; "none" without a repeat factor is a count. "step" decay is not multiplicative
(floor of the age): at every event the min(max_repeats, n) most recent qualifying events are summed
directly, one pass per rank r, each over the events with more than r qualifying events behind them. With no
cap (the default max_repeats is 2**31 - 1) that is sum over events of the qualifying events before them, in
as many passes as a lead has qualifying events; terms that are exactly 0 (repeat_factor ** r or the step
curve underflowed, or a step of 1) end a lead's passes early, which changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.compiled import CompiledAction, CompiledModel
from scoring.event_arrays import lead_positions
from scoring.inputs import as_utc, utc_timestamps
from scoring.matchers import ColumnCodes, matcher_masks, with_email_domain
from simulator._sampling import BoolArray, FloatArray, IntArray

__all__ = ["RunningScores", "first_crossing", "mql_arrival_seconds", "running_scores", "running_scores_of_arrays"]

_DAY_NS = 86_400 * 10**9
_TENTHS = 1001
"""Totals are whole tenths of a point, 0..1000."""
_GRID = np.arange(_TENTHS) / 10.0
"""Every total the engine can return (np.round(x, 1) is rint(x * 10) / 10), in increasing order."""


@dataclass(frozen=True, eq=False)
class RunningScores:
    """Each lead's score just after each of its events; per-event arrays in (lead, time) order."""

    lead: IntArray
    """Position of the event's lead in the leads frame given (0..n_leads-1)."""
    at: IntArray
    """Event time, nanoseconds since the epoch (UTC)."""
    behaviour: FloatArray
    """Raw behaviour points at that moment: decayed, repeat-weighted, capped (inactivity is 0 there)."""
    negative: FloatArray
    """Negative points (<= 0): field rules plus event rules the lead has triggered by then."""
    unrounded: FloatArray
    """clip(blended + negative, 0, 100) before the engine's rounding; the account pillar counts 0."""
    origin: pd.Timestamp
    """Times out of `first_crossing` are seconds after this moment."""
    peak: IntArray
    """Per event: lead * 1001 + the lead's highest total so far in tenths; non-decreasing, for searchsorted."""
    base_tenths: IntArray
    """Per lead: the total before any event (fit and negative field rules alone), in tenths of a point."""

    @property
    def total(self) -> FloatArray:
        """The engine's total at as_of = the event's time: 0-100, rounded to 0.1 (account pillar 0)."""
        return np.round(self.unrounded, 1)

    @property
    def base(self) -> FloatArray:
        """Per lead: the total before any event (fit and negative field rules alone)."""
        return self.base_tenths / 10.0

    @property
    def n_leads(self) -> int:
        """Leads in the frame given (with or without events)."""
        return int(self.base_tenths.size)

    @property
    def seconds(self) -> FloatArray:
        """Event times in seconds after `origin`."""
        return (self.at - self.origin.value) / 1e9

    def last_event_seconds(self) -> FloatArray:
        """Per lead, its latest event in seconds after `origin` (NaN for leads with no event)."""
        out = np.full(self.n_leads, np.nan)
        if self.lead.size:
            ends = np.flatnonzero(np.r_[self.lead[1:] != self.lead[:-1], True])
            out[self.lead[ends]] = (self.at[ends] - self.origin.value) / 1e9
        return out


def _segment_starts(lead: IntArray) -> tuple[IntArray, IntArray]:
    """(index of each run's first element, run lengths) of a sorted key array."""
    starts = np.flatnonzero(np.r_[True, lead[1:] != lead[:-1]]) if lead.size else np.zeros(0, np.int64)
    return starts, np.diff(np.r_[starts, lead.size])


def _multiplicative_points(action: CompiledAction, q_at: IntArray, q_lead: IntArray) -> FloatArray:
    """Points of one action at each of its qualifying events (sorted by lead, time), evaluated at that event.

    V_n = p + f * d(t_n - t_(n-1)) * V_(n-1) - [n >= m] p * f**m * d(t_n - t_(n-m)), rank by rank (the n-th
    qualifying event of every lead at once), for a multiplicative decay curve d.
    """
    p, f, m = action.points, action.repeat_factor, action.max_repeats
    starts, counts = _segment_starts(q_lead)
    value = np.full(q_lead.size, p, dtype=np.float64)
    order = np.argsort(-counts, kind="stable")
    first, longest = starts[order], counts[order]
    for r in range(1, int(counts.max(initial=0))):
        idx = first[: np.searchsorted(-longest, -r, side="left")] + r
        carried = f * action.decay((q_at[idx] - q_at[idx - 1]) / _DAY_NS)
        value[idx] = p + carried * value[idx - 1]
        if r >= m:
            value[idx] -= p * f**m * action.decay((q_at[idx] - q_at[idx - m]) / _DAY_NS)
    return value


def _action_points(action: CompiledAction, at: IntArray, lead_start: IntArray, qualifies: BoolArray,
                   ) -> FloatArray:
    """One action's points at every event (events sorted by lead, time; `lead_start` = its lead's first event)."""
    behind = np.cumsum(qualifies, dtype=np.int32 if at.size < 2**31 else np.int64)  # up to each event, all leads
    count = behind - (behind - qualifies)[lead_start]  # ... of the event's own lead
    p, f = action.points, action.repeat_factor
    if action.decay_kind == "none" and f == 1.0:
        return p * np.minimum(count, action.max_repeats)
    out = np.zeros(at.size)
    q_idx = np.flatnonzero(qualifies)
    rows = np.flatnonzero(count)
    q_pos = behind[rows] - 1  # position in q_idx of the lead's latest qualifying event so far
    if action.decay_kind in ("exponential", "none"):
        out[rows] = _multiplicative_points(action, at[q_idx], lead_start[q_idx])[q_pos]
        if action.decay_kind == "exponential":
            out[rows] *= action.decay((at[rows] - at[q_idx[q_pos]]) / _DAY_NS)
        return out
    count = count[rows]
    for r in range(int(min(action.max_repeats, count.max(initial=0)))):
        weight = f**r
        if weight == 0.0:
            break
        term = p * action.decay((at[rows] - at[q_idx[q_pos - r]]) / _DAY_NS)
        if f != 1.0:
            term = term * weight
        out[rows] += term
        keep = (count > r + 1) & (term != 0.0)
        rows, q_pos, count = rows[keep], q_pos[keep], count[keep]
    return out


def _per_lead_rules(leads: pd.DataFrame, model: CompiledModel) -> tuple[FloatArray, FloatArray]:
    """(raw fit points, negative field-rule points) per lead, with the engine's matchers."""
    columns = ColumnCodes(with_email_domain(leads))
    fit = np.zeros(len(leads))
    negative = np.zeros(len(leads))
    if model.fit_rules:
        fit = (matcher_masks(columns, model.fit_rules) * [r.points for r in model.fit_rules]).sum(axis=1)
    if model.negative_rules:
        negative = (matcher_masks(columns, model.negative_rules)
                    * [r.points for r in model.negative_rules]).sum(axis=1)
    return fit, negative


def _combined(model: CompiledModel, fit_raw: FloatArray, behaviour: FloatArray, negative: FloatArray,
              ) -> FloatArray:
    """clip(blended + negative, 0, 100) as score() combines pillars, with the account pillar at 0."""
    if model.combine == "sum":
        blended = fit_raw + behaviour
    else:
        w_fit, w_behaviour, _ = model.weights
        fit = np.clip(fit_raw / model.fit_max, 0.0, 1.0) * 100.0
        blended = w_fit * fit + w_behaviour * (np.clip(behaviour / model.behaviour_max, 0.0, 1.0) * 100.0)
    return np.clip(blended + negative, 0.0, 100.0)


def _event_columns(events: pd.DataFrame, rows: IntArray) -> tuple[IntArray, IntArray, list[str], FloatArray]:
    """(time in ns, type code, type names, value or NaN) of the given rows of the events frame."""
    subset = rows.size < len(events)

    def column(name: str) -> pd.Series:
        return events[name].iloc[rows] if subset else events[name]

    at = utc_timestamps(column("at"), "events", "at").to_numpy("datetime64[ns]").view(np.int64)
    type_code, names = pd.factorize(column("type"))
    value = pd.to_numeric(column("value"), errors="coerce").to_numpy(np.float64, na_value=np.nan) \
        if "value" in events.columns else np.full(rows.size, np.nan)
    return at, type_code.astype(np.int64), [str(n) for n in names], value


def running_scores(leads: pd.DataFrame, events: pd.DataFrame, model: CompiledModel, origin: pd.Timestamp,
                   ) -> RunningScores:
    """Every lead's total just after each of its events, by the engine's rules without the account pillar.

    Args:
        leads: canonical leads (lead_id and the fields the model's rules read); only these are scored.
        events: canonical events (lead_id, type, at, optional value); events of other leads are ignored.
        model: the compiled scoring model.
        origin: a UTC moment; crossing times come out in seconds after it.

    Returns:
        RunningScores with one entry per event of these leads, sorted by (lead position, time).
    """
    position = lead_positions(leads["lead_id"].reset_index(drop=True), events["lead_id"])
    keep = np.flatnonzero(position >= 0)
    position = position[keep]
    at, type_code, type_names, value = _event_columns(events, keep)
    del keep
    return running_scores_of_arrays(leads, position, at, type_code, type_names, value, model, origin)


def running_scores_of_arrays(leads: pd.DataFrame, position: IntArray, at: IntArray, type_code: IntArray,
                             type_names: list[str], value: FloatArray, model: CompiledModel, origin: pd.Timestamp,
                             ) -> RunningScores:
    """`running_scores` on events given as arrays: lead position in `leads`, time (ns since the epoch, UTC),
    type code into `type_names`, value (NaN for none); sorted by (position, time) or sorted here."""
    if not np.all((np.diff(position) > 0) | ((np.diff(position) == 0) & (np.diff(at) >= 0))):
        order = np.lexsort((at, position))
        position, at, type_code, value = position[order], at[order], type_code[order], value[order]
    starts, counts = _segment_starts(position)
    lead_start = np.repeat(starts, counts)

    behaviour = np.zeros(at.size)
    for action in model.actions:
        if action.event in type_names:
            qualifies = type_code == type_names.index(action.event)
            if action.min_value is not None:
                qualifies &= value >= action.min_value
            behaviour += _action_points(action, at, lead_start, qualifies)
    fit_raw, field_negative = _per_lead_rules(leads, model)
    negative = field_negative[position]
    for _label, event, points in model.negative_events:
        if event in type_names:
            flagged = np.where(type_code == type_names.index(event), np.arange(at.size), -1)
            negative += np.where(np.maximum.accumulate(flagged) >= lead_start, points, 0.0)
    del lead_start, type_code, value
    moment_ends = np.flatnonzero(np.r_[(np.diff(position) != 0) | (np.diff(at) != 0), True])
    if moment_ends.size < at.size:  # events at one moment all count from that moment: take the last one's
        last_of_moment = np.repeat(moment_ends, np.diff(np.r_[-1, moment_ends]))
        behaviour, negative = behaviour[last_of_moment], negative[last_of_moment]
    del moment_ends

    unrounded = _combined(model, fit_raw[position], behaviour, negative)
    peak = np.rint(unrounded * 10.0).astype(np.int64)
    peak += position * _TENTHS
    np.maximum.accumulate(peak, out=peak)
    base_tenths = np.rint(_combined(model, fit_raw, np.zeros(len(leads)), field_negative) * 10.0).astype(np.int64)
    return RunningScores(lead=position, at=at, behaviour=behaviour, negative=negative, unrounded=unrounded,
                         origin=as_utc(origin), peak=peak, base_tenths=base_tenths)


def first_crossing(running: RunningScores, threshold: FloatArray | float) -> FloatArray:
    """Per lead, seconds after running.origin of its first event whose total >= its threshold.

    -inf where fit and field rules alone reach the threshold (the lead qualifies from the start), NaN where
    the running total never does. One searchsorted over the events per call, so a sweep calls it once per
    threshold on running scores computed once.

    Args:
        running: from `running_scores`.
        threshold: points (0-100), one per lead or one for all; compared with the rounded total as score()
            compares `mql_threshold`.
    """
    n = running.n_leads
    need = np.searchsorted(_GRID, np.broadcast_to(np.asarray(threshold, dtype=np.float64), (n,)), side="left")
    out = np.full(n, np.nan)
    if running.peak.size:
        pos = np.searchsorted(running.peak, np.arange(n) * _TENTHS + need, side="left")
        inside = pos < running.peak.size
        pos = np.minimum(pos, running.peak.size - 1)
        hit = inside & (running.lead[pos] == np.arange(n))
        out[hit] = (running.at[pos[hit]] - running.origin.value) / 1e9
    out[running.base_tenths >= need] = -np.inf
    return out


def mql_arrival_seconds(running: RunningScores, crossing: FloatArray, created: FloatArray) -> FloatArray:
    """Seconds after running.origin each lead enters the sales queue as an MQL, from its `first_crossing`.

    Its first crossing, not before its creation (`created`, seconds after origin). A lead whose running total
    never reaches the threshold (NaN crossing) arrives at its last event (its creation if it has none): for a
    lead that is an MQL as of the end, that happens only through account points, which running totals leave out.
    """
    last = running.last_event_seconds()
    fallback = np.where(np.isnan(last), created, last)
    return np.maximum(np.where(np.isnan(crossing), fallback, crossing), created)
