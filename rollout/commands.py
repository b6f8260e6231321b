"""What the file- and CRM-facing CLI commands do: read inputs, call the pure core, write outputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.journal import PushJournal
from connectors.local import LocalCRM
from rollout.data_files import read_frame, read_funnel_meta
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

__all__ = ["ScoredFiles", "EvaluatedFiles", "resolve_as_of", "score_files", "evaluate_files", "push_local",
           "resume_local", "undo_local"]


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


def _existing_crm(db: Path) -> LocalCRM:
    if not db.is_file():
        raise SettingsError(f"local CRM {db} does not exist; run `scorebench demo` or pass --db PATH")
    return LocalCRM(db)


def push_local(model_path: Path, db: Path, as_of: str | None, dry_run: bool = False,
               progress: Steps | None = None) -> PushResult:
    """Score the local CRM's leads with a model and push its score fields (journaled in the CRM file)."""
    steps = progress or quiet_steps()
    compiled = compile_model(load_model(model_path))
    fields = compiled.score_fields("local")
    if not fields:
        raise SettingsError(f"{model_path} names no [fields.local] score fields; add them to push to the local CRM")
    with _existing_crm(db) as crm, PushJournal(db) as journal:
        steps.step("reading leads and events from the local CRM")
        leads, events = crm.read_leads(), crm.read_events()
        steps.step(f"scoring {len(leads):,} leads")
        scores = score(leads, events, compiled, resolve_as_of(as_of))
        return push_scores(crm, journal, scores, fields, compiled.version, dry_run=dry_run,
                           progress=steps.counter("writing score fields"))


def resume_local(db: Path, push_id: str, progress: Steps | None = None) -> PushResult:
    """Finish an interrupted push against the local CRM: each pending change is written exactly once."""
    steps = progress or quiet_steps()
    with _existing_crm(db) as crm, PushJournal(db) as journal:
        return resume_push(crm, journal, push_id, progress=steps.counter(f"resuming {push_id}"))


def undo_local(db: Path, push_id: str, dry_run: bool = False, progress: Steps | None = None) -> PushResult:
    """Undo a push against the local CRM: every field it changed goes back to its old value."""
    steps = progress or quiet_steps()
    with _existing_crm(db) as crm, PushJournal(db) as journal:
        return undo_push(crm, journal, push_id, dry_run=dry_run, progress=steps.counter(f"undoing {push_id}"))
