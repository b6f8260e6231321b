"""The conformance suite every CRM adapter passes, local included (STYLE rule 10).

An adapter opts in with one decorator::

    from connectors.testing import parametrize_with_checks

    @parametrize_with_checks(my_factory, adapter="hubspot",
                             expected_failed_checks={"check_unknown_record_is_reported": "why"})
    def test_hubspot_conforms(check):
        check()

`my_factory(workdir)` gets a fresh empty directory and returns a new connector seeded with at least
MIN_LEADS leads (and, for the since-filter check, some events; `sample_funnel()` gives such frames),
plus the score fields to use: a "total" number field, another number, a text field and usually the
scored_at datetime (SAMPLE_SCORE_FIELDS). A known gap is declared with its reason and runs as a
strict xfail; nothing is skipped silently.

The checks drive rollout.push (push, resume, undo) through the adapter, so this test-support module
imports rollout lazily; pytest is imported only by `parametrize_with_checks`.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pandas.testing as pdt

from connectors._faults import ConnectorWrapper, CountingConnector, InterruptingConnector, RejectingConnector
from connectors._samples import SAMPLE_SCORE_FIELDS, sample_funnel, synthetic_scores
from connectors.errors import FatalCRMError, JournalError, PushInterruptedError, ScoreFieldViolation
from connectors.guard import CheckedChanges, checked_changes
from connectors.journal import PushJournal
from connectors.protocol import Capabilities, CRMConnector
from scoring.columns import ACCOUNT_COLUMNS, EVENT_COLUMNS, LEAD_COLUMNS, OUTCOME_COLUMNS
from scoring.fields import ScoreField

__all__ = [
    "MIN_LEADS", "SeededConnector", "ConnectorFactory", "CHECKS", "conformance_params", "parametrize_with_checks",
    "ConnectorWrapper", "CountingConnector", "InterruptingConnector", "RejectingConnector",
    "SAMPLE_SCORE_FIELDS", "sample_funnel", "synthetic_scores",
    "check_declares_capabilities", "check_reads_canonical_columns", "check_ensure_fields_is_idempotent",
    "check_dry_run_writes_nothing", "check_writes_only_score_fields", "check_unchanged_rows_cost_no_requests",
    "check_push_leaves_no_pending_entries", "check_undo_restores_exactly", "check_undo_skips_changed_records",
    "check_interrupted_push_completes_once", "check_failed_records_are_journaled",
    "check_unknown_record_is_reported", "check_wrong_type_field_is_refused",
]

MIN_LEADS = 6
"""Leads a seeded connector must hold: enough for three batches of two in the interruption check."""


class SeededConnector(NamedTuple):
    """A fresh connector with seeded leads, and the score fields the checks push."""

    connector: CRMConnector
    fields: Sequence[ScoreField]


ConnectorFactory = Callable[[Path], "SeededConnector | tuple[CRMConnector, Sequence[ScoreField]]"]
"""Given a fresh empty directory it may use, returns a new seeded connector and its score fields."""


@contextmanager
def _seeded(factory: ConnectorFactory) -> Iterator[tuple[CRMConnector, list[ScoreField], PushJournal, list[str]]]:
    """A seeded connector, its fields, a journal in its own file, and the lead ids; all closed afterwards."""
    with tempfile.TemporaryDirectory(prefix="scorebench-conformance-") as tmp:
        connector, fields = factory(Path(tmp))
        try:
            with PushJournal(Path(tmp) / "journal.sqlite") as journal:
                ids = connector.read_leads()["lead_id"].astype(str).tolist()
                assert len(ids) >= MIN_LEADS, f"the factory seeded {len(ids)} leads; the suite needs {MIN_LEADS}"
                yield connector, list(fields), journal, ids
        finally:
            connector.close()


def check_declares_capabilities(factory: ConnectorFactory) -> None:
    """The adapter is a CRMConnector and declares its limits as a frozen Capabilities."""
    with _seeded(factory) as (crm, _, _, _):
        assert isinstance(crm, CRMConnector)
        assert isinstance(crm.capabilities, Capabilities)
        assert crm.capabilities.name and crm.capabilities.max_batch_records >= 1


def check_reads_canonical_columns(factory: ConnectorFactory) -> None:
    """Reads start with the canonical columns, ids are unique text, datetimes are UTC, `since` filters."""
    with _seeded(factory) as (crm, _, _, _):
        frames = {"leads": (crm.read_leads(), LEAD_COLUMNS), "accounts": (crm.read_accounts(), ACCOUNT_COLUMNS),
                  "events": (crm.read_events(), EVENT_COLUMNS), "outcomes": (crm.read_outcomes(), OUTCOME_COLUMNS)}
        for name, (frame, columns) in frames.items():
            assert list(frame.columns[:len(columns)]) == list(columns), f"{name}: columns {list(frame.columns)}"
        leads, events = frames["leads"][0], frames["events"][0]
        assert leads["lead_id"].notna().all() and leads["lead_id"].is_unique
        assert pd.api.types.is_string_dtype(leads["lead_id"])
        for frame, column in ((leads, "created_at"), (events, "at"), (frames["outcomes"][0], "at")):
            assert isinstance(frame[column].dtype, pd.DatetimeTZDtype) and str(frame[column].dt.tz) == "UTC"
        late = leads["created_at"].max() + pd.Timedelta(days=1)
        assert crm.read_leads(since=late).empty
        if len(events):
            last = events["at"].max()
            recent = crm.read_events(since=last.to_pydatetime())
            assert len(recent) == int((events["at"] >= last).sum()) and (recent["at"] >= last).all()


def check_ensure_fields_is_idempotent(factory: ConnectorFactory) -> None:
    """A second ensure_score_fields creates nothing and finds every field."""
    with _seeded(factory) as (crm, fields, _, _):
        first = crm.ensure_score_fields(fields)
        assert {f.name for f in first.to_create + first.existing} == {f.name for f in fields}
        second = crm.ensure_score_fields(fields)
        assert second.to_create == () and {f.name for f in second.existing} == {f.name for f in fields}


def check_dry_run_writes_nothing(factory: ConnectorFactory) -> None:
    """A dry run creates no field, writes no value, journals nothing, and still reports the plan."""
    from rollout.push import push_scores

    with _seeded(factory) as (crm, fields, journal, ids):
        before = crm.read_leads()
        planned_fields = crm.ensure_score_fields(fields, dry_run=True)
        result = push_scores(crm, journal, synthetic_scores(ids), fields, "v1", dry_run=True)
        assert result.push_id is None and result.requests == 0 and result.planned > 0
        assert len(result.sample) > 0 and journal.pushes().empty
        assert crm.ensure_score_fields(fields, dry_run=True) == planned_fields
        crm.ensure_score_fields(fields)
        values = crm.read_score_values(fields)
        push_scores(crm, journal, synthetic_scores(ids, seed=1), fields, "v1", dry_run=True)
        pdt.assert_frame_equal(crm.read_score_values(fields), values)
        pdt.assert_frame_equal(crm.read_leads(), before)


def check_writes_only_score_fields(factory: ConnectorFactory) -> None:
    """Raw, forged or off-field writes are refused; a push leaves every canonical frame as it was."""
    from rollout.push import push_scores

    with _seeded(factory) as (crm, fields, journal, ids):
        crm.ensure_score_fields(fields)
        reads = (crm.read_leads, crm.read_accounts, crm.read_events, crm.read_outcomes)
        before = [read() for read in reads]
        raw = pd.DataFrame({"record_id": [ids[0]], "field": [fields[0].name], "new": [1]})
        _assert_raises(ScoreFieldViolation, lambda: crm.write_score_values(raw))  # a raw frame, not CheckedChanges
        off = raw.assign(field="email")
        _assert_raises(ScoreFieldViolation, lambda: checked_changes(off, fields))
        _assert_raises(ScoreFieldViolation, lambda: CheckedChanges(off, fields))
        push_scores(crm, journal, synthetic_scores(ids), fields, "v1")
        for read, frame in zip(reads, before, strict=True):
            pdt.assert_frame_equal(read(), frame)


def check_unchanged_rows_cost_no_requests(factory: ConnectorFactory) -> None:
    """Re-pushing the same scores costs zero requests; one changed total costs one request and two cells."""
    from rollout.push import push_scores

    with _seeded(factory) as (crm, fields, journal, ids):
        first = push_scores(crm, journal, synthetic_scores(ids), fields, "v1")
        assert first.requests >= 1 and first.applied == first.planned
        again = push_scores(crm, journal, synthetic_scores(ids, scored_at="2026-01-06T09:00:00Z"), fields, "v1")
        assert (again.planned, again.requests) == (0, 0)
        changed = synthetic_scores(ids, scored_at="2026-01-07T09:00:00Z")
        total = next(f for f in fields if f.column == "total")
        changed["total"] = changed["total"] + np.where(np.arange(len(changed)) == 0, 7.0, 0.0)
        moved = push_scores(crm, journal, changed, fields, "v1")
        stamps = sum(f.kind == "datetime" for f in fields)
        assert moved.requests == 1 and moved.planned == 1 + stamps
        assert set(moved.sample["field"]) == {total.name, *(f.name for f in fields if f.kind == "datetime")}


def check_push_leaves_no_pending_entries(factory: ConnectorFactory) -> None:
    """After a push ends, its journal entries are all resolved and the push is stamped finished."""
    from rollout.push import push_scores

    with _seeded(factory) as (crm, fields, journal, ids):
        result = push_scores(crm, journal, synthetic_scores(ids), fields, "v1")
        assert result.push_id is not None and journal.pending_push_ids() == []
        entries = journal.entries(result.push_id)
        assert len(entries) == result.planned and set(entries["status"]) <= {"applied", "failed"}
        assert journal.pushes().set_index("push_id").loc[result.push_id, "finished_at"] is not None


def check_undo_restores_exactly(factory: ConnectorFactory) -> None:
    """Undo restores every old value exactly (NULL, fractions, unicode); undoing the undo redoes the push."""
    from rollout.push import push_scores, undo_push

    with _seeded(factory) as (crm, fields, journal, ids):
        half = synthetic_scores(ids[: len(ids) // 2], seed=3)
        half.loc[0, "band"] = None
        push_scores(crm, journal, half, fields, "v0")
        number = next(f for f in fields if f.kind == "number")
        text = next(f for f in fields if f.kind == "text")
        odd = pd.DataFrame({"record_id": [ids[0], ids[1]], "field": [number.name, text.name],
                            "new": [12.5, "Ünïcode ✓ ‘quoted’"]})
        crm.write_score_values(checked_changes(odd, fields))
        before = crm.read_score_values(fields)
        pushed = push_scores(crm, journal, synthetic_scores(ids, seed=4), fields, "v1")
        after_push = crm.read_score_values(fields)
        undo = undo_push(crm, journal, str(pushed.push_id))
        assert undo.skipped == 0 and undo.failed == 0 and undo.applied == pushed.applied
        pdt.assert_frame_equal(crm.read_score_values(fields), before)
        redo = undo_push(crm, journal, str(undo.push_id))
        assert redo.skipped == 0
        pdt.assert_frame_equal(crm.read_score_values(fields), after_push)
        assert journal.pending_push_ids() == []


def check_undo_skips_changed_records(factory: ConnectorFactory) -> None:
    """A field changed since the push is reported as a conflict and kept; the rest is restored; no double undo."""
    from rollout.push import push_scores, undo_push

    with _seeded(factory) as (crm, fields, journal, ids):
        crm.ensure_score_fields(fields)
        before = crm.read_score_values(fields)
        pushed = push_scores(crm, journal, synthetic_scores(ids), fields, "v1")
        number = next(f for f in fields if f.kind == "number")
        theirs = pd.DataFrame({"record_id": [ids[2]], "field": [number.name], "new": [777]})
        crm.write_score_values(checked_changes(theirs, fields))
        undo = undo_push(crm, journal, str(pushed.push_id))
        assert undo.skipped == 1 and undo.conflicts[["record_id", "field"]].values.tolist() == [[ids[2], number.name]]
        now = crm.read_score_values(fields).set_index("record_id")
        assert now.loc[ids[2], number.name] == 777
        expected = before.set_index("record_id")
        expected.loc[ids[2], number.name] = 777.0
        pdt.assert_frame_equal(now, expected)
        _assert_raises(JournalError, lambda: undo_push(crm, journal, str(pushed.push_id)))


def check_interrupted_push_completes_once(factory: ConnectorFactory) -> None:
    """A push whose 2nd batch answer is lost resumes to the full plan, sending each remaining change once."""
    from rollout.push import push_scores, resume_push, score_field_values

    with _seeded(factory) as (crm, fields, journal, ids):
        scores = synthetic_scores(ids)
        flaky = InterruptingConnector(crm, fail_after=2, max_batch_records=2)
        try:
            push_scores(flaky, journal, scores, fields, "v1")
        except PushInterruptedError as exc:
            push_id = exc.push_id
            assert (exc.batches_done, exc.batches_total) == (1, -(-len(ids) // 2))
        else:
            raise AssertionError("the interrupted push did not raise PushInterruptedError")
        assert journal.pending_push_ids() == [push_id]
        _assert_raises(JournalError, lambda: push_scores(crm, journal, scores, fields, "v1"))
        pending = journal.entries(push_id, status="pending")
        in_flight = set(ids[2:4])
        counting = CountingConnector(crm, max_batch_records=2)
        result = resume_push(counting, journal, push_id)
        expected = [(r, f) for r, f in zip(pending["record_id"], pending["field"], strict=True) if r not in in_flight]
        assert sorted(counting.sent) == sorted(expected), "resume re-sent a change or missed one"
        assert result.applied == len(pending) and result.skipped == 0 and journal.pending_push_ids() == []
        desired = score_field_values(scores, fields)
        pdt.assert_frame_equal(_rounded(crm.read_score_values(fields), fields), _rounded(desired, fields))
        again = resume_push(counting, journal, push_id)
        assert (again.planned, again.requests) == (0, 0)


def check_failed_records_are_journaled(factory: ConnectorFactory) -> None:
    """Refused records are journaled failed with the CRM's reason, left unchanged, and never left pending."""
    from rollout.push import push_scores, resume_push, undo_push

    with _seeded(factory) as (crm, fields, journal, ids):
        crm.ensure_score_fields(fields)
        before = crm.read_score_values(fields).set_index("record_id")
        refusing = RejectingConnector(crm, records=[ids[0]], cells=[(ids[1], fields[0].name)])
        result = push_scores(refusing, journal, synthetic_scores(ids), fields, "v1")
        entries = journal.entries(str(result.push_id))
        failed = entries[entries["status"] == "failed"]
        assert result.failed == len(failed) == int((entries["record_id"] == ids[0]).sum()) + 1
        assert failed["error"].str.contains("REJECTED|INVALID_VALUE").all()
        assert set(entries["status"]) == {"applied", "failed"}
        now = crm.read_score_values(fields).set_index("record_id")
        pdt.assert_frame_equal(now.loc[[ids[0]]], before.loc[[ids[0]]])
        assert resume_push(crm, journal, str(result.push_id)).planned == 0
        undo_push(crm, journal, str(result.push_id))
        pdt.assert_frame_equal(crm.read_score_values(fields).set_index("record_id"), before)


