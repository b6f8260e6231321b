"""Brute-force running scores: the engine's own score() at every event time of every lead. Slow on purpose;
the reference that simulator.mql_timing's running scores and first crossings must match."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.compiled import CompiledModel
from scoring.engine import score, score_breakdown
from scoring.event_arrays import lead_positions

__all__ = ["brute_force_crossing", "engine_at_events", "engine_at_events_shifted"]

SHIFT_TO = pd.Timestamp("2026-11-01T00:00:00Z")
"""The common as_of of the one-call brute force."""


def _engine_parts(leads: pd.DataFrame, events: pd.DataFrame, model: CompiledModel,
                  as_of: pd.Timestamp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(total, raw behaviour points incl. inactivity, negative points) per lead from the engine itself."""
    totals = score(leads, events, model, as_of)["total"].to_numpy()
    parts = score_breakdown(leads, events, model, as_of)[1].parts
    behaviour = parts.pillar_sum("behaviour") + parts.pillar_sum("inactivity")
    return totals, behaviour, parts.pillar_sum("negative")


def engine_at_events(leads: pd.DataFrame, events: pd.DataFrame, model: CompiledModel) -> pd.DataFrame:
    """Brute force, literally: score() of each lead alone at as_of = each of its event times, on its events up to then.

    Columns lead (position in leads), at (ns), total, behaviour, negative; sorted by (lead, at), one row per
    distinct event time.
    """
    rows = []
    for i, lead_id in enumerate(leads["lead_id"]):
        lead, own = leads.iloc[[i]], events[events["lead_id"] == lead_id]
        for moment in sorted(own["at"].unique()):
            as_of = pd.Timestamp(moment)
            total, behaviour, negative = _engine_parts(lead, own[own["at"] <= as_of], model, as_of)
            rows.append((i, as_of.value, total[0], behaviour[0], negative[0]))
    return pd.DataFrame(rows, columns=["lead", "at", "total", "behaviour", "negative"])


def engine_at_events_shifted(leads: pd.DataFrame, events: pd.DataFrame, model: CompiledModel) -> pd.DataFrame:
    """The same brute force in one score() call: a copy of the lead per distinct event time t, holding its
    events up to t with every time (events, created_at) moved by SHIFT_TO - t, scored at SHIFT_TO. The engine
    reads times only as as_of - at and as_of - created_at in whole nanoseconds, so each copy scores as the
    lead does at as_of = t. Leads must have no account (or the model no account signals): copies would
    share one. Events of other leads are ignored."""
    ns = pd.to_datetime(events["at"], utc=True).to_numpy("datetime64[ns]").view(np.int64)
    events = events.assign(lead=lead_positions(leads["lead_id"], events["lead_id"]), ns=ns)
    events = events[events["lead"] >= 0]
    moments = events[["lead", "ns"]].drop_duplicates().sort_values(["lead", "ns"]).reset_index(drop=True)
    pairs = moments.merge(events, on="lead", suffixes=("", "_event"))
    pairs = pairs[pairs["ns_event"] <= pairs["ns"]]
    copy_id = moments["lead"].astype(str) + "@" + moments["ns"].astype(str)
    shift = pd.to_timedelta(SHIFT_TO.value - moments["ns"], unit="ns")
    copies = leads.iloc[moments["lead"]].reset_index(drop=True).assign(
        lead_id=copy_id, created_at=lambda f: pd.to_datetime(f["created_at"], utc=True) + shift)
    pair_shift = pd.to_timedelta(SHIFT_TO.value - pairs["ns"].to_numpy(), unit="ns")
    copied_events = pd.DataFrame({
        "lead_id": (pairs["lead"].astype(str) + "@" + pairs["ns"].astype(str)).to_numpy(),
        "type": pairs["type"].to_numpy(),
        "at": pd.to_datetime(pairs["ns_event"].to_numpy(), utc=True) + pair_shift,
        "value": pairs["value"].to_numpy(),
    })
    total, behaviour, negative = _engine_parts(copies, copied_events, model, SHIFT_TO)
    return pd.DataFrame({"lead": moments["lead"], "at": moments["ns"], "total": total, "behaviour": behaviour,
                         "negative": negative})


def brute_force_crossing(leads: pd.DataFrame, events: pd.DataFrame, model: CompiledModel, threshold: np.ndarray,
                         origin: pd.Timestamp) -> np.ndarray:
    """Per lead: -inf when score() with no events reaches the threshold, else the seconds after origin of the
    first event time t where score(as_of=t) on the events up to t does, NaN when none does."""
    engine = engine_at_events_shifted(leads, events, model)
    base = score(leads, events.iloc[:0], model, SHIFT_TO)["total"].to_numpy()
    out = np.where(base >= threshold, -np.inf, np.nan)
    reached = engine[engine["total"].to_numpy() >= threshold[engine["lead"].to_numpy()]]
    first = reached.groupby("lead")["at"].min()
    later = np.isnan(out[first.index.to_numpy()])
    out[first.index.to_numpy()[later]] = (first.to_numpy()[later] - origin.value) / 1e9
    return out


