"""Query rows of running scores: the account moments at which a contact's total may reach a new high through
account points alone (other contacts' events), their totals by the engine's rules, and the merge with the
rows at the contacts' own events (simulator.mql_timing).

Between its own events a contact's fit, behaviour and negative points can only stay or fall (decay,
inactivity steps; action points >= 0), so at an account moment its total is at most its total with the
behaviour of its last own event and the account points of that moment. A query row can therefore be a new
high only where the account's contribution to the blended score is above (1) its value at the contact's last
own event and at every account moment since (a record; 0 before the first own event) and (2) what the total
with that behaviour would need to beat the contact's highest own total so far. Records are rises (above the
moment before), so the walk runs over rises only, jumping to the next higher one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from scoring.compiled import CompiledModel
from simulator._account_timeline import AccountTimeline
from simulator._running_points import DAY_NS, ActionStates, LeadEvents, after_inactivity, combined, pillar
from simulator._sampling import BoolArray, FloatArray, IntArray

__all__ = ["SLOTS", "Highs", "QueryRows", "RowParts", "Rows", "query_rows", "query_scores"]

SLOTS = 1002
"""Peak values per lead: 0 for a suppressed row (never an MQL), 1 + the total in tenths (0..1000) otherwise."""
_MARGIN = 1e-9
"""Points of slack for float rounding in the bars, far above it and far below a tenth of a point."""


@dataclass(frozen=True, eq=False)
class Rows:
    """Per-row points of running scores, sorted by (lead, time)."""

    lead: IntArray
    at: IntArray
    behaviour: FloatArray
    account: FloatArray
    negative: FloatArray
    unrounded: FloatArray
    suppressed: BoolArray

    def slots(self) -> IntArray:
        """Per row: lead * 1002 + 1 + its total in tenths (lead * 1002 where suppressed): `first_crossing`'s keys."""
        out = np.rint(self.unrounded * 10.0).astype(np.int64) + 1
        out[self.suppressed] = 0
        out += self.lead * SLOTS
        return out


@dataclass(frozen=True, eq=False)
class Highs:
    """The own rows' totals: what an account's contribution must beat for a query row to be a lead's new high."""

    model: CompiledModel
    own: Rows
    own_slots: IntArray
    """`own.slots()`."""
    fit_raw: FloatArray
    field_negative: FloatArray
    base_tenths: IntArray

    @cached_property
    def highest(self) -> IntArray:
        """Per own row: the lead's highest own total up to it, in tenths (own rows are never suppressed)."""
        out = np.maximum.accumulate(self.own_slots)
        out -= self.own.lead * SLOTS + 1
        return out

    @cached_property
    def _fit_term(self) -> FloatArray:
        """Per lead: what its fit adds to the blended score (raw points, or the weighted pillar)."""
        model = self.model
        return self.fit_raw if model.combine == "sum" else pillar(self.fit_raw, model.fit_max, model.weights[0])

    def _bar(self, tenths: IntArray, lead: IntArray, behaviour: FloatArray, negative: FloatArray) -> FloatArray:
        """The contribution at or below which clip(blended + negative, 0, 100) stays at most `tenths` / 10."""
        model = self.model
        rest = self._fit_term[lead]
        rest += behaviour if model.combine == "sum" else pillar(behaviour, model.behaviour_max, model.weights[1])
        rest += negative
        out = np.add(tenths, 0.5, dtype=np.float64)
        out /= 10.0
        out -= rest
        out -= _MARGIN
        return out

    def after(self, rows: IntArray) -> FloatArray:
        """Per own row: the bar for query rows after it (with its behaviour and negative points)."""
        return self._bar(self.highest[rows], self.own.lead[rows], self.own.behaviour[rows], self.own.negative[rows])

    def before(self, leads: IntArray) -> FloatArray:
        """Per lead: the bar for query rows before its first own event (no behaviour, its total with no event)."""
        return self._bar(self.base_tenths[leads], leads, np.zeros(leads.size), self.field_negative[leads])


@dataclass(frozen=True, eq=False)
class QueryRows:
    """Candidate moments at which a contact's total may reach a new high through account points alone."""

    lead: IntArray
    """Position of the contact in the leads frame (in no particular order)."""
    moment: IntArray
    """Index into the timeline's moments."""
    insert_at: IntArray
    """Index into the events (sorted by lead, time) before which the row belongs: after the contact's own
    events up to that moment."""
    after: IntArray
    """Index into the events of the contact's last own event before the moment, -1 for none."""


