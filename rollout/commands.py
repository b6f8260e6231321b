"""What the file- and CRM-facing CLI commands do: read inputs, call the pure core, write outputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.journal import PushJournal
from connectors.protocol import CRMConnector, FieldPlan
from connectors.registry import journal_path, open_connector, require_crm
from rollout.data_files import read_frame, read_funnel_meta, write_funnel_files
from rollout.evaluate import evaluate_models
from rollout.progress import Steps, quiet_steps
from rollout.push import PushResult, push_scores, resume_push, undo_push
from rollout.report import write_report
from scoring.compiled import compile_model
from scoring.engine import score
from scoring.errors import SettingsError
from scoring.inputs import as_utc
from scoring.model_file import load_model
from scoring.quality import missing_fields

__all__ = ["ScoredFiles", "EvaluatedFiles", "resolve_as_of", "score_files", "evaluate_files", "push_to_crm",
           "resume_in_crm", "undo_in_crm", "ensure_fields", "pull_from_crm"]


def resolve_as_of(explicit: str | None, data_dir: Path | None = None) -> pd.Timestamp:
    """The scoring moment: --as-of when given, else the funnel's recorded as-of, else now (UTC)."""
    if explicit:
        try:
            return as_utc(explicit)
        except ValueError as exc:
            raise SettingsError(f"--as-of {explicit!r} is not a timestamp ({exc}); use e.g. 2026-11-01T00:00Z") from None
    recorded = read_funnel_meta(data_dir).get("as_of") if data_dir else None
    return as_utc(recorded) if recorded else as_utc(pd.Timestamp(datetime.now(UTC)))


@dataclass(frozen=True)
class ScoredFiles:
    """The scores written by `scorebench score` and the data-quality table of the fields read."""

    scores: pd.DataFrame
    quality: pd.DataFrame
    model_name: str
    model_version: str
    as_of: pd.Timestamp


