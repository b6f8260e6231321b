"""Shadow runs against a CRM: start, daily snapshots, status, report, approval and the gated push.

A run scores every lead with the champion and the challenger once per UTC day for `days` days and
stores both (rollout.shadow_store). Day k (1..days) is [start + k - 1, start + k); its snapshot scores
as of the day's end from the leads created and events seen by then, so a missed day is back-filled
exactly from activity history (lead fields are read as they are now). Day 0 is the baseline: scores as
of the window's start, the reference for band entries and new work.

Clocks: "wall" snapshots every complete day up to yesterday (cron shortly after midnight UTC);
"simulated" advances one day per snapshot whatever the time, so a CRM that already holds the whole
history (the demo's local CRM) is replayed day by day: reads are filtered by the simulated clock.

Writes: only where the run asked for them (`shadow_fields`), the challenger's latest scores go to
separate shadow fields (`shadow_fields()`: the challenger's field names prefixed `shadow_`), through
the guarded, journaled push path (journal: the store file). Live score fields, and anything that
routes or alerts, are never written by a snapshot. The comparison itself is scoring.shadow, the same
code the simulated replay (simulator.shadow_replay) uses.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.errors import CRMError
from connectors.journal import PushJournal
from connectors.protocol import CRMConnector
from connectors.registry import journal_path, open_connector, require_crm
from rollout.progress import Steps, quiet_steps
from rollout.push import PushResult, new_push_id, push_scores, resume_push
from rollout.shadow_gates import GateTable, ShadowSettings, load_settings
from rollout.shadow_schema import DayRecord, DayWrite, RunRecord
from rollout.shadow_store import ApprovalError, ShadowRunError, ShadowStore, utc_now_text
from scoring.compiled import CompiledModel, compile_model
from scoring.engine import score
from scoring.errors import SettingsError
from scoring.fields import ScoreField
from scoring.inputs import as_utc
from scoring.model_file import load_model, model_hash, parse_model
from scoring.quality import missing_fields
from scoring.shadow import MODELS, SNAPSHOT_COLUMNS, RoutingMap, snapshot
from scoring.shadow_load import tier_load

__all__ = [
    "CLOCKS",
    "SHADOW_PREFIX",
    "SnapshotResult",
    "RunStatus",
    "ReportResult",
    "StoredShadow",
    "stored_shadow",
    "ApprovalResult",
    "shadow_fields",
    "start_run",
    "snapshot_run",
    "run_status",
    "run_snapshots",
    "report_run",
    "approve_run",
    "push_run",
]

CLOCKS: tuple[str, ...] = ("wall", "simulated")
SHADOW_PREFIX = "shadow_"
"""Shadow fields are the challenger's score-field names with this prefix (same rule for every CRM)."""
SHADOW_COLUMNS: tuple[str, ...] = ("total", "band", "tier", "model_version")
"""Score columns a snapshot mirrors into shadow fields (when the challenger names a field for them); not
scored_at, which would rewrite every lead every day."""
READ_OVERLAP = pd.Timedelta(days=1)
"""Incremental reads start this long before the last read's newest record, for late-arriving activity."""
_DAY = pd.Timedelta(days=1)

Clock = Callable[[], pd.Timestamp]


def _wall_now() -> pd.Timestamp:
    return pd.Timestamp(datetime.now(UTC))


def _file_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read the {what} model file {path}: {exc.strerror}") from None


def shadow_fields(model: CompiledModel, crm: str) -> tuple[ScoreField, ...]:
    """The challenger's shadow fields in `crm`: its total, band, tier, version and scored-at fields, renamed.

    Raises:
        SettingsError: the model names no score fields for `crm`.
    """
    live = model.score_fields(crm)
    picked = tuple(ScoreField(f.column, SHADOW_PREFIX + f.name, f.kind, f"shadow {f.label or f.name}")
                   for f in live if f.column in SHADOW_COLUMNS)
    if not picked:
        raise SettingsError(f"model {model.name} names no [fields.{crm}] total/band/tier fields, so it has no "
                            f"shadow fields in {crm}; add them to the model file or start without --shadow-fields")
    return picked


