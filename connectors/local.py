"""The embedded local CRM: one SQLite file with accounts, leads, events and outcomes, no account needed.

Score fields are real columns added to `leads` by `ensure_score_fields`, as a CRM adds custom
fields, and registered in `custom_fields`. Writes go through the guard, touch only changed cells,
and apply each batch in one transaction. `requests` counts write calls, one per non-empty batch.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from connectors._local_frames import (
    TABLE_COLUMNS, canonical_frame, duplicated_keys, sql_type, stored_instant, unknown_stages, validated_rows,
)
from connectors._sqlite import transaction
from connectors.errors import FatalCRMError, RetriableCRMError, ScoreFieldViolation
from connectors.guard import CheckedChanges, changes_frame, score_field_names
from connectors.protocol import Capabilities, FieldPlan, RecordFailure, WriteReport
from scoring.errors import InputDataError, SettingsError
from scoring.fields import ScoreField

__all__ = ["LocalCRM", "LOCAL_CAPABILITIES"]

LOCAL_CAPABILITIES = Capabilities(name="local", max_batch_records=10_000, atomic_batches=True)
WRITE_DELAY_ENV = "SCOREBENCH_LOCAL_WRITE_DELAY"
"""Seconds each write call waits after committing (a slow CRM, for kill-and-resume tests); default 0."""
BATCH_RECORDS_ENV = "SCOREBENCH_LOCAL_BATCH_RECORDS"
"""Records per write call instead of 10,000 (many small batches, for kill-and-resume tests)."""
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_FIELD_SQL_TYPES = {"number": "REAL", "text": "TEXT", "datetime": "TEXT"}


def _schema() -> str:
    """CREATE statements of the CRM's tables."""
    keys = {"leads": "lead_id", "accounts": "account_id"}
    statements = []
    for table, columns in TABLE_COLUMNS.items():
        body = ", ".join(
            f"{c} {sql_type(c)}" + (" PRIMARY KEY" if keys.get(table) == c else "") for c in columns
        )
        statements.append(f"CREATE TABLE IF NOT EXISTS {table} ({body});")
    statements.append(
        "CREATE TABLE IF NOT EXISTS custom_fields (name TEXT PRIMARY KEY, kind TEXT NOT NULL, "
        "label TEXT NOT NULL, created_at TEXT NOT NULL);"
    )
    statements.append("CREATE INDEX IF NOT EXISTS events_by_at ON events (at);")
    return "\n".join(statements)