def check_unknown_record_is_reported(factory: ConnectorFactory) -> None:
    """A write naming a record the CRM lacks reports it as a failure and still writes the others."""
    with _seeded(factory) as (crm, fields, _, ids):
        crm.ensure_score_fields(fields)
        number = next(f for f in fields if f.kind == "number")
        changes = pd.DataFrame({"record_id": ["scorebench-no-such-record", ids[0]],
                                "field": [number.name, number.name], "new": [5, 6]})
        report = crm.write_score_values(checked_changes(changes, fields))
        assert [f.record_id for f in report.failures] == ["scorebench-no-such-record"]
        assert crm.read_score_values([number], [ids[0]])[number.name].tolist() == [6.0]


def check_wrong_type_field_is_refused(factory: ConnectorFactory) -> None:
    """Existing fields of another kind are all named in one FatalCRMError, dry run or not, and nothing is created."""
    with _seeded(factory) as (crm, fields, _, _):
        number = next(f for f in fields if f.kind == "number")
        text = next(f for f in fields if f.kind == "text")
        crm.ensure_score_fields([number, text])
        swapped = [dataclasses.replace(number, name=text.name), dataclasses.replace(text, name=number.name)]
        new = [f for f in fields if f.name not in (number.name, text.name)]
        for dry_run in (True, False):
            error = _raised(FatalCRMError, lambda: crm.ensure_score_fields([*swapped, *new], dry_run=dry_run))
            for field in swapped:
                assert field.name in error and field.kind in error, f"{field.name} ({field.kind}) not named: {error}"
        plan = crm.ensure_score_fields(new, dry_run=True)
        assert {f.name for f in plan.to_create} == {f.name for f in new}, "a field was created despite the refusal"


