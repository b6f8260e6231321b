"""HubSpot records (id + string properties) to canonical frames, and score values to HubSpot property strings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from connectors._hubspot_mapping import HubSpotMapping
from scoring.columns import ACCOUNT_COLUMNS, EVENT_COLUMNS, LEAD_COLUMNS, OUTCOME_COLUMNS
from scoring.fields import ScoreField

Record = tuple[str, dict[str, Any]]
"""One HubSpot object: its id and its properties (strings or None)."""

NUMBER_COLUMNS = frozenset({"employees", "annual_revenue", "value"})
DATETIME_COLUMNS = frozenset({"created_at", "at"})


def instants(values: Sequence[Any] | pd.Series) -> pd.Series:
    """HubSpot date/datetime strings (ISO-8601 or epoch milliseconds) as datetime64[us, UTC]; NaT when empty."""
    text = [v.strip() if isinstance(v, str) and v.strip() else None for v in list(values)]
    digits = np.array([v is not None and v.isdigit() for v in text], dtype=bool)
    iso = np.array([v is not None for v in text], dtype=bool) & ~digits
    out = pd.Series(pd.NaT, index=range(len(text)), dtype="datetime64[us, UTC]")
    if digits.any():
        ms = pd.Series([int(v) for v in text if v is not None and v.isdigit()], dtype="int64")
        out[digits] = pd.to_datetime(ms, unit="ms", utc=True).astype("datetime64[us, UTC]").to_numpy()
    if iso.any():
        parsed = pd.to_datetime(pd.Series([v for v, i in zip(text, iso, strict=True) if i], dtype=object),
                                format="ISO8601", utc=True, errors="coerce")
        out[iso] = parsed.astype("datetime64[us, UTC]").to_numpy()
    return out


def epoch_ms(since: datetime) -> str:
    """A datetime (naive taken as UTC) as the epoch-millisecond string HubSpot's search filters take."""
    stamp = pd.Timestamp(since)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return str(stamp.value // 1_000_000)


def utc(since: datetime) -> pd.Timestamp:
    """A datetime as a UTC Timestamp (naive taken as UTC)."""
    stamp = pd.Timestamp(since)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _column(name: str, values: list[Any]) -> pd.Series:
    """One canonical column from property strings: float64 numbers, UTC datetimes, str text (NaN when empty)."""
    if name in NUMBER_COLUMNS:
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype("float64")
    if name in DATETIME_COLUMNS:
        return instants(values)
    return pd.Series([v if isinstance(v, str) and v != "" else None for v in values], dtype="str")


def records_frame(
    records: Sequence[Record], id_column: str, properties: dict[str, str], columns: Sequence[str],
    fallback: dict[str, dict[str, str]] | None = None,
) -> pd.DataFrame:
    """Canonical frame of records: `id_column` from the record id, other columns from their mapped property.

    `fallback` gives, per column, record id -> value to use where the property is empty (associations).
    """
    data: dict[str, pd.Series] = {id_column: pd.Series([r[0] for r in records], dtype="str")}
    for name in columns:
        if name == id_column:
            continue
        prop = properties.get(name)
        values = [r[1].get(prop) if prop else None for r in records]
        if fallback and name in fallback:
            extra = fallback[name]
            values = [v if v not in (None, "") else extra.get(r[0]) for v, r in zip(values, records, strict=True)]
        data[name] = _column(name, values)
    return pd.DataFrame(data, columns=list(columns))


def leads_frame(records: Sequence[Record], mapping: HubSpotMapping, companies: dict[str, str] | None) -> pd.DataFrame:
    """LEAD_COLUMNS of contacts; account_id falls back to the first associated company."""
    fallback = {"account_id": companies} if companies else None
    return records_frame(records, "lead_id", mapping.leads, LEAD_COLUMNS, fallback)


def accounts_frame(records: Sequence[Record], mapping: HubSpotMapping) -> pd.DataFrame:
    """ACCOUNT_COLUMNS of companies."""
    return records_frame(records, "account_id", mapping.accounts, ACCOUNT_COLUMNS)


def events_frame(records: Sequence[Record], mapping: HubSpotMapping, since: datetime | None) -> pd.DataFrame:
    """EVENT_COLUMNS: one event per contact and mapped type whose `at` property is set (and >= since)."""
    parts = []
    ids = pd.Series([r[0] for r in records], dtype="str")
    for source in mapping.events:
        at = instants([r[1].get(source.at) for r in records])
        value = (_column("value", [r[1].get(source.value) for r in records]) if source.value
                 else pd.Series(np.nan, index=at.index, dtype="float64"))
        keep = at.notna() & (at >= utc(since) if since is not None else at.notna())
        parts.append(pd.DataFrame({"lead_id": ids[keep], "type": source.type, "at": at[keep], "value": value[keep]}))
    return _stacked(parts, EVENT_COLUMNS, {"lead_id": "str", "type": "str", "at": "datetime64[us, UTC]",
                                           "value": "float64"})


def outcomes_frame(records: Sequence[Record], mapping: HubSpotMapping) -> pd.DataFrame:
    """OUTCOME_COLUMNS: one row per contact and mapped stage whose date property is set."""
    parts = []
    ids = pd.Series([r[0] for r in records], dtype="str")
    for stage, prop in mapping.outcomes.items():
        at = instants([r[1].get(prop) for r in records])
        keep = at.notna()
        parts.append(pd.DataFrame({"lead_id": ids[keep], "stage": stage, "at": at[keep]}))
    return _stacked(parts, OUTCOME_COLUMNS, {"lead_id": "str", "stage": "str", "at": "datetime64[us, UTC]"})


def _stacked(parts: list[pd.DataFrame], columns: Sequence[str], dtypes: dict[str, str]) -> pd.DataFrame:
    """Parts concatenated, sorted by lead then time, with fixed dtypes (an empty frame keeps them too)."""
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    if frame is None:
        return pd.DataFrame({c: pd.Series([], dtype=dtypes[c]) for c in columns})
    frame = frame.sort_values(["lead_id", "at"], kind="stable").reset_index(drop=True)
    return frame.astype(dtypes).loc[:, list(columns)]


def score_values_frame(records: Sequence[Record], fields: Sequence[ScoreField]) -> pd.DataFrame:
    """record_id plus one column per field: float64 numbers, str text, ISO-UTC str datetimes; NaN when empty."""
    data: dict[str, pd.Series] = {"record_id": pd.Series([r[0] for r in records], dtype="str")}
    for field in fields:
        values = [r[1].get(field.name) for r in records]
        if field.kind == "number":
            data[field.name] = pd.to_numeric(
                pd.Series([v if v != "" else None for v in values], dtype=object), errors="coerce").astype("float64")
        elif field.kind == "datetime":
            data[field.name] = pd.Series(_iso_texts(instants(values)), dtype="str")
        else:
            data[field.name] = pd.Series([v if isinstance(v, str) and v != "" else None for v in values], dtype="str")
    return pd.DataFrame(data)


def _iso_texts(stamps: pd.Series) -> list[str | None]:
    """UTC instants as `2026-11-23T14:45:01Z` (fractions only when present); None for NaT."""
    whole = stamps.dt.microsecond.eq(0)
    text = stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(whole, stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return [v if isinstance(v, str) else None for v in text.astype(object).tolist()]


def property_value(value: object, kind: str) -> str | None:
    """A score value as the string HubSpot stores ("" empties the field); None when it is not valid for `kind`."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    if kind == "number":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            return None
        number = float(value)
        if not math.isfinite(number):
            return None
        return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
    if kind == "datetime":
        if not isinstance(value, (str, datetime, pd.Timestamp, np.datetime64)):
            return None
        stamp = pd.to_datetime(pd.Series([value], dtype=object), utc=True, errors="coerce", format="ISO8601")
        return None if stamp.isna().iloc[0] else _iso_texts(stamp.astype("datetime64[us, UTC]"))[0]
    return value if isinstance(value, str) else None
