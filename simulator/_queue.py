"""Array algorithms behind routing: working-time clocks and a preemptive-priority FIFO queue, no loops per lead.

A pool of interchangeable reps is modelled as one server that works only inside its working windows and
first-touches one lead every `service` working seconds (working hours / the pool's daily capacity). In
working time a FIFO single server with a constant service time has a closed form,

    start_i = max(x_i, start_{i-1} + s) = i * s + cummax_{m <= i}(x_m - m * s),

so one tier is one `np.maximum.accumulate`. Tiers are served by preemptive priority: the highest tier sees
the whole clock, the next tier sees only the time the higher tiers left free ("free clock"), and so on, so
P tiers cost P passes. All times are float seconds after the simulation start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator._sampling import FloatArray, IntArray

_DAY = 86_400.0


@dataclass(frozen=True)
class Windows:
    """Disjoint, sorted working windows of a pool: opens, closes and working seconds before each opens."""

    opens: FloatArray
    closes: FloatArray
    before: FloatArray

    @property
    def total(self) -> float:
        """Working seconds in the horizon."""
        return float(self.before[-1] + (self.closes[-1] - self.opens[-1])) if self.opens.size else 0.0


def working_windows(first_weekday: int, days: float, start_hour: float, end_hour: float,
                    workdays: tuple[int, ...], utc_offset_hours: float) -> Windows:
    """Working windows in [0, days * 86,400) seconds for local hours start-end on `workdays`.

    Args:
        first_weekday: weekday (Monday = 0) of the simulation start, a UTC midnight.
        days: horizon length in days.
        start_hour, end_hour: local working hours.
        workdays: local weekdays worked.
        utc_offset_hours: local time minus UTC.
    """
    day = np.arange(-1, int(np.ceil(days)) + 2, dtype=np.float64)
    weekday = (first_weekday + day.astype(np.int64)) % 7
    keep = np.isin(weekday, np.asarray(workdays, dtype=np.int64))
    offset = utc_offset_hours * 3600.0
    opens = day[keep] * _DAY + start_hour * 3600.0 - offset
    closes = day[keep] * _DAY + end_hour * 3600.0 - offset
    horizon = days * _DAY
    opens, closes = np.clip(opens, 0.0, horizon), np.clip(closes, 0.0, horizon)
    keep = closes > opens
    opens, closes = opens[keep], closes[keep]
    lengths = closes - opens
    before = np.concatenate(([0.0], np.cumsum(lengths)[:-1])) if lengths.size else lengths
    return Windows(opens, closes, before)


def to_working(windows: Windows, t: FloatArray) -> FloatArray:
    """Working seconds elapsed by time t (a time out of hours maps to the next opening)."""
    if windows.opens.size == 0:
        return np.zeros_like(t)
    k = np.searchsorted(windows.opens, t, side="right") - 1
    kc = np.maximum(k, 0)
    inside = np.clip(t - windows.opens[kc], 0.0, windows.closes[kc] - windows.opens[kc])
    return np.where(k >= 0, windows.before[kc] + inside, 0.0)


def from_working(windows: Windows, w: FloatArray) -> tuple[FloatArray, IntArray]:
    """Real time and window index of working second w (w must be below windows.total)."""
    k = np.maximum(np.searchsorted(windows.before, w, side="right") - 1, 0)
    return windows.opens[k] + (w - windows.before[k]), k


@dataclass(frozen=True)
class _FreeClock:
    """The clock of time left free after disjoint busy intervals [starts, starts + service)."""

    starts: FloatArray
    service: float

    def forward(self, c: FloatArray) -> FloatArray:
        n = np.searchsorted(self.starts, c, side="right")
        last_end = np.where(n > 0, self.starts[np.maximum(n - 1, 0)] + self.service, 0.0)
        busy = n * self.service - np.maximum(last_end - c, 0.0)
        return c - busy

    def inverse(self, f: FloatArray) -> FloatArray:
        gap_start = np.concatenate(([0.0], self.starts + self.service))
        gap_free = gap_start - np.arange(gap_start.size) * self.service
        j = np.searchsorted(gap_free, f, side="right") - 1
        return gap_start[j] + (f - gap_free[j])


def priority_starts(arrival_w: FloatArray, priority: IntArray, service: float) -> FloatArray:
    """Start of service (working seconds) per job under preemptive priority, FIFO within a priority.

    Args:
        arrival_w: arrival in working seconds, per job.
        priority: 0 = served first; higher values wait for all lower ones.
        service: working seconds per job.

    Returns:
        Start in working seconds per job, in input order (possibly beyond the horizon's working time).
    """
    out = np.empty(arrival_w.size)
    clocks: list[_FreeClock] = []
    for level in np.unique(priority):
        rows = np.flatnonzero(priority == level)
        rows = rows[np.argsort(arrival_w[rows], kind="stable")]
        x = arrival_w[rows]
        for clock in clocks:
            x = clock.forward(x)
        steps = np.arange(x.size) * service
        start: FloatArray = np.asarray(steps + np.maximum.accumulate(x - steps), dtype=np.float64)
        clocks.append(_FreeClock(start, service))
        for clock in reversed(clocks[:-1]):
            start = clock.inverse(start)
        out[rows] = start
    return out


def rank_within(groups: IntArray, key: FloatArray) -> IntArray:
    """0-based rank of each item by key within its group (ties by input order)."""
    order = np.lexsort((key, groups))
    sorted_groups = groups[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = sorted_groups[1:] != sorted_groups[:-1]
    run_start = np.maximum.accumulate(np.where(first, np.arange(order.size), 0))
    ranks = np.empty(order.size, dtype=np.int64)
    ranks[order] = np.arange(order.size) - run_start
    return ranks