def _next_higher(value: FloatArray, end: IntArray) -> IntArray:
    """Per element: the next one before `end` (its group's end) with a strictly larger value, `end` when none.
    Pointer jumping: an element that is not larger can be skipped with all it skips."""
    out = np.minimum(np.arange(1, value.size + 1), end)
    active = np.flatnonzero(out < end)
    while active.size:
        ahead = out[active]
        skip = value[ahead] <= value[active]
        active = active[skip]
        out[active] = out[ahead[skip]]
        active = active[out[active] < end[active]]
    return out


def query_rows(timeline: AccountTimeline, contribution: FloatArray, events: LeadEvents, moment_ends: IntArray,
               highs: Highs) -> QueryRows:
    """Contacts x moments at which a contact's total may be a new high (see the module docstring).

    Args:
        timeline: from `account_timeline`.
        contribution: per moment, what the account points add to the blended score.
        events: sorted by (lead, time).
        moment_ends: the last event of each (position, time), increasing.
        highs: the own rows' totals.
    """
    account, end, position = timeline.account, timeline.end, events.lead
    first_of_account = np.flatnonzero(np.r_[True, account[1:] != account[:-1]])
    is_rise = np.empty(account.size, dtype=bool)  # above the moment before (0 before an account's first)
    np.greater(contribution[1:], contribution[:-1], out=is_rise[1:])
    is_rise[first_of_account] = contribution[first_of_account] > 0.0
    rise = np.flatnonzero(is_rise)
    rises_up_to = np.cumsum(is_rise)  # per moment: rises at or before it = index of the first rise after it
    value = np.r_[contribution[rise], np.inf]  # a sentinel past the last rise
    higher = np.r_[_next_higher(value[:-1], np.searchsorted(rise, end[rise])), rise.size]
    stop = np.r_[rise, account.size]
    del rise
    # segments after each own moment (the last own row of each (lead, moment)), up to the lead's next one
    rows, at_row = moment_ends, timeline.moment[moment_ends]
    if at_row.size and at_row.min() < 0:  # leads without an account
        rows, at_row = rows[at_row >= 0], at_row[at_row >= 0]
    step, lead = rises_up_to[at_row], position[rows]
    # a rise before the lead's next own moment (or the account's end): more rises up to the moment before it
    same = lead[1:] == lead[:-1]
    ahead = np.r_[step[1:] - is_rise[at_row[1:]], 0]
    last = np.r_[np.flatnonzero(~same), rows.size - 1]
    ahead[last] = rises_up_to[end[at_row[last]] - 1]
    keep = np.flatnonzero(ahead > step)
    del ahead, same, last
    limit = end[at_row[keep]]
    next_same = np.flatnonzero(keep + 1 < rows.size)
    next_same = next_same[lead[keep[next_same] + 1] == lead[keep[next_same]]]
    limit[next_same] = at_row[keep[next_same] + 1]
    rows = rows[keep]
    segments = [(lead[keep], step[keep], np.maximum(contribution[at_row[keep]], highs.after(rows)), limit,
                 rows + 1, rows)]
    del step, lead, at_row, keep
    # segments before each contact's first own event (or the whole timeline without one), from 0 points
    account_start = np.full(int(timeline.lead_account.max()) + 1, -1)
    account_start[account[first_of_account]] = first_of_account
    contacts = np.flatnonzero(timeline.lead_account >= 0)
    begin = account_start[timeline.lead_account[contacts]]
    contacts, begin = contacts[begin >= 0], begin[begin >= 0]
    first_row = events.lead_start[contacts]
    has_row = events.lead_end[contacts] > first_row
    before = np.where(has_row, timeline.moment[np.minimum(first_row, position.size - 1)], end[begin])
    segments.append((contacts, rises_up_to[begin] - is_rise[begin], np.maximum(0.0, highs.before(contacts)),
                     before, first_row, np.full(contacts.size, -1)))
    del rises_up_to, is_rise
    found: list[list[IntArray]] = [[], [], [], []]
    for lead, step, bar, limit, insert_at, after in segments:
        walker: list[IntArray] = []
        reached: list[IntArray] = []
        walking = np.flatnonzero(stop[step] < limit)
        while walking.size:
            at_step = step[walking]
            record = value[at_step] > bar[walking]
            kept, recorded = walking[record], at_step[record]
            walker.append(kept)
            reached.append(stop[recorded])
            bar[kept] = value[recorded]
            at_step = higher[at_step]
            step[walking] = at_step
            walking = walking[stop[at_step] < limit[walking]]
        kept = np.concatenate(walker) if walker else np.zeros(0, dtype=np.int64)
        for parts, part in zip(found, (lead[kept], np.concatenate(reached) if reached else kept, insert_at[kept],
                                       after[kept])):
            parts.append(part)
    lead, moment, insert_at, after = (np.concatenate(parts) for parts in found)
    return QueryRows(lead=lead, moment=moment, insert_at=insert_at, after=after)


