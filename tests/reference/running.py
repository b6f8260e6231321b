"""Brute-force running scores: the engine's own score() at every moment a lead's total can rise, with the whole
account it belongs to. Slow on purpose; the reference that simulator.mql_timing's running scores and first
crossings must match.

A lead's moments are the times of its own events and, when it has an account, the times of every event of every
contact of that account (its account points can rise then). At a moment t the lead is scored with as_of = t
together with all contacts of its account and their events up to t, as score() needs them for account points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.compiled import CompiledModel
from scoring.engine import score, score_breakdown
from scoring.event_arrays import lead_positions

__all__ = ["brute_force_crossing", "brute_force_entry", "engine_at_events", "engine_at_moments"]

SHIFT_TO = pd.Timestamp("2026-11-01T00:00:00Z")
"""The common as_of of the one-call brute force."""
COLUMNS = ["lead", "at", "own", "total", "behaviour", "account", "negative", "suppressed"]


def _engine_parts(leads: pd.DataFrame, events: pd.DataFrame, model: CompiledModel, as_of: pd.Timestamp,
                  ) -> dict[str, np.ndarray]:
    """Per lead, from the engine itself: total, raw behaviour points incl. inactivity, raw account points,
    negative points, suppressed."""
    scores = score(leads, events, model, as_of)
    parts = score_breakdown(leads, events, model, as_of)[1].parts
    return {"total": scores["total"].to_numpy(), "suppressed": scores["suppressed"].to_numpy(),
            "behaviour": parts.pillar_sum("behaviour") + parts.pillar_sum("inactivity"),
            "account": parts.pillar_sum("account"), "negative": parts.pillar_sum("negative")}


def _groups(leads: pd.DataFrame) -> np.ndarray:
    """Per lead: its account_id, or its own lead_id (prefixed) when it has no account: who is scored together."""
    lead_id = "lead:" + leads["lead_id"].astype(str)
    if "account_id" not in leads.columns:
        return lead_id.to_numpy()
    account = leads["account_id"]
    return np.where(account.isna(), lead_id, "account:" + account.astype(str)).astype(object)


def engine_at_events(leads: pd.DataFrame, events: pd.DataFrame, model: CompiledModel) -> pd.DataFrame:
    """Brute force, literally: per group (an account's contacts, or a lead without one) and per distinct time t of
    the group's events, score() of the group's leads at as_of = t on their events up to t.

    Columns COLUMNS (lead = position in leads, at in ns, own = the lead has an event at t); sorted by (lead, at).
    """
    group = _groups(leads)
    event_group = pd.Series(group, index=leads["lead_id"].to_numpy()).reindex(events["lead_id"]).to_numpy()
    rows = []
    for name in pd.unique(group):
        members = np.flatnonzero(group == name)
        mine = events[event_group == name]
        for moment in sorted(mine["at"].unique()):
            as_of = pd.Timestamp(moment)
            upto = mine[mine["at"] <= as_of]
            parts = _engine_parts(leads.iloc[members], upto, model, as_of)
            at_moment = set(upto.loc[upto["at"] == as_of, "lead_id"])
            for k, i in enumerate(members):
                rows.append((i, as_of.value, leads["lead_id"].iloc[i] in at_moment,
                             *(parts[c][k] for c in COLUMNS[3:])))
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["lead", "at"], ignore_index=True)


def engine_at_moments(leads: pd.DataFrame, events: pd.DataFrame, model: CompiledModel) -> pd.DataFrame:
    """The same brute force in one score() call: a copy of each group per distinct time t of its events, holding
    its leads (one copied account) and their events up to t with every time (events, created_at) moved by
    SHIFT_TO - t, scored at SHIFT_TO. The engine reads times only as as_of - at and as_of - created_at in whole
    nanoseconds, so each copy scores as the group does at as_of = t. Events of other leads are ignored."""
    group = _groups(leads)
    ns = pd.to_datetime(events["at"], utc=True).to_numpy("datetime64[ns]").view(np.int64)
    events = events.assign(lead=lead_positions(leads["lead_id"], events["lead_id"]), ns=ns)
    events = events[events["lead"] >= 0].assign(group=lambda f: group[f["lead"].to_numpy()])
    moments = events[["group", "ns"]].drop_duplicates().sort_values(["group", "ns"], ignore_index=True)
    copies = moments.merge(pd.DataFrame({"group": group, "lead": np.arange(len(leads))}), on="group")
    pairs = moments.merge(events, on="group", suffixes=("", "_event"))
    pairs = pairs[pairs["ns_event"] <= pairs["ns"]]
    suffix = "@" + copies["ns"].astype(str)
    shift = pd.to_timedelta(SHIFT_TO.value - copies["ns"].to_numpy(), unit="ns")
    copied = leads.iloc[copies["lead"]].reset_index(drop=True).assign(
        lead_id=copies["lead"].astype(str) + suffix,
        created_at=lambda f: pd.to_datetime(f["created_at"], utc=True) + shift)
    if "account_id" in leads.columns:
        copied["account_id"] = copied["account_id"].where(copied["account_id"].isna(),
                                                          copied["account_id"].astype(str) + suffix)
    pair_shift = pd.to_timedelta(SHIFT_TO.value - pairs["ns"].to_numpy(), unit="ns")
    copied_events = pd.DataFrame({
        "lead_id": (pairs["lead"].astype(str) + "@" + pairs["ns"].astype(str)).to_numpy(),
        "type": pairs["type"].to_numpy(),
        "at": pd.to_datetime(pairs["ns_event"].to_numpy(), utc=True) + pair_shift,
        "value": pairs["value"].to_numpy() if "value" in pairs.columns else np.nan,
    })
    own = pairs.loc[pairs["ns_event"] == pairs["ns"], ["lead", "ns"]].drop_duplicates().assign(own=True)
    out = copies[["lead", "ns"]].merge(own, on=["lead", "ns"], how="left").rename(columns={"ns": "at"})
    out = out.assign(own=out["own"].fillna(False).astype(bool), **_engine_parts(copied, copied_events, model,
                                                                                 SHIFT_TO))
    return out[COLUMNS].sort_values(["lead", "at"], ignore_index=True)


def brute_force_crossing(leads: pd.DataFrame, events: pd.DataFrame, model: CompiledModel, threshold: np.ndarray,
                         origin: pd.Timestamp) -> np.ndarray:
    """Per lead: -inf when score() with no events reaches the threshold, else the seconds after origin of the
    first moment t where score(as_of=t) (with its account, events up to t) has total >= threshold and the lead
    is not suppressed (an MQL by score()'s rule), NaN when none does."""
    return brute_force_entry(leads, events, model, threshold, origin)[0]


def brute_force_entry(leads: pd.DataFrame, events: pd.DataFrame, model: CompiledModel, threshold: np.ndarray,
                      origin: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """Per lead: (`brute_force_crossing`, score()'s total at that moment: with no events for -inf, NaN for
    none)."""
    engine = engine_at_moments(leads, events, model)
    base = score(leads, events.iloc[:0], model, SHIFT_TO)["total"].to_numpy()
    out = np.where(base >= threshold, -np.inf, np.nan)
    total = np.where(base >= threshold, base, np.nan)
    reached = engine[(engine["total"].to_numpy() >= threshold[engine["lead"].to_numpy()])
                     & ~engine["suppressed"].to_numpy()]
    first = reached.sort_values(["lead", "at"], kind="stable").groupby("lead").head(1)
    lead = first["lead"].to_numpy()
    later = np.isnan(out[lead])
    out[lead[later]] = (first["at"].to_numpy()[later] - origin.value) / 1e9
    total[lead[later]] = first["total"].to_numpy()[later]
    return out, total
