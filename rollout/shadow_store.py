"""The shadow-run state store: one SQLite file (schema: rollout.shadow_schema) holding runs, model files, daily
scores, approvals and pushes; its queries, the snapshot lock and the run log.

A snapshot's days, scores, band entries, quality rows, cache and watermark are written in one
transaction (`write_days`), so an interrupted snapshot leaves nothing behind.

Errors (all ScorebenchError): ShadowStoreError (missing or unusable store) > ShadowRunError (unknown run,
window, refusal) > ShadowLockedError, ApprovalError.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from connectors._sqlite import transaction
from rollout.shadow_schema import SCHEMA, SCHEMA_VERSION, SCORE_COLUMNS, DayRecord, DayWrite, RunRecord
from scoring.errors import ScorebenchError

__all__ = [
    "DEFAULT_STORE",
    "ShadowStoreError",
    "ShadowRunError",
    "ShadowLockedError",
    "ApprovalError",
    "ShadowStore",
    "utc_now_text",
]

DEFAULT_STORE = Path(".scorebench") / "shadow.sqlite"
"""Where shadow runs are kept unless --store says otherwise (relative to the cwd)."""


class ShadowStoreError(ScorebenchError):
    """The state store is missing or cannot be used."""


class ShadowRunError(ShadowStoreError, ValueError):
    """A shadow run cannot do what was asked: unknown run id, window over, missing snapshots, ..."""


class ShadowLockedError(ShadowRunError):
    """Another snapshot of the same run holds the run's lock."""


class ApprovalError(ShadowRunError):
    """An approval or a push of a run is refused: no report, stale report, NO-GO, changed model file, ..."""


