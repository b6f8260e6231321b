"""Field rules on lead columns: which leads match, computed on each column's distinct values once."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.dtypes import StringDType

from scoring.compiled import CompiledMatcher

__all__ = ["ColumnCodes", "matcher_masks", "with_email_domain"]


def with_email_domain(leads: pd.DataFrame) -> pd.DataFrame:
    """Leads with a derived `email_domain` column (lower-cased part after '@'), when not already there."""
    if "email_domain" in leads.columns or "email" not in leads.columns:
        return leads
    email = leads["email"]
    empty = email.isna().to_numpy()
    domain = email_domains(np.asarray(email.where(~empty, ""), dtype=StringDType()))  # a blank address has none
    return leads.assign(email_domain=pd.Series(domain, index=leads.index, dtype=object))


def email_domains(addresses: np.ndarray) -> np.ndarray:
    """The lower-cased part after the last '@' of each address (numpy strings), None where it is empty."""
    domain = np.strings.lower(np.strings.rpartition(addresses, np.asarray("@", dtype=StringDType()))[2])
    out = domain.astype(object)
    out[domain == ""] = None
    return out


def _text_values(uniques: np.ndarray) -> np.ndarray:
    return np.array([str(u).casefold() for u in uniques], dtype=object)


def _numeric(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _unique_mask(rule: CompiledMatcher, uniques: np.ndarray) -> np.ndarray:
    """Match a rule against distinct non-null values of its column."""
    if rule.kind == "regex":
        assert rule.pattern is not None
        search = rule.pattern.search
        return np.fromiter((search(str(u)) is not None for u in uniques), bool, len(uniques))
    if rule.kind == "missing":
        return np.fromiter((str(u).strip() == "" for u in uniques), bool, len(uniques))
    hits = np.isin(_text_values(uniques), list(rule.text)) if rule.text else np.zeros(len(uniques), bool)
    if rule.numbers:
        as_numbers = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(np.float64)
        hits |= np.isin(as_numbers, list(rule.numbers))
    return hits


class ColumnCodes:
    """Lead columns factorised on first use (codes per lead, distinct values), shared by every rule.

    A subclass that already holds some columns as codes (simulator.lead_columns) overrides `_factorized` and
    `_numbers_of` for them, and `leads` to build the frame only when another column is asked for."""

    def __init__(self, leads: pd.DataFrame) -> None:
        self._frame = leads
        self._codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._numbers: dict[str, np.ndarray] = {}

    @property
    def leads(self) -> pd.DataFrame:
        """The leads frame the columns are read from."""
        return self._frame

    def __len__(self) -> int:
        return len(self.leads)

    def has(self, column: str) -> bool:
        """True when the leads frame has this column."""
        return column in self.leads.columns

    def codes(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """(codes per lead with -1 for missing, distinct non-null values as an object array)."""
        if column not in self._codes:
            self._codes[column] = self._factorized(column)
        return self._codes[column]

    def numbers(self, column: str) -> np.ndarray:
        """The column as float64, NaN where missing or not a number."""
        if column not in self._numbers:
            self._numbers[column] = self._numbers_of(column)
        return self._numbers[column]

    def _factorized(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """pd.factorize of the column: codes in order of first appearance, -1 for missing."""
        codes, uniques = pd.factorize(self.leads[column], use_na_sentinel=True)
        return codes, np.asarray(uniques, dtype=object)

    def _numbers_of(self, column: str) -> np.ndarray:
        return _numeric(self.leads[column])


def matcher_masks(columns: ColumnCodes, rules: tuple[CompiledMatcher, ...]) -> np.ndarray:
    """Boolean matrix (n_leads, n_rules): lead i matches rule j. Each column is factorised once."""
    out = np.zeros((len(columns), len(rules)), dtype=bool)
    for j, rule in enumerate(rules):
        if rule.kind == "between":
            values = columns.numbers(rule.field)
            out[:, j] = (values >= rule.low) & (values <= rule.high)
            continue
        codes, uniques = columns.codes(rule.field)
        table = np.append(_unique_mask(rule, uniques), rule.kind == "missing")
        out[:, j] = table[codes]
    return out
