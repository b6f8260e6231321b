"""Scores to CRM field values, and the field changes a push must make; vectorised, one pass per field."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from connectors.guard import score_field_names
from scoring.errors import InputDataError
from scoring.fields import ScoreField

CHANGE_COLUMNS: tuple[str, ...] = ("record_id", "field", "old", "new")
CRM_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def score_field_values(scores: pd.DataFrame, fields: Sequence[ScoreField]) -> pd.DataFrame:
    """CRM values of each score field: record_id plus one column per field name.

    Numbers are rounded half away from zero to Int64, text is `str` (empty text, e.g. a lead without
    reasons, is missing), datetimes are ISO-8601 UTC text to the second (`2026-11-23T14:45:01Z`);
    missing scores stay missing.
    """
    score_field_names(fields)
    needed = ["lead_id", *dict.fromkeys(f.column for f in fields)]
    missing = [c for c in needed if c not in scores.columns]
    if missing:
        raise InputDataError(
            "scores", f"missing column(s) {', '.join(missing)}",
            "score the leads with the model first; a scores frame has the columns of scoring.columns.SCORE_COLUMNS",
        )
    ids = scores["lead_id"]
    if ids.isna().any():
        raise InputDataError("scores", f"{int(ids.isna().sum())} rows have no lead_id", "drop them before pushing")
    twice = ids.astype(str).duplicated()
    if twice.any():
        raise InputDataError(
            "scores", f"{int(twice.sum())} lead_id values appear more than once (e.g. {ids[twice].iloc[0]})",
            "push one score row per lead (the latest scoring run)",
        )
    out: dict[str, pd.Series] = {"record_id": ids.astype(str).reset_index(drop=True)}
    for field in fields:
        out[field.name] = _crm_values(scores[field.column].reset_index(drop=True), field)
    return pd.DataFrame(out)


def plan_changes(current: pd.DataFrame, desired: pd.DataFrame, fields: Sequence[ScoreField]) -> pd.DataFrame:
    """Field changes from `current` to `desired` CRM values (both record_id + one column per field name).

    Returns record_id, field, old, new (Python values, None for empty), one row per changed cell, in
    desired-record order then field order. Only records in both frames are planned. Numbers compare
    numerically and NULL vs a value is a change; datetime fields (scored_at) change on every run, so
    they are written only for records where some other field changed.
    """
    present = desired["record_id"].isin(current["record_id"]).to_numpy()
    want = desired.loc[present].reset_index(drop=True)
    have = current.drop_duplicates("record_id").set_index("record_id").reindex(want["record_id"]).reset_index()
    changed = {f.name: ~values_equal(have[f.name], want[f.name], f.kind) for f in fields}
    plain = [f.name for f in fields if f.kind != "datetime"]
    if plain:
        other_changed = np.logical_or.reduce([changed[n] for n in plain])
        for f in fields:
            if f.kind == "datetime":
                changed[f.name] = changed[f.name] & other_changed
    blocks = []
    for order, field in enumerate(fields):
        mask = changed[field.name]
        rows = np.flatnonzero(mask)
        blocks.append(pd.DataFrame({
            "record_id": want["record_id"].to_numpy(dtype=object)[rows],
            "field": field.name,
            "old": python_values(have[field.name]).to_numpy()[rows],
            "new": python_values(want[field.name]).to_numpy()[rows],
            "_row": rows,
            "_field": order,
        }))
    plan = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame(columns=[*CHANGE_COLUMNS, "_row", "_field"])
    plan = plan.sort_values(["_row", "_field"], kind="stable").reset_index(drop=True)
    return pd.DataFrame({
        "record_id": plan["record_id"].astype("str"),
        "field": plan["field"].astype("str"),
        "old": plan["old"].astype(object),
        "new": plan["new"].astype(object),
    })


def values_equal(old: pd.Series, new: pd.Series, kind: str) -> np.ndarray:
    """Element-wise equality of two aligned columns of CRM values of one field kind; NULL equals NULL only."""
    if kind == "number":
        a = pd.to_numeric(old.astype(object), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        b = pd.to_numeric(new.astype(object), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return np.asarray((np.isnan(a) & np.isnan(b)) | (a == b), dtype=bool)
    if kind == "datetime":
        a_t = _instants(old)
        b_t = _instants(new)
        both_null = (a_t.isna() & b_t.isna()).to_numpy()
        return np.asarray(both_null | (a_t == b_t).to_numpy(dtype=bool), dtype=bool)
    a_s = old.reset_index(drop=True)
    b_s = new.reset_index(drop=True)
    null_a = a_s.isna().to_numpy()
    null_b = b_s.isna().to_numpy()
    same = (a_s.astype("str") == b_s.astype("str")).to_numpy(dtype=bool, na_value=False)
    return np.asarray((null_a & null_b) | (~null_a & ~null_b & same), dtype=bool)


def python_values(values: pd.Series) -> pd.Series:
    """A column as plain Python values (int, float, str) with None for every kind of missing."""
    objects = values.astype(object)
    return objects.where(values.notna(), None)


def _crm_values(values: pd.Series, field: ScoreField) -> pd.Series:
    """One scores column formatted as CRM values of `field.kind`."""
    if field.kind == "number":
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        bad = values.notna() & numbers.isna()
        if bad.any():
            raise InputDataError(
                "scores", f"column {field.column} has values that are not numbers (e.g. {values[bad].iloc[0]!r})",
                f"{field.name} is a number field; fix the scores",
            )
        rounded = np.sign(numbers) * np.floor(np.abs(numbers) + 0.5)
        return pd.Series(rounded, index=values.index).astype("Int64")
    if field.kind == "datetime":
        stamps = pd.to_datetime(values, utc=True, errors="coerce")
        bad = values.notna() & stamps.isna()
        if bad.any():
            raise InputDataError(
                "scores", f"column {field.column} has values that are not datetimes (e.g. {values[bad].iloc[0]!r})",
                f"{field.name} is a datetime field; give UTC timestamps",
            )
        return stamps.dt.strftime(CRM_DATETIME_FORMAT).astype("str")
    text = values.astype("str")
    return text.mask(text == "")  # a CRM keeps no empty text (HubSpot reads "" back as no value): "" is NULL


def _instants(values: pd.Series) -> pd.Series:
    """A column of datetimes or ISO-8601 text as UTC instants (NaT when empty or unparseable)."""
    return pd.to_datetime(values.astype(object).reset_index(drop=True), utc=True, errors="coerce", format="ISO8601")
