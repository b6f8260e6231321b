"""The one place that enforces "score fields only": every CRM write passes through here.

`checked_changes(changes, fields)` is the only way to build a `CheckedChanges`, and
`CRMConnector.write_score_values` accepts nothing else: adapters call `changes_frame(changes)` first,
which refuses a raw frame or a forged object. So push, resume and undo cannot reach an adapter's
write path without the field check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import final

import pandas as pd

from connectors.errors import ScoreFieldViolation
from scoring.errors import InputDataError, SettingsError
from scoring.fields import SCORE_FIELD_KINDS, ScoreField

__all__ = ["CheckedChanges", "checked_changes", "changes_frame", "score_field_names"]

CHANGE_COLUMNS: tuple[str, ...] = ("record_id", "field", "new")
_GUARD_KEY = object()


@final
class CheckedChanges:
    """Changes (record_id, field, new) whose fields are all score fields; made only by `checked_changes`."""

    __slots__ = ("_frame", "_fields")

    def __init__(self, frame: pd.DataFrame, fields: Sequence[ScoreField], *, _key: object = None) -> None:
        if _key is not _GUARD_KEY:
            raise ScoreFieldViolation(
                (), [f.name for f in fields],
                "build changes with connectors.guard.checked_changes(changes, fields), not CheckedChanges()",
            )
        self._frame = frame
        self._fields = tuple(fields)

    @property
    def frame(self) -> pd.DataFrame:
        """The changes, columns record_id (str), field (str), new (object); a copy-on-write view."""
        return self._frame.copy(deep=False)

    @property
    def fields(self) -> tuple[ScoreField, ...]:
        """The score fields these changes were checked against."""
        return self._fields

    def __len__(self) -> int:
        return len(self._frame)

    def __repr__(self) -> str:
        return f"CheckedChanges({len(self._frame)} changes, fields={[f.name for f in self._fields]})"


def score_field_names(fields: Sequence[ScoreField]) -> tuple[str, ...]:
    """CRM names of a valid score-field spec, in order; raises SettingsError naming every problem."""
    problems: list[str] = []
    if not fields:
        problems.append("no score fields given")
    seen: set[str] = set()
    for f in fields:
        if not isinstance(f, ScoreField):
            problems.append(f"{f!r} is not a ScoreField")
            continue
        if not f.name or not isinstance(f.name, str):
            problems.append(f"score field for column {f.column!r} has an empty CRM name")
        elif f.name in seen:
            problems.append(f"CRM field name {f.name!r} is used twice")
        seen.add(f.name)
        expected = SCORE_FIELD_KINDS.get(f.column)
        if expected is None:
            problems.append(
                f"field {f.name!r} maps column {f.column!r}, which is not a score column "
                f"(allowed: {', '.join(SCORE_FIELD_KINDS)})"
            )
        elif f.kind != expected:
            problems.append(f"field {f.name!r} maps column {f.column!r} as {f.kind}; it must be {expected}")
    if problems:
        raise SettingsError(
            "score fields are not usable: " + "; ".join(problems)
            + " (fix the CRM score-field names in the model file)"
        )
    return tuple(f.name for f in fields)


def checked_changes(changes: pd.DataFrame, fields: Sequence[ScoreField]) -> CheckedChanges:
    """Changes (record_id, field, new) checked to touch only `fields`; raises ScoreFieldViolation otherwise."""
    allowed = score_field_names(fields)
    missing = [c for c in CHANGE_COLUMNS if c not in changes.columns]
    if missing:
        raise InputDataError(
            "changes", f"missing column(s) {', '.join(missing)}",
            "a changes frame has one row per field change with columns record_id, field, new",
        )
    frame = changes.loc[:, list(CHANGE_COLUMNS)]
    if frame["record_id"].isna().any():
        raise InputDataError("changes", "some rows have no record_id", "drop them or fill in the CRM record id")
    offending = _fields_outside(frame["field"], allowed)
    if offending:
        raise ScoreFieldViolation(offending, allowed)
    twice = frame.duplicated(["record_id", "field"])
    if twice.any():
        first = frame.loc[twice].iloc[0]
        raise InputDataError(
            "changes", f"{int(twice.sum())} (record_id, field) pairs appear more than once, "
            f"e.g. record {first['record_id']}, field {first['field']}",
            "give each field of a record at most one new value per write",
        )
    frame = frame.assign(record_id=frame["record_id"].astype(str), field=frame["field"].astype(str))
    return CheckedChanges(frame, fields, _key=_GUARD_KEY)


def changes_frame(changes: object) -> pd.DataFrame:
    """The frame inside guarded changes, rechecked; adapters call this first and write nothing else."""
    if not isinstance(changes, CheckedChanges):
        touched: list[str] = []
        if isinstance(changes, pd.DataFrame) and "field" in changes.columns:
            touched = sorted(changes["field"].dropna().astype(str).unique().tolist())
        raise ScoreFieldViolation(
            touched, (),
            "writes must pass through connectors.guard.checked_changes(changes, fields) "
            f"(got {type(changes).__name__})",
        )
    frame = changes.frame
    allowed = tuple(f.name for f in changes.fields)
    offending = _fields_outside(frame["field"], allowed)
    if offending:
        raise ScoreFieldViolation(offending, allowed, "the checked changes were altered after the check")
    return frame


def _fields_outside(field_column: pd.Series, allowed: Sequence[str]) -> list[str]:
    """Sorted distinct field names in `field_column` that are not in `allowed`."""
    names = pd.Series(field_column.unique(), dtype=object)
    outside = names[~names.isin(list(allowed))]
    return sorted(str(n) for n in outside)
