"""Account roll-up: signals from every contact of an account, seniority-weighted and decayed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from scoring.compiled import CompiledModel, CompiledSignal
from scoring.event_arrays import EventArrays

__all__ = ["account_signal_points"]


def _per_lead(leads: pd.DataFrame, column: str, value_of: Callable[[str], object], absent: object) -> np.ndarray:
    """A per-lead array from a text column, computed once per distinct (case-folded) value."""
    if column not in leads.columns:
        return np.full(len(leads), absent, dtype=object)
    codes, uniques = pd.factorize(leads[column], use_na_sentinel=True)
    table = [value_of(str(u).casefold()) for u in uniques] + [absent]
    return np.array(table, dtype=object)[codes]


class _LazyStrength:
    """Seniority weight x account decay of events, computed only for the events a signal selects."""

    def __init__(self, lead_weight: np.ndarray, events: EventArrays, model: CompiledModel) -> None:
        self.lead_weight, self.events, self.decay = lead_weight, events, model.account_decay

    def __getitem__(self, mask: np.ndarray) -> np.ndarray:
        return self.lead_weight[self.events.lead[mask]] * self.decay(self.events.days[mask])


def _max_per_account(account: np.ndarray, strength: np.ndarray, n_accounts: int) -> np.ndarray:
    out = np.zeros(n_accounts)
    np.maximum.at(out, account, strength)
    return out


def _signal_strength(
    signal: CompiledSignal,
    events: EventArrays,
    in_window: np.ndarray,
    event_account: np.ndarray,
    event_strength: _LazyStrength,
    lead_account: np.ndarray,
    lead_weight: np.ndarray,
    lead_department: np.ndarray,
    n_accounts: int,
) -> np.ndarray:
    """Strength of one signal per account: 0 (absent) up to the top seniority weight."""
    if signal.kind == "event":
        mask = in_window & (events.type_code == events.code_of(signal.event))
        return _max_per_account(event_account[mask], event_strength[mask], n_accounts)
    if signal.kind == "department":
        in_department = lead_department == signal.department.casefold()
        mask = in_window & in_department[events.lead]
        return _max_per_account(event_account[mask], event_strength[mask], n_accounts)
    engaged = np.bincount(events.lead[in_window], minlength=events.n_leads) > 0
    engaged &= lead_account >= 0
    if signal.kind == "engaged_people":
        people = np.bincount(lead_account[engaged], weights=lead_weight[engaged], minlength=n_accounts)
        return (people >= signal.minimum - 1e-9).astype(np.float64)
    pairs = pd.DataFrame({"a": lead_account[engaged], "d": lead_department[engaged]}).dropna().drop_duplicates()
    departments = np.bincount(pairs["a"].to_numpy(np.int64), minlength=n_accounts)
    return (departments >= signal.minimum).astype(np.float64)


def account_signal_points(leads: pd.DataFrame, events: EventArrays, model: CompiledModel) -> np.ndarray:
    """Account points per lead and signal (n_leads, n_signals); every contact of an account gets the same."""
    n = len(leads)
    out = np.zeros((n, len(model.signals)))
    if not model.signals or "account_id" not in leads.columns:
        return out
    lead_account, accounts = pd.factorize(leads["account_id"], use_na_sentinel=True)
    n_accounts = len(accounts)
    weights = {k.casefold(): v for k, v in model.seniority_weights.items()}
    lead_weight = _per_lead(leads, "seniority", lambda v: weights.get(v, model.default_seniority_weight),
                            model.default_seniority_weight).astype(np.float64)
    lead_department = _per_lead(leads, "department", lambda v: v, None)
    event_account = lead_account[events.lead]
    in_window = (events.days <= model.account_window_days) & (event_account >= 0)
    event_strength = _LazyStrength(lead_weight, events, model)
    has_account = lead_account >= 0
    for j, signal in enumerate(model.signals):
        strength = _signal_strength(signal, events, in_window, event_account, event_strength,
                                    lead_account, lead_weight, lead_department, n_accounts)
        out[has_account, j] = signal.points * strength[lead_account[has_account]]
    return out
