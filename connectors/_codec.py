"""Score values as (text, kind) pairs, so the journal gives back exactly what it was given, NULL included."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from connectors.errors import JournalError

VALUE_KINDS: tuple[str, ...] = ("null", "int", "float", "text", "datetime")


def encoded_value(value: object) -> tuple[str | None, str]:
    """One value as (text, kind): None/NaN/NA/NaT -> (None, "null"); floats keep their repr digits."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None, "null"
    if isinstance(value, (bool, np.bool_)):
        raise JournalError(f"cannot journal boolean value {value!r}: score fields hold numbers, text or datetimes")
    if isinstance(value, (int, np.integer)):
        return str(int(value)), "int"
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return (None, "null") if math.isnan(number) else (repr(number), "float")
    if isinstance(value, str):
        return value, "text"
    if isinstance(value, (pd.Timestamp, datetime, np.datetime64)):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return stamp.isoformat(), "datetime"
    raise JournalError(
        f"cannot journal value {value!r} of type {type(value).__name__}: "
        "score values must be numbers, text, datetimes or empty"
    )


def encoded_values(values: pd.Series) -> tuple[list[str | None], list[str]]:
    """Texts and kinds of a column of values, in order."""
    pairs = [encoded_value(v) for v in values.astype(object).tolist()]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def decoded_value(text: str | None, kind: str) -> object:
    """The value a (text, kind) pair was made from; None for "null"."""
    if kind == "null":
        return None
    if text is None:
        raise JournalError(f"journal entry of kind {kind!r} has no value text; the journal file is damaged")
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "text":
        return text
    if kind == "datetime":
        return pd.Timestamp(text)
    raise JournalError(f"unknown journal value kind {kind!r} (expected one of {', '.join(VALUE_KINDS)})")


def decoded_values(texts: Sequence[str | None], kinds: Sequence[str]) -> list[object]:
    """Values of parallel (text, kind) columns, in order."""
    return [decoded_value(t, k) for t, k in zip(texts, kinds, strict=True)]
