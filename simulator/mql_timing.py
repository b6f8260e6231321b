"""When does a lead become an MQL? Each lead's exact running score at every moment it can rise, and first crossings.

    running = running_scores(leads, events, model, origin=start)     # once
    crossing = first_crossing(running, threshold)                    # per threshold: seconds after origin
    arrival = mql_arrival_seconds(running, crossing, created)        # not before creation

A lead's total can rise only at its own events and at events of other contacts of its account that raise the
account pillar; in between it only falls (decay, inactivity steps, events leaving the account window). So the
running scores hold, per lead, a row at each of its own events and a query row at each account moment where
its total may reach a new high, each with the engine's total there (`score` with as_of = that time, on the
events up to it, the whole account included), and the first moment a lead reaches a threshold is one of its
rows, or any time at all when fit and field rules alone get there.

The total at a row is made of: fit points and negative field rules (constant per lead, the engine's own
matchers); behaviour points, per action the `max_repeats` most recent qualifying events up to that moment
(type, `min_value`), the latest at full points and the k-th before it times repeat_factor ** k, each decayed
by the action's own curve; inactivity, 0 at own rows (silent days are min(0 days since the latest event, ...)
= 0 and every step starts after more than 0 days) and the engine's step at query rows (days since the lead's
last event, not counted before its creation); event negative rules, counted once from the lead's first such
event on (a query row triggers none); account points (simulator/_account_timeline.py: every signal kind,
window, seniority weights, account decay); combined by `sum` or weighted 0-100 pillars, then
round(clip(blended + negative, 0, 100), 1). Events at the same moment all count at that moment. A query row
where the lead is suppressed (silent archive_after_days or more) is no MQL moment, as score()'s `mql` says.

Query rows (simulator/_query_rows.py): at an account moment a contact's fit, behaviour and negative points are
at most those of its last own event, so a query row can matter only where the account's contribution to the
total is above its value at that event and at every account moment since (a record), and only where the total
with the behaviour of that event would beat the lead's highest own total so far; those rows are kept and
scored exactly.

Exact: the running totals are the engine's totals, to 1e-9 points before its rounding to 0.1, for every decay
kind, cap, repeat factor, min_value, inactivity step, negative rule, account signal and both combinations, at
every row; the tests compare them with `scoring.engine.score` itself, whole accounts included, on random
funnels and a hypothesis-drawn mix of models (tests/simulator/test_mql_timing.py). First crossings are exact
when no action and no account signal has negative points. Negative points that decay (or leave the account
window) raise a total between rows: the rows stay exact, but a total can then reach a threshold between them,
and an as_of score can be an MQL with no row that is (`mql_arrival_seconds` keeps a fallback for that case).

Cost, per action, over the events of the leads asked for: decay "exponential" and "none" are multiplicative,
so each lead's points are carried from one qualifying event to the next (the k-th qualifying event of every
lead at once, one pass per rank; the event that drops out of a repeat cap is subtracted) and then decayed to
every later event in one pass; "none" without a repeat factor is a count. "step" decay is not multiplicative
(floor of the age): at every event the min(max_repeats, n) most recent qualifying events are summed
directly, one pass per rank r, each over the events with more than r qualifying events behind them. With no
cap (the default max_repeats is 2**31 - 1) that is sum over events of the qualifying events before them, in
as many passes as a lead has qualifying events; terms that are exactly 0 (repeat_factor ** r or the step
curve underflowed, or a step of 1) end a lead's passes early, which changes nothing. Query rows take the
state of each action at the lead's last own event and evaluate it at their own time. The account pillar is
grouped numpy over each account's moments (one sort of the events by account and time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import overload

import numpy as np
import pandas as pd

from scoring.compiled import CompiledModel
from scoring.event_arrays import lead_positions
from scoring.inputs import as_utc, utc_timestamps
from scoring.matchers import ColumnCodes, with_email_domain
from simulator._account_timeline import account_timeline
from simulator._query_rows import SLOTS, Highs, RowParts, Rows, query_rows, query_scores
from simulator._running_points import (
    LeadEvents,
    account_contribution,
    behaviour_at_events,
    combined,
    negative_at_events,
    per_lead_rules,
)
from simulator._sampling import BoolArray, FloatArray, IntArray

__all__ = ["FROM_START", "NEVER", "RunningScores", "crossing_rows", "crossing_seconds", "crossing_totals", "first_crossing",
           "mql_arrival_seconds", "running_scores", "running_scores_of_arrays"]

_TENTHS = 1001
"""Totals are whole tenths of a point, 0..1000."""
_GRID = np.arange(_TENTHS) / 10.0
"""Every total the engine can return (np.round(x, 1) is rint(x * 10) / 10), in increasing order."""


class _Merged:
    """A per-row array of `RunningScores.parts` (named as the attribute), in row order, merged on first use."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, running: None, owner: type | None = None) -> _Merged: ...

    @overload
    def __get__(self, running: RunningScores, owner: type | None = None) -> np.ndarray: ...

    def __get__(self, running: RunningScores | None, owner: type | None = None) -> _Merged | np.ndarray:
        return self if running is None else running.parts.merged(self.name)


