"""Events as arrays aligned to the leads frame: lead position, days before as_of, type code, value."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["EventArrays", "event_arrays", "lead_positions"]

_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class EventArrays:
    """Events sorted by (lead, time); `days` is how long before as_of each happened (days, >= 0)."""

    lead: np.ndarray
    days: np.ndarray
    type_code: np.ndarray
    type_names: tuple[str, ...]
    value: np.ndarray
    n_leads: int

    def code_of(self, event_type: str) -> int:
        """Type code of an event type, or -1 when no event of that type is present."""
        try:
            return self.type_names.index(event_type)
        except ValueError:
            return -1

    def last_event_days(self) -> np.ndarray:
        """Days since each lead's latest event (inf for leads with none)."""
        out = np.full(self.n_leads, np.inf)
        if len(self.lead):
            ends = np.flatnonzero(np.r_[self.lead[1:] != self.lead[:-1], True])
            out[self.lead[ends]] = self.days[ends]
        return out


def lead_positions(lead_ids: pd.Series, keys: pd.Series) -> np.ndarray:
    """Position of each key in the unique `lead_ids` (-1 when unknown); categorical keys per category.

    One factorisation of ids-then-keys does the join: the unique ids take codes 0..n-1 in order, so a
    key's code is its lead's position, and codes past n are keys of no lead.
    """
    n = len(lead_ids)
    categorical = isinstance(keys.dtype, pd.CategoricalDtype)
    values = pd.Series(keys.cat.categories) if categorical else keys
    joined = pd.concat([pd.Series(lead_ids).reset_index(drop=True), values.reset_index(drop=True)],
                       ignore_index=True)
    codes = pd.factorize(joined)[0][n:].astype(np.int64)
    codes[codes >= n] = -1
    if categorical:
        category_codes = keys.cat.codes.to_numpy()
        return np.where(category_codes >= 0, codes[category_codes], -1).astype(np.int64)
    return codes


def event_arrays(events: pd.DataFrame, lead: np.ndarray, n_leads: int, as_of: pd.Timestamp) -> EventArrays:
    """Align validated events to lead positions (from lead_positions), sorted by lead, then time."""
    at_ns = events["at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    days = (as_of.as_unit("ns").value - at_ns) / _DAY_NS
    if isinstance(events["type"].dtype, pd.CategoricalDtype):
        type_code = events["type"].cat.codes.to_numpy().astype(np.int32)
        names = tuple(str(c) for c in events["type"].cat.categories)
    else:
        codes, uniques = pd.factorize(events["type"])
        type_code, names = codes.astype(np.int32), tuple(str(u) for u in uniques)
    value = pd.to_numeric(events["value"], errors="coerce").to_numpy(np.float64, na_value=np.nan) \
        if "value" in events.columns else np.full(len(events), np.nan)
    step_lead, step_days = np.diff(lead), np.diff(days)
    if not np.all((step_lead > 0) | ((step_lead == 0) & (step_days <= 0))):
        order = np.lexsort((-days, lead))
        lead, days, type_code, value = lead[order], days[order], type_code[order], value[order]
    return EventArrays(lead, days, type_code, names, value, n_leads)