CHECKS: tuple[Callable[[ConnectorFactory], None], ...] = (
    check_declares_capabilities, check_reads_canonical_columns, check_ensure_fields_is_idempotent,
    check_dry_run_writes_nothing, check_writes_only_score_fields, check_unchanged_rows_cost_no_requests,
    check_push_leaves_no_pending_entries, check_undo_restores_exactly, check_undo_skips_changed_records,
    check_interrupted_push_completes_once, check_failed_records_are_journaled, check_unknown_record_is_reported,
    check_wrong_type_field_is_refused,
)
"""Every conformance check, in the order they run."""


def conformance_params(
    factory: ConnectorFactory, adapter: str, expected_failed_checks: Mapping[str, str] | None = None
) -> list[Any]:
    """pytest params, one zero-argument check per CHECKS entry; declared gaps become strict xfails with their reason."""
    import pytest

    gaps = dict(expected_failed_checks or {})
    known = [c.__name__ for c in CHECKS]
    unknown = [name for name in gaps if name not in known]
    if unknown:
        near = {n: difflib.get_close_matches(n, known, n=2) for n in unknown}
        raise ValueError(f"expected_failed_checks names unknown checks {near} (known: {', '.join(known)})")
    missing_reason = [name for name, reason in gaps.items() if not str(reason).strip()]
    if missing_reason:
        raise ValueError(f"give a reason for each expected failed check: {', '.join(missing_reason)}")
    params = []
    for check in CHECKS:
        marks = [pytest.mark.xfail(strict=True, reason=gaps[check.__name__])] if check.__name__ in gaps else []
        params.append(pytest.param(functools.partial(check, factory), id=f"{adapter}-{check.__name__}", marks=marks))
    return params


