"""Push approved scores to a CRM, resume an interrupted push exactly once, and undo a push exactly.

Every write is planned against the CRM's current values (only changed cells), checked by
connectors.guard, journaled as pending before it is sent and marked after (STYLE rule 12). Nothing
here knows which CRM it talks to: batch size and rate limits come from `connector.capabilities`.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import pandas as pd

from connectors.errors import JournalError
from connectors.guard import checked_changes, score_field_names
from connectors.journal import PushHeader, PushJournal
from connectors.protocol import CRMConnector
from rollout._changes import CHANGE_COLUMNS, plan_changes, python_values, score_field_values, values_equal
from rollout._send import Progress as Progress
from rollout._send import send_journaled
from scoring.fields import ScoreField

__all__ = [
    "Progress",
    "PushResult",
    "new_push_id",
    "score_field_values",
    "plan_changes",
    "push_scores",
    "resume_push",
    "undo_push",
    "unused_push_id",
]

SAMPLE_ROWS = 20
"""Planned changes shown in a result (a dry run's preview)."""


@dataclass(frozen=True, eq=False)
class PushResult:
    """What a push, resume or undo did (or, in a dry run, would do), counted in field changes.

    Attributes:
        push_id: journal id of the push or undo; None for a dry run, which journals nothing.
        kind: "push", "resume" or "undo".
        planned: field changes considered (resume: pending entries; undo: applied entries of the
            target); once done, planned == applied + failed + skipped.
        applied: field changes the CRM now holds, including ones found already in place.
        failed: field changes the CRM refused (journaled as failed, with its reason).
        skipped: conflicts: records changed by someone else since journaling; left untouched.
        requests: write requests sent.
        missing_records: scored leads that the CRM does not have (not planned).
        field_counts: index `field` (every field of the spec, in order), int columns planned,
            applied, failed, skipped.
        sample: first SAMPLE_ROWS changes that are not conflicts: record_id, field, old, new.
        conflicts: record_id, field, expected, found, for skipped changes.
        failures: record_id, field, error, for failed changes.
        fields_to_create: score fields the CRM lacked (created unless dry run).
    """

    push_id: str | None
    kind: Literal["push", "resume", "undo"]
    dry_run: bool
    planned: int
    applied: int
    failed: int
    skipped: int
    requests: int
    missing_records: int = 0
    field_counts: pd.DataFrame = field(default_factory=pd.DataFrame)
    sample: pd.DataFrame = field(default_factory=pd.DataFrame)
    conflicts: pd.DataFrame = field(default_factory=pd.DataFrame)
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)
    fields_to_create: tuple[str, ...] = ()


