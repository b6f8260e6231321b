"""Outside-world faults for the conformance suite: connector wrappers that lose responses, refuse records, count writes.

Each wraps a real adapter and changes only what the remote side would: they fake the CRM failing,
never our own push or journal code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from connectors.errors import FatalCRMError
from connectors.guard import CheckedChanges, changes_frame, checked_changes
from connectors.protocol import Capabilities, CRMConnector, FieldPlan, RecordFailure, WriteReport
from scoring.fields import ScoreField


class ConnectorWrapper:
    """A connector that forwards every call to `inner`; subclasses change what the CRM does on write."""

    def __init__(self, inner: CRMConnector, max_batch_records: int | None = None) -> None:
        self.inner = inner
        caps = inner.capabilities
        self.capabilities: Capabilities = (
            caps if max_batch_records is None else dataclasses.replace(caps, max_batch_records=max_batch_records)
        )

    def read_leads(self, since: datetime | None = None) -> pd.DataFrame:
        """Forwarded."""
        return self.inner.read_leads(since)

    def read_accounts(self) -> pd.DataFrame:
        """Forwarded."""
        return self.inner.read_accounts()

    def read_events(self, since: datetime | None = None) -> pd.DataFrame:
        """Forwarded."""
        return self.inner.read_events(since)

    def read_outcomes(self) -> pd.DataFrame:
        """Forwarded."""
        return self.inner.read_outcomes()

    def ensure_score_fields(self, fields: Sequence[ScoreField], dry_run: bool = False) -> FieldPlan:
        """Forwarded."""
        return self.inner.ensure_score_fields(fields, dry_run)

    def read_score_values(
        self, fields: Sequence[ScoreField], record_ids: Sequence[str] | pd.Series | None = None
    ) -> pd.DataFrame:
        """Forwarded."""
        return self.inner.read_score_values(fields, record_ids)

    def write_score_values(self, changes: CheckedChanges) -> WriteReport:
        """Forwarded."""
        return self.inner.write_score_values(changes)

    def close(self) -> None:
        """Does not close `inner`: its owner does."""


class InterruptingConnector(ConnectorWrapper):
    """Writes batches normally until batch `fail_after`, which reaches the CRM but whose answer is lost (raises)."""

    def __init__(self, inner: CRMConnector, fail_after: int, max_batch_records: int | None = None) -> None:
        super().__init__(inner, max_batch_records)
        self.fail_after = fail_after
        self.calls = 0

    def write_score_values(self, changes: CheckedChanges) -> WriteReport:
        """Forward the batch; on call number `fail_after` raise FatalCRMError after the CRM applied it."""
        self.calls += 1
        report = self.inner.write_score_values(changes)
        if self.calls == self.fail_after:
            raise FatalCRMError(f"connection lost after sending batch {self.calls} (simulated)")
        return report


class RejectingConnector(ConnectorWrapper):
    """A CRM that refuses whole records (`records`) and single (record_id, field) pairs (`cells`)."""

    def __init__(
        self, inner: CRMConnector, records: Collection[str] = (), cells: Collection[tuple[str, str]] = ()
    ) -> None:
        super().__init__(inner)
        self.records = frozenset(records)
        self.cells = frozenset(cells)

    def write_score_values(self, changes: CheckedChanges) -> WriteReport:
        """Forward what is not refused; report refusals as failures, as a remote CRM would."""
        frame = changes_frame(changes)
        whole = frame["record_id"].isin(self.records).to_numpy()
        pairs = list(zip(frame["record_id"], frame["field"], strict=True))
        one = np.array([p in self.cells for p in pairs], dtype=bool) & ~whole
        failures = [RecordFailure(r, None, "REJECTED", "record locked (simulated)")
                    for r in frame.loc[whole, "record_id"].unique().tolist()]
        failures += [RecordFailure(r, f, "INVALID_VALUE", "value refused (simulated)")
                     for r, f in zip(frame.loc[one, "record_id"], frame.loc[one, "field"], strict=True)]
        kept = frame.loc[~whole & ~one]
        report = (self.inner.write_score_values(checked_changes(kept, changes.fields))
                  if len(kept) else WriteReport(0, 0, 1))
        return dataclasses.replace(report, failures=report.failures + tuple(failures))


class CountingConnector(ConnectorWrapper):
    """Records every (record_id, field) it is asked to write, in order, in `sent`."""

    def __init__(self, inner: CRMConnector, max_batch_records: int | None = None) -> None:
        super().__init__(inner, max_batch_records)
        self.sent: list[tuple[str, str]] = []
        self.calls = 0

    def write_score_values(self, changes: CheckedChanges) -> WriteReport:
        """Note the changes, then forward them."""
        frame = changes_frame(changes)
        self.calls += 1
        self.sent.extend(zip(frame["record_id"].tolist(), frame["field"].tolist(), strict=True))
        return self.inner.write_score_values(changes)