def score_files(model_path: Path, data_dir: Path, out: Path, as_of: str | None) -> ScoredFiles:
    """Score DIR/leads.csv with DIR/events.csv and write the scores frame to `out` (CSV)."""
    spec = load_model(model_path)
    leads, events = read_frame(data_dir / "leads.csv", "leads"), read_frame(data_dir / "events.csv", "events")
    moment = resolve_as_of(as_of, data_dir)
    compiled = compile_model(spec)
    scores = score(leads, events, compiled, moment)
    out.parent.mkdir(parents=True, exist_ok=True)
    scores.to_csv(out, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    return ScoredFiles(scores, missing_fields(leads, compiled), spec.model.name, spec.version, moment)


@dataclass(frozen=True)
class EvaluatedFiles:
    """Paths and numbers of an evaluation run."""

    summaries: dict[str, dict[str, Any]]
    report: Path
    summary: Path


def _model_names(paths: list[Path]) -> dict[str, Path]:
    names: dict[str, Path] = {}
    for path in paths:
        name = load_model(path).model.name
        names[name if name not in names else path.stem] = path
    return names


def evaluate_files(data_dir: Path, model_paths: list[Path], out: Path, as_of: str | None,
                   progress: Steps | None = None) -> EvaluatedFiles:
    """Score the funnel in data_dir with each model, evaluate against outcomes, write the report and scores."""
    steps = progress or quiet_steps()
    if not model_paths:
        raise SettingsError("give at least one --model FILE")
    steps.step("reading model files and data")
    models = {name: load_model(path) for name, path in _model_names(model_paths).items()}
    leads = read_frame(data_dir / "leads.csv", "leads")
    events = read_frame(data_dir / "events.csv", "events")
    outcomes = read_frame(data_dir / "outcomes.csv", "outcomes")
    moment = resolve_as_of(as_of, data_dir)
    steps.step(f"scoring {len(leads):,} leads with {len(models)} model(s) and evaluating")
    evaluation = evaluate_models(leads, events, outcomes, models, moment)
    steps.step("writing the report")
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in evaluation.scores.items():
        frame.to_csv(out / f"scores_{name}.csv", index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    report, summary = write_report(out, evaluation.summaries, evaluation.comparison,
                                   {"as_of": moment.isoformat(), "data": str(data_dir)})
    return EvaluatedFiles(evaluation.summaries, report, summary)


@contextmanager
def _connected(crm: str, db: Path) -> Iterator[CRMConnector]:
    connector = open_connector(crm, db)
    try:
        yield connector
    finally:
        connector.close()


def push_to_crm(model_path: Path, crm: str, db: Path, journal: Path | None, as_of: str | None,
                dry_run: bool = False, progress: Steps | None = None) -> PushResult:
    """Score the CRM's leads with a model and push its score fields for that CRM, journaled for undo."""
    steps = progress or quiet_steps()
    compiled = compile_model(load_model(model_path))
    fields = compiled.score_fields(require_crm(crm))
    if not fields:
        raise SettingsError(f"{model_path} names no [fields.{crm}] score fields; add them to push to {crm}")
    with _connected(crm, db) as connector, PushJournal(journal_path(crm, db, journal)) as book:
        steps.step(f"reading leads and events from {crm}")
        leads, events = connector.read_leads(), connector.read_events()
        steps.step(f"scoring {len(leads):,} leads")
        scores = score(leads, events, compiled, resolve_as_of(as_of))
        return push_scores(connector, book, scores, fields, compiled.version, dry_run=dry_run,
                           progress=steps.counter("writing score fields"))


def resume_in_crm(push_id: str, crm: str, db: Path, journal: Path | None,
                  progress: Steps | None = None) -> PushResult:
    """Finish an interrupted push: each pending change is written exactly once."""
    steps = progress or quiet_steps()
    with _connected(crm, db) as connector, PushJournal(journal_path(crm, db, journal)) as book:
        return resume_push(connector, book, push_id, progress=steps.counter(f"resuming {push_id}"))


def undo_in_crm(push_id: str, crm: str, db: Path, journal: Path | None, dry_run: bool = False,
                progress: Steps | None = None) -> PushResult:
    """Undo a push: every field it changed goes back to its old value (itself journaled)."""
    steps = progress or quiet_steps()
    with _connected(crm, db) as connector, PushJournal(journal_path(crm, db, journal)) as book:
        return undo_push(connector, book, push_id, dry_run=dry_run, progress=steps.counter(f"undoing {push_id}"))


def ensure_fields(model_path: Path, crm: str, db: Path, dry_run: bool = False) -> FieldPlan:
    """Create the model's score fields for `crm` where missing (only a plan in a dry run)."""
    fields = compile_model(load_model(model_path)).score_fields(require_crm(crm))
    if not fields:
        raise SettingsError(f"{model_path} names no [fields.{crm}] score fields")
    with _connected(crm, db) as connector:
        return connector.ensure_score_fields(fields, dry_run=dry_run)


_PULL_STATE = "pull_state.json"


def pull_from_crm(crm: str, db: Path, out: Path, full: bool = False, progress: Steps | None = None) -> dict[str, Any]:
    """Read leads, accounts, events and outcomes into canonical CSVs under `out`.

    Incremental by default: leads and events changed since the last pull recorded in out/pull_state.json
    are read and merged into the files already there (a lead's newer row replaces its older one).
    """
    steps = progress or quiet_steps()
    state_path = out / _PULL_STATE
    state = json.loads(state_path.read_text(encoding="utf-8")) if state_path.is_file() and not full else {}
    since = as_utc(state["pulled_at"]).to_pydatetime() if state.get("pulled_at") else None
    started = pd.Timestamp(datetime.now(UTC))
    with _connected(crm, db) as connector:
        steps.step(f"reading leads from {crm}" + (f" changed since {since:%Y-%m-%d %H:%M}" if since else ""))
        leads = connector.read_leads(since)
        steps.step("reading accounts")
        accounts = connector.read_accounts()
        steps.step("reading events")
        events = connector.read_events(since)
        steps.step("reading outcomes")
        outcomes = connector.read_outcomes()
    if since is not None:
        leads = _merged(out / "leads.csv", "leads", leads, key=["lead_id"])
        events = _merged(out / "events.csv", "events", events, key=None, before=since)
    frames = {"leads": leads, "accounts": accounts, "events": events, "outcomes": outcomes}
    meta = {"crm": crm, "pulled_at": started.isoformat(), "incremental": since is not None,
            "as_of": started.isoformat()}
    write_funnel_files(out, frames, meta)
    state_path.write_text(json.dumps({"crm": crm, "pulled_at": started.isoformat()}), encoding="utf-8")
    return {"crm": crm, "since": since.isoformat() if since else None,
            **{name: int(len(frame)) for name, frame in frames.items()}}


def _merged(path: Path, kind: str, fresh: pd.DataFrame, key: list[str] | None,
            before: datetime | None = None) -> pd.DataFrame:
    """Rows already pulled plus fresh ones: a fresh row replaces an older one with the same key; with
    `before`, old rows at or after it are dropped since the fresh read returned all of those again."""
    if not path.is_file():
        return fresh
    old = read_frame(path, kind)
    for column in ("created_at", "at"):
        if column in old.columns:
            old[column] = pd.to_datetime(old[column], utc=True, format="ISO8601")
    for column in ("lead_id", "account_id", "type"):
        for frame in (old, fresh):
            if column in frame.columns:
                frame[column] = frame[column].astype(object)
    if before is not None:
        old = old.loc[old["at"] < pd.Timestamp(before)]
        return pd.concat([old, fresh], ignore_index=True)
    combined = pd.concat([old, fresh], ignore_index=True)
    return combined.drop_duplicates(subset=key, keep="last", ignore_index=True)
