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


def lead_positions(lead_ids: pd.Series | pd.Index, keys: pd.Series) -> np.ndarray:
    """Position of each key in lead_ids (-1 when unknown); categorical keys are matched per category.

    When the keys' categories are the lead ids themselves, in order (events read with the leads from
    one source), the category codes are the positions and nothing is hashed.
    """
    index = lead_ids if isinstance(lead_ids, pd.Index) else pd.Index(lead_ids)
    if isinstance(keys.dtype, pd.CategoricalDtype):
        categories = keys.cat.categories
        codes = keys.cat.codes.to_numpy()
        if len(categories) == len(index) and (categories.to_numpy(dtype=object) == index.to_numpy(dtype=object)).all():
            return codes.astype(np.int64)
        per_category = index.get_indexer(categories)
        return np.where(codes >= 0, per_category[codes], -1).astype(np.int64)
    return index.get_indexer(keys).astype(np.int64)


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
