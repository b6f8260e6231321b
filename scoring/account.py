"""Account roll-up: signals from every contact of an account, seniority-weighted and decayed."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from scoring.compiled import CompiledModel, CompiledSignal
from scoring.event_arrays import EventArrays
from scoring.matchers import ColumnCodes

__all__ = ["account_signal_points", "department_matches", "seniority_weights"]


def _casefolded_codes(columns: ColumnCodes, column: str) -> tuple[np.ndarray, list[str]]:
    """(codes per lead, -1 for missing; casefolded distinct values); all -1 when the column is absent."""
    if not columns.has(column):
        return np.full(len(columns), -1, dtype=np.int64), []
    codes, uniques = columns.codes(column)
    return codes, [str(u).casefold() for u in uniques]


def seniority_weights(columns: ColumnCodes, model: CompiledModel) -> np.ndarray:
    """Seniority weight per lead (the default weight where seniority is unknown or not in the model)."""
    codes, values = _casefolded_codes(columns, "seniority")
    weights = {k.casefold(): v for k, v in model.seniority_weights.items()}
    default = model.default_seniority_weight
    table = np.array([weights.get(v, default) for v in values] + [default], dtype=np.float64)
    return table[codes]


def department_matches(columns: ColumnCodes, department: str) -> np.ndarray:
    """Per lead: its department is `department` (case-insensitive); False where unknown."""
    codes, values = _casefolded_codes(columns, "department")
    wanted = np.array([v == department.casefold() for v in values] + [False])
    return wanted[codes]


class _AccountView:
    """Leads and events seen per account, with the arrays signals share computed once, on first use."""

    def __init__(self, columns: ColumnCodes, events: EventArrays, model: CompiledModel) -> None:
        self.columns, self.events, self.model = columns, events, model
        self.lead_account, accounts = columns.codes("account_id")
        self.n_accounts = len(accounts)

    @cached_property
    def lead_weight(self) -> np.ndarray:
        """Seniority weight per lead (default weight where seniority is unknown)."""
        return seniority_weights(self.columns, self.model)

    @cached_property
    def in_window(self) -> np.ndarray:
        """Events inside the account window (days) of leads that belong to an account."""
        return (self.events.days <= self.model.account_window_days) & (self.lead_account[self.events.lead] >= 0)

    @cached_property
    def engaged(self) -> np.ndarray:
        """Leads with an account and at least one event in the window."""
        counts = np.bincount(self.events.lead[self.in_window], minlength=self.events.n_leads)
        return (counts > 0) & (self.lead_account >= 0)

    def strongest(self, mask: np.ndarray) -> np.ndarray:
        """Per account: the largest seniority weight x decay among the selected events."""
        lead = self.events.lead[mask]
        strength = self.lead_weight[lead] * self.model.account_decay(self.events.days[mask])
        out = np.zeros(self.n_accounts)
        np.maximum.at(out, self.lead_account[lead], strength)
        return out

    def strength(self, signal: CompiledSignal) -> np.ndarray:
        """Strength of one signal per account: 0 (absent) up to the top seniority weight."""
        events = self.events
        if signal.kind == "event":
            return self.strongest(self.in_window & (events.type_code == events.code_of(signal.event)))
        if signal.kind == "department":
            return self.strongest(self.in_window & department_matches(self.columns, signal.department)[events.lead])
        engaged = self.engaged
        if signal.kind == "engaged_people":
            people = np.bincount(self.lead_account[engaged], weights=self.lead_weight[engaged],
                                 minlength=self.n_accounts)
            return (people >= signal.minimum - 1e-9).astype(np.float64)
        codes, values = _casefolded_codes(self.columns, "department")
        known = engaged & (codes >= 0)
        pairs = pd.unique(self.lead_account[known].astype(np.int64) * (len(values) + 1) + codes[known])
        departments = np.bincount(pairs // (len(values) + 1), minlength=self.n_accounts)
        return (departments >= signal.minimum).astype(np.float64)


def account_signal_points(columns: ColumnCodes, events: EventArrays, model: CompiledModel,
                          out: np.ndarray | None = None) -> np.ndarray:
    """Account points per lead and signal (n_leads, n_signals); every contact of an account gets the same."""
    out = np.zeros((len(columns), len(model.signals))) if out is None else out
    if not model.signals or not columns.has("account_id"):
        return out
    view = _AccountView(columns, events, model)
    has_account = view.lead_account >= 0
    account_of_lead = view.lead_account[has_account]
    for j, signal in enumerate(model.signals):
        out[has_account, j] = signal.points * view.strength(signal)[account_of_lead]
    return out