class RowParts:
    """Own rows and query rows, each sorted by (lead, time), merged into one (lead, time) order on first use
    of each array (first crossings need only lead, time and the peak)."""

    def __init__(self, own: Rows, query: Rows | None = None, insert_at: IntArray | None = None) -> None:
        """`insert_at`: per query row, the own row it goes before (non-decreasing)."""
        self.own, self.query = own, query
        self._merged: dict[str, np.ndarray] = {}
        self._own_at: BoolArray | None = None
        """True at own rows, False at query rows, in the merged order (None without query rows)."""
        if query is None or insert_at is None or not insert_at.size:
            self.query = None
        else:
            self._query_dest = insert_at + np.arange(insert_at.size)
            self._own_at = np.ones(own.lead.size + insert_at.size, dtype=bool)
            self._own_at[self._query_dest] = False
            self._own_dest = np.flatnonzero(self._own_at)

    @property
    def size(self) -> int:
        """Rows in all."""
        return int(self.own.lead.size if self._own_at is None else self._own_at.size)

    def _merge(self, own: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Own rows' and query rows' values of one array in the merged order."""
        assert self._own_at is not None
        out = np.empty(self.size, dtype=own.dtype)
        out[self._own_dest], out[self._query_dest] = own, query
        return out

    def merged(self, name: str) -> np.ndarray:
        """One per-row array of Rows in the merged order."""
        if self.query is None:
            return getattr(self.own, name)
        if name not in self._merged:
            self._merged[name] = self._merge(getattr(self.own, name), getattr(self.query, name))
        return self._merged[name]

    def peak(self, own: IntArray) -> IntArray:
        """Per row: the running maximum of `Rows.slots` (the lead's highest total so far), merged order, from
        the own rows' slots."""
        if self.query is None:
            return np.maximum.accumulate(own)
        out = self._merge(own, self.query.slots())
        return np.maximum.accumulate(out, out=out)

    def own_mask(self) -> BoolArray:
        """True at own rows, False at query rows, in the merged order."""
        return np.ones(self.size, dtype=bool) if self._own_at is None else self._own_at.copy()


def query_scores(model: CompiledModel, query: QueryRows, timeline: AccountTimeline, highs: Highs,
                 actions: ActionStates, created_ns: IntArray) -> tuple[Rows, IntArray]:
    """(the rows sorted by (lead, time), the own row each goes before) of the candidate query rows whose total
    with the behaviour of their last own event beats their lead's highest own total so far.

    At a query row the lead's behaviour is that of its last own event evaluated at the moment, after the
    inactivity step its silent days reach (as score_points() counts them: since that event, not before the
    lead's creation); its negative points are those of that event (a query row triggers no rule).
    """
    own = highs.own
    after = query.after
    has = after >= 0
    last = np.maximum(after, 0)
    lead, account = query.lead, timeline.points_of(query.moment)
    negative = np.where(has, own.negative[last], highs.field_negative[lead])
    upper = combined(model, highs.fit_raw, np.where(has, own.behaviour[last], 0.0), account, negative, lead)
    keep = np.flatnonzero(np.rint(upper * 10.0).astype(np.int64)
                          > np.where(has, highs.highest[last], highs.base_tenths[lead]))
    keep = keep[np.argsort(lead[keep] * (timeline.account.size + 1) + query.moment[keep], kind="stable")]  # sorted runs
    lead, account, negative, after, has = lead[keep], account[keep], negative[keep], after[keep], has[keep]
    at = timeline.at[query.moment[keep]]
    rows = np.flatnonzero(has)
    when, event = at[rows], after[rows]
    behaviour = np.zeros(at.size)
    behaviour[rows] = actions.behaviour_at(when, event)
    since_event = np.full(at.size, np.inf)
    since_event[rows] = (when - own.at[event]) / DAY_NS
    silent = np.minimum(since_event, np.maximum((at - created_ns[lead]) / DAY_NS, 0.0))
    behaviour = after_inactivity(model, behaviour, silent)
    unrounded = combined(model, highs.fit_raw, behaviour, account, negative, lead)
    suppressed = silent >= model.archive_after_days
    return Rows(lead, at, behaviour, account, negative, unrounded, suppressed), query.insert_at[keep]