@dataclass(frozen=True, eq=False)
class RunningScores:
    """Each lead's score just after each of its events and at the account moments it may reach a new high;
    per-row arrays in (lead, time) order."""

    lead: IntArray
    """Position of the row's lead in the leads frame given (0..n_leads-1)."""
    at: IntArray
    """Row time, nanoseconds since the epoch (UTC)."""
    own: BoolArray
    """True for a row at one of the lead's own events, False for a query row (an account moment)."""
    origin: pd.Timestamp
    """Times out of `first_crossing` are seconds after this moment."""
    peak: IntArray
    """Per row: lead * 1002 + 1 + the lead's highest total so far in tenths (a suppressed row counts as
    lead * 1002); non-decreasing, for searchsorted."""
    base_tenths: IntArray
    """Per lead: the total before any event (fit and negative field rules alone), in tenths of a point."""
    parts: RowParts
    """The per-row points below, kept per kind of row and merged into row order on first use."""

    behaviour = _Merged()
    """Raw behaviour points at that moment: decayed, repeat-weighted, capped, after inactivity."""
    account = _Merged()
    """Raw account points at that moment (0 for leads without an account)."""
    negative = _Merged()
    """Negative points (<= 0): field rules plus event rules the lead has triggered by then."""
    unrounded = _Merged()
    """clip(blended + negative, 0, 100) before the engine's rounding."""
    suppressed = _Merged()
    """Silent archive_after_days or more at that moment (never at own rows): no MQL whatever its total."""

    @property
    def total(self) -> FloatArray:
        """The engine's total at as_of = the row's time: 0-100, rounded to 0.1."""
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
        """Row times in seconds after `origin`."""
        return (self.at - self.origin.value) / 1e9

    def last_event_seconds(self) -> FloatArray:
        """Per lead, its latest own event in seconds after `origin` (NaN for leads with no event)."""
        out = np.full(self.n_leads, np.nan)
        lead, at = self.parts.own.lead, self.parts.own.at
        if lead.size:
            ends = np.flatnonzero(np.r_[lead[1:] != lead[:-1], True])
            out[lead[ends]] = (at[ends] - self.origin.value) / 1e9
        return out


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


def _created_ns(leads: pd.DataFrame) -> IntArray:
    """Each lead's creation, nanoseconds since the epoch (UTC)."""
    created = utc_timestamps(leads["created_at"], "leads", "created_at")
    return created.to_numpy("datetime64[ns]").view(np.int64)


def running_scores(leads: pd.DataFrame, events: pd.DataFrame, model: CompiledModel, origin: pd.Timestamp,
                   ) -> RunningScores:
    """Every lead's total just after each of its events and at the account moments it may reach a new high,
    by the engine's rules.

    Args:
        leads: canonical leads (lead_id and the fields the model's rules read; account_id, seniority,
            department and created_at where the model has account signals); only these are scored, and
            account points count the events of these leads only.
        events: canonical events (lead_id, type, at, optional value); events of other leads are ignored.
        model: the compiled scoring model.
        origin: a UTC moment; crossing times come out in seconds after it.

    Returns:
        RunningScores with one row per event of these leads and per query moment, sorted by (lead, time).
    """
    position = lead_positions(leads["lead_id"].reset_index(drop=True), events["lead_id"])
    keep = np.flatnonzero(position >= 0)
    position = position[keep]
    at, type_code, type_names, value = _event_columns(events, keep)
    del keep
    return running_scores_of_arrays(ColumnCodes(with_email_domain(leads)), partial(_created_ns, leads), position, at,
                                    type_code, type_names, value, model, origin)


