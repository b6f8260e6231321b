"""The shadow snapshot contract: both models' daily scores side by side, and the tier -> motion routing map.

Pure functions over *snapshots*, the one contract shared by the simulated replay
(`simulator.shadow_replay`) and the live shadow run (daily scores of both models from a CRM):

    snapshots: one row per (day, lead_id), both models side by side ("wide"), columns SNAPSHOT_COLUMNS:
      day                 datetime64[ns], tz-naive midnight: the UTC calendar day the snapshot closes
      as_of               datetime64[ns, UTC]: the moment both models scored (normally the day's end)
      lead_id, segment    segment may be missing (None)
      champion_total / challenger_total      points 0-100
      champion_band / challenger_band        ordered categoricals, low -> high (as score() returns)
      champion_tier / challenger_tier        ordered categoricals, low -> high
      champion_version / challenger_version  model_version of each scores frame

Build one day with `snapshot(leads, champion_scores, challenger_scores, day)` and `pd.concat` the days.
Tiers are translated to motions ("nurture" < "warm" < "hot"; routed = warm or hot) by a RoutingMap,
because the two models name their tiers differently. Counting is vectorised (groupby, crosstab).
The comparisons over snapshots (DOMAIN.md section 7): scoring.shadow_agreement (routing agreement, band
migration, score drift), scoring.shadow_load (new work against capacity), scoring.shadow_outcomes
(early outcomes by band and their tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from scoring.errors import InputDataError, SettingsError
from scoring.inputs import require_columns

__all__ = [
    "MODELS",
    "MOTIONS",
    "SNAPSHOT_COLUMNS",
    "RoutingMap",
    "checked_snapshots",
    "motion_codes",
    "snapshot",
    "snapshot_day",
]

MODELS: tuple[str, ...] = ("champion", "challenger")
MOTIONS: tuple[str, ...] = ("nurture", "warm", "hot")
"""Sales motions, low to high (DOMAIN section 4): hot = first touch within ~2 h, warm = SDR within 24 h."""
SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "day", "as_of", "lead_id", "segment", "champion_total", "champion_band", "champion_tier",
    "challenger_total", "challenger_band", "challenger_tier", "champion_version", "challenger_version",
)


def _champion_default() -> dict[str, str]:
    return {"hot": "warm", "not_hot": "nurture"}


def _challenger_default() -> dict[str, str]:
    return {"A": "hot", "B": "warm", "C": "nurture", "D": "nurture"}


@dataclass(frozen=True)
class RoutingMap:
    """Tier -> motion per model. Defaults follow the SLAs in models/: the baseline's "hot" tier (24 h SLA,
    "send to sales") is a warm motion; the candidate's A (2 h) is hot, B (24 h) warm, C and D nurture.
    Routing decisions agree when both models route a lead (any of warm/hot) or both leave it in nurture."""

    champion: Mapping[str, str] = field(default_factory=_champion_default)
    challenger: Mapping[str, str] = field(default_factory=_challenger_default)

    def __post_init__(self) -> None:
        bad = [f"{m}: {t!r} -> {v!r}" for m in MODELS for t, v in self.of(m).items() if v not in MOTIONS]
        if bad:
            raise SettingsError(f"RoutingMap: motions must be one of {list(MOTIONS)}; got {', '.join(bad)}")

    def of(self, model: str) -> Mapping[str, str]:
        """The tier -> motion map of 'champion' or 'challenger'; SettingsError for any other name."""
        if model not in MODELS:
            raise SettingsError(f"RoutingMap has no model {model!r}; use one of {list(MODELS)}")
        return self.champion if model == "champion" else self.challenger


# ---- the contract ----------------------------------------------------------------------------------

def snapshot_day(day: str | date | pd.Timestamp) -> pd.Timestamp:
    """The tz-naive midnight of the UTC calendar day holding `day` (a snapshot's `day` value)."""
    stamp = pd.Timestamp(day)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.normalize()


def _utc_ns(moments: pd.Series) -> np.ndarray:
    """UTC moments as naive datetime64[ns] (naive input is taken to be UTC)."""
    values = pd.to_datetime(moments, utc=True)
    return values.dt.tz_localize(None).to_numpy("datetime64[ns]")


def snapshot(leads: pd.DataFrame, champion_scores: pd.DataFrame, challenger_scores: pd.DataFrame,
             day: str | date | pd.Timestamp) -> pd.DataFrame:
    """One day of the shadow record: both models' scores of the same leads, side by side.

    Args:
        leads: canonical leads; only lead_id and (optional) segment are read.
        champion_scores, challenger_scores: score() frames of the same leads (any order).
        day: the UTC calendar day the snapshot closes.

    Returns:
        SNAPSHOT_COLUMNS, one row per lead in the champion's order; as_of is the later scored_at of the two.

    Raises:
        InputDataError: a missing column, or the two frames do not hold the same leads.
    """
    needed = ("lead_id", "total", "band", "tier", "model_version", "scored_at")
    require_columns(champion_scores, needed, "champion_scores", "snapshot")
    require_columns(challenger_scores, needed, "challenger_scores", "snapshot")
    require_columns(leads, ("lead_id",), "leads", "snapshot")
    ids = pd.Index(champion_scores["lead_id"])
    if ids.has_duplicates:
        raise InputDataError("champion_scores", "repeated lead_id", "one score row per lead")
    position = pd.Index(challenger_scores["lead_id"]).get_indexer(ids)
    if (position < 0).any() or len(challenger_scores) != len(ids):
        only = ids[position < 0].tolist()[:5] or sorted(set(challenger_scores["lead_id"]) - set(ids))[:5]
        raise InputDataError("snapshot", f"champion and challenger scored different leads, e.g. {only}",
                             "score the same leads with both models")
    other = challenger_scores.iloc[position]
    segment = (leads.set_index("lead_id")["segment"].reindex(ids).to_numpy(dtype=object)
               if "segment" in leads.columns else np.full(len(ids), None, dtype=object))
    scored = np.maximum(_utc_ns(champion_scores["scored_at"]), _utc_ns(other["scored_at"]))
    frame = {
        "day": np.full(len(ids), snapshot_day(day).to_datetime64()).astype("datetime64[ns]"),
        "as_of": pd.DatetimeIndex(scored).tz_localize("UTC"),
        "lead_id": ids.to_numpy(dtype=object), "segment": segment,
    }
    for model, scores in (("champion", champion_scores), ("challenger", other)):
        for column in ("total", "band", "tier"):
            values = scores[column]
            frame[f"{model}_{column}"] = values.array if column != "total" else values.to_numpy(np.float64)
    frame["champion_version"] = champion_scores["model_version"].to_numpy(dtype=object)
    frame["challenger_version"] = other["model_version"].to_numpy(dtype=object)
    return pd.DataFrame(frame, columns=list(SNAPSHOT_COLUMNS))


def checked_snapshots(snapshots: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """The snapshots, once they hold day, lead_id, `columns` and at least one row (else InputDataError)."""
    require_columns(snapshots, ("day", "lead_id", *columns), "snapshots")
    if len(snapshots) == 0:
        raise InputDataError("snapshots", "no rows", "pass at least one day of snapshot()")
    return snapshots


def motion_codes(snapshots: pd.DataFrame, model: str, routing: RoutingMap) -> np.ndarray:
    """Index into MOTIONS per row of one model's tier; unknown tiers are an InputDataError."""
    tier = snapshots[f"{model}_tier"].astype("category")
    categories = [str(c) for c in tier.cat.categories]
    mapping = routing.of(model)
    unknown = [c for c in categories if c not in mapping]
    if unknown:
        raise InputDataError(f"{model}_tier", f"tiers {unknown} have no motion in RoutingMap.{model}",
                             f"map every tier to one of {list(MOTIONS)}; mapped: {sorted(mapping)}")
    table = np.array([MOTIONS.index(mapping[c]) for c in categories] + [-1], dtype=np.int64)
    return table[tier.cat.codes.to_numpy()]
