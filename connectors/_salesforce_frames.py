"""Salesforce records to canonical frames and score values, and score changes to request bodies (JSON records, Bulk CSV)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from connectors._salesforce_mapping import EventSource
from scoring.fields import ScoreField

NUMBER_COLUMNS = frozenset({"employees", "annual_revenue", "value"})
DATETIME_COLUMNS = frozenset({"created_at", "at"})
KEY_PREFIXES = {"00Q": "Lead", "003": "Contact", "001": "Account"}
"""Id key prefix -> sObject of the standard objects the adapter writes or reads."""
_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
BULK_NULL = "#N/A"
"""How a Bulk API CSV cell empties a field (an empty cell leaves it unchanged)."""


def long_id(record_id: str) -> str | None:
    """The 18-character form of a Salesforce id (15 or 18 characters), None when it cannot be an id."""
    if not _ID.match(record_id):
        return None
    if len(record_id) == 18:
        return record_id
    suffix = ""
    for block in range(3):
        bits = sum(1 << i for i, ch in enumerate(record_id[block * 5:block * 5 + 5]) if ch.isupper())
        suffix += _CHECKSUM[bits]
    return record_id + suffix


def field_value(record: Mapping[str, Any], name: str) -> Any:
    """A record's value of `name`, following one relationship dot (Account.Name)."""
    if "." not in name:
        return record.get(name)
    parent, child = name.split(".", 1)
    related = record.get(parent)
    return related.get(child) if isinstance(related, Mapping) else None


def canonical_frame(records: Sequence[Mapping[str, Any]], columns: Mapping[str, str | None]) -> pd.DataFrame:
    """Canonical columns from records through `columns` (column -> Salesforce field or None): str, float64, UTC."""
    data: dict[str, pd.Series] = {}
    for column, name in columns.items():
        values = [field_value(r, name) for r in records] if name else [None] * len(records)
        data[column] = typed_column(column, values)
    return pd.DataFrame(data, columns=list(columns))


def typed_column(column: str, values: Sequence[Any]) -> pd.Series:
    """One canonical column: float64 numbers, datetime64[us, UTC], else str (NaN when empty)."""
    if column in NUMBER_COLUMNS:
        return pd.Series(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce"), dtype="float64")
    if column in DATETIME_COLUMNS:
        return utc_instants(values)
    return pd.Series([None if v is None else str(v) for v in values], dtype="str")


def utc_instants(values: Sequence[Any]) -> pd.Series:
    """Salesforce datetimes ('2026-01-01T08:00:00.000+0000') as datetime64[us, UTC]."""
    text = pd.Series(values, dtype=object)
    return pd.to_datetime(text, utc=True, format="ISO8601").astype("datetime64[us, UTC]")


def event_frame(records: Sequence[Mapping[str, Any]], source: EventSource) -> pd.DataFrame:
    """Events (lead_id, type, at, value) from activity records: the first matching rule names the type; unmatched rows drop."""
    frame = pd.DataFrame({
        "lead_id": typed_column("lead_id", [field_value(r, source.lead_field) for r in records]),
        "type": pd.Series([source.default_type or None] * len(records), dtype=object),
        "at": utc_instants([field_value(r, source.at_field) for r in records]),
        "value": typed_column("value", [field_value(r, source.value_field) if source.value_field else None
                                        for r in records]),
    })
    if not records:
        return frame.assign(type=frame["type"].astype("str"))
    decided = np.zeros(len(records), dtype=bool)
    types = np.array(frame["type"], dtype=object)
    for rule in source.rules:
        values = pd.Series([field_value(r, rule.field) for r in records], dtype="str")
        if rule.equals is not None:
            hit = np.array(values.eq(rule.equals).fillna(False), dtype=bool)
        else:
            hit = np.array(values.str.contains(str(rule.contains), case=False, regex=False).fillna(False), dtype=bool)
        hit &= ~decided
        types[hit] = rule.type
        decided |= hit
    frame["type"] = pd.Series(types, dtype="str")
    return frame[frame["type"].notna() & frame["lead_id"].notna()].reset_index(drop=True)


def score_values(records: Sequence[Mapping[str, Any]], fields: Sequence[ScoreField]) -> pd.DataFrame:
    """record_id plus one column per score field: float64 numbers, str text, ISO-UTC str datetimes; NaN when empty."""
    data: dict[str, pd.Series] = {"record_id": pd.Series([r["Id"] for r in records], dtype="str")}
    for f in fields:
        values = [r.get(f.name) for r in records]
        if f.kind == "number":
            data[f.name] = pd.Series(pd.to_numeric(pd.Series(values, dtype=object)), dtype="float64")
        elif f.kind == "datetime":
            stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
            data[f.name] = pd.Series(stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ"), dtype="str")
        else:
            data[f.name] = pd.Series(values, dtype="str")
    return pd.DataFrame(data)


def plain(value: Any) -> Any:
    """A change's new value as JSON: Python numbers and text, None for any missing value."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def collection_records(
    changes: pd.DataFrame, default_object: str
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """sObject Collections records from changes (record_id, field, new), in first-appearance order, and fields per record."""
    records: dict[str, dict[str, Any]] = {}
    written: dict[str, list[str]] = {}
    for record_id, name, new in zip(changes["record_id"], changes["field"], changes["new"], strict=True):
        record = records.get(record_id)
        if record is None:
            sobject = KEY_PREFIXES.get(record_id[:3], default_object)
            record = records[record_id] = {"attributes": {"type": sobject}, "id": record_id}
            written[record_id] = []
        record[name] = plain(new)
        written[record_id].append(name)
    return list(records.values()), written


def bulk_csv(changes: pd.DataFrame, field_order: Sequence[str]) -> str:
    """A Bulk API 2.0 update CSV: Id then the changed fields in `field_order`; empty = unchanged, #N/A = empty it."""
    wide = changes.pivot(index="record_id", columns="field", values="new")
    order = [f for f in field_order if f in wide.columns]
    present = changes.assign(_set=True).pivot(index="record_id", columns="field", values="_set").reindex(columns=order)
    ids = pd.unique(changes["record_id"])
    wide = wide.reindex(index=ids, columns=order)
    present = present.reindex(index=ids).fillna(False)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Id", *order])
    for record_id, values, sets in zip(ids, wide.itertuples(index=False), present.itertuples(index=False), strict=True):
        cells = []
        for value, is_set in zip(values, sets, strict=True):
            v = plain(value)
            cells.append("" if not is_set else BULK_NULL if v is None else v)
        writer.writerow([record_id, *cells])
    return out.getvalue()
