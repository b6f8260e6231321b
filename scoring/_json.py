"""Frames and values as JSON-ready Python: NaN/inf -> None, numpy scalars -> numbers, times -> ISO text."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["json_ready", "json_records"]


def json_ready(value: Any) -> Any:
    """A copy json.dumps(allow_nan=False) accepts: dicts and lists recursed, tuples become lists."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return value.isoformat()
    return value


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Frame rows as JSON-ready dicts (categories as their values, datetimes as ISO text)."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(object)
    return [json_ready(row) for row in out.to_dict("records")]
