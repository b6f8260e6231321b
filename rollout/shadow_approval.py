"""Approving a shadow run's challenger (by hash) on its latest report (by hash), and pushing the approved scores
through the journaled push path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from connectors.journal import PushJournal
from connectors.registry import journal_path, open_connector
from rollout._shadow_reads import known_at, read_crm, timeline
from rollout.progress import Steps, quiet_steps
from rollout.push import PushResult, push_scores, resume_push, unused_push_id
from rollout.shadow_start import wall_now
from rollout.shadow_store import ApprovalError, ShadowStore
from scoring.compiled import compile_model
from scoring.engine import score
from scoring.errors import SettingsError
from scoring.inputs import as_utc
from scoring.model_file import load_model, model_hash

__all__ = ["ApprovalResult", "approve_run", "push_run"]


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
        moment = as_utc(as_of) if as_of is not None else (days[-1].as_of if run.clock == "simulated" else wall_now())
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
                frames, _, _ = read_crm(connector, {}, None)
                known, seen = known_at(timeline(frames), moment)
                steps.step(f"scoring {len(known):,} leads with the approved challenger")
                scores = score(known, seen, challenger, moment)
                push_id = None
                if not dry_run:
                    push_id = unused_push_id(book)
                    store.add_push(run.run_id, push_id, int(approval["approval_id"]), run.crm, book_path.resolve())
                result = push_scores(connector, book, scores, fields, challenger.version, push_id=push_id,
                                     dry_run=dry_run, progress=steps.counter("writing score fields"))
        finally:
            connector.close()
        return result
