"""Checks on the frames score() takes: each problem is an InputDataError saying what, where, what to do."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import numpy as np
import pandas as pd

from scoring.columns import STAGES
from scoring.errors import InputDataError

__all__ = ["require_columns", "checked_leads", "checked_events", "checked_outcomes", "utc_timestamps", "as_utc"]

_SHOW = 5


def as_utc(moment: str | pd.Timestamp) -> pd.Timestamp:
    """A timestamp in UTC; naive times are taken to be UTC already."""
    ts = pd.Timestamp(moment)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _rows(mask: np.ndarray) -> str:
    rows = np.flatnonzero(mask)
    shown = ", ".join(str(r + 2) for r in rows[:_SHOW])  # +2: header line, 1-based lines
    more = f" and {len(rows) - _SHOW} more" if len(rows) > _SHOW else ""
    return f"{len(rows)} row(s), e.g. line(s) {shown}{more}"


def require_columns(frame: pd.DataFrame, columns: Iterable[str], source: str, what: str = "") -> None:
    """Raise InputDataError naming every missing column, who needs it, and the closest existing ones."""
    missing = [c for c in columns if c not in frame.columns]
    if not missing:
        return
    existing = [str(c) for c in frame.columns]
    near = {m: difflib.get_close_matches(m, existing, n=3) for m in missing}
    hints = "; ".join(f"for {m!r} did you mean {', '.join(map(repr, c))}?" for m, c in near.items() if c)
    needed = f" needed by {what}" if what else ""
    raise InputDataError(
        source,
        f"missing column(s) {', '.join(missing)}{needed}; it has {', '.join(map(repr, existing)) or 'none'}",
        hints or f"add the column(s) {', '.join(missing)}",
    )


def utc_timestamps(column: pd.Series, source: str, name: str) -> pd.Series:
    """The column as UTC datetimes; unparsable or empty values are an InputDataError with line numbers."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        parsed = column.dt.tz_convert("UTC")
    else:
        parsed = pd.to_datetime(column, utc=True, errors="coerce", format="ISO8601")
    bad = parsed.isna().to_numpy()
    if bad.any():
        example = column[bad].iloc[0]
        raise InputDataError(source, f"column {name!r} has unparsable or empty timestamps in {_rows(bad)} "
                             f"(first: {example!r})", "use ISO-8601 such as 2026-11-01T09:30:00Z")
    return parsed.astype("datetime64[ns, UTC]")


def checked_leads(leads: pd.DataFrame, fields: Iterable[str], source: str = "leads") -> pd.DataFrame:
    """Leads with unique ids and the columns the model reads; numeric rule fields must be numbers or empty."""
    require_columns(leads, ["lead_id", "created_at", *fields], source, "the model's rules")
    ids = leads["lead_id"]
    if ids.isna().any():
        raise InputDataError(source, f"empty lead_id in {_rows(ids.isna().to_numpy())}", "every lead needs an id")
    if pd.Index(ids).is_unique:
        dup = np.zeros(len(ids), dtype=bool)
    else:
        dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        first = ids[dup].iloc[0]
        raise InputDataError(source, f"duplicate lead_id {first!r} in {_rows(dup)}",
                             "each lead must appear once; de-duplicate the export")
    for name in ("employees", "annual_revenue"):
        if name in leads.columns and not pd.api.types.is_numeric_dtype(leads[name]):
            as_number = pd.to_numeric(leads[name], errors="coerce")
            bad = (as_number.isna() & leads[name].notna() & (leads[name].astype(str).str.strip() != "")).to_numpy()
            if bad.any():
                raise InputDataError(source, f"column {name!r} holds non-numbers in {_rows(bad)} "
                                     f"(first: {leads[name][bad].iloc[0]!r})", "leave unknown values empty")
            leads = leads.assign(**{name: as_number})
    return leads.assign(created_at=utc_timestamps(leads["created_at"], source, "created_at"))


def checked_events(events: pd.DataFrame, positions: np.ndarray, as_of: pd.Timestamp,
                   source: str = "events") -> pd.DataFrame:
    """Events of known leads (`positions` from lead_positions, -1 = unknown), parsed times, none after as_of."""
    require_columns(events, ["lead_id", "type", "at"], source, "scoring")
    at = utc_timestamps(events["at"], source, "at")
    unknown = positions < 0
    if unknown.any():
        first = events["lead_id"][unknown].iloc[0]
        raise InputDataError(source, f"events for unknown lead {first!r} in {_rows(unknown)}",
                             "load the leads first or drop events of deleted leads")
    late = (at > as_of).to_numpy()
    if late.any():
        raise InputDataError(source, f"events after as_of {as_of.isoformat()} in {_rows(late)} "
                             f"(first at {at[late].iloc[0].isoformat()})",
                             "score as of a later time or drop events from the future")
    if events["type"].isna().any():
        raise InputDataError(source, f"empty event type in {_rows(events['type'].isna().to_numpy())}")
    return events.assign(at=at)


def checked_outcomes(outcomes: pd.DataFrame, source: str = "outcomes") -> pd.DataFrame:
    """Outcomes with parsed times and known stage names."""
    require_columns(outcomes, ["lead_id", "stage", "at"], source, "evaluation")
    bad = ~outcomes["stage"].isin(STAGES).to_numpy()
    if bad.any():
        raise InputDataError(source, f"unknown stage {outcomes['stage'][bad].iloc[0]!r} in {_rows(bad)}",
                             f"stages are {', '.join(STAGES)}")
    return outcomes.assign(at=utc_timestamps(outcomes["at"], source, "at"))
