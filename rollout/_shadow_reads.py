"""What a shadow run reads from the CRM: leads, events and outcomes, read incrementally into the store's cache, and
the CRM as it was at any moment (the leads created and the events seen by then)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from connectors.protocol import CRMConnector
from scoring.columns import OUTCOME_COLUMNS

__all__ = ["READ_OVERLAP", "Timeline", "cached_outcomes", "known_at", "read_crm", "timeline", "unparquet"]

READ_OVERLAP = pd.Timedelta(days=1)
"""Incremental reads start this long before the last read's newest record, for late-arriving activity."""


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def unparquet(data: bytes | None) -> pd.DataFrame | None:
    """The frame stored as parquet bytes by the cache, or None for no bytes."""
    return None if data is None else pd.read_parquet(io.BytesIO(data))


def cached_outcomes(cache: dict[str, bytes]) -> pd.DataFrame:
    """The outcomes a run has read so far (OUTCOME_COLUMNS: lead_id, stage, at), empty while none are cached."""
    outcomes = unparquet(cache.get("outcomes"))
    if outcomes is not None:
        return outcomes
    return pd.DataFrame({"lead_id": pd.Series([], dtype=object), "stage": pd.Series([], dtype=object),
                         "at": pd.Series([], dtype="datetime64[ns, UTC]")}, columns=list(OUTCOME_COLUMNS))


def _object_ids(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("lead_id", "account_id", "type", "stage"):
        if column in frame.columns:
            frame[column] = frame[column].astype(object)
    return frame


def read_crm(connector: CRMConnector, cache: dict[str, bytes], watermark: str | None
             ) -> tuple[dict[str, pd.DataFrame], dict[str, bytes], str | None]:
    """Leads, events and outcomes: the cache plus what changed since the watermark (less READ_OVERLAP)."""
    since = None if watermark is None else pd.Timestamp(watermark) - READ_OVERLAP
    since_dt = None if since is None else since.to_pydatetime()
    fresh_leads = _object_ids(connector.read_leads(since_dt))
    fresh_events = _object_ids(connector.read_events(since_dt))
    outcomes = _object_ids(connector.read_outcomes())
    old_leads, old_events = unparquet(cache.get("leads")), unparquet(cache.get("events"))
    blobs = {"outcomes": _parquet(outcomes)}
    if since is None or old_leads is None or old_events is None:
        leads, events = fresh_leads, fresh_events
        blobs.update(leads=_parquet(leads), events=_parquet(events))
    else:
        leads = _object_ids(old_leads)
        if len(fresh_leads):
            leads = pd.concat([leads, fresh_leads], ignore_index=True).drop_duplicates(
                "lead_id", keep="last", ignore_index=True)
            blobs["leads"] = _parquet(leads)
        old_events = _object_ids(old_events)
        before = (old_events["at"] < since).to_numpy()
        kept = old_events.loc[before]
        if not _same_rows(old_events.loc[~before], fresh_events):
            events = pd.concat([kept, fresh_events], ignore_index=True)
            blobs["events"] = _parquet(events)
        else:
            events = old_events
    stamps = [s.max() for s in (leads["created_at"], events["at"]) if len(s) and s.notna().any()]
    new_watermark = max(stamps).isoformat() if stamps else watermark
    return {"leads": leads, "events": events, "outcomes": outcomes}, blobs, new_watermark


def _same_rows(old: pd.DataFrame, fresh: pd.DataFrame) -> bool:
    """Whether the re-read tail of the events equals the cached one (then the cache need not be rewritten)."""
    if len(old) != len(fresh):
        return False
    a, b = old.reset_index(drop=True), fresh.reset_index(drop=True)
    return bool((a["lead_id"].astype(str).to_numpy() == b["lead_id"].astype(str).to_numpy()).all()
                and (_utc_ns(a["at"]) == _utc_ns(b["at"])).all()
                and (a["type"].astype(str).to_numpy() == b["type"].astype(str).to_numpy()).all())


def _utc_ns(values: pd.Series) -> np.ndarray:
    """UTC moments as int64 nanoseconds (vectorised; no per-row Timestamps)."""
    return pd.to_datetime(values, utc=True).dt.tz_convert(None).to_numpy("datetime64[ns]").view(np.int64)


@dataclass(frozen=True, eq=False)
class Timeline:
    """Leads sorted by creation and events by time, so the CRM as of any moment is two slices and a mask."""

    leads: pd.DataFrame
    created: np.ndarray
    events: pd.DataFrame
    event_at: np.ndarray
    event_lead_created: np.ndarray


def timeline(frames: dict[str, pd.DataFrame]) -> Timeline:
    """The CRM's leads and events (frames of read_crm) sorted for known_at."""
    leads = frames["leads"].sort_values("created_at", kind="stable").reset_index(drop=True)
    events = frames["events"].sort_values("at", kind="stable").reset_index(drop=True)
    created = _utc_ns(leads["created_at"])
    position = pd.Index(leads["lead_id"]).get_indexer(events["lead_id"])
    lead_created = np.where(position >= 0, created[np.maximum(position, 0)], np.iinfo(np.int64).max)
    return Timeline(leads, created, events, _utc_ns(events["at"]), lead_created)


def known_at(line: Timeline, as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leads created by `as_of` and the events of those leads seen by then (the CRM as it was at as_of)."""
    moment = as_of.value
    known = line.leads.iloc[: int(np.searchsorted(line.created, moment, side="right"))]
    upto = int(np.searchsorted(line.event_at, moment, side="right"))
    seen = line.events.iloc[:upto][line.event_lead_created[:upto] <= moment]
    return known, seen