def new_push_id(now: datetime | None = None) -> str:
    """A short id that sorts by UTC start time, e.g. "p20261123T144501-3f9a"."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    return f"p{stamp:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


def unused_push_id(journal: PushJournal) -> str:
    """A `new_push_id` the journal does not hold yet: pushes started within one second (a shadow run's daily
    snapshots on a simulated clock) share the time part, and two random bytes repeat often enough to matter."""
    push_id = new_push_id()
    while journal.has_push(push_id):
        push_id = new_push_id()
    return push_id


def push_scores(
    connector: CRMConnector,
    journal: PushJournal,
    scores: pd.DataFrame,
    fields: Sequence[ScoreField],
    model_version: str,
    push_id: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> PushResult:
    """Write the score fields of `scores` (SCORE_COLUMNS) where the CRM's value differs; journaled, undoable.

    Args:
        connector: the CRM; its score fields are created when missing (not in a dry run).
        journal: where every change is recorded before it is sent.
        scores: one row per lead: lead_id and the columns named by `fields`.
        fields: the approved model's score fields; nothing else is written.
        model_version: version of the model whose scores these are, kept in the journal.
        push_id: id to journal under; a new one the journal does not hold (`unused_push_id`) when None.
        dry_run: plan and report without creating fields, writing or journaling.
        progress: called after each batch with (changes sent, changes planned).

    Returns:
        The push's counts; `sample` previews the plan.

    Raises:
        JournalError: an earlier push against this CRM is unfinished (resume it first), or the id is taken.
        PushInterruptedError: the CRM failed part-way; resume_push(push_id) completes the push.
    """
    score_field_names(fields)
    crm = connector.capabilities.name
    if not dry_run:
        unfinished = journal.pending_push_ids(crm)
        if unfinished:
            raise JournalError(
                f"push {unfinished[0]} against {crm} was interrupted and has pending entries; "
                f"finish it with `scorebench push --resume {unfinished[0]}` before a new push"
            )
    desired = score_field_values(scores, fields)
    field_plan = connector.ensure_score_fields(fields, dry_run=dry_run)
    to_create = {f.name for f in field_plan.to_create} if dry_run else set()
    current = connector.read_score_values([f for f in fields if f.name not in to_create], desired["record_id"])
    for name in to_create:
        current[name] = np.nan
    missing = int((~desired["record_id"].isin(current["record_id"])).sum())
    changes = plan_changes(current, desired, fields)
    checked_changes(changes.loc[:, ["record_id", "field", "new"]], fields)
    created = tuple(f.name for f in field_plan.to_create)
    if dry_run:
        status = np.full(len(changes), "planned", dtype=object)
        return _result(None, "push", True, changes, status, 0, missing, fields, created=created)
    push_id = push_id or unused_push_id(journal)
    journal.start_push(PushHeader(push_id, "push", crm, model_version, tuple(fields)))
    ids = journal.append_entries(push_id, changes)
    outcome = send_journaled(connector, journal, push_id, changes.assign(entry_id=ids), fields, progress)
    journal.finish_push(push_id)
    return _result(push_id, "push", False, changes, outcome.status, outcome.requests, missing, fields,
                   errors=outcome.error, created=created)


def resume_push(
    connector: CRMConnector, journal: PushJournal, push_id: str, progress: Progress | None = None
) -> PushResult:
    """Complete an interrupted push or undo exactly once from its pending journal entries.

    For each pending entry: the CRM already holds `new` -> marked applied without writing; it holds
    `old` -> written; anything else is a conflict -> marked skipped and reported.
    """
    header = _header_for(connector, journal, push_id)
    pending = journal.entries(push_id, status="pending")
    found, exists = _current_long(connector, header.fields, pending)
    at_new = exists & _equal_by_field(found, pending["new"], pending["field"], header.fields)
    at_old = exists & _equal_by_field(found, pending["old"], pending["field"], header.fields)
    status = np.where(at_new, "applied", np.where(at_old, "pending", "skipped")).astype(object)
    error = _conflict_text(pending, found, exists, status == "skipped", f"push {push_id} journaled it", "old")
    ids = pending["entry_id"].to_numpy()
    journal.mark_applied(ids[status == "applied"])
    journal.mark_skipped(ids[status == "skipped"], error[status == "skipped"].tolist())
    requests = 0
    to_send = status == "pending"
    if to_send.any():
        outcome = send_journaled(connector, journal, push_id, pending.loc[to_send], header.fields, progress)
        status[to_send] = outcome.status
        error[to_send] = outcome.error
        requests = outcome.requests
    journal.finish_push(push_id)
    plan = pending.loc[:, list(CHANGE_COLUMNS)]
    return _result(push_id, "resume", False, plan, status, requests, 0, header.fields, errors=error, found=found)


def undo_push(
    connector: CRMConnector,
    journal: PushJournal,
    push_id: str,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> PushResult:
    """Restore the old values of a push's applied changes, as a journaled undo push (itself undoable).

    A record whose field no longer holds what the push wrote is a conflict: reported and skipped,
    never overwritten. Refuses a push that is unfinished (resume it first) or already undone.
    """
    header = _header_for(connector, journal, push_id)
    pending = journal.entries(push_id, status="pending")
    if len(pending):
        raise JournalError(
            f"push {push_id} was interrupted and has {len(pending)} pending entries; finish it with "
            f"`scorebench push --resume {push_id}`, then undo it"
        )
    undone_by = journal.undo_push_ids(push_id)
    if undone_by:
        raise JournalError(
            f"push {push_id} was already undone by {undone_by[-1]}; to put its values back, undo {undone_by[-1]}"
        )
    applied = journal.entries(push_id, status="applied")
    found, exists = _current_long(connector, header.fields, applied)
    at_new = exists & _equal_by_field(found, applied["new"], applied["field"], header.fields)
    at_old = exists & _equal_by_field(found, applied["old"], applied["field"], header.fields)
    status = np.where(at_new, "pending", np.where(at_old, "applied", "skipped")).astype(object)
    error = _conflict_text(applied, found, exists, status == "skipped", f"push {push_id} wrote it", "new")
    undo = pd.DataFrame({
        "record_id": applied["record_id"].astype("str"),
        "field": applied["field"].astype("str"),
        "old": python_values(found),
        "new": applied["old"].astype(object),
        "status": status,
        "error": error,
    })
    checked_changes(undo.loc[:, ["record_id", "field", "new"]], header.fields)
    if dry_run:
        status = np.where(status == "pending", "planned", status).astype(object)
        return _result(None, "undo", True, undo, status, 0, 0, header.fields, errors=error, found=found,
                       expected=applied["new"])
    undo_id = unused_push_id(journal)
    journal.start_push(PushHeader(undo_id, "undo", header.crm, header.model_version, header.fields, push_id))
    ids = journal.append_entries(undo_id, undo)
    to_send = status == "pending"
    requests = 0
    if to_send.any():
        outcome = send_journaled(
            connector, journal, undo_id, undo.assign(entry_id=ids).loc[to_send], header.fields, progress
        )
        status[to_send] = outcome.status
        error[to_send] = outcome.error
        requests = outcome.requests
    journal.finish_push(undo_id)
    return _result(undo_id, "undo", False, undo, status, requests, 0, header.fields, errors=error, found=found,
                   expected=applied["new"])


def _header_for(connector: CRMConnector, journal: PushJournal, push_id: str) -> PushHeader:
    """The journaled header of `push_id`, checked to belong to this connector's CRM."""
    header = journal.push_header(push_id)
    if header.crm != connector.capabilities.name:
        raise JournalError(
            f"push {push_id} was made against {header.crm}, not {connector.capabilities.name}; "
            f"connect to {header.crm} to resume or undo it"
        )
    return header


