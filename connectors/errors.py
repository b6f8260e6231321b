"""Errors raised by connectors, the push journal and the score-field guard.

    ScorebenchError (scoring.errors)
    └── CRMError                              anything that went wrong talking to a CRM or its journal
        ├── RetriableCRMError                 rate limit, timeout, 5xx: the same request may work later
        ├── FatalCRMError                     auth, permission, missing field: fix the cause, then rerun
        ├── PushInterruptedError              a push stopped part-way: resume it or undo it by push id
        ├── RecordWriteError (ValueError)     the CRM refused one record's field value
        ├── JournalError                      the push journal is missing, unreadable or inconsistent
        └── ScoreFieldViolation (ValueError)  a write touched a field that is not a score field

Retry-or-not is a type: callers retry RetriableCRMError and nothing else. Each error says what is
wrong, where, and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence

from scoring.errors import ScorebenchError

__all__ = [
    "CRMError",
    "RetriableCRMError",
    "FatalCRMError",
    "PushInterruptedError",
    "RecordWriteError",
    "JournalError",
    "ScoreFieldViolation",
]


class CRMError(ScorebenchError):
    """Base of every error about a CRM, its score fields or the push journal."""


class RetriableCRMError(CRMError):
    """A transient CRM failure; the same request may succeed after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class FatalCRMError(CRMError):
    """A CRM failure that retrying will not fix (credentials, permissions, schema)."""


class PushInterruptedError(CRMError):
    """A push stopped after `batches_done` of `batches_total` batches; its journal holds pending entries."""

    def __init__(self, push_id: str, batches_done: int, batches_total: int, cause: BaseException) -> None:
        self.push_id = push_id
        self.batches_done = batches_done
        self.batches_total = batches_total
        super().__init__(
            f"push {push_id} stopped after {batches_done} of {batches_total} batches: {cause} "
            f"(fix the cause, then resume it with `scorebench push --resume {push_id}` "
            f"or undo what was written with `scorebench undo {push_id}`)"
        )


class RecordWriteError(CRMError, ValueError):
    """The CRM refused to write `field` on record `record_id`."""

    def __init__(self, record_id: str, field: str | None, status_code: str, message: str) -> None:
        self.record_id = record_id
        self.field = field
        self.status_code = status_code
        where = f"record {record_id}" + (f", field {field}" if field else "")
        super().__init__(f"{where}: CRM refused the write ({status_code}): {message}")


class JournalError(CRMError):
    """The push journal cannot be used as asked: unknown push, pending entries, corrupt rows."""


class ScoreFieldViolation(CRMError, ValueError):
    """A write named fields outside the score fields; nothing was written."""

    def __init__(self, fields: Sequence[str], allowed: Sequence[str], hint: str = "") -> None:
        self.fields = tuple(fields)
        self.allowed = tuple(allowed)
        named = ", ".join(repr(f) for f in self.fields) or "(none)"
        allowed_text = ", ".join(self.allowed) or "(none)"
        text = (
            f"refused a write to field(s) {named}: only score fields may be written "
            f"(allowed: {allowed_text})"
        )
        if hint:
            text += f"; {hint}"
        super().__init__(text)