def running_scores_of_arrays(columns: ColumnCodes, created_ns: Callable[[], IntArray], position: IntArray,
                             at: IntArray, type_code: IntArray, type_names: list[str], value: FloatArray,
                             model: CompiledModel, origin: pd.Timestamp) -> RunningScores:
    """`running_scores` on leads and events given as arrays.

    Args:
        columns: the leads' columns (with email_domain where rules read it; account_id, seniority and
            department where the model has account signals), e.g. `ColumnCodes(with_email_domain(leads))`
            or a funnel's `DrawnLeadColumns`.
        created_ns: returns each lead's creation in ns since the epoch (UTC); called only where the model has
            account signals (inactivity at query rows).
        position, at, type_code, value: per event, the lead's position in `columns`, the time (ns since the
            epoch, UTC), a code into `type_names` and the value (NaN for none); sorted by (position, time) or
            sorted here.
        model, origin: as `running_scores`.
    """
    if not np.all((np.diff(position) > 0) | ((np.diff(position) == 0) & (np.diff(at) >= 0))):
        order = np.lexsort((at, position))
        position, at, type_code, value = position[order], at[order], type_code[order], value[order]
    events = LeadEvents.of(position, at, type_code, type_names, len(columns))
    timeline = account_timeline(columns, events, model)
    actions, behaviour = behaviour_at_events(model, events, value, keep_latest=timeline is not None)
    fit_raw, field_negative = per_lead_rules(columns, model)
    negative = negative_at_events(model, events, field_negative)
    is_end = np.r_[(np.diff(position) != 0) | (np.diff(at) != 0), True]
    moment_ends = np.flatnonzero(is_end)
    if moment_ends.size < at.size:  # events at one moment all count from that moment: take the last one's
        tied = np.flatnonzero(~is_end)
        last_of_moment = moment_ends[np.searchsorted(moment_ends, tied)]
        behaviour[tied], negative[tied] = behaviour[last_of_moment], negative[last_of_moment]
    del is_end

    no_points = np.zeros(len(columns))
    base_tenths = np.rint(combined(model, fit_raw, no_points, no_points, field_negative) * 10.0).astype(np.int64)
    del type_code, value
    account = np.zeros(at.size) if timeline is None else timeline.points_of(timeline.moment)
    unrounded = combined(model, fit_raw, behaviour, account, negative, position)
    own = Rows(position, at, behaviour, account, negative, unrounded, np.zeros(at.size, dtype=bool))
    parts, own_slots = RowParts(own), own.slots()
    if timeline is not None:
        highs = Highs(model, own, own_slots, fit_raw, field_negative, base_tenths)
        query = query_rows(timeline, account_contribution(model, timeline.points), events, moment_ends, highs)
        del moment_ends
        parts = RowParts(own, *query_scores(model, query, timeline, highs, actions, created_ns()))
        del timeline, query, highs
    del events, actions
    return RunningScores(lead=parts.merged("lead"), at=parts.merged("at"), own=parts.own_mask(),
                         origin=as_utc(origin), peak=parts.peak(own_slots), base_tenths=base_tenths, parts=parts)


NEVER = -1
"""`crossing_rows` for a lead whose running total never reaches its threshold."""
FROM_START = -2
"""`crossing_rows` for a lead whose fit and field rules alone reach its threshold (no row needed)."""


def crossing_rows(running: RunningScores, threshold: FloatArray | float) -> IntArray:
    """Per lead, the row at which its total first reaches its threshold (and it is not suppressed): an index
    into the running rows, or NEVER / FROM_START. One searchsorted over the rows per call.

    Args:
        running: from `running_scores`.
        threshold: points (0-100), one per lead or one for all; compared with the rounded total as score()
            compares `mql_threshold`.
    """
    n = running.n_leads
    need = np.searchsorted(_GRID, np.broadcast_to(np.asarray(threshold, dtype=np.float64), (n,)), side="left")
    out = np.full(n, NEVER, dtype=np.int64)
    if running.peak.size:
        pos = np.searchsorted(running.peak, np.arange(n) * SLOTS + need + 1, side="left")
        inside = pos < running.peak.size
        pos = np.minimum(pos, running.peak.size - 1)
        hit = inside & (running.lead[pos] == np.arange(n))
        out[hit] = pos[hit]
    out[running.base_tenths >= need] = FROM_START
    return out


def first_crossing(running: RunningScores, threshold: FloatArray | float) -> FloatArray:
    """Per lead, seconds after running.origin of its first row whose total >= its threshold (and where it is
    not suppressed).

    -inf where fit and field rules alone reach the threshold (the lead qualifies from the start), NaN where
    the running total never does. A sweep calls it once per threshold on running scores computed once.

    Args:
        running: from `running_scores`.
        threshold: points (0-100), one per lead or one for all (see `crossing_rows`).
    """
    return crossing_seconds(running, crossing_rows(running, threshold))


def crossing_seconds(running: RunningScores, rows: IntArray) -> FloatArray:
    """Seconds after running.origin of each lead's `crossing_rows` row: -inf from the start, NaN never."""
    out = np.full(rows.size, np.nan)
    hit = rows >= 0
    out[hit] = (running.at[rows[hit]] - running.origin.value) / 1e9
    out[rows == FROM_START] = -np.inf
    return out


def crossing_totals(running: RunningScores, rows: IntArray) -> FloatArray:
    """The engine's total (0-100, rounded to 0.1) at each lead's `crossing_rows` row: its score at the moment
    it became an MQL; the fit-and-field total for FROM_START, NaN for NEVER."""
    out = np.full(rows.size, np.nan)
    hit = rows >= 0
    out[hit] = np.round(running.unrounded[rows[hit]], 1)
    start = rows == FROM_START
    out[start] = running.base[start]
    return out


def mql_arrival_seconds(running: RunningScores, crossing: FloatArray, created: FloatArray) -> FloatArray:
    """Seconds after running.origin each lead enters the sales queue as an MQL, from its `first_crossing`.

    Its first crossing, not before its creation (`created`, seconds after origin). A lead whose running total
    never reaches the threshold (NaN crossing) arrives at its last event (its creation if it has none). With
    running scores that is an MQL as of the end only under a model with negative points on an action or an
    account signal: their decay raises a total between rows (see the module docstring).
    """
    last = running.last_event_seconds()
    fallback = np.where(np.isnan(last), created, last)
    return np.maximum(np.where(np.isnan(crossing), fallback, crossing), created)
