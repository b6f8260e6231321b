"""Field rules on lead columns: which leads match, computed on each column's distinct values once."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.dtypes import StringDType

from scoring.compiled import CompiledMatcher

__all__ = ["matcher_masks", "with_email_domain"]


def with_email_domain(leads: pd.DataFrame) -> pd.DataFrame:
    """Leads with a derived `email_domain` column (lower-cased part after '@'), when not already there."""
    if "email_domain" in leads.columns or "email" not in leads.columns:
        return leads
    email = leads["email"]
    empty = email.isna().to_numpy()
    text = np.asarray(email.where(~empty, ""), dtype=StringDType())
    domain = np.strings.lower(np.strings.rpartition(text, np.asarray("@", dtype=StringDType()))[2])
    domain = domain.astype(object)
    domain[empty | (domain == "")] = None
    return leads.assign(email_domain=pd.Series(domain, index=leads.index, dtype=object))


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


def matcher_masks(leads: pd.DataFrame, rules: tuple[CompiledMatcher, ...]) -> np.ndarray:
    """Boolean matrix (n_leads, n_rules): lead i matches rule j. Each column is factorised once."""
    out = np.zeros((len(leads), len(rules)), dtype=bool)
    factorised: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    numeric: dict[str, np.ndarray] = {}
    for j, rule in enumerate(rules):
        column = leads[rule.field]
        if rule.kind == "between":
            if rule.field not in numeric:
                numeric[rule.field] = _numeric(column)
            values = numeric[rule.field]
            out[:, j] = (values >= rule.low) & (values <= rule.high)
            continue
        if rule.field not in factorised:
            codes, uniques = pd.factorize(column, use_na_sentinel=True)
            factorised[rule.field] = (codes, np.asarray(uniques, dtype=object))
        codes, uniques = factorised[rule.field]
        table = np.append(_unique_mask(rule, uniques), rule.kind == "missing")
        out[:, j] = table[codes]
    return out
