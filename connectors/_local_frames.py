"""Canonical frames to SQLite rows and back, for the local CRM: validation, UTC datetimes, float numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from scoring.columns import ACCOUNT_COLUMNS, EVENT_COLUMNS, LEAD_COLUMNS, OUTCOME_COLUMNS, STAGES
from scoring.errors import InputDataError

NUMBER_COLUMNS = frozenset({"employees", "annual_revenue", "value"})
DATETIME_COLUMNS = frozenset({"created_at", "at"})
STORED_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
"""Fixed-width UTC text, so that SQL string comparison orders instants."""

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "leads": LEAD_COLUMNS,
    "accounts": ACCOUNT_COLUMNS,
    "events": EVENT_COLUMNS,
    "outcomes": OUTCOME_COLUMNS,
}
REQUIRED_VALUES: dict[str, tuple[str, ...]] = {
    "leads": ("lead_id",),
    "accounts": ("account_id",),
    "events": ("lead_id", "type", "at"),
    "outcomes": ("lead_id", "stage"),
}
OPTIONAL_COLUMNS: dict[str, frozenset[str]] = {"events": frozenset({"value"})}


def sql_type(column: str) -> str:
    """SQLite column type of a canonical column: REAL for numbers, TEXT otherwise (datetimes as ISO text)."""
    return "REAL" if column in NUMBER_COLUMNS else "TEXT"


def stored_instant(value: object) -> str:
    """A datetime (naive taken as UTC) as stored text."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime(STORED_DATETIME_FORMAT)


def validated_rows(table: str, frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows of a canonical frame ready for INSERT, in TABLE_COLUMNS order; InputDataError on any problem."""
    columns = TABLE_COLUMNS[table]
    optional = OPTIONAL_COLUMNS.get(table, frozenset())
    missing = [c for c in columns if c not in frame.columns and c not in optional]
    if missing:
        raise InputDataError(
            table, f"missing column(s) {', '.join(missing)}",
            f"give every canonical column (scoring.columns.{table[:-1].upper()}_COLUMNS); values may be empty",
        )
    for column in REQUIRED_VALUES[table]:
        empty = frame[column].isna()
        if empty.any():
            raise InputDataError(
                table, f"{int(empty.sum())} rows have no {column} (first at row {int(np.flatnonzero(empty)[0])})",
                f"fill in {column} or drop those rows",
            )
    converted = [_stored_column(table, c, frame[c]) if c in frame.columns else [None] * len(frame) for c in columns]
    return list(zip(*converted, strict=True)) if len(frame) else []


def duplicated_keys(table: str, keys: pd.Series) -> None:
    """Raise InputDataError when a key column repeats a value."""
    twice = keys.astype(str).duplicated(keep=False)
    if twice.any():
        sample = ", ".join(sorted(keys.astype(str)[twice].unique())[:5])
        raise InputDataError(
            table, f"{int(keys.astype(str).duplicated().sum())} duplicate {keys.name} values (e.g. {sample})",
            f"each {keys.name} must appear once: drop or merge the duplicates before loading",
        )


def unknown_stages(outcomes: pd.DataFrame) -> None:
    """Raise InputDataError when an outcome stage is not one of STAGES."""
    bad = ~outcomes["stage"].astype(str).isin(list(STAGES))
    if bad.any():
        sample = ", ".join(sorted(outcomes["stage"].astype(str)[bad].unique())[:5])
        raise InputDataError("outcomes", f"unknown stage(s) {sample}", f"use one of {', '.join(STAGES)}")


def canonical_frame(rows: Sequence[tuple[Any, ...]], columns: Sequence[str]) -> pd.DataFrame:
    """Canonical frame from stored rows: text as str, numbers as float64, datetimes as datetime64[us, UTC]."""
    values = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    data: dict[str, pd.Series] = {}
    for name, column in zip(columns, values, strict=True):
        if name in NUMBER_COLUMNS:
            data[name] = pd.Series(column, dtype="float64")
        elif name in DATETIME_COLUMNS:
            text = pd.Series(column, dtype="str")
            data[name] = pd.to_datetime(text, format=STORED_DATETIME_FORMAT, utc=True).astype("datetime64[us, UTC]")
        else:
            data[name] = pd.Series(column, dtype="str")
    return pd.DataFrame(data, columns=list(columns))


def _stored_column(table: str, column: str, values: pd.Series) -> list[Any]:
    """One column as Python values SQLite can bind: str, float, ISO text or None."""
    present = values.notna()
    if column in NUMBER_COLUMNS:
        numbers = pd.to_numeric(values, errors="coerce")
        _reject(table, column, values, present & numbers.isna(), "not numbers")
        return [None if np.isnan(v) else v for v in numbers.astype("float64").tolist()]
    if column in DATETIME_COLUMNS:
        if pd.api.types.is_datetime64_any_dtype(values):
            stamps = pd.to_datetime(values, utc=True)
        else:
            stamps = pd.to_datetime(values.astype(object), utc=True, errors="coerce", format="ISO8601")
        _reject(table, column, values, present & stamps.isna(), "not ISO-8601 datetimes")
        text = stamps.dt.strftime(STORED_DATETIME_FORMAT)
        return [None if not isinstance(v, str) else v for v in text.astype(object).tolist()]
    return [str(v) if ok else None for v, ok in zip(values.astype(object).tolist(), present.tolist(), strict=True)]


def _reject(table: str, column: str, values: pd.Series, bad: pd.Series, what: str) -> None:
    """Raise InputDataError naming a few bad values of a column."""
    if bad.any():
        sample = ", ".join(repr(v) for v in values[bad].astype(object).head(3).tolist())
        raise InputDataError(
            table, f"{int(bad.sum())} {column} values are {what} (e.g. {sample})",
            f"fix or empty those {column} values",
        )
