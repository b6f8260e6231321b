"""Data quality of the fields a model reads: how many leads lack each one."""

from __future__ import annotations

import pandas as pd

from scoring.compiled import CompiledModel, compile_model
from scoring.matchers import with_email_domain
from scoring.model import ModelSpec

__all__ = ["missing_fields"]


def missing_fields(leads: pd.DataFrame, model: ModelSpec | CompiledModel) -> pd.DataFrame:
    """Share of leads missing each field the model's rules read (NaN, empty or absent column).

    Returns:
        Columns field, rules (names of rules reading it), missing (leads), share (0-1), sorted by share.
    """
    compiled = compile_model(model) if isinstance(model, ModelSpec) else model
    leads = with_email_domain(leads)
    rules: dict[str, list[str]] = {}
    for rule in (*compiled.fit_rules, *compiled.negative_rules):
        rules.setdefault(rule.field, []).append(rule.name)
    rows = []
    n = len(leads)
    for field, names in rules.items():
        if field in leads.columns:
            column = leads[field]
            empty = column.isna() | (column.astype(str).str.strip() == "")
            missing = int(empty.sum())
        else:
            missing = n
        rows.append({"field": field, "rules": ", ".join(names), "missing": missing,
                     "share": missing / n if n else 0.0})
    frame = pd.DataFrame(rows, columns=["field", "rules", "missing", "share"])
    return frame.sort_values(["share", "field"], ascending=[False, True], ignore_index=True)