def utc_now_text() -> str:
    """Now as ISO-8601 UTC text, seconds precision."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day_text(day: pd.Timestamp) -> str:
    return pd.Timestamp(day).strftime("%Y-%m-%d")


def _moment_text(moment: pd.Timestamp) -> str:
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ShadowStore:
    """The state store at `path`; `create=True` makes it (and its folder) when missing, else it must exist."""

    def __init__(self, path: str | os.PathLike[str], create: bool = False) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            if not create:
                raise ShadowStoreError(
                    f"shadow state store {self.path} does not exist; start a run with "
                    f"`scorebench shadow start --store {self.path} ...` or pass the right --store")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            self._conn.executescript(SCHEMA)
            self._conn.execute("INSERT OR IGNORE INTO shadow_meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        except sqlite3.Error as exc:
            raise ShadowStoreError(f"{self.path} cannot hold shadow runs: {exc} (give a new path or a store file)"
                                   ) from None

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> ShadowStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Cursor]:
        return transaction(self._conn)

    # ---- models and runs --------------------------------------------------------------------------

    def add_model(self, model_hash: str, name: str, version: str, text: str) -> None:
        """Keep a model file's text under its hash (idempotent)."""
        with self._transaction() as cur:
            cur.execute("INSERT OR IGNORE INTO shadow_models VALUES (?, ?, ?, ?, ?)",
                        (model_hash, name, version, text, utc_now_text()))

    def model_text(self, model_hash: str) -> str:
        """The stored text of a model file."""
        row = self._conn.execute("SELECT text FROM shadow_models WHERE hash = ?", (model_hash,)).fetchone()
        if row is None:
            raise ShadowStoreError(f"model {model_hash} is not in {self.path}")
        return str(row[0])

    def add_run(self, run: RunRecord) -> None:
        """Record a new run; its models must already be stored."""
        with self._transaction() as cur:
            if cur.execute("SELECT 1 FROM shadow_runs WHERE run_id = ?", (run.run_id,)).fetchone():
                raise ShadowRunError(f"run {run.run_id} already exists in {self.path}; choose another run id")
            cur.execute(
                "INSERT INTO shadow_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.run_id, run.crm, run.db, run.champion_hash, run.champion_path, run.challenger_hash,
                 run.challenger_path, run.days, run.clock, _day_text(run.start_day), int(run.shadow_fields),
                 run.settings, json.dumps(run.categories), run.watermark, run.created_at))
            self._log(cur, run.run_id, "start", None,
                      f"started: {run.crm}, {run.days} days from {_day_text(run.start_day)}, {run.clock} clock")

    def run_ids(self) -> list[str]:
        """Every run id, oldest first."""
        return [r[0] for r in self._conn.execute("SELECT run_id FROM shadow_runs ORDER BY created_at, rowid")]

    def run(self, run_id: str | None) -> RunRecord:
        """A run by id (None: the latest run); ShadowRunError naming the known runs when there is none."""
        ids = self.run_ids()
        if run_id is None:
            if not ids:
                raise ShadowRunError(f"no shadow runs in {self.path}; start one with `scorebench shadow start`")
            run_id = ids[-1]
        row = self._conn.execute("SELECT * FROM shadow_runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            import difflib

            close = difflib.get_close_matches(run_id, ids, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; runs: {', '.join(ids[-5:]) or 'none'}"
            raise ShadowRunError(f"unknown shadow run {run_id!r} in {self.path}{hint}")
        (rid, crm, db, ch, cp, xh, xp, days, clock, start, shadow, settings, cats, watermark, created) = row
        return RunRecord(rid, crm, db, ch, cp, xh, xp, int(days), clock, pd.Timestamp(start), bool(shadow),
                         settings, json.loads(cats), created, watermark)

    # ---- days -------------------------------------------------------------------------------------

    def days(self, run_id: str) -> list[DayRecord]:
        """Stored days of a run, baseline first."""
        rows = self._conn.execute(
            "SELECT day_index, day, as_of, leads, champion_version, challenger_version, backfilled, band_entries, "
            "champion_mql, challenger_mql, champion_borderline, challenger_borderline, shadow_push_id "
            "FROM shadow_days WHERE run_id = ? ORDER BY day_index", (run_id,)).fetchall()
        return [DayRecord(int(i), pd.Timestamp(d), pd.Timestamp(a), int(n), cv, xv, bool(b), int(e), int(cm), int(xm),
                          int(cb), int(xb), p)
                for i, d, a, n, cv, xv, b, e, cm, xm, cb, xb, p in rows]

    def write_days(self, run_id: str, days: Sequence[DayWrite], cache: dict[str, bytes], watermark: str | None,
                   message: str) -> None:
        """Store days, their scores, entries and quality, the read cache and watermark: all or nothing."""
        with self._transaction() as cur:
            known = {r[0] for r in cur.execute("SELECT day_index FROM shadow_days WHERE run_id = ?", (run_id,))}
            for item in days:
                rec = item.record
                if rec.day_index in known:
                    raise ShadowRunError(f"run {run_id} already has day {_day_text(rec.day)}; snapshots are once a day")
                cur.execute("INSERT INTO shadow_days VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (run_id, rec.day_index, _day_text(rec.day), _moment_text(rec.as_of), rec.leads,
                             rec.champion_version, rec.challenger_version, int(rec.backfilled), rec.band_entries,
                             rec.champion_mql, rec.challenger_mql, rec.champion_borderline,
                             rec.challenger_borderline, rec.shadow_push_id, utc_now_text()))
                s = item.scores
                cur.executemany(
                    "INSERT INTO shadow_scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    zip([run_id] * len(s), [rec.day_index] * len(s), s["lead_id"].astype(str).tolist(),
                        s["segment"].astype(object).where(s["segment"].notna(), None).tolist(),
                        *(s[c].tolist() for c in SCORE_COLUMNS[2:]), strict=True))
                e = item.entries
                cur.executemany(
                    "INSERT INTO shadow_band_entries VALUES (?, ?, ?, ?, ?, ?, ?)",
                    zip([run_id] * len(e), [rec.day_index] * len(e), e["model"].tolist(),
                        e["lead_id"].astype(str).tolist(), e["band"].astype(int).tolist(),
                        [None if p < 0 else int(p) for p in e["previous_band"].tolist()], e["direction"].tolist(),
                        strict=True))
                q = item.quality
                cur.executemany(
                    "INSERT INTO shadow_quality VALUES (?, ?, ?, ?, ?, ?)",
                    zip([run_id] * len(q), [rec.day_index] * len(q), q["model"].tolist(), q["field"].tolist(),
                        q["missing"].astype(int).tolist(), q["share"].astype(float).tolist(), strict=True))
            for name, data in cache.items():
                cur.execute("INSERT OR REPLACE INTO shadow_cache VALUES (?, ?, ?)", (run_id, name, data))
            cur.execute("UPDATE shadow_runs SET watermark = ? WHERE run_id = ?", (watermark, run_id))
            day = _day_text(days[-1].record.day) if days else None
            self._log(cur, run_id, "snapshot", day, message)

    def cache(self, run_id: str) -> dict[str, bytes]:
        """The run's read cache: name -> parquet bytes."""
        return {n: bytes(d) for n, d in self._conn.execute(
            "SELECT name, data FROM shadow_cache WHERE run_id = ?", (run_id,))}

    def scores(self, run_id: str, day_index: int | None = None) -> pd.DataFrame:
        """Stored score rows of a run (one day, or all): day_index then SCORE_COLUMNS (codes), by day and lead."""
        where = "run_id = ?" + ("" if day_index is None else " AND day_index = ?")
        params = (run_id,) if day_index is None else (run_id, day_index)
        rows = self._conn.execute(
            f"SELECT day_index, {', '.join(SCORE_COLUMNS)} FROM shadow_scores WHERE {where} "
            "ORDER BY day_index, lead_id", params).fetchall()
        columns = ["day_index", *SCORE_COLUMNS]
        if not rows:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        data = list(zip(*rows, strict=True))
        frame = pd.DataFrame({c: np.asarray(v, dtype=object) for c, v in zip(columns, data, strict=True)})
        for c in ("day_index", "champion_band", "champion_tier", "challenger_band", "challenger_tier"):
            frame[c] = frame[c].astype(np.int64)
        for c in ("champion_total", "challenger_total"):
            frame[c] = frame[c].astype(np.float64)
        return frame

    def quality(self, run_id: str) -> pd.DataFrame:
        """Data-quality rows of a run: day_index, model, field, missing, share."""
        return pd.read_sql_query(
            "SELECT day_index, model, field, missing, share FROM shadow_quality WHERE run_id = ? "
            "ORDER BY day_index, model, field", self._conn, params=(run_id,))

    def entry_counts(self, run_id: str) -> pd.DataFrame:
        """Band entries per day, model and direction: day_index, model, direction, entries."""
        return pd.read_sql_query(
            "SELECT day_index, model, direction, COUNT(*) AS entries FROM shadow_band_entries WHERE run_id = ? "
            "GROUP BY day_index, model, direction ORDER BY day_index, model, direction", self._conn,
            params=(run_id,))

    # ---- lock and log -------------------------------------------------------------------------------

    @contextmanager
    def locked(self, run_id: str) -> Iterator[None]:
        """Hold the run's snapshot lock; ShadowLockedError while another live process holds it.

        A lock left by a process that no longer runs on this host (killed) is taken over.
        """
        host, pid = socket.gethostname(), os.getpid()
        with self._transaction() as cur:
            row = cur.execute("SELECT pid, host, acquired_at FROM shadow_locks WHERE run_id = ?", (run_id,)).fetchone()
            if row is not None:
                other_pid, other_host, since = row
                if other_host != host or _alive(int(other_pid)):
                    raise ShadowLockedError(
                        f"run {run_id} is locked by another snapshot (pid {other_pid} on {other_host} since {since}); "
                        "wait for it to finish - two snapshots of one run never run at once")
                cur.execute("DELETE FROM shadow_locks WHERE run_id = ?", (run_id,))
            cur.execute("INSERT INTO shadow_locks VALUES (?, ?, ?, ?)", (run_id, pid, host, utc_now_text()))
        try:
            yield
        finally:
            self._conn.execute("DELETE FROM shadow_locks WHERE run_id = ? AND pid = ? AND host = ?",
                               (run_id, pid, host))

    def log(self, run_id: str, kind: str, message: str, day: pd.Timestamp | None = None) -> None:
        """Append a line to the run's log (errors are kept with the day they happened on)."""
        with self._transaction() as cur:
            self._log(cur, run_id, kind, None if day is None else _day_text(day), message)

    def _log(self, cur: sqlite3.Cursor, run_id: str, kind: str, day: str | None, message: str) -> None:
        cur.execute("INSERT INTO shadow_log (run_id, at, kind, day, message) VALUES (?, ?, ?, ?, ?)",
                    (run_id, utc_now_text(), kind, day, message))

    def log_lines(self, run_id: str) -> pd.DataFrame:
        """The run's log: at, kind, day, message, oldest first."""
        return pd.read_sql_query("SELECT at, kind, day, message FROM shadow_log WHERE run_id = ? ORDER BY log_id",
                                 self._conn, params=(run_id,))

    # ---- reports, approvals, pushes -------------------------------------------------------------

    def add_report(self, run_id: str, report_hash: str, last_day: pd.Timestamp, verdict: str, html_path: Path,
                   json_path: Path) -> None:
        """Record a written report (the same content written again keeps its first record)."""
        with self._transaction() as cur:
            cur.execute("INSERT OR IGNORE INTO shadow_reports VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (report_hash, run_id, _day_text(last_day), verdict, str(html_path), str(json_path),
                         utc_now_text()))
            self._log(cur, run_id, "report", _day_text(last_day), f"report {report_hash}: {verdict}")

    def report(self, run_id: str, report_hash: str | None = None) -> dict[str, Any] | None:
        """A report of the run by hash, or its latest; None when there is none."""
        query = "SELECT report_hash, last_day, verdict, html_path, json_path, created_at FROM shadow_reports " \
                "WHERE run_id = ?" + (" AND report_hash = ?" if report_hash else "") + " ORDER BY rowid DESC LIMIT 1"
        params = (run_id, report_hash) if report_hash else (run_id,)
        row = self._conn.execute(query, params).fetchone()
        if row is None:
            return None
        keys = ("report_hash", "last_day", "verdict", "html_path", "json_path", "created_at")
        return dict(zip(keys, row, strict=True))

    def add_approval(self, run_id: str, approved_by: str, note: str | None, challenger_hash: str, report_hash: str,
                     verdict: str, override: bool) -> int:
        """Record an approval; returns its id."""
        with self._transaction() as cur:
            cur.execute("INSERT INTO shadow_approvals (run_id, approved_by, note, challenger_hash, report_hash, "
                        "verdict, override, approved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (run_id, approved_by, note, challenger_hash, report_hash, verdict, int(override),
                         utc_now_text()))
            approval_id = int(cur.lastrowid or 0)
            self._log(cur, run_id, "approval", None,
                      f"approval {approval_id} by {approved_by}: challenger {challenger_hash} on report {report_hash}"
                      + (" (overriding NO-GO)" if override else ""))
        return approval_id

    def approval(self, run_id: str) -> dict[str, Any] | None:
        """The run's latest approval, or None."""
        row = self._conn.execute(
            "SELECT approval_id, approved_by, note, challenger_hash, report_hash, verdict, override, approved_at "
            "FROM shadow_approvals WHERE run_id = ? ORDER BY approval_id DESC LIMIT 1", (run_id,)).fetchone()
        if row is None:
            return None
        keys = ("approval_id", "approved_by", "note", "challenger_hash", "report_hash", "verdict", "override",
                "approved_at")
        out = dict(zip(keys, row, strict=True))
        out["override"] = bool(out["override"])
        return out

    def add_push(self, run_id: str, push_id: str, approval_id: int, crm: str, journal: Path) -> None:
        """Record a push of an approved run's scores."""
        with self._transaction() as cur:
            cur.execute("INSERT INTO shadow_pushes VALUES (?, ?, ?, ?, ?, ?)",
                        (push_id, run_id, approval_id, crm, str(journal), utc_now_text()))
            self._log(cur, run_id, "push", None, f"push {push_id} under approval {approval_id} (journal {journal})")

    def pushes(self, run_id: str) -> pd.DataFrame:
        """Pushes of a run in the order they were added: push_id, approval_id, crm, journal, pushed_at.

        Ordered by rowid, not pushed_at: that label has one-second resolution and follows the wall clock.
        """
        return pd.read_sql_query("SELECT push_id, approval_id, crm, journal, pushed_at FROM shadow_pushes "
                                 "WHERE run_id = ? ORDER BY rowid", self._conn, params=(run_id,))


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this host."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