def _current_long(
    connector: CRMConnector, fields: Sequence[ScoreField], entries: pd.DataFrame
) -> tuple[pd.Series, np.ndarray]:
    """The CRM's current value of each entry's (record_id, field) (NaN if empty), and whether the record exists."""
    if entries.empty:
        return pd.Series([], dtype=object), np.zeros(0, dtype=bool)
    names = set(entries["field"].unique().tolist())
    used = [f for f in fields if f.name in names]
    wide = connector.read_score_values(used, pd.Series(entries["record_id"].unique(), dtype="str"))
    long = wide.melt(id_vars="record_id", var_name="field", value_name="current")
    keys = entries.loc[:, ["record_id", "field"]].astype(str).reset_index(drop=True)
    long = long.assign(record_id=long["record_id"].astype(str), field=long["field"].astype(str))
    found = keys.merge(long, on=["record_id", "field"], how="left")["current"].astype(object)
    return found, keys["record_id"].isin(wide["record_id"].astype(str)).to_numpy()


def _equal_by_field(
    found: pd.Series, values: pd.Series, field_names: pd.Series, fields: Sequence[ScoreField]
) -> np.ndarray:
    """Whether each found value equals the given value, compared by its field's kind."""
    equal = np.zeros(len(found), dtype=bool)
    names = field_names.to_numpy()
    left = found.reset_index(drop=True)
    right = values.reset_index(drop=True).astype(object)
    for f in fields:
        rows = np.flatnonzero(names == f.name)
        if len(rows):
            equal[rows] = values_equal(left.iloc[rows], right.iloc[rows], f.kind)
    return equal


def _conflict_text(
    entries: pd.DataFrame, found: pd.Series, exists: np.ndarray, conflict: np.ndarray, since: str,
    expect: Literal["old", "new"],
) -> np.ndarray:
    """Per entry: why it is a conflict, naming record, field, expected and found values (None elsewhere)."""
    error = np.full(len(entries), None, dtype=object)
    if not conflict.any():
        return error
    rows = entries.reset_index(drop=True).loc[conflict]
    wanted = rows["new"].map(repr)
    if expect == "old":
        wanted = rows["old"].map(repr) + " or " + wanted
    text = ("conflict: " + rows["field"].astype(str) + " of record " + rows["record_id"].astype(str)
            + f" changed since {since}: expected " + wanted + ", found "
            + python_values(found.reset_index(drop=True)[conflict]).map(repr))
    gone = ~exists[conflict]
    text[gone] = "conflict: record " + rows["record_id"].astype(str)[gone] + " is no longer in the CRM"
    error[conflict] = text.to_numpy(dtype=object)
    return error


def _result(
    push_id: str | None,
    kind: Literal["push", "resume", "undo"],
    dry_run: bool,
    plan: pd.DataFrame,
    status: np.ndarray,
    requests: int,
    missing: int,
    fields: Sequence[ScoreField],
    errors: np.ndarray | None = None,
    found: pd.Series | None = None,
    expected: pd.Series | None = None,
    created: tuple[str, ...] = (),
) -> PushResult:
    """A PushResult from a plan (record_id, field, old, new) and each change's final status."""
    plan = plan.reset_index(drop=True)
    errors = np.full(len(plan), None, dtype=object) if errors is None else errors
    names = [f.name for f in fields]
    counts = pd.crosstab(plan["field"].astype(str), pd.Series(status, dtype=object, name="status"))
    counts = counts.reindex(index=names, columns=["applied", "failed", "skipped"], fill_value=0)
    counts.insert(0, "planned", plan.groupby("field").size().reindex(names, fill_value=0).to_numpy())
    counts.index.name = "field"
    counts.columns.name = None
    skipped = status == "skipped"
    conflicts = pd.DataFrame({
        "record_id": plan.loc[skipped, "record_id"],
        "field": plan.loc[skipped, "field"],
        "expected": (expected.reset_index(drop=True) if expected is not None else plan["old"])[skipped],
        "found": found.reset_index(drop=True)[skipped] if found is not None else pd.Series(dtype=object),
        "error": errors[skipped],
    }).reset_index(drop=True)
    failed = status == "failed"
    failures = pd.DataFrame({
        "record_id": plan.loc[failed, "record_id"], "field": plan.loc[failed, "field"], "error": errors[failed],
    }).reset_index(drop=True)
    return PushResult(
        push_id=push_id, kind=kind, dry_run=dry_run, planned=len(plan),
        applied=int((status == "applied").sum()), failed=int(failed.sum()), skipped=int(skipped.sum()),
        requests=requests, missing_records=missing, field_counts=counts.astype("int64"),
        sample=plan.loc[~skipped, list(CHANGE_COLUMNS)].head(SAMPLE_ROWS).reset_index(drop=True),
        conflicts=conflicts, failures=failures, fields_to_create=created,
    )