# ---- start -------------------------------------------------------------------------------------------

def _new_run_id(now: pd.Timestamp) -> str:
    return f"s{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


def start_run(store_path: Path, crm: str, champion: Path, challenger: Path, days: int = 14, db: Path | None = None,
              clock: str = "wall", start: str | None = None, write_shadow_fields: bool = False,
              settings: Path | None = None, run_id: str | None = None, now: Clock | None = None) -> RunRecord:
    """Create a shadow run: both model files stored by hash, the window, the clock and the gate settings.

    Args:
        store_path: the state store (created when missing).
        crm: local, salesforce or hubspot.
        champion, challenger: model files (TOML); the champion routes, the challenger only scores.
        days: window length in days (DOMAIN: 14).
        db: the local CRM file (crm "local" only).
        clock: "wall" (one snapshot per complete UTC day) or "simulated" (a day per snapshot).
        start: first day of the window (UTC date); default today for "wall", and for "simulated" the
            `days` days that end with the CRM's latest activity.
        write_shadow_fields: also write the challenger's scores to shadow fields at each snapshot.
        settings: gates / capacity / routing TOML (rollout.shadow_gates); default the DOMAIN gates.
        run_id: id to use; default s<UTC time>-<4 hex>.
        now: the wall clock (injectable for tests).

    Returns:
        The stored RunRecord.
    """
    require_crm(crm)
    if clock not in CLOCKS:
        raise SettingsError(f"--clock {clock!r}: choose one of {', '.join(CLOCKS)}")
    if days < 1:
        raise SettingsError(f"--days must be at least 1, got {days}")
    if crm == "local" and (db is None or not Path(db).is_file()):
        raise SettingsError(f"local CRM {db} does not exist; run `scorebench demo` or pass --db PATH")
    texts = {"champion": _file_text(champion, "champion"), "challenger": _file_text(challenger, "challenger")}
    specs = {m: parse_model(t, str(p)) for (m, t), p in zip(texts.items(), (champion, challenger), strict=True)}
    compiled = {m: compile_model(s) for m, s in specs.items()}
    if write_shadow_fields:
        shadow_fields(compiled["challenger"], crm)
    chosen = load_settings(settings)
    clock_now = (now or _wall_now)()
    if start is not None:
        try:
            first = as_utc(start).tz_convert(None).normalize()
        except ValueError as exc:
            raise SettingsError(f"--start {start!r} is not a date ({exc}); use e.g. 2026-10-18") from None
    elif clock == "wall":
        first = clock_now.tz_convert(None).normalize() if clock_now.tzinfo else clock_now.normalize()
    else:
        first = _latest_activity_day(crm, Path(db) if db else Path("unused")) - (days - 1) * _DAY
    categories = {m: {"band": list(c.band_names), "tier": list(c.tier_names)} for m, c in compiled.items()}
    run = RunRecord(
        run_id=run_id or _new_run_id(clock_now), crm=crm, db=str(Path(db).resolve()) if db else None,
        champion_hash=model_hash(texts["champion"]), champion_path=str(champion.resolve()),
        challenger_hash=model_hash(texts["challenger"]), challenger_path=str(challenger.resolve()),
        days=days, clock=clock, start_day=first, shadow_fields=write_shadow_fields,
        settings=chosen.model_dump_json(), categories=categories, created_at=utc_now_text())
    with ShadowStore(store_path, create=True) as store:
        for m in MODELS:
            store.add_model(getattr(run, f"{m}_hash"), compiled[m].name, compiled[m].version, texts[m])
        store.add_run(run)
    return run


def _latest_activity_day(crm: str, db: Path) -> pd.Timestamp:
    """The UTC day holding the CRM's newest lead or event (the simulated clock's last day by default)."""
    connector = open_connector(crm, db)
    try:
        leads, events = connector.read_leads(), connector.read_events()
    finally:
        connector.close()
    stamps = [s.max() for s in (leads["created_at"], events["at"]) if len(s)]
    if not stamps:
        raise SettingsError(f"the {crm} CRM holds no leads or events; give --start for a simulated clock")
    latest = max(stamps)
    return (latest - pd.Timedelta(1, "ns")).tz_convert(None).normalize()


