"""The shadow-run state store's schema: its SQLite tables and the records it reads and writes.

Tables (every one prefixed `shadow_`; days are ISO dates, moments ISO-8601 UTC text):

    shadow_models     hash PK, name, version, text (the model file itself), stored_at
    shadow_runs       run_id PK, crm, db, champion_hash/path, challenger_hash/path (-> shadow_models),
                      days, clock ('wall' | 'simulated'), start_day, shadow_fields, settings (JSON),
                      categories (JSON: band and tier names per model), watermark (last CRM read), created_at
    shadow_days       (run_id, day_index) PK; day_index 0 is the baseline before day 1; day, as_of, leads,
                      versions, backfilled, band_entries, shadow_push_id, created_at
    shadow_scores     (run_id, day_index, lead_id) PK, WITHOUT ROWID: segment, champion_/challenger_ total
                      (REAL), band and tier (INTEGER codes into categories): one row per lead and day
    shadow_band_entries  run_id, day_index, model, lead_id, band, previous_band (codes), direction
    shadow_quality    run_id, day_index, model, field, missing, share: fields the model reads, per day
    shadow_cache      (run_id, name) PK, data (parquet bytes): leads/events/outcomes read so far, so that
                      the next snapshot reads the CRM incrementally
    shadow_log        log_id PK, run_id, at, kind ('start','snapshot','error','report','approval','push'), day, message
    shadow_locks      run_id PK, pid, host, acquired_at: at most one snapshot of a run at a time
    shadow_reports    report_hash PK, run_id, last_day, verdict, html_path, json_path, created_at
    shadow_approvals  approval_id PK, run_id, approved_by, note, challenger_hash, report_hash, verdict,
                      override, approved_at
    shadow_pushes     push_id PK, run_id, approval_id, crm, journal, pushed_at (a label: pushes are ordered
                      by rowid, the order they were added)
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["SCHEMA", "SCHEMA_VERSION", "SCORE_COLUMNS", "RunRecord", "DayRecord", "DayWrite"]

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS shadow_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shadow_models (
    hash TEXT PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, text TEXT NOT NULL, stored_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shadow_runs (
    run_id TEXT PRIMARY KEY, crm TEXT NOT NULL, db TEXT,
    champion_hash TEXT NOT NULL REFERENCES shadow_models (hash), champion_path TEXT NOT NULL,
    challenger_hash TEXT NOT NULL REFERENCES shadow_models (hash), challenger_path TEXT NOT NULL,
    days INTEGER NOT NULL, clock TEXT NOT NULL CHECK (clock IN ('wall', 'simulated')), start_day TEXT NOT NULL,
    shadow_fields INTEGER NOT NULL, settings TEXT NOT NULL, categories TEXT NOT NULL, watermark TEXT,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shadow_days (
    run_id TEXT NOT NULL REFERENCES shadow_runs (run_id), day_index INTEGER NOT NULL, day TEXT NOT NULL,
    as_of TEXT NOT NULL, leads INTEGER NOT NULL, champion_version TEXT NOT NULL, challenger_version TEXT NOT NULL,
    backfilled INTEGER NOT NULL, band_entries INTEGER NOT NULL, champion_mql INTEGER NOT NULL,
    challenger_mql INTEGER NOT NULL, champion_borderline INTEGER NOT NULL, challenger_borderline INTEGER NOT NULL,
    shadow_push_id TEXT, created_at TEXT NOT NULL, PRIMARY KEY (run_id, day_index));
CREATE TABLE IF NOT EXISTS shadow_scores (
    run_id TEXT NOT NULL, day_index INTEGER NOT NULL, lead_id TEXT NOT NULL, segment TEXT,
    champion_total REAL NOT NULL, champion_band INTEGER NOT NULL, champion_tier INTEGER NOT NULL,
    challenger_total REAL NOT NULL, challenger_band INTEGER NOT NULL, challenger_tier INTEGER NOT NULL,
    PRIMARY KEY (run_id, day_index, lead_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shadow_band_entries (
    run_id TEXT NOT NULL, day_index INTEGER NOT NULL, model TEXT NOT NULL, lead_id TEXT NOT NULL,
    band INTEGER NOT NULL, previous_band INTEGER, direction TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS shadow_band_entries_by_day ON shadow_band_entries (run_id, day_index);
CREATE TABLE IF NOT EXISTS shadow_quality (
    run_id TEXT NOT NULL, day_index INTEGER NOT NULL, model TEXT NOT NULL, field TEXT NOT NULL,
    missing INTEGER NOT NULL, share REAL NOT NULL);
CREATE TABLE IF NOT EXISTS shadow_cache (
    run_id TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (run_id, name));
CREATE TABLE IF NOT EXISTS shadow_log (
    log_id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL, day TEXT,
    message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shadow_locks (
    run_id TEXT PRIMARY KEY, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shadow_reports (
    report_hash TEXT PRIMARY KEY, run_id TEXT NOT NULL, last_day TEXT NOT NULL, verdict TEXT NOT NULL,
    html_path TEXT NOT NULL, json_path TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shadow_approvals (
    approval_id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, approved_by TEXT NOT NULL, note TEXT,
    challenger_hash TEXT NOT NULL, report_hash TEXT NOT NULL REFERENCES shadow_reports (report_hash),
    verdict TEXT NOT NULL, override INTEGER NOT NULL, approved_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shadow_pushes (
    push_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, approval_id INTEGER NOT NULL, crm TEXT NOT NULL,
    journal TEXT NOT NULL, pushed_at TEXT NOT NULL);
"""

SCORE_COLUMNS: tuple[str, ...] = (
    "lead_id", "segment", "champion_total", "champion_band", "champion_tier",
    "challenger_total", "challenger_band", "challenger_tier",
)
"""Per-lead columns of shadow_scores, after run_id and day_index; bands and tiers as int codes."""


@dataclass(frozen=True)
class RunRecord:
    """One shadow run as stored."""

    run_id: str
    crm: str
    db: str | None
    champion_hash: str
    champion_path: str
    challenger_hash: str
    challenger_path: str
    days: int
    clock: str
    start_day: pd.Timestamp
    """First day of the window (tz-naive midnight, UTC calendar day)."""
    shadow_fields: bool
    settings: str
    """ShadowSettings as JSON."""
    categories: dict[str, dict[str, list[str]]]
    """model -> {"band": [...], "tier": [...]}, low to high."""
    created_at: str
    watermark: str | None = None

    @property
    def end_day(self) -> pd.Timestamp:
        """Last day of the window."""
        return self.start_day + pd.Timedelta(days=self.days - 1)


@dataclass(frozen=True)
class DayRecord:
    """One stored snapshot day (day_index 0 is the baseline)."""

    day_index: int
    day: pd.Timestamp
    as_of: pd.Timestamp
    leads: int
    champion_version: str
    challenger_version: str
    backfilled: bool
    band_entries: int
    champion_mql: int
    challenger_mql: int
    champion_borderline: int
    challenger_borderline: int
    """Leads at or above / within the borderline width of each model's (segment) MQL threshold."""
    shadow_push_id: str | None


@dataclass(frozen=True, eq=False)
class DayWrite:
    """What one day adds to the store: its record, its scores (SCORE_COLUMNS, codes), entries and quality."""

    record: DayRecord
    scores: pd.DataFrame
    entries: pd.DataFrame
    """model, lead_id, band, previous_band (codes; previous -1 for none), direction."""
    quality: pd.DataFrame
    """model, field, missing, share."""
