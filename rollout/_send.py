"""Send journaled changes to a CRM in batches: guard every batch, pace requests, retry transient errors, mark outcomes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from connectors.errors import FatalCRMError, PushInterruptedError, RetriableCRMError
from connectors.guard import CheckedChanges, checked_changes
from connectors.journal import PushJournal
from connectors.pacing import RequestPacer
from connectors.protocol import CRMConnector, WriteReport
from scoring.fields import ScoreField

Progress = Callable[[int, int], None]
"""Called after each batch with (field changes sent so far, field changes to send)."""

MAX_ATTEMPTS = 4
"""Attempts per batch when the CRM answers with a RetriableCRMError."""
BACKOFF_SECONDS = 2.0
"""First wait before retrying a batch without a Retry-After; doubles each attempt."""


@dataclass
class SendOutcome:
    """What sending did, aligned to the entries given: status and error per entry, requests, batches."""

    status: np.ndarray
    error: np.ndarray
    requests: int
    batches_done: int
    batches_total: int


def batch_numbers(record_ids: pd.Series, records_per_batch: int) -> np.ndarray:
    """Batch number of each change: records in order of first appearance, `records_per_batch` per batch."""
    codes, _ = pd.factorize(record_ids)
    return np.asarray(codes // records_per_batch, dtype=np.int64)


def send_journaled(
    connector: CRMConnector,
    journal: PushJournal,
    push_id: str,
    entries: pd.DataFrame,
    fields: Sequence[ScoreField],
    progress: Progress | None = None,
    pacer: RequestPacer | None = None,
) -> SendOutcome:
    """Write pending journal entries (entry_id, record_id, field, new) batch by batch, marking each afterwards.

    Entries must already be journaled as pending. On a CRM error the remaining entries stay pending
    and PushInterruptedError says how to resume.
    """
    n = len(entries)
    status = np.full(n, "pending", dtype=object)
    error = np.full(n, None, dtype=object)
    caps = connector.capabilities
    batch = batch_numbers(entries["record_id"], caps.records_per_batch(entries["record_id"].nunique()))
    total = int(batch.max()) + 1 if n else 0
    order = np.argsort(batch, kind="stable")
    bounds = np.searchsorted(batch[order], np.arange(total + 1))
    pacer = pacer or RequestPacer(caps.requests_per_window, caps.window_seconds)
    requests = 0
    done = 0
    for b in range(total):
        rows = order[bounds[b]:bounds[b + 1]]
        part = entries.iloc[rows]
        checked = checked_changes(part.loc[:, ["record_id", "field", "new"]], fields)
        try:
            report = _write_with_retries(connector, checked, pacer)
        except (RetriableCRMError, FatalCRMError) as exc:
            raise PushInterruptedError(push_id, b, total, exc) from exc
        requests += report.requests
        failed, messages = _failed_rows(part, report)
        ids = part["entry_id"].to_numpy()
        journal.mark_failed(ids[failed], messages[failed].tolist())
        journal.mark_applied(ids[~failed])
        status[rows] = np.where(failed, "failed", "applied")
        error[rows] = messages
        done += len(rows)
        if progress is not None:
            progress(done, n)
    return SendOutcome(status=status, error=error, requests=requests, batches_done=total, batches_total=total)


def _retry_wait(state: RetryCallState) -> float:
    """Seconds before the next attempt: the CRM's Retry-After when it gave one, else exponential backoff."""
    exc = state.outcome.exception() if state.outcome is not None else None
    if isinstance(exc, RetriableCRMError) and exc.retry_after is not None:
        return max(exc.retry_after, 0.0)
    return BACKOFF_SECONDS * 2 ** (state.attempt_number - 1)


def _write_with_retries(connector: CRMConnector, checked: CheckedChanges, pacer: RequestPacer) -> WriteReport:
    """One batch written, retried (tenacity) up to MAX_ATTEMPTS times on RetriableCRMError, paced by the pacer."""
    retrying = Retrying(
        stop=stop_after_attempt(MAX_ATTEMPTS),
        wait=_retry_wait,
        retry=retry_if_exception_type(RetriableCRMError),
        sleep=pacer.sleep,
        before_sleep=lambda _state: pacer.count(1),
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            pacer.wait()
            report = connector.write_score_values(checked)
    pacer.count(report.requests)
    return report


def _failed_rows(part: pd.DataFrame, report: WriteReport) -> tuple[np.ndarray, np.ndarray]:
    """Mask of a batch's entries the CRM refused, and the refusal text per entry (None where written)."""
    failed = np.zeros(len(part), dtype=bool)
    messages = np.full(len(part), None, dtype=object)
    if not report.failures:
        return failed, messages
    found = pd.DataFrame(
        [(f.record_id, f.field, f"{f.status_code}: {f.message}") for f in report.failures],
        columns=["record_id", "field", "message"],
    )
    keys = part.loc[:, ["record_id", "field"]].reset_index(drop=True)
    whole = found[found["field"].isna()].drop_duplicates("record_id")
    by_record = keys.merge(whole[["record_id", "message"]], on="record_id", how="left")["message"]
    one = found[found["field"].notna()].drop_duplicates(["record_id", "field"])
    by_field = keys.merge(one, on=["record_id", "field"], how="left")["message"]
    message = by_field.where(by_field.notna(), by_record)
    failed = message.notna().to_numpy()
    messages[failed] = message[failed].to_numpy(dtype=object)
    return failed, messages
