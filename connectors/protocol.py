"""The one small protocol every CRM adapter implements, and the plain data it exchanges.

Value conventions shared by every adapter, so that push, resume and undo stay CRM-agnostic:

- record ids are `str`; datetimes in canonical frames are `datetime64[..., UTC]`;
- score values read back (`read_score_values`) are float64 for number fields and `str` for text and
  datetime fields (datetimes as ISO-8601 UTC, `2026-11-23T14:45:01Z`); an empty field is NaN;
- score values written (`write_score_values`, column `new`) are int/float, str, ISO-8601 UTC str,
  or None to empty the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import pandas as pd

from connectors.errors import RecordWriteError
from scoring.fields import ScoreField

if TYPE_CHECKING:
    from connectors.guard import CheckedChanges

__all__ = [
    "BULK_BATCH_RECORDS",
    "Capabilities",
    "RecordFailure",
    "WriteReport",
    "FieldPlan",
    "CRMConnector",
]

BULK_BATCH_RECORDS = 100_000
"""Records per write call when a push uses an adapter's bulk path (Salesforce Bulk API 2.0 jobs)."""


@dataclass(frozen=True)
class Capabilities:
    """What an adapter's CRM allows: records per write call, request rate, bulk path, atomicity.

    Attributes:
        name: adapter name recorded in the journal ("local", "salesforce", "hubspot").
        max_batch_records: most records one `write_score_values` call may carry (REST path).
        requests_per_window: most requests per `window_seconds`; None when unlimited.
        window_seconds: length of the rate-limit window in seconds; None when unlimited.
        supports_bulk: whether the adapter has a bulk path for large pushes.
        bulk_threshold_records: pushes of at least this many records use the bulk path, in write
            calls of up to BULK_BATCH_RECORDS records.
        atomic_batches: whether a write call applies all of its records or none.
    """

    name: str
    max_batch_records: int
    requests_per_window: int | None = None
    window_seconds: float | None = None
    supports_bulk: bool = False
    bulk_threshold_records: int | None = None
    atomic_batches: bool = False

    def __post_init__(self) -> None:
        if self.max_batch_records < 1:
            raise ValueError(f"{self.name}: max_batch_records must be at least 1, got {self.max_batch_records}")
        if (self.requests_per_window is None) != (self.window_seconds is None):
            raise ValueError(f"{self.name}: give requests_per_window and window_seconds together, or neither")
        if self.requests_per_window is not None and self.requests_per_window < 1:
            raise ValueError(f"{self.name}: requests_per_window must be at least 1")
        if self.supports_bulk and not self.bulk_threshold_records:
            raise ValueError(f"{self.name}: supports_bulk needs bulk_threshold_records")

    def records_per_batch(self, n_records: int) -> int:
        """Records per write call for a push of `n_records` records: bulk-sized above the threshold."""
        if self.supports_bulk and self.bulk_threshold_records and n_records >= self.bulk_threshold_records:
            return max(BULK_BATCH_RECORDS, self.max_batch_records)
        return self.max_batch_records


@dataclass(frozen=True)
class RecordFailure:
    """One record (or one of its fields, when `field` is set) that the CRM refused to write."""

    record_id: str
    field: str | None
    status_code: str
    message: str

    def as_error(self) -> RecordWriteError:
        """The failure as an exception, for callers that want to raise it."""
        return RecordWriteError(self.record_id, self.field, self.status_code, self.message)


@dataclass(frozen=True)
class WriteReport:
    """What one `write_score_values` call did: records and field values accepted, requests sent, refusals."""

    records_written: int
    fields_written: int
    requests: int
    failures: tuple[RecordFailure, ...] = ()


@dataclass(frozen=True)
class FieldPlan:
    """Score fields that `ensure_score_fields` creates (or would create, in a dry run) and those already there.

    `notes` says what else was (or would be) done or is left to do, e.g. field-level security granted.
    """

    to_create: tuple[ScoreField, ...]
    existing: tuple[ScoreField, ...]
    notes: tuple[str, ...] = ()


@runtime_checkable
class CRMConnector(Protocol):
    """A CRM seen through canonical frames; writes only score fields, only through the guard.

    Reads return the canonical columns of scoring.columns (extra columns may follow). Writes take a
    `CheckedChanges` made by `connectors.guard.checked_changes`; an adapter refuses anything else by
    calling `connectors.guard.changes_frame` first, so no code can write around the guard.
    """

    capabilities: Capabilities

    def read_leads(self, since: datetime | None = None) -> pd.DataFrame:
        """Leads created or modified at or after `since` (UTC; None for all), LEAD_COLUMNS."""
        ...

    def read_accounts(self) -> pd.DataFrame:
        """All accounts, ACCOUNT_COLUMNS."""
        ...

    def read_events(self, since: datetime | None = None) -> pd.DataFrame:
        """Behaviour events at or after `since` (UTC; None for all): lead_id, type, at, value."""
        ...

    def read_outcomes(self) -> pd.DataFrame:
        """Stage outcomes: lead_id, stage, at."""
        ...

    def ensure_score_fields(self, fields: Sequence[ScoreField], dry_run: bool = False) -> FieldPlan:
        """Create the score fields that are missing (none in a dry run); idempotent."""
        ...

    def read_score_values(
        self, fields: Sequence[ScoreField], record_ids: Sequence[str] | pd.Series | None = None
    ) -> pd.DataFrame:
        """Current score values: record_id plus one column per field name; unknown ids are left out."""
        ...

    def write_score_values(self, changes: CheckedChanges) -> WriteReport:
        """Write guarded changes (record_id, field, new) in one batch; refusals come back as failures."""
        ...

    def close(self) -> None:
        """Release connections and sessions; the connector is unusable afterwards."""
        ...
