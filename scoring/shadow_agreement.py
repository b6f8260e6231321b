"""How far apart champion and challenger are on the same snapshots: routing agreement by tier, band
migration on one day, and each model's score drift day over day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from scoring.drift import psi, psi_by_band
from scoring.errors import InputDataError
from scoring.shadow import MODELS, RoutingMap, checked_snapshots, motion_codes, snapshot_day

__all__ = ["BandMigration", "band_migration", "score_psi_by_day", "tier_agreement"]


@dataclass(frozen=True)
class BandMigration:
    """Champion band (rows) x challenger band (columns) on one day: lead counts and row shares (0-1)."""

    day: pd.Timestamp
    counts: pd.DataFrame
    row_shares: pd.DataFrame


# ---- agreement and migration -------------------------------------------------------------------

def tier_agreement(snapshots: pd.DataFrame, routing: RoutingMap | None = None,
                   by: str = "champion") -> pd.DataFrame:
    """Share of leads whose routing decision (routed or not) the two models agree on, by tier and day.

    Args:
        snapshots: SNAPSHOT_COLUMNS (at least day, lead_id and both *_tier columns).
        routing: tier -> motion per model; default RoutingMap().
        by: whose tiers the rows are split by, "champion" or "challenger".

    Returns:
        Columns day, tier, leads, agree (leads), agreement (agree / leads), same_motion (share with the
        same motion), champion_routed, challenger_routed (leads). Rows per (day, tier), tiers low to
        high, then tier "all" per day; then the overall rows over every lead-day with day NaT.
    """
    if by not in MODELS:
        raise InputDataError("tier_agreement", f"by={by!r}", f"use one of {list(MODELS)}")
    checked_snapshots(snapshots, "champion_tier", "challenger_tier")
    routing = routing or RoutingMap()
    champion, challenger = (motion_codes(snapshots, m, routing) for m in MODELS)
    tier = snapshots[f"{by}_tier"].astype("category")
    rows = pd.DataFrame({
        "day": snapshots["day"].to_numpy(), "tier": tier.to_numpy(),
        "leads": 1, "agree": (champion > 0) == (challenger > 0), "same_motion": champion == challenger,
        "champion_routed": champion > 0, "challenger_routed": challenger > 0,
    })
    sums = ["leads", "agree", "same_motion", "champion_routed", "challenger_routed"]
    order = {name: i for i, name in enumerate([*map(str, tier.cat.categories), "all"])}
    rows["tier"] = rows["tier"].astype(str)
    per_day = pd.concat([rows, rows.assign(tier="all")], ignore_index=True)
    daily = per_day.groupby(["day", "tier"], sort=False)[sums].sum().reset_index()
    overall = per_day.groupby("tier", sort=False)[sums].sum().reset_index().assign(day=pd.NaT)
    out = pd.concat([daily, overall], ignore_index=True)
    out["rank"] = out["tier"].map(order)
    out = out.sort_values(["day", "rank"], kind="stable", na_position="last").reset_index(drop=True)
    out["tier"] = out["tier"].astype(object)
    out["agreement"] = out["agree"] / out["leads"]
    out["same_motion"] = out["same_motion"] / out["leads"]
    columns = ["day", "tier", "leads", "agree", "agreement", "same_motion", "champion_routed", "challenger_routed"]
    return out[columns].astype({c: np.int64 for c in ("leads", "agree", "champion_routed", "challenger_routed")})


def _last_day(snapshots: pd.DataFrame, day: str | date | pd.Timestamp | None) -> tuple[pd.Timestamp, pd.DataFrame]:
    wanted = pd.Timestamp(snapshots["day"].max()) if day is None else snapshot_day(day)
    rows = snapshots[snapshots["day"] == wanted]
    if len(rows) == 0:
        days = sorted({str(pd.Timestamp(d).date()) for d in snapshots["day"].unique()})
        raise InputDataError("snapshots", f"no snapshot on {wanted.date()}", f"days held: {days}")
    return wanted, rows


def band_migration(snapshots: pd.DataFrame, day: str | date | pd.Timestamp | None = None,
                   level: str = "band") -> BandMigration:
    """Crosstab of champion band x challenger band on one day (default: the last day).

    Args:
        snapshots: SNAPSHOT_COLUMNS.
        day: the snapshot day; None takes the latest.
        level: "band" or "tier" (crosstab of the two models' tiers).

    Returns:
        BandMigration with counts (every category of both models, low to high) and row shares
        (share of the champion band's leads in each challenger band; nan for an empty row).
    """
    if level not in ("band", "tier"):
        raise InputDataError("band_migration", f"level={level!r}", "use 'band' or 'tier'")
    checked_snapshots(snapshots, f"champion_{level}", f"challenger_{level}")
    wanted, rows = _last_day(snapshots, day)
    a, b = (rows[f"{m}_{level}"].astype("category") for m in MODELS)
    codes = a.cat.codes.to_numpy() * len(b.cat.categories) + b.cat.codes.to_numpy()
    grid = np.bincount(codes, minlength=len(a.cat.categories) * len(b.cat.categories))
    counts = pd.DataFrame(grid.reshape(len(a.cat.categories), len(b.cat.categories)),
                          index=pd.Index([str(c) for c in a.cat.categories], name=f"champion_{level}"),
                          columns=pd.Index([str(c) for c in b.cat.categories], name=f"challenger_{level}"))
    totals = counts.sum(axis=1).to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts.to_numpy(dtype=np.float64) / totals[:, None]
    return BandMigration(wanted, counts, pd.DataFrame(shares, index=counts.index, columns=counts.columns))


# ---- drift -------------------------------------------------------------------------------------

def score_psi_by_day(snapshots: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """PSI of each model's totals (quantile bins of the day before) and bands, day over day.

    Returns:
        Columns day, model, leads, psi, band_psi; one row per model and day after the first.
    """
    checked_snapshots(snapshots, *(f"{m}_{c}" for m in MODELS for c in ("total", "band")))
    groups = dict(tuple(snapshots.groupby("day", sort=True)))
    days = sorted(groups)
    rows = []
    for before, today in zip(days[:-1], days[1:], strict=True):
        for model in MODELS:
            old, new = groups[before], groups[today]
            rows.append((today, model, len(new),
                         psi(old[f"{model}_total"].to_numpy(), new[f"{model}_total"].to_numpy(), bins=bins),
                         psi_by_band(old[f"{model}_band"], new[f"{model}_band"])))
    return pd.DataFrame(rows, columns=["day", "model", "leads", "psi", "band_psi"])