class LocalCRM:
    """A CRM in the SQLite file at `path` (created when missing); close it, or use it as a context manager.

    `busy_timeout` is how long, in seconds, a write waits for another process's lock before it fails
    with RetriableCRMError.
    """

    capabilities: Capabilities = LOCAL_CAPABILITIES

    def __init__(self, path: str | os.PathLike[str], busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.requests = 0
        """Write requests served so far: one per non-empty `write_score_values` call."""
        self._write_delay = _env_number(WRITE_DELAY_ENV, 0.0)
        batch = int(_env_number(BATCH_RECORDS_ENV, 0))
        if batch > 0:
            self.capabilities = dataclasses.replace(LOCAL_CAPABILITIES, max_batch_records=batch)
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=busy_timeout)
        except sqlite3.Error as exc:
            raise FatalCRMError(f"cannot open local CRM {self.path}: {exc} (check the path and permissions)") from exc
        try:
            self._conn.executescript(_schema())
        except sqlite3.Error as exc:
            self._conn.close()
            raise FatalCRMError(f"{self.path} is not a local CRM file: {exc} (give a new path or a CRM file)") from exc

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> LocalCRM:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalCRM({str(self.path)!r})"

    def load_funnel(
        self,
        leads: pd.DataFrame,
        accounts: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
        outcomes: pd.DataFrame | None = None,
    ) -> None:
        """Add canonical frames to the CRM in one transaction; validates everything first, writes nothing on error."""
        frames = {"leads": leads, "accounts": accounts, "events": events, "outcomes": outcomes}
        rows = {t: validated_rows(t, f) for t, f in frames.items() if f is not None}
        duplicated_keys("leads", leads["lead_id"])
        if accounts is not None:
            duplicated_keys("accounts", accounts["account_id"])
            self._reject_known("accounts", "account_id", accounts["account_id"])
        self._reject_known("leads", "lead_id", leads["lead_id"])
        if outcomes is not None:
            unknown_stages(outcomes)
        known = pd.concat([leads["lead_id"].astype(str), self._ids("leads", "lead_id")], ignore_index=True)
        for table in ("events", "outcomes"):
            frame = frames[table]
            if frame is None:
                continue
            orphan = ~frame["lead_id"].astype(str).isin(known)
            if orphan.any():
                sample = ", ".join(sorted(frame["lead_id"].astype(str)[orphan].unique())[:5])
                raise InputDataError(
                    table, f"{int(orphan.sum())} rows name leads that are not loaded (e.g. {sample})",
                    "load those leads in the same call, or drop the rows",
                )
        with self._transaction() as cur:
            for table, table_rows in rows.items():
                columns = TABLE_COLUMNS[table]
                marks = ", ".join("?" * len(columns))
                cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", table_rows)

    def read_leads(self, since: datetime | None = None) -> pd.DataFrame:
        """Leads created at or after `since` (UTC; naive taken as UTC; None for all), LEAD_COLUMNS, load order."""
        return self._read("leads", "created_at", since)

    def read_accounts(self) -> pd.DataFrame:
        """All accounts, ACCOUNT_COLUMNS, load order."""
        return self._read("accounts", None, None)

    def read_events(self, since: datetime | None = None) -> pd.DataFrame:
        """Events at or after `since` (UTC; None for all): lead_id, type, at, value (float, NaN if none)."""
        return self._read("events", "at", since)

    def read_outcomes(self) -> pd.DataFrame:
        """Stage outcomes: lead_id, stage, at."""
        return self._read("outcomes", None, None)

    def ensure_score_fields(self, fields: Sequence[ScoreField], dry_run: bool = False) -> FieldPlan:
        """Add missing score fields as columns of `leads` (none in a dry run); idempotent."""
        score_field_names(fields)
        registered = self._registered_fields()
        lead_columns = {c.lower() for c in self._table_columns("leads")}
        existing: list[ScoreField] = []
        to_create: list[ScoreField] = []
        mismatched: list[str] = []
        for field in fields:
            if not _IDENTIFIER.match(field.name):
                raise SettingsError(
                    f"score field name {field.name!r} is not valid in the local CRM: use letters, digits and "
                    "underscores, starting with a letter, at most 63 characters"
                )
            kind = registered.get(field.name.lower())
            if kind is None and field.name.lower() in lead_columns:
                raise ScoreFieldViolation(
                    [field.name], [f.name for f in fields],
                    f"{field.name!r} is a standard lead field of the local CRM; give the score field another name",
                )
            if kind is None:
                to_create.append(field)
            elif kind != field.kind:
                mismatched.append(f"score field {field.name!r} exists in {self.path} as {kind}, but the model "
                                  f"writes {field.kind}")
            else:
                existing.append(field)
        if mismatched:
            raise FatalCRMError(f"{'; '.join(mismatched)}; nothing was created (rename the fields in the model file)")
        if to_create and not dry_run:
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            with self._transaction() as cur:
                for field in to_create:
                    cur.execute(f'ALTER TABLE leads ADD COLUMN "{field.name}" {_FIELD_SQL_TYPES[field.kind]}')
                    cur.execute(
                        "INSERT INTO custom_fields VALUES (?, ?, ?, ?)",
                        (field.name, field.kind, field.label or field.name, now),
                    )
        return FieldPlan(to_create=tuple(to_create), existing=tuple(existing))

    def read_score_values(
        self, fields: Sequence[ScoreField], record_ids: Sequence[str] | pd.Series | None = None
    ) -> pd.DataFrame:
        """Current score values: record_id plus one column per field (float64 numbers, str text); load order."""
        self._require_fields([f.name for f in fields])
        selected = ", ".join(["l.lead_id", *(f'l."{f.name}"' for f in fields)])
        if record_ids is None:
            with self._transaction(immediate=False) as cur:
                rows = cur.execute(f"SELECT {selected} FROM leads l ORDER BY l.rowid").fetchall()
        else:
            ids = pd.Series(record_ids, dtype=object).astype(str).tolist()
            with self._transaction(immediate=False) as cur:
                self._fill_temp_ids(cur, ids)
                rows = cur.execute(
                    f"SELECT {selected} FROM leads l JOIN temp.wanted_ids w ON w.id = l.lead_id ORDER BY l.rowid"
                ).fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [()] * (len(fields) + 1)
        data: dict[str, pd.Series] = {"record_id": pd.Series(columns[0], dtype="str")}
        for field, values in zip(fields, columns[1:], strict=True):
            data[field.name] = pd.Series(values, dtype="float64" if field.kind == "number" else "str")
        return pd.DataFrame(data)

    def write_score_values(self, changes: CheckedChanges) -> WriteReport:
        """Write guarded changes in one transaction; unknown records and invalid values come back as failures."""
        frame = changes_frame(changes)
        if frame.empty:
            return WriteReport(records_written=0, fields_written=0, requests=0)
        kinds = self._require_fields(frame["field"].unique().tolist())
        n_records = frame["record_id"].nunique()
        if n_records > self.capabilities.max_batch_records:
            raise FatalCRMError(
                f"a write of {n_records} records exceeds the local CRM's batch of "
                f"{self.capabilities.max_batch_records}; split the changes into batches"
            )
        self.requests += 1
        failures: list[RecordFailure] = []
        accepted = 0
        written_records: set[str] = set()
        with self._transaction() as cur:
            self._fill_temp_ids(cur, frame["record_id"].unique().tolist())
            found = {r[0] for r in cur.execute(
                "SELECT lead_id FROM leads WHERE lead_id IN (SELECT id FROM temp.wanted_ids)")}
            unknown = ~frame["record_id"].isin(found)
            for record_id in frame.loc[unknown, "record_id"].unique().tolist():
                failures.append(RecordFailure(record_id, None, "NOT_FOUND", f"no lead {record_id} in {self.path}"))
            for name, group in frame.loc[~unknown].groupby("field", sort=False):
                kind = kinds[str(name)]
                values, bad = _bindable_values(group["new"], kind)
                for record_id in group.loc[bad, "record_id"].tolist():
                    failures.append(RecordFailure(record_id, str(name), "INVALID_VALUE", f"value is not a valid {kind}"))
                ok = (~bad).tolist()
                ids = [r for r, good in zip(group["record_id"].tolist(), ok, strict=True) if good]
                kept = [v for v, good in zip(values, ok, strict=True) if good]
                cur.executemany(
                    f'UPDATE leads SET "{name}" = ? WHERE lead_id = ? AND "{name}" IS NOT ?',
                    zip(kept, ids, kept, strict=True),
                )
                accepted += len(ids)
                written_records.update(ids)
        if self._write_delay > 0:
            time.sleep(self._write_delay)
        return WriteReport(
            records_written=len(written_records), fields_written=accepted, requests=1, failures=tuple(failures)
        )

    def _read(self, table: str, stamp_column: str | None, since: datetime | None) -> pd.DataFrame:
        """Canonical frame of one table in load order, optionally only rows stamped at or after `since`."""
        columns = TABLE_COLUMNS[table]
        query = f"SELECT {', '.join(columns)} FROM {table}"
        params: tuple[Any, ...] = ()
        if since is not None and stamp_column is not None:
            query += f" WHERE {stamp_column} >= ?"
            params = (stored_instant(since),)
        try:
            rows = self._conn.execute(query + " ORDER BY rowid", params).fetchall()
        except sqlite3.Error as exc:
            raise _crm_error(self.path, exc) from exc
        return canonical_frame(rows, columns)

    def _ids(self, table: str, column: str) -> pd.Series:
        """Every id already stored in `table.column`, as str."""
        rows = self._conn.execute(f"SELECT {column} FROM {table}").fetchall()
        return pd.Series([r[0] for r in rows], dtype="str")

    def _reject_known(self, table: str, column: str, ids: pd.Series) -> None:
        """Raise InputDataError when some of `ids` are already in the CRM."""
        known = ids.astype(str).isin(self._ids(table, column))
        if known.any():
            sample = ", ".join(sorted(ids.astype(str)[known].unique())[:5])
            raise InputDataError(
                table, f"{int(known.sum())} {column} values are already in {self.path} (e.g. {sample})",
                "load only new records, or load into a new CRM file",
            )

    def _registered_fields(self) -> dict[str, str]:
        """Registered custom score fields: lower-cased name -> kind."""
        return {n.lower(): k for n, k in self._conn.execute("SELECT name, kind FROM custom_fields")}

    def _require_fields(self, names: Sequence[str]) -> dict[str, str]:
        """Kinds of the named score fields; FatalCRMError naming those that do not exist yet."""
        registered = self._registered_fields()
        missing = [n for n in names if str(n).lower() not in registered]
        if missing:
            raise FatalCRMError(
                f"score field(s) {', '.join(map(str, missing))} do not exist in the local CRM {self.path}; "
                "create them with ensure_score_fields (a non-dry-run push does)"
            )
        return {str(n): registered[str(n).lower()] for n in names}

    def _table_columns(self, table: str) -> list[str]:
        """Column names of a table."""
        return [r[1] for r in self._conn.execute(f"PRAGMA table_info({table})")]

    def _fill_temp_ids(self, cur: sqlite3.Cursor, ids: list[str]) -> None:
        """Replace the rows of the connection's temporary id table with `ids`."""
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS wanted_ids (id TEXT PRIMARY KEY)")
        cur.execute("DELETE FROM temp.wanted_ids")
        cur.executemany("INSERT OR IGNORE INTO temp.wanted_ids VALUES (?)", ((i,) for i in ids))

    @contextmanager
    def _transaction(self, immediate: bool = True) -> Iterator[sqlite3.Cursor]:
        """One transaction (a write lock from its start when `immediate`); rolled back on any error."""
        try:
            with transaction(self._conn, immediate) as cur:
                yield cur
        except sqlite3.Error as exc:
            raise _crm_error(self.path, exc) from exc