# ---- snapshot ----------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SnapshotResult:
    """What one `shadow snapshot` did: the days stored (none when up to date), shadow writes, a message."""

    run_id: str
    days: tuple[DayRecord, ...]
    message: str
    shadow_push: PushResult | None = None
    complete: bool = False
    """Every day of the window is recorded."""


def _models(store: ShadowStore, run: RunRecord) -> dict[str, CompiledModel]:
    return {m: compile_model(parse_model(store.model_text(getattr(run, f"{m}_hash")), f"{m} {run.run_id}"))
            for m in MODELS}


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _unparquet(data: bytes | None) -> pd.DataFrame | None:
    return None if data is None else pd.read_parquet(io.BytesIO(data))


def _object_ids(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("lead_id", "account_id", "type", "stage"):
        if column in frame.columns:
            frame[column] = frame[column].astype(object)
    return frame


def _read_crm(connector: CRMConnector, cache: dict[str, bytes], watermark: str | None
              ) -> tuple[dict[str, pd.DataFrame], dict[str, bytes], str | None]:
    """Leads, events and outcomes: the cache plus what changed since the watermark (less READ_OVERLAP)."""
    since = None if watermark is None else pd.Timestamp(watermark) - READ_OVERLAP
    since_dt = None if since is None else since.to_pydatetime()
    fresh_leads = _object_ids(connector.read_leads(since_dt))
    fresh_events = _object_ids(connector.read_events(since_dt))
    outcomes = _object_ids(connector.read_outcomes())
    old_leads, old_events = _unparquet(cache.get("leads")), _unparquet(cache.get("events"))
    blobs = {"outcomes": _parquet(outcomes)}
    if since is None or old_leads is None or old_events is None:
        leads, events = fresh_leads, fresh_events
        blobs.update(leads=_parquet(leads), events=_parquet(events))
    else:
        leads = _object_ids(old_leads)
        if len(fresh_leads):
            leads = pd.concat([leads, fresh_leads], ignore_index=True).drop_duplicates(
                "lead_id", keep="last", ignore_index=True)
            blobs["leads"] = _parquet(leads)
        old_events = _object_ids(old_events)
        before = (old_events["at"] < since).to_numpy()
        kept = old_events.loc[before]
        if not _same_rows(old_events.loc[~before], fresh_events):
            events = pd.concat([kept, fresh_events], ignore_index=True)
            blobs["events"] = _parquet(events)
        else:
            events = old_events
    stamps = [s.max() for s in (leads["created_at"], events["at"]) if len(s) and s.notna().any()]
    new_watermark = max(stamps).isoformat() if stamps else watermark
    return {"leads": leads, "events": events, "outcomes": outcomes}, blobs, new_watermark


def _same_rows(old: pd.DataFrame, fresh: pd.DataFrame) -> bool:
    """Whether the re-read tail of the events equals the cached one (then the cache need not be rewritten)."""
    if len(old) != len(fresh):
        return False
    a, b = old.reset_index(drop=True), fresh.reset_index(drop=True)
    return bool((a["lead_id"].astype(str).to_numpy() == b["lead_id"].astype(str).to_numpy()).all()
                and (_utc_ns(a["at"]) == _utc_ns(b["at"])).all()
                and (a["type"].astype(str).to_numpy() == b["type"].astype(str).to_numpy()).all())


def _codes(values: pd.Series, names: Sequence[str]) -> np.ndarray:
    return pd.Categorical(values.astype(object), categories=list(names)).codes.astype(np.int64)


def _entries(previous: pd.DataFrame | None, current: pd.DataFrame) -> pd.DataFrame:
    """Band entries per model between two stored days (codes): new leads and changed bands."""
    frames = []
    for model in MODELS:
        now = current[f"{model}_band"].to_numpy()
        if previous is None:
            before = np.full(len(current), -1, dtype=np.int64)
        else:
            where = pd.Index(previous["lead_id"]).get_indexer(current["lead_id"])
            before = np.where(where >= 0, previous[f"{model}_band"].to_numpy()[np.maximum(where, 0)], -1)
        moved = before != now
        direction = np.where(before[moved] < 0, "new", np.where(now[moved] > before[moved], "up", "down"))
        frames.append(pd.DataFrame({"model": model, "lead_id": current["lead_id"].to_numpy()[moved],
                                    "band": now[moved], "previous_band": before[moved], "direction": direction}))
    return pd.concat(frames, ignore_index=True)


def _utc_ns(values: pd.Series) -> np.ndarray:
    """UTC moments as int64 nanoseconds (vectorised; no per-row Timestamps)."""
    return pd.to_datetime(values, utc=True).dt.tz_convert(None).to_numpy("datetime64[ns]").view(np.int64)


@dataclass(frozen=True, eq=False)
class _Timeline:
    """Leads sorted by creation and events by time, so the CRM as of any moment is two slices and a mask."""

    leads: pd.DataFrame
    created: np.ndarray
    events: pd.DataFrame
    event_at: np.ndarray
    event_lead_created: np.ndarray


def _timeline(frames: dict[str, pd.DataFrame]) -> _Timeline:
    leads = frames["leads"].sort_values("created_at", kind="stable").reset_index(drop=True)
    events = frames["events"].sort_values("at", kind="stable").reset_index(drop=True)
    created = _utc_ns(leads["created_at"])
    position = pd.Index(leads["lead_id"]).get_indexer(events["lead_id"])
    lead_created = np.where(position >= 0, created[np.maximum(position, 0)], np.iinfo(np.int64).max)
    return _Timeline(leads, created, events, _utc_ns(events["at"]), lead_created)


def _known_at(line: _Timeline, as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leads created by `as_of` and the events of those leads seen by then (the CRM as it was at as_of)."""
    moment = as_of.value
    known = line.leads.iloc[: int(np.searchsorted(line.created, moment, side="right"))]
    upto = int(np.searchsorted(line.event_at, moment, side="right"))
    seen = line.events.iloc[:upto][line.event_lead_created[:upto] <= moment]
    return known, seen


def _score_day(line: _Timeline, models: dict[str, CompiledModel], as_of: pd.Timestamp
               ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Leads known at `as_of` and both models' scores of them from the events seen by then."""
    known, seen = _known_at(line, as_of)
    return known, {m: score(known, seen, c, as_of) for m, c in models.items()}


def _day_write(run: RunRecord, index: int, known: pd.DataFrame, scores: dict[str, pd.DataFrame],
               models: dict[str, CompiledModel], previous: pd.DataFrame | None, backfilled: bool,
               shadow_push_id: str | None) -> DayWrite:
    as_of = run.start_day.tz_localize("UTC") + index * _DAY
    frame = snapshot(known, scores["champion"], scores["challenger"], as_of - _DAY)
    stored = pd.DataFrame({"lead_id": frame["lead_id"].astype(str).to_numpy(), "segment": frame["segment"]})
    for m in MODELS:
        stored[f"{m}_total"] = frame[f"{m}_total"].to_numpy()
        stored[f"{m}_band"] = _codes(frame[f"{m}_band"], run.categories[m]["band"])
        stored[f"{m}_tier"] = _codes(frame[f"{m}_tier"], run.categories[m]["tier"])
    stored = stored.sort_values("lead_id", kind="stable").reset_index(drop=True)
    entries = _entries(previous, stored)
    quality = pd.concat([missing_fields(known, models[m]).assign(model=m) for m in MODELS], ignore_index=True)
    counts = {f"{m}_{c}": int(scores[m][c].sum()) for m in MODELS for c in ("mql", "borderline")}
    record = DayRecord(index, (as_of - _DAY).tz_convert(None), as_of, len(stored), models["champion"].version,
                       models["challenger"].version, backfilled, len(entries), counts["champion_mql"],
                       counts["challenger_mql"], counts["champion_borderline"], counts["challenger_borderline"],
                       shadow_push_id)
    return DayWrite(record, stored, entries, quality.loc[:, ["model", "field", "missing", "share"]])


def _pending_indexes(run: RunRecord, recorded: int, now: pd.Timestamp, backfill: bool) -> list[int]:
    """Day indexes this snapshot should store (0 = baseline with day 1), or [] when up to date."""
    if recorded > run.days:
        raise ShadowRunError(
            f"run {run.run_id}'s {run.days}-day window ended on {run.end_day.date()}: every day is recorded; "
            f"write the report (`scorebench shadow report {run.run_id}`) or start a new run")
    if run.clock == "simulated":
        target = max(recorded, 1)
    else:
        today = (now.tz_convert("UTC") if now.tzinfo else now.tz_localize("UTC")).tz_convert(None).normalize()
        target = min(int((today - run.start_day) / _DAY), run.days)
    first = recorded
    indexes = list(range(first, target + 1)) if target >= 1 else []
    missed = [i for i in indexes if i >= 1][:-1]
    if missed and not backfill and recorded > 0:
        days = ", ".join(str((run.start_day + (i - 1) * _DAY).date()) for i in missed)
        raise ShadowRunError(f"run {run.run_id} missed day(s) {days}; snapshot with --backfill to fill them "
                             "from activity history")
    return indexes


def snapshot_run(store_path: Path, run_id: str | None = None, backfill: bool = True, now: Clock | None = None,
                 progress: Steps | None = None) -> SnapshotResult:
    """Take the run's snapshot for the day(s) due: read the CRM incrementally, score, store all or nothing.

    Idempotent per day (a second snapshot on the same day stores nothing); refused while another
    snapshot of the run holds its lock; a CRM error leaves the store as it was and is logged with the run.

    Raises:
        ShadowRunError: unknown run, the window is over, missed days without backfill.
        ShadowLockedError: another snapshot of the run is running.
        CRMError: the CRM failed (logged in the run's log first).
    """
    steps = progress or quiet_steps()
    with ShadowStore(store_path) as store:
        run = store.run(run_id)
        with store.locked(run.run_id):
            recorded = store.days(run.run_id)
            indexes = _pending_indexes(run, len(recorded), (now or _wall_now)(), backfill)
            if not indexes:
                last = recorded[-1].day.date() if recorded else "none yet"
                return SnapshotResult(run.run_id, (), f"up to date: last day recorded {last}; the next day "
                                      "is not complete yet", complete=len(recorded) > run.days)
            try:
                return _take_snapshot(store, run, recorded, indexes, steps)
            except CRMError as exc:
                day = run.start_day + (max(indexes[-1], 1) - 1) * _DAY
                store.log(run.run_id, "error", f"snapshot failed, nothing stored: {type(exc).__name__}: {exc}", day)
                raise


def _take_snapshot(store: ShadowStore, run: RunRecord, recorded: list[DayRecord], indexes: list[int],
                   steps: Steps) -> SnapshotResult:
    models = _models(store, run)
    connector = open_connector(run.crm, Path(run.db or "unused"))
    try:
        steps.step(f"reading {run.crm}" + (" (changes since the last snapshot)" if run.watermark else ""))
        frames, blobs, watermark = _read_crm(connector, store.cache(run.run_id), run.watermark)
        line = _timeline(frames)
        previous = store.scores(run.run_id, recorded[-1].day_index) if recorded else None
        writes: list[DayWrite] = []
        shadow: PushResult | None = None
        for position, index in enumerate(indexes):
            as_of = run.start_day.tz_localize("UTC") + index * _DAY
            steps.step(f"scoring {as_of - _DAY:%Y-%m-%d} with both models")
            known, scores = _score_day(line, models, as_of)
            last = position == len(indexes) - 1
            if last and run.shadow_fields and index >= 1:
                shadow = _write_shadow_fields(store, connector, run, models["challenger"], scores["challenger"],
                                              steps)
            backfilled = run.clock == "wall" and index >= 1 and not last
            item = _day_write(run, index, known, scores, models, previous, backfilled,
                              shadow.push_id if shadow is not None and last else None)
            writes.append(item)
            previous = item.scores
    finally:
        connector.close()
    days = tuple(w.record for w in writes)
    shown = [str(d.day.date()) for d in days if d.day_index >= 1]
    message = f"stored day(s) {', '.join(shown)}" + (" with the baseline" if days[0].day_index == 0 else "") \
        + (f" ({sum(d.backfilled for d in days)} back-filled)" if any(d.backfilled for d in days) else "") \
        + (f"; shadow fields: push {shadow.push_id}, {shadow.applied} values" if shadow is not None else "")
    steps.step("storing the snapshot")
    store.write_days(run.run_id, writes, blobs, watermark, message)
    return SnapshotResult(run.run_id, days, message, shadow, complete=days[-1].day_index >= run.days)


def _write_shadow_fields(store: ShadowStore, connector: CRMConnector, run: RunRecord, challenger: CompiledModel,
                         scores: pd.DataFrame, steps: Steps) -> PushResult:
    """Write the challenger's scores to its shadow fields, journaled in the store (pending ones resumed first)."""
    fields = shadow_fields(challenger, run.crm)
    live = {f.name for m in (challenger,) for f in m.score_fields(run.crm)}
    clash = sorted(live & {f.name for f in fields})
    if clash:
        raise SettingsError(f"shadow fields {clash} are also live score fields; rename the model's fields")
    with PushJournal(store.path) as journal:
        for push_id in journal.pending_push_ids(connector.capabilities.name):
            resume_push(connector, journal, push_id)
        return push_scores(connector, journal, scores, fields, challenger.version,
                           progress=steps.counter("writing shadow fields"))


# ---- reading the run back ------------------------------------------------------------------------

def run_snapshots(store: ShadowStore, run: RunRecord) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The run's snapshots (days >= 1) and its baseline (day 0) as scoring.shadow.SNAPSHOT_COLUMNS frames."""
    days = {d.day_index: d for d in store.days(run.run_id)}
    codes = store.scores(run.run_id)
    if codes.empty:
        raise ShadowRunError(f"run {run.run_id} has no snapshots yet; run `scorebench shadow snapshot {run.run_id}`")
    index = codes["day_index"].to_numpy()
    day_of = {i: d.day.to_datetime64() for i, d in days.items()}
    as_of_of = {i: d.as_of for i, d in days.items()}
    frame: dict[str, object] = {
        "day": pd.Series(index).map(day_of).astype("datetime64[ns]").to_numpy(),
        "as_of": pd.DatetimeIndex(pd.Series(index).map(as_of_of)).tz_convert("UTC").as_unit("ns"),
        "lead_id": codes["lead_id"].to_numpy(dtype=object),
        "segment": codes["segment"].to_numpy(dtype=object),
    }
    for m in MODELS:
        frame[f"{m}_total"] = codes[f"{m}_total"].to_numpy(np.float64)
        for c in ("band", "tier"):
            frame[f"{m}_{c}"] = pd.Categorical.from_codes(codes[f"{m}_{c}"].to_numpy(),
                                                          categories=run.categories[m][c], ordered=True)
    frame["champion_version"] = pd.Series(index).map({i: d.champion_version for i, d in days.items()}).to_numpy(object)
    frame["challenger_version"] = pd.Series(index).map(
        {i: d.challenger_version for i, d in days.items()}).to_numpy(object)
    whole = pd.DataFrame(frame, columns=list(SNAPSHOT_COLUMNS))
    baseline = whole.loc[index == 0].reset_index(drop=True) if 0 in days else None
    return whole.loc[index >= 1].reset_index(drop=True), baseline


@dataclass(frozen=True, eq=False)
class RunStatus:
    """One run as `shadow status` shows it."""

    run: RunRecord
    days_recorded: int
    last_day: pd.Timestamp | None
    complete: bool
    last_error: str | None
    report: dict[str, object] | None
    approval: dict[str, object] | None
    pushes: pd.DataFrame


def run_status(store_path: Path, run_id: str | None = None) -> list[RunStatus]:
    """Every run in the store (or the one named), with progress, last error, report and approval."""
    with ShadowStore(store_path) as store:
        ids = [store.run(run_id).run_id] if run_id else store.run_ids()
        out = []
        for rid in ids:
            run = store.run(rid)
            days = [d for d in store.days(rid) if d.day_index >= 1]
            log = store.log_lines(rid)
            errors = log[log["kind"] == "error"]
            last_ok = log[log["kind"] == "snapshot"].index.max() if (log["kind"] == "snapshot").any() else -1
            error = None if errors.empty or errors.index.max() < last_ok else str(errors.iloc[-1]["message"])
            out.append(RunStatus(run, len(days), days[-1].day if days else None, len(days) >= run.days, error,
                                 store.report(rid), store.approval(rid), store.pushes(rid)))
        return out


# ---- report, approval, push ------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ReportResult:
    """The written report: paths, its hash, the gate table and whether the window is complete."""

    run_id: str
    html: Path
    json: Path
    report_hash: str
    gates: GateTable
    complete: bool
    days_recorded: int


@dataclass(frozen=True, eq=False)
class StoredShadow:
    """A stored shadow run's frames for exploring it (the 02_shadow_report notebook): the same fields the
    simulated replay has, read from the state store."""

    run_id: str
    snapshots: pd.DataFrame
    baseline: pd.DataFrame
    outcomes: pd.DataFrame
    routing: RoutingMap
    load: pd.DataFrame


def stored_shadow(store_path: Path, run_id: str | None = None) -> StoredShadow:
    """Snapshots, outcomes seen so far, routing map and load per day of a stored run (default: the latest)."""
    with ShadowStore(store_path) as store:
        run = store.run(run_id)
        snapshots, baseline = run_snapshots(store, run)
        outcomes = _unparquet(store.cache(run.run_id).get("outcomes"))
        settings = ShadowSettings.model_validate_json(run.settings)
    routing = settings.routing()
    load = tier_load(snapshots, settings.capacity_per_day(), routing, baseline=baseline)
    return StoredShadow(run.run_id, snapshots, baseline, outcomes, routing, load)


def report_run(store_path: Path, run_id: str | None, out: Path, progress: Steps | None = None) -> ReportResult:
    """Compare the run's models on what is stored so far and write out/report.html and out/report.json."""
    from rollout._shadow_report import shadow_report

    steps = progress or quiet_steps()
    with ShadowStore(store_path) as store:
        run = store.run(run_id)
        steps.step("comparing champion and challenger")
        models = _models(store, run)
        snapshots, baseline = run_snapshots(store, run)
        days = [d for d in store.days(run.run_id) if d.day_index >= 1]
        outcomes = _unparquet(store.cache(run.run_id).get("outcomes"))
        built = shadow_report(run, models, snapshots, baseline, days, outcomes, store.quality(run.run_id),
                              store.entry_counts(run.run_id), ShadowSettings.model_validate_json(run.settings))
        steps.step("writing report.html and report.json")
        out.mkdir(parents=True, exist_ok=True)
        html_path, json_path = out / "report.html", out / "report.json"
        html_path.write_text(built.html, encoding="utf-8")
        json_path.write_text(built.json, encoding="utf-8")
        store.add_report(run.run_id, built.report_hash, days[-1].day, built.gates.verdict, html_path.resolve(),
                         json_path.resolve())
        return ReportResult(run.run_id, html_path, json_path, built.report_hash, built.gates,
                            len(days) >= run.days, len(days))


@dataclass(frozen=True)
class ApprovalResult:
    """A recorded approval."""

    approval_id: int
    run_id: str
    approved_by: str
    challenger_hash: str
    report_hash: str
    verdict: str
    override: bool


def _current_hash(path: str, what: str) -> str:
    try:
        return model_hash(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ApprovalError(f"the {what} model file {path} cannot be read ({exc.strerror}); restore it") from None


def approve_run(store_path: Path, run_id: str, by: str, note: str | None = None, override: bool = False
                ) -> ApprovalResult:
    """Record who approved the run's challenger (by hash) on its latest report (by hash).

    Refused when: the window is not complete; there is no report or it predates the last snapshot;
    the challenger file changed since the run started; the verdict is NO-GO and `override` is not set
    (an override needs a note).
    """
    if not by.strip():
        raise ApprovalError("--by must name the approver")
    with ShadowStore(store_path) as store:
        run = store.run(run_id)
        days = [d for d in store.days(run.run_id) if d.day_index >= 1]
        if len(days) < run.days:
            raise ApprovalError(f"run {run.run_id} has {len(days)} of {run.days} days; approve after the window "
                                f"ends on {run.end_day.date()}")
        report = store.report(run.run_id)
        if report is None or str(report["last_day"]) != str(days[-1].day.date()):
            raise ApprovalError(f"run {run.run_id} has no report of its last day {days[-1].day.date()}; write it "
                                f"with `scorebench shadow report {run.run_id}` and review it first")
        current = _current_hash(run.challenger_path, "challenger")
        if current != run.challenger_hash:
            raise ApprovalError(f"challenger model file {run.challenger_path} changed since the run started "
                                f"(run hash {run.challenger_hash}, file now {current}); restore it or start a new run")
        if report["verdict"] != "GO" and not override:
            raise ApprovalError(f"report {report['report_hash']} of run {run.run_id} says {report['verdict']}; "
                                "fix the failing gates, or approve with --override and a --note saying why")
        if override and not (note or "").strip():
            raise ApprovalError("an --override approval needs a --note saying why")
        approval_id = store.add_approval(run.run_id, by.strip(), note, run.challenger_hash, str(report["report_hash"]),
                                         str(report["verdict"]), override)
        return ApprovalResult(approval_id, run.run_id, by.strip(), run.challenger_hash, str(report["report_hash"]),
                              str(report["verdict"]), override)


def push_run(store_path: Path, run_id: str, journal: Path | None = None, dry_run: bool = False,
             progress: Steps | None = None, as_of: str | pd.Timestamp | None = None) -> PushResult:
    """Push the approved challenger's scores of a run through the journaled push path (undo with its push id).

    Scores are as of `as_of` when given, else now for a wall-clock run and the window's end for a simulated
    one. Refused unless the run is approved and the challenger file still has the approved hash.
    """
    steps = progress or quiet_steps()
    with ShadowStore(store_path) as store:
        run = store.run(run_id)
        approval = store.approval(run.run_id)
        if approval is None:
            raise ApprovalError(f"run {run.run_id} is not approved; review its report and run "
                                f"`scorebench approve {run.run_id} --by NAME`")
        current = _current_hash(run.challenger_path, "challenger")
        if current != approval["challenger_hash"]:
            raise ApprovalError(
                f"challenger model file {run.challenger_path} changed since approval {approval['approval_id']} "
                f"(approved {approval['challenger_hash']}, file now {current}); nothing pushed - restore the approved "
                "file, or run a new shadow run for the changed model")
        challenger = compile_model(load_model(run.challenger_path))
        fields = challenger.score_fields(run.crm)
        if not fields:
            raise SettingsError(f"{run.challenger_path} names no [fields.{run.crm}] score fields to push")
        days = store.days(run.run_id)
        moment = as_utc(as_of) if as_of is not None else (days[-1].as_of if run.clock == "simulated" else _wall_now())
        db = Path(run.db or "unused")
        book_path = journal_path(run.crm, db, journal)
        connector = open_connector(run.crm, db)
        try:
            with PushJournal(book_path) as book:
                unfinished = [p for p in store.pushes(run.run_id)["push_id"]
                              if p in set(book.pending_push_ids(connector.capabilities.name))]
                if unfinished and not dry_run:
                    return resume_push(connector, book, unfinished[-1],
                                       progress=steps.counter(f"resuming {unfinished[-1]}"))
                steps.step(f"reading leads and events from {run.crm}")
                frames, _, _ = _read_crm(connector, {}, None)
                known, seen = _known_at(_timeline(frames), moment)
                steps.step(f"scoring {len(known):,} leads with the approved challenger")
                scores = score(known, seen, challenger, moment)
                push_id = None
                if not dry_run:
                    push_id = new_push_id()
                    store.add_push(run.run_id, push_id, int(approval["approval_id"]), run.crm, book_path.resolve())
                result = push_scores(connector, book, scores, fields, challenger.version, push_id=push_id,
                                     dry_run=dry_run, progress=steps.counter("writing score fields"))
        finally:
            connector.close()
        return result
