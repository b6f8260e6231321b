"""Daily snapshots of a shadow run: read the CRM incrementally, score the day(s) due with both models, store them
all or nothing, and (where the run asked) write the challenger's shadow fields.

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
routes or alerts, are never written by a snapshot. The comparison itself is scoring.shadow and its
shadow_agreement, shadow_load and shadow_outcomes, the same code the simulated replay (simulator.shadow_replay) uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.errors import CRMError
from connectors.journal import PushJournal
from connectors.protocol import CRMConnector
from connectors.registry import open_connector
from rollout._shadow_reads import Timeline, known_at, read_crm, timeline
from rollout.progress import Steps, quiet_steps
from rollout.push import PushResult, push_scores, resume_push
from rollout.shadow_schema import DayRecord, DayWrite, RunRecord
from rollout.shadow_start import Clock, run_models, shadow_fields, wall_now
from rollout.shadow_store import ShadowRunError, ShadowStore
from scoring.compiled import CompiledModel
from scoring.engine import score
from scoring.errors import SettingsError
from scoring.quality import missing_fields
from scoring.shadow import MODELS, snapshot

__all__ = ["SnapshotResult", "snapshot_run"]

_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True, eq=False)
class SnapshotResult:
    """What one `shadow snapshot` did: the days stored (none when up to date), shadow writes, a message."""

    run_id: str
    days: tuple[DayRecord, ...]
    message: str
    shadow_push: PushResult | None = None
    complete: bool = False
    """Every day of the window is recorded."""


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


def _score_day(line: Timeline, models: dict[str, CompiledModel], as_of: pd.Timestamp
               ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Leads known at `as_of` and both models' scores of them from the events seen by then."""
    known, seen = known_at(line, as_of)
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
            indexes = _pending_indexes(run, len(recorded), (now or wall_now)(), backfill)
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
    models = run_models(store, run)
    connector = open_connector(run.crm, Path(run.db or "unused"))
    try:
        steps.step(f"reading {run.crm}" + (" (changes since the last snapshot)" if run.watermark else ""))
        frames, blobs, watermark = read_crm(connector, store.cache(run.run_id), run.watermark)
        line = timeline(frames)
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