def _env_number(name: str, default: float) -> float:
    """A non-negative number from the environment; SettingsError naming the variable when it is not one."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise SettingsError(f"{name}={text!r} is not a non-negative number; unset it or give e.g. 0.5")
    return value


def _bindable_values(values: pd.Series, kind: str) -> tuple[list[Any], pd.Series]:
    """Values SQLite can bind for a field kind, and a mask of those that are not valid for it."""
    raw = values.astype(object)
    present = raw.notna()
    if kind == "number":
        numbers = pd.to_numeric(raw, errors="coerce").astype("float64")
        is_bool = raw.map(lambda v: isinstance(v, (bool, np.bool_))).astype(bool)
        bad = (present & numbers.isna()) | is_bool
        return [None if np.isnan(n) else n for n in numbers.tolist()], bad
    if kind == "datetime":
        stamps = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601")
        bad = present & stamps.isna()
        whole = stamps.dt.microsecond.eq(0) & stamps.dt.nanosecond.eq(0)
        text = stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(whole, stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        return [v if isinstance(v, str) else None for v in text.astype(object).tolist()], bad
    bad = present & ~raw.map(lambda v: isinstance(v, str))
    return [v if isinstance(v, str) else None for v in raw.tolist()], bad


def _crm_error(path: Path, exc: sqlite3.Error) -> FatalCRMError | RetriableCRMError:
    """Our error for a SQLite error: a busy or locked database is retriable, anything else fatal."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return RetriableCRMError(f"local CRM {path} is busy: {text}", retry_after=1.0)
    return FatalCRMError(f"local CRM {path}: {text}")