def parametrize_with_checks(
    factory: ConnectorFactory, adapter: str, expected_failed_checks: Mapping[str, str] | None = None
) -> Any:
    """A pytest decorator that runs every conformance check as the test's `check` argument."""
    import pytest

    return pytest.mark.parametrize("check", conformance_params(factory, adapter, expected_failed_checks))


def _assert_raises(error: type[BaseException], call: Callable[[], object]) -> None:
    """Assert that `call()` raises `error`."""
    _raised(error, call)


def _raised(error: type[BaseException], call: Callable[[], object]) -> str:
    """The message of the `error` that `call()` raises; AssertionError when it raises none."""
    try:
        call()
    except error as exc:
        return str(exc)
    raise AssertionError(f"expected {error.__name__}")


def _rounded(values: pd.DataFrame, fields: Sequence[ScoreField]) -> pd.DataFrame:
    """Score values normalised for comparison: numbers as float64, text and datetimes as str."""
    out: dict[str, pd.Series] = {"record_id": values["record_id"].astype("str")}
    for f in fields:
        column = values[f.name]
        out[f.name] = (pd.to_numeric(column.astype(object)).astype("float64") if f.kind == "number"
                       else column.astype("str"))
    return pd.DataFrame(out).sort_values("record_id").reset_index(drop=True)
