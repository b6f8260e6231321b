"""When, and with what chance to win, each lead enters the sales queue at an MQL threshold.

    clock = QueueClock.of(funnel, model, start)          # running scores once per funnel and model
    entry = clock.entries(60.0, total >= 60.0, windows)   # per threshold: one searchsorted

A live system routes a lead when its score first reaches the threshold, even if it decays below it later.
Running scores are exact for every rule, the account pillar included (`simulator.mql_timing`), so every
lead whose as_of score is an MQL has a first crossing, at or before as_of; only a model with negative points
on an action or an account signal can leave one without (their decay raises a total between rows), and such
a lead arrives at its last event. Its P(won) is the one it has at that moment (`Funnel.in_market`); a lead
that never enters the queue keeps its P(won) at its most in-market moment, which the untouched odds then
lower. Sweeps, the what-if and chunked runs all route through this, so their answers agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.compiled import CompiledModel
from simulator._queue import Windows, to_working
from simulator._sampling import BoolArray, FloatArray
from simulator.funnel import Funnel
from simulator.in_market import InMarket
from simulator.mql_timing import (
    RunningScores,
    crossing_rows,
    crossing_seconds,
    crossing_totals,
    mql_arrival_seconds,
    running_scores,
)

__all__ = ["QueueClock", "QueueEntries"]

_DAY_SECONDS = 86_400.0


@dataclass(frozen=True, eq=False)
class QueueEntries:
    """Each lead's entry to the sales queue at one threshold (seconds after the routing start)."""

    mql: BoolArray
    arrival: FloatArray
    """Seconds after the start: the first crossing for MQLs, the creation for the others."""
    arrival_working: FloatArray | None
    """The same moment on the team's working clock (working seconds after the start); None without windows."""
    propensity: FloatArray
    """P(won) at the reference delay, at the moment of entry (at the most in-market moment for non-MQLs)."""
    score: FloatArray
    """The total (points) at the moment of entry, which routing reads; NaN for non-MQLs and for MQLs whose
    running total never reached the threshold (negative points only: they enter with their as_of score)."""

    def hot(self, sql: float, as_of_total: FloatArray) -> BoolArray:
        """MQLs whose score reached `sql` points when they entered the queue (as a live router sees them, even if
        they have cooled since; the as_of total where the entry score is unknown)."""
        return self.mql & (np.where(np.isnan(self.score), as_of_total, self.score) >= sql)


@dataclass(frozen=True, eq=False)
class QueueClock:
    """Running scores, creation times and P(won) over time of one scored funnel, ready for any threshold."""

    running: RunningScores
    created: FloatArray
    """Creation of each lead, seconds after the start."""
    in_market: InMarket
    as_of_day: float
    """Days from the start to as_of."""

    @classmethod
    def of(cls, funnel: Funnel, model: CompiledModel, start: pd.Timestamp) -> QueueClock:
        """Running scores of the funnel under the model, with times in seconds after `start` (UTC)."""
        created_ns = pd.to_datetime(funnel.leads["created_at"], utc=True).to_numpy("datetime64[ns]").view(np.int64)
        return cls(running=running_scores(funnel.leads, funnel.events, model, start),
                   created=(created_ns - start.value) / 1e9, in_market=funnel.in_market,
                   as_of_day=float((funnel.spec.as_of - start) / pd.Timedelta(days=1)))

    def entries(self, threshold: FloatArray | float, as_of_mql: BoolArray, windows: Windows | None = None,
                ) -> QueueEntries:
        """Who enters the queue at `threshold` (points, one or one per lead), when, and with what P(won).

        Args:
            threshold: MQL threshold in points, for all leads or per lead (e.g. per-segment thresholds).
            as_of_mql: leads that are MQLs at the threshold as of the end (their score at as_of); they enter
                the queue even when their running total never reached it (negative points only).
            windows: the team's working windows, for the working-clock arrival (None: not needed).
        """
        rows = crossing_rows(self.running, threshold)
        crossing = crossing_seconds(self.running, rows)
        mql = ~np.isnan(crossing) | as_of_mql
        arrival = np.where(mql, mql_arrival_seconds(self.running, crossing, self.created), self.created)
        moment = np.where(mql, arrival / _DAY_SECONDS - self.as_of_day, self.in_market.peak_day())
        working = None if windows is None else to_working(windows, arrival)
        return QueueEntries(mql=mql, arrival=arrival, arrival_working=working,
                            propensity=self.in_market.propensity_at(moment),
                            score=np.where(mql, crossing_totals(self.running, rows), np.nan))
