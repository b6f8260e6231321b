"""Leads entering each motion (or tier) per day and model in a shadow run, against the team's daily capacity."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.band_entries import band_entries
from scoring.errors import InputDataError, SettingsError
from scoring.shadow import MODELS, MOTIONS, RoutingMap, checked_snapshots, motion_codes

__all__ = ["MotionCapacity", "tier_load"]


@dataclass(frozen=True)
class MotionCapacity:
    """Who works one motion: reps, leads a rep can take per calendar day, and the DOMAIN load factor."""

    reps: int
    leads_per_rep_per_day: float
    factor: float = 1.0
    """rep_load = leads * factor / reps (DOMAIN section 6: 1.0, 1.2 at peaks)."""

    def __post_init__(self) -> None:
        if self.reps < 1 or not self.leads_per_rep_per_day > 0 or not self.factor > 0:
            raise SettingsError(f"MotionCapacity needs reps >= 1, leads_per_rep_per_day > 0, factor > 0; got "
                                f"{self.reps}, {self.leads_per_rep_per_day}, {self.factor}")


def tier_load(snapshots: pd.DataFrame, capacity_per_day: Mapping[str, MotionCapacity],
              routing: RoutingMap | None = None, baseline: pd.DataFrame | None = None,
              by: str = "motion") -> pd.DataFrame:
    """Leads entering each motion (or tier) per day and model, against the team's daily capacity.

    A lead *enters* a motion on a day when it is new or moved up into it since the previous snapshot
    (scoring.band_entries on the motions; moving down is no entry). It is *new work* when the motion is
    higher than any it had on an earlier snapshot (baseline included): a lead that dips out of a motion
    and comes back stays with its rep. Load per rep is the DOMAIN section 6 formula
    `new_work * factor / reps` (simulator.capacity.rep_load).

    Args:
        snapshots: SNAPSHOT_COLUMNS, one or more days.
        capacity_per_day: motion (or tier, with by="tier") -> MotionCapacity; others get no capacity.
        routing: tier -> motion per model; default RoutingMap().
        baseline: the snapshot before the first day (e.g. the shadow run's start); without it the
            first day is only the reference and is not reported.
        by: "motion" (both models on the same motions) or "tier" (each model's own tiers).

    Returns:
        Columns day, model, key (motion or tier), entering, new_work, reps, leads_per_rep, rep_capacity
        (leads per rep per day), capacity (leads per day at the factor), utilisation (new_work /
        capacity), backlog (leads still waiting at the day's end: a fluid queue carried over days),
        over_capacity (leads_per_rep > rep_capacity). Rows per day, model, key low to high.
    """
    if by not in ("motion", "tier"):
        raise InputDataError("tier_load", f"by={by!r}", "use 'motion' or 'tier'")
    checked_snapshots(snapshots, "as_of", "champion_tier", "challenger_tier")
    routing = routing or RoutingMap()
    frames = snapshots if baseline is None else pd.concat([baseline, snapshots], ignore_index=True)
    days = sorted(pd.unique(frames["day"]))
    reported = days[1:]
    if not reported:
        raise InputDataError("tier_load", "one day and no baseline", "pass a baseline snapshot or two days")
    rows = []
    for model in MODELS:
        if by == "motion":
            keys = list(MOTIONS)
            key = pd.Categorical.from_codes(motion_codes(frames, model, routing), categories=keys, ordered=True)
        else:
            tiers = frames[f"{model}_tier"].astype("category")
            keys = [str(c) for c in tiers.cat.categories]
            key = pd.Categorical.from_codes(tiers.cat.codes.to_numpy(), categories=keys, ordered=True)
        state = pd.DataFrame({"day": frames["day"].to_numpy(), "lead_id": frames["lead_id"].to_numpy(),
                              "band": key, "scored_at": frames["as_of"].array})
        by_day = dict(tuple(state.groupby("day", sort=True)))
        highest = _codes_by_lead(by_day[days[0]])
        for before, today in zip(days[:-1], days[1:], strict=True):
            entries = band_entries(by_day[before], by_day[today])
            entering = entries.loc[entries["direction"] != "down", "band"].value_counts()
            now = _codes_by_lead(by_day[today])
            previous = highest.reindex(now.index, fill_value=-1)
            first = now[now.to_numpy() > previous.to_numpy()]
            new_work = np.bincount(first.to_numpy(), minlength=len(keys))
            highest = pd.concat([highest, now], axis=1).max(axis=1)
            rows += [(today, model, k, int(entering.get(k, 0)), int(new_work[i])) for i, k in enumerate(keys)]
    out = pd.DataFrame(rows, columns=["day", "model", "key", "entering", "new_work"])
    cap = {k: capacity_per_day.get(k) for k in out["key"].unique()}
    out["reps"] = out["key"].map({k: c.reps if c else np.nan for k, c in cap.items()}).astype(np.float64)
    factor = out["key"].map({k: c.factor if c else np.nan for k, c in cap.items()}).astype(np.float64)
    out["leads_per_rep"] = out["new_work"] * factor / out["reps"]
    out["rep_capacity"] = out["key"].map(
        {k: c.leads_per_rep_per_day if c else np.nan for k, c in cap.items()}).astype(np.float64)
    out["capacity"] = out["reps"] * out["rep_capacity"] / factor
    out["utilisation"] = out["new_work"] / out["capacity"]
    out["backlog"] = _backlog(out)
    out["over_capacity"] = (out["leads_per_rep"] > out["rep_capacity"]).to_numpy()
    return out


def _codes_by_lead(state: pd.DataFrame) -> pd.Series:
    """Key code (motion or tier, low to high) per lead_id of one day's state."""
    return pd.Series(state["band"].cat.codes.to_numpy(np.int64), index=pd.Index(state["lead_id"].to_numpy(object)))


def _backlog(load: pd.DataFrame) -> np.ndarray:
    """Leads waiting at each day's end per (model, key): max(0, yesterday's + entering - capacity)."""
    backlog = np.full(len(load), np.nan)
    for _, group in load.groupby(["model", "key"], sort=False):
        carried = 0.0
        for row, work, capacity in zip(group.index, group["new_work"], group["capacity"], strict=True):
            if not math.isnan(capacity):
                carried = max(0.0, carried + work - capacity)
                backlog[row] = carried
    return backlog
