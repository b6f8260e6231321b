"""The account pillar over time, for running scores: each account's raw points at every moment one of its
contacts has an event, by the engine's rules (scoring/account.py).

A moment is a distinct (account, time) among the events of the account's contacts; moments are sorted by
(account, time). At a moment the engine (as_of = that time, events up to it) gives every contact the same
account points: per signal, points x strength, summed in signal order. Strengths:

- "event" / "department": the largest seniority weight x account_decay(days) over the selected events inside
  the window. For one weight the latest event is the strongest (a decay curve never rises), so only a
  staircase can win: the latest selected event, then the latest one before it that is heavier, and so on,
  until one is outside the window (all earlier ones are too). Each moment walks its staircase, a few steps.
- "engaged_people" / "departments_engaged": a contact is engaged from each event that starts a run (no event
  of theirs in the window before it) until the first nanosecond after its run's last event leaves the window.
  Counts per seniority weight (and engaged contacts per department) rise and fall at those moments only and
  are running sums over each account's moments; weights are summed per weight level, so integer counts
  stay exact.

The window test is the engine's, days = (t - at) / 86400e9 <= account_window_days in float64, turned once
into the largest whole number of nanoseconds that passes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from scoring.account import department_matches, seniority_weights
from scoring.compiled import CompiledModel, CompiledSignal
from scoring.matchers import ColumnCodes
from simulator._running_points import LeadEvents, index_ranges
from simulator._sampling import BoolArray, FloatArray, IntArray

__all__ = ["AccountTimeline", "account_timeline"]

_DAY_NS = 86_400 * 10**9
_NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True, eq=False)
class AccountTimeline:
    """Raw account points of every account at each of its moments, and the moment of each event."""

    moment: IntArray
    """Per event (in the order given): index of its moment, -1 when its lead has no account."""
    account: IntArray
    """Per moment: account code (the leads' account_id factorised); moments sorted by (account, time)."""
    at: IntArray
    """Per moment: nanoseconds since the epoch (UTC)."""
    end: IntArray
    """Per moment: one past its account's last moment."""
    points: FloatArray
    """Per moment: raw account points, as score() gives every contact at as_of = that moment."""
    lead_account: IntArray
    """Per lead: account code, -1 for none."""

    def points_of(self, moment: IntArray) -> FloatArray:
        """Raw account points at the given moments (0 where the moment is -1: no account)."""
        if moment.size and moment.min() >= 0:
            return self.points[moment]
        return np.where(moment >= 0, self.points[moment], 0.0)


def _window_ns(window_days: float) -> int:
    """The largest whole number of nanoseconds d with float64(d) / 86400e9 <= window_days (the engine's test)."""
    if window_days * _DAY_NS >= 2.0**62:
        return _NEVER // 2

    def inside(d: int) -> bool:
        return bool((np.array([d], dtype=np.int64) / _DAY_NS)[0] <= window_days)

    low, high = int(window_days * _DAY_NS) - 1024, int(window_days * _DAY_NS) + 1024
    while not inside(low):
        low -= 1024
    while inside(high):
        high += 1024
    while high - low > 1:  # inside(low) and not inside(high)
        middle = (low + high) // 2
        low, high = (middle, high) if inside(middle) else (low, middle)
    return low


def _first_at_or_after(times: IntArray, low: IntArray, high: IntArray, target: IntArray) -> IntArray:
    """Per query: the first index i in [low, high) with times[i] >= target (high when none); times sorted
    within each [low, high). Bisection on all queries at once."""
    low, high = low.copy(), high.copy()
    if not low.size:
        return low
    for _ in range(int(np.max(high - low, initial=0)).bit_length()):
        middle = (low + high) >> 1
        before = (low < high) & (times[np.minimum(middle, times.size - 1)] < target)
        low = np.where(before, middle + 1, low)
        high = np.where(before | (low >= high), high, middle)
    return low


def _heavier_before(account: IntArray, weight: FloatArray) -> IntArray:
    """For events sorted by (account, time): the latest earlier event of the same account with a larger
    weight, -1 when none."""
    out = np.full(weight.size, -1, dtype=np.int64)
    index = np.arange(weight.size)
    for level in np.unique(weight)[1:]:
        latest = np.maximum.accumulate(np.where(weight == level, index, -1))
        before = np.r_[-1, latest[:-1]]
        np.maximum(out, np.where(weight < level, before, -1), out=out)
    found = out >= 0
    found[found] = account[out[found]] == account[found]
    return np.where(found, out, -1)


def _by_account_then_time(account: IntArray, at: IntArray) -> IntArray:
    """The order of events by (account, time), ties in any order: one argsort of an int64 key, account x time in
    units just coarse enough to fit (whole nanoseconds for short histories), checked; np.lexsort when a unit
    merged times. Fastest when the events come nearly in that order (each account's contacts together)."""
    if not at.size:
        return np.zeros(0, dtype=np.int64)
    since = at - at.min()
    span = int(since.max()) + 1
    unit = max(1, -(-span * (int(account.max()) + 1) // 2**62))
    order = np.argsort(account * (span // unit + 1) + (since // unit if unit > 1 else since))
    if unit > 1:
        account, at = account[order], at[order]
        if not np.all((account[1:] > account[:-1]) | (at[1:] >= at[:-1])):
            return np.lexsort((at, account))
    return order


class _Moments:
    """Events of leads with an account, sorted by (account, time), grouped into moments."""

    def __init__(self, lead_account: IntArray, events: LeadEvents) -> None:
        run_lead = events.lead[events.starts]  # each lead's events together, in time order
        run_account = lead_account[run_lead]
        runs = np.argsort(run_account)
        runs = runs[run_account[runs] >= 0]
        counts = events.counts[runs]
        together = index_ranges(events.starts[runs], counts)  # each account's contacts together: nearly sorted
        lead, account = np.repeat(run_lead[runs], counts), np.repeat(run_account[runs], counts)
        when = events.at[together]
        order = _by_account_then_time(account, when)
        self.order = together[order]
        """Per event of a lead with an account, sorted by (account, time) (ties in any order): its index."""
        self.lead = lead[order]
        """Per event in `order`: its lead position."""
        when = when[order]  # `account` is sorted already: the order only moves events within an account
        del runs, counts, together, lead, order
        new = np.r_[True, (account[1:] != account[:-1]) | (when[1:] != when[:-1])]
        starts = np.flatnonzero(new)
        self.of_sorted = np.cumsum(new) - 1
        """Per event in `order`: its moment."""
        self.when = when
        """Per event in `order`: its time, ns."""
        self.account, self.at = account[starts], when[starts]
        del account, new, starts
        starts_of_account = np.flatnonzero(np.r_[True, self.account[1:] != self.account[:-1]])
        span = np.diff(np.r_[starts_of_account, self.account.size])
        self.end = np.repeat(starts_of_account + span, span)
        """Per moment: one past its account's last moment."""

    @property
    def size(self) -> int:
        """Moments in all."""
        return int(self.account.size)

    def running(self, moment: IntArray, change: FloatArray) -> FloatArray:
        """Per moment: the sum of `change` (whole numbers) at its account's moments up to it; each change is
        cancelled at its account's end, so one running sum serves every account."""
        both = np.bincount(np.r_[moment, self.end[moment]], weights=np.r_[change, -change], minlength=self.size + 1)
        return np.cumsum(both[: self.size])


def _window_end(moments: _Moments, start: IntArray, stop: IntArray, at: IntArray, window_ns: int) -> IntArray:
    """Per event at time `at` seen from moment `start`: the first moment before `stop` (of its account) past the
    window after it, `stop` when the window lasts until then."""
    out = stop.copy()
    ends = np.flatnonzero(moments.at[np.maximum(stop - 1, start)] - at > window_ns)
    out[ends] = _first_at_or_after(moments.at, start[ends], stop[ends], at[ends] + window_ns + 1)
    return out


def _strongest(moments: _Moments, moment: IntArray, weight: FloatArray, at: IntArray, window_ns: int,
               model: CompiledModel) -> tuple[IntArray, FloatArray]:
    """(the moments where a selected event is in the window, in order; the largest weight x account_decay(days)
    over the selected events in the window there): 0 at every other moment.

    `moment`, `weight`, `at`: per selected event, sorted by moment. A selected event is the latest one from its
    moment to the next selected event of its account, and counts there while inside the window; heavier earlier
    events (its staircase) may beat it."""
    if not moment.size:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    account = moments.account[moment]
    heavier = _heavier_before(account, weight)
    same = np.r_[account[1:] == account[:-1], False]
    stop = np.where(same, np.r_[moment[1:], 0], moments.end[moment])
    length = np.maximum(_window_end(moments, moment, stop, at, window_ns) - moment, 0)
    event = np.repeat(np.arange(moment.size), length)  # per (moment, event) while it counts there
    active = (moment - (np.cumsum(length) - length))[event]
    active += np.arange(active.size)
    when = moments.at[active]
    out = weight[event] * model.account_decay((when - at[event]) / _DAY_NS)
    step = heavier[event]
    del event
    row = np.arange(active.size)  # the staircase's steps still inside the window, by their place in `active`
    while True:
        keep = step >= 0
        keep[keep] = when[keep] - at[step[keep]] <= window_ns
        row, step, when = row[keep], step[keep], when[keep]
        if not row.size:
            return active, out
        days = (when - at[step]) / _DAY_NS
        out[row] = np.maximum(out[row], weight[step] * model.account_decay(days))
        step = heavier[step]


class _Engagement:
    """Per moment: engaged contacts by seniority weight, and engaged departments, by the account window.

    A run of a contact's events, each within the window of the one before, engages it from its first event's
    moment up to (not including) the first moment past the window after its last event."""

    def __init__(self, moments: _Moments, events: LeadEvents, window_ns: int, row_moment: IntArray) -> None:
        rows = np.flatnonzero(row_moment >= 0) if moments.order.size < row_moment.size else None
        lead, when = (events.lead, events.at) if rows is None else (events.lead[rows], events.at[rows])
        starts = np.r_[True, (lead[1:] != lead[:-1]) | (when[1:] - when[:-1] > window_ns)]
        ends = np.r_[starts[1:], True]
        self.lead = lead[starts]
        self.start = row_moment[starts if rows is None else rows[starts]]
        last = row_moment[ends if rows is None else rows[ends]]
        self.end = np.full(last.size, moments.size)
        if window_ns < _NEVER // 2:
            found = _window_end(moments, last, moments.end[last], when[ends], window_ns)
            inside = found < moments.end[last]  # else engaged past the account's last moment
            self.end[inside] = found[inside]
        self.moments = moments

    @cached_property
    def _items(self) -> tuple[IntArray, IntArray, FloatArray]:
        """(run, moment, +1 / -1) where a run starts and ends inside its account's moments, sorted by moment
        (ties in any order: only sums over whole moments are read)."""
        inside = np.flatnonzero(self.end < self.moments.size)
        run = np.r_[np.arange(self.start.size), inside]
        moment = np.r_[self.start, self.end[inside]]
        change = np.r_[np.ones(self.start.size), -np.ones(inside.size)]
        order = np.argsort(moment)
        return run[order], moment[order], change[order]

    def _present(self, account: IntArray, moment: IntArray, present: BoolArray) -> FloatArray:
        """Per moment: 1.0 where the signal is present, from whether it is after each moment it may change."""
        was = np.r_[False, present[:-1]] & np.r_[False, account[1:] == account[:-1]]
        flips = present.astype(np.float64) - was
        return self.moments.running(moment[flips != 0], flips[flips != 0])

    def people(self, weight: FloatArray, minimum: float) -> FloatArray:
        """Per moment: 1.0 where the seniority weights of engaged contacts sum to `minimum` or more (the engine's
        1e-9 tolerance), else 0.0. Counts per weight level stay whole numbers, so the sums are exact."""
        run, moment, change = self._items
        account = self.moments.account[moment]
        level, levels = pd.factorize(weight[self.lead[run]])
        counts = np.zeros((moment.size, len(levels)))
        counts[np.arange(moment.size), level] = change
        people = _within_accounts(counts, account) @ np.asarray(levels, dtype=np.float64)
        last = np.r_[moment[1:] != moment[:-1], True]
        return self._present(account[last], moment[last], people[last] >= minimum - 1e-9)

    def departments(self, department: IntArray, minimum: float) -> FloatArray:
        """Per moment: 1.0 where `minimum` or more distinct known departments have an engaged contact."""
        run, moment, change = self._items
        known = department[self.lead[run]] >= 0
        run, moment, change = run[known], moment[known], change[known]
        account = self.moments.account[moment]
        pair = pd.factorize(account * (int(department.max()) + 1) + department[self.lead[run]])[0]
        order = np.argsort(pair * (self.moments.size + 1) + moment)  # ties in any order, as in `_items`
        pair, moment, engaged = pair[order], moment[order], _within_accounts(change[order], pair[order])
        last = np.r_[(pair[1:] != pair[:-1]) | (moment[1:] != moment[:-1]), True]
        pair, moment, engaged = pair[last], moment[last], engaged[last]
        was = np.r_[0.0, engaged[:-1]] * np.r_[False, pair[1:] == pair[:-1]]
        flips = np.sign(engaged) - np.sign(was)
        departments = self.moments.running(moment[flips != 0], flips[flips != 0])
        return (departments >= minimum).astype(np.float64)


def _within_accounts(change: FloatArray, account: IntArray) -> FloatArray:
    """Running sums of `change` (rows grouped by account, in time order within it) restarting at each account."""
    total = np.cumsum(change, axis=0)
    first = np.flatnonzero(np.r_[True, account[1:] != account[:-1]])
    before = np.concatenate([np.zeros((1, *total.shape[1:])), total])[first]
    return total - np.repeat(before, np.diff(np.r_[first, account.size]), axis=0)


class _Selected:
    """The events an "event" or "department" signal selects, as indices into the moments' order."""

    def __init__(self, moments: _Moments, type_code: IntArray, type_names: list[str], weight: FloatArray,
                 columns: ColumnCodes) -> None:
        self.moments, self.type_code, self.type_names, self.columns = moments, type_code, type_names, columns
        self.lead_weight = weight

    @cached_property
    def weight(self) -> FloatArray:
        """Per event in the moments' order: its lead's seniority weight."""
        return self.lead_weight[self.moments.lead]

    @cached_property
    def _type_code(self) -> npt.NDArray[np.signedinteger[Any]]:
        """Per event in the moments' order: its type code (int8 when the codes fit: a cache-sized gather)."""
        if len(self.type_names) < 127:
            return self.type_code.astype(np.int8)[self.moments.order]
        return self.type_code[self.moments.order]

    def events(self, signal: CompiledSignal) -> IntArray:
        """Indices into the moments' order of the events the signal selects, in order."""
        if signal.kind == "event":
            if signal.event not in self.type_names:
                return np.zeros(0, dtype=np.int64)
            return np.flatnonzero(self._type_code == self.type_names.index(signal.event))
        return np.flatnonzero(department_matches(self.columns, signal.department)[self.moments.lead])


def account_timeline(columns: ColumnCodes, events: LeadEvents, model: CompiledModel) -> AccountTimeline | None:
    """Raw account points at every moment of every account, or None when no account point can ever count
    (no signals, no account_id column, or no event of a lead with an account).

    Args:
        columns: the leads' columns (account_id, and seniority / department where the model reads them).
        events: the events, sorted by (lead, time).
    """
    if not model.signals or not columns.has("account_id"):
        return None
    lead_account = columns.codes("account_id")[0].astype(np.int64, copy=False)
    if not (lead_account[events.lead[events.starts]] >= 0).any():
        return None
    moments = _Moments(lead_account, events)
    row_moment = np.full(events.lead.size, -1, dtype=np.int64)
    row_moment[moments.order] = moments.of_sorted
    weight = seniority_weights(columns, model)
    window_ns = _window_ns(model.account_window_days)
    engagement = None
    points = np.zeros(moments.size)
    selected = _Selected(moments, events.type_code, events.type_names, weight, columns)
    for signal in model.signals:
        if signal.kind in ("event", "department"):
            event = selected.events(signal)
            active, strength = _strongest(moments, moments.of_sorted[event], selected.weight[event],
                                          moments.when[event], window_ns, model)
            strength *= signal.points
            points[active] += strength  # 0 at every other moment: adding it changes no point
            continue
        if engagement is None:
            engagement = _Engagement(moments, events, window_ns, row_moment)
        if signal.kind == "engaged_people":
            strength = engagement.people(weight, signal.minimum)
        else:
            departments = columns.codes("department")[0] if columns.has("department") \
                else np.full(len(columns), -1)
            strength = engagement.departments(departments, signal.minimum)
        strength = np.asarray(strength, dtype=np.float64)  # a new array of ours, float unless empty
        strength *= signal.points
        points += strength
    return AccountTimeline(moment=row_moment, account=moments.account, at=moments.at, end=moments.end,
                           points=points, lead_account=lead_account)
