"""The push journal: every score-field change a push or undo makes, with its old and new value and status.

A SQLite file of its own (tables `scorebench_pushes`, `scorebench_journal`); it may share a file with
the local CRM but never depends on it. Protocol (STYLE rule 12): entries are written `pending`
before their batch is sent and marked `applied`, `failed` or `skipped` after; a push that finished
has no pending entries, and one that was interrupted is resumed from its pending entries. Values
are stored as text plus a kind, so undo writes back exactly the old value, NULL included.
"""

from __future__ import annotations

import difflib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Literal

import numpy as np
import pandas as pd

from connectors._codec import decoded_values, encoded_values
from connectors._sqlite import transaction
from connectors.errors import JournalError
from scoring.fields import ScoreField

__all__ = ["PushJournal", "PushHeader", "ENTRY_STATUSES", "ENTRY_COLUMNS"]

PushKind = Literal["push", "undo"]
ENTRY_STATUSES: tuple[str, ...] = ("pending", "applied", "failed", "skipped")
ENTRY_COLUMNS: tuple[str, ...] = (
    "entry_id", "push_id", "kind", "crm", "model_version", "record_id", "field", "old", "new",
    "status", "error", "created_at", "applied_at",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scorebench_pushes (
    push_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('push', 'undo')),
    crm TEXT NOT NULL,
    model_version TEXT NOT NULL,
    fields TEXT NOT NULL,
    target_push_id TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS scorebench_journal (
    entry_id INTEGER PRIMARY KEY,
    push_id TEXT NOT NULL REFERENCES scorebench_pushes (push_id),
    kind TEXT NOT NULL,
    crm TEXT NOT NULL,
    model_version TEXT NOT NULL,
    record_id TEXT NOT NULL,
    field TEXT NOT NULL,
    old TEXT,
    old_kind TEXT NOT NULL,
    new TEXT,
    new_kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'failed', 'skipped')),
    error TEXT,
    created_at TEXT NOT NULL,
    applied_at TEXT
);
CREATE INDEX IF NOT EXISTS scorebench_journal_by_push ON scorebench_journal (push_id, status);
"""


@dataclass(frozen=True)
class PushHeader:
    """One push or undo: its id, target CRM, model version and the score fields it may write."""

    push_id: str
    kind: PushKind
    crm: str
    model_version: str
    fields: tuple[ScoreField, ...]
    target_push_id: str | None = None
    created_at: str = ""
    finished_at: str | None = None


class PushJournal:
    """A SQLite push journal at `path` (created when missing); close it, or use it as a context manager."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open push journal {self.path}: {exc} (check the path and its permissions)") from exc
        try:
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            self._conn.close()
            raise JournalError(
                f"{self.path} cannot hold a push journal: {exc} (give the path of a SQLite file or a new file)"
            ) from exc

    def close(self) -> None:
        """Close the journal's connection."""
        self._conn.close()

    def __enter__(self) -> PushJournal:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start_push(self, header: PushHeader) -> None:
        """Record a new push or undo; raises JournalError if its id is already in the journal."""
        fields = json.dumps([[f.column, f.name, f.kind] for f in header.fields])
        with self._transaction() as cur:
            if cur.execute("SELECT 1 FROM scorebench_pushes WHERE push_id = ?", (header.push_id,)).fetchone():
                raise JournalError(f"push id {header.push_id} is already in journal {self.path}; use a new push id")
            cur.execute(
                "INSERT INTO scorebench_pushes VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                (header.push_id, header.kind, header.crm, header.model_version, fields,
                 header.target_push_id, header.created_at or _now()),
            )

    def append_entries(self, push_id: str, entries: pd.DataFrame) -> np.ndarray:
        """Journal changes (record_id, field, old, new[, status, error]) in one transaction; returns their entry ids.

        Status defaults to pending. Call this before sending the changes to the CRM.
        """
        header = self.push_header(push_id)
        n = len(entries)
        status = entries["status"].astype(str).tolist() if "status" in entries.columns else ["pending"] * n
        bad = sorted(set(status) - set(ENTRY_STATUSES))
        if bad:
            raise JournalError(f"unknown entry status {bad}; expected one of {', '.join(ENTRY_STATUSES)}")
        error = entries["error"].astype(object).tolist() if "error" in entries.columns else [None] * n
        error = [None if _is_missing(e) else str(e) for e in error]
        old, old_kind = encoded_values(entries["old"])
        new, new_kind = encoded_values(entries["new"])
        now = _now()
        applied_at = [now if s == "applied" else None for s in status]
        with self._transaction() as cur:
            first = int(cur.execute("SELECT COALESCE(MAX(entry_id), 0) + 1 FROM scorebench_journal").fetchone()[0])
            ids = np.arange(first, first + n, dtype=np.int64)
            cur.executemany(
                "INSERT INTO scorebench_journal VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                zip(ids.tolist(), [push_id] * n, [header.kind] * n, [header.crm] * n,
                    [header.model_version] * n, entries["record_id"].astype(str).tolist(),
                    entries["field"].astype(str).tolist(), old, old_kind, new, new_kind, status, error,
                    [now] * n, applied_at, strict=True),
            )
        return ids

    def mark_applied(self, entry_ids: Sequence[int] | np.ndarray) -> None:
        """Mark pending entries applied: the CRM now holds their new value."""
        self._resolve(entry_ids, "applied", None)

    def mark_failed(self, entry_ids: Sequence[int] | np.ndarray, errors: Sequence[str]) -> None:
        """Mark pending entries failed, each with the CRM's reason."""
        self._resolve(entry_ids, "failed", errors)

    def mark_skipped(self, entry_ids: Sequence[int] | np.ndarray, errors: Sequence[str]) -> None:
        """Mark pending entries skipped (a conflict: the record changed since it was journaled), with why."""
        self._resolve(entry_ids, "skipped", errors)

    def finish_push(self, push_id: str) -> None:
        """Stamp a push finished; raises JournalError if any of its entries is still pending."""
        with self._transaction() as cur:
            pending = cur.execute(
                "SELECT COUNT(*) FROM scorebench_journal WHERE push_id = ? AND status = 'pending'", (push_id,)
            ).fetchone()[0]
            if pending:
                raise JournalError(
                    f"push {push_id} still has {pending} pending entries; resume it before it can finish"
                )
            cur.execute("UPDATE scorebench_pushes SET finished_at = ? WHERE push_id = ?", (_now(), push_id))

    def has_push(self, push_id: str) -> bool:
        """True when a push or undo with this id is journaled here."""
        return self._conn.execute("SELECT 1 FROM scorebench_pushes WHERE push_id = ?", (push_id,)).fetchone() \
            is not None

    def push_header(self, push_id: str) -> PushHeader:
        """The header of push `push_id`; JournalError naming the closest known ids when it is not there."""
        row = self._conn.execute(
            "SELECT push_id, kind, crm, model_version, fields, target_push_id, created_at, finished_at "
            "FROM scorebench_pushes WHERE push_id = ?", (push_id,),
        ).fetchone()
        if row is None:
            known = [r[0] for r in self._conn.execute("SELECT push_id FROM scorebench_pushes")]
            close = difflib.get_close_matches(push_id, known, n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(close)}?" if close else f"{len(known)} pushes are journaled there"
            raise JournalError(f"no push {push_id!r} in journal {self.path} ({hint})")
        fields = tuple(ScoreField(column=c, name=n, kind=k) for c, n, k in json.loads(row[4]))
        return PushHeader(row[0], row[1], row[2], row[3], fields, row[5], row[6], row[7])

    def entries(self, push_id: str, status: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Entries of one push (optionally only some statuses), ENTRY_COLUMNS, old/new decoded, by entry id."""
        self.push_header(push_id)
        statuses = [status] if isinstance(status, str) else list(status or ENTRY_STATUSES)
        marks = ", ".join("?" * len(statuses))
        rows = self._conn.execute(
            "SELECT entry_id, push_id, kind, crm, model_version, record_id, field, old, old_kind, new, "
            f"new_kind, status, error, created_at, applied_at FROM scorebench_journal "
            f"WHERE push_id = ? AND status IN ({marks}) ORDER BY entry_id", (push_id, *statuses),
        ).fetchall()
        cols = list(zip(*rows, strict=True)) if rows else [()] * 15
        frame = pd.DataFrame({
            "entry_id": np.asarray(cols[0], dtype=np.int64),
            **{name: pd.Series(cols[i], dtype=object) for i, name in
               ((1, "push_id"), (2, "kind"), (3, "crm"), (4, "model_version"), (5, "record_id"), (6, "field"))},
            "old": pd.Series(decoded_values(cols[7], cols[8]), dtype=object),
            "new": pd.Series(decoded_values(cols[9], cols[10]), dtype=object),
            "status": pd.Series(cols[11], dtype=object),
            "error": pd.Series(cols[12], dtype=object),
            "created_at": pd.Series(cols[13], dtype=object),
            "applied_at": pd.Series(cols[14], dtype=object),
        })
        return frame.loc[:, list(ENTRY_COLUMNS)]

    def pushes(self) -> pd.DataFrame:
        """Every journaled push, oldest first, with its entry counts by status."""
        rows = self._conn.execute(
            "SELECT p.push_id, p.kind, p.crm, p.model_version, p.target_push_id, p.created_at, p.finished_at, "
            "COUNT(j.entry_id), "
            + ", ".join(f"COALESCE(SUM(j.status = '{s}'), 0)" for s in ENTRY_STATUSES)
            + " FROM scorebench_pushes p LEFT JOIN scorebench_journal j ON j.push_id = p.push_id "
            "GROUP BY p.push_id ORDER BY p.created_at, p.push_id"
        ).fetchall()
        columns = ["push_id", "kind", "crm", "model_version", "target_push_id", "created_at", "finished_at",
                   "entries", *ENTRY_STATUSES]
        return pd.DataFrame.from_records(rows, columns=columns)

    def pending_push_ids(self, crm: str | None = None) -> list[str]:
        """Ids of pushes (against `crm`, or any) that still have pending entries, in the order they were started
        (rowid: created_at follows the wall clock, which can step back)."""
        rows = self._conn.execute(
            "SELECT p.push_id FROM scorebench_pushes p WHERE p.finished_at IS NULL AND (? IS NULL OR p.crm = ?) "
            "AND EXISTS (SELECT 1 FROM scorebench_journal j WHERE j.push_id = p.push_id AND j.status = 'pending') "
            "ORDER BY p.rowid", (crm, crm),
        ).fetchall()
        return [r[0] for r in rows]

    def undo_push_ids(self, target_push_id: str) -> list[str]:
        """Ids of undo pushes that target `target_push_id`, in the order they were started (rowid)."""
        rows = self._conn.execute(
            "SELECT push_id FROM scorebench_pushes WHERE kind = 'undo' AND target_push_id = ? ORDER BY rowid",
            (target_push_id,),
        ).fetchall()
        return [r[0] for r in rows]

    def _resolve(self, entry_ids: Sequence[int] | np.ndarray, status: str, errors: Sequence[str] | None) -> None:
        """Move pending entries to `status`; JournalError if any of them was not pending."""
        ids = np.asarray(entry_ids, dtype=np.int64)
        if not len(ids):
            return
        if errors is not None and len(errors) != len(ids):
            raise JournalError(f"got {len(ids)} entry ids but {len(errors)} errors; give one error per entry")
        applied_at = _now() if status == "applied" else None
        if errors is None:
            ids = np.unique(ids)
            breaks = np.flatnonzero(np.diff(ids) != 1) + 1
            firsts = ids[np.r_[0, breaks]].tolist()
            lasts = ids[np.r_[breaks - 1, len(ids) - 1]].tolist()
            sql = ("UPDATE scorebench_journal SET status = ?, error = NULL, applied_at = ? "
                   "WHERE entry_id BETWEEN ? AND ? AND status = 'pending'")
            rows: Iterable[tuple[object, ...]] = zip(
                [status] * len(firsts), [applied_at] * len(firsts), firsts, lasts, strict=True)
        else:
            sql = ("UPDATE scorebench_journal SET status = ?, error = ?, applied_at = ? "
                   "WHERE entry_id = ? AND status = 'pending'")
            rows = zip([status] * len(ids), [str(e) for e in errors], [applied_at] * len(ids), ids.tolist(),
                       strict=True)
        with self._transaction() as cur:
            cur.executemany(sql, rows)
            if cur.rowcount != len(ids):
                raise JournalError(
                    f"{len(ids) - cur.rowcount} of {len(ids)} entries were not pending when marking them {status}; "
                    "another process may be resuming the same push — let it finish, then check `pushes()`"
                )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        """A write transaction that holds the database lock from its start; rolled back on error."""
        try:
            with transaction(self._conn) as cur:
                yield cur
        except sqlite3.Error as exc:
            raise JournalError(f"push journal {self.path}: {exc}") from exc


def _now() -> str:
    """The current UTC time, ISO-8601 with microseconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _is_missing(value: object) -> bool:
    """Whether a scalar is None or a pandas/numpy missing value."""
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA
