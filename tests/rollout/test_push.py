"""Push, resume and undo: CRM value formatting, change planning, batching, retries, conflicts and refusals."""

from __future__ import annotations

import re
import types

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import rollout.push as push_module
from connectors.errors import FatalCRMError, JournalError, PushInterruptedError, RetriableCRMError, ScoreFieldViolation
from connectors.guard import CheckedChanges, checked_changes
from connectors.journal import PushJournal
from connectors.local import LocalCRM
from connectors.pacing import RequestPacer
from connectors.protocol import BULK_BATCH_RECORDS, Capabilities, WriteReport
from connectors.testing import (
    SAMPLE_SCORE_FIELDS, ConnectorWrapper, CountingConnector, InterruptingConnector, synthetic_scores,
)
from rollout.push import new_push_id, plan_changes, push_scores, resume_push, score_field_values, undo_push
from scoring.errors import InputDataError
from scoring.fields import ScoreField

FIELDS = list(SAMPLE_SCORE_FIELDS)
TOTAL = ScoreField("total", "lead_score", "number")
BAND = ScoreField("band", "score_band", "text")
STAMP = ScoreField("scored_at", "scored_at", "datetime")


@pytest.fixture
def ids(crm: LocalCRM) -> list[str]:
    """The seeded lead ids, in load order."""
    return crm.read_leads()["lead_id"].tolist()


def wide(rows: dict[str, list[object]]) -> pd.DataFrame:
    """A current/desired frame from columns."""
    return pd.DataFrame(rows)


class TestScoreFieldValues:
    def test_numbers_round_half_away_from_zero_and_keep_missing(self) -> None:
        scores = pd.DataFrame({"lead_id": list("abcdef"), "total": [0.5, 1.5, 2.5, -0.5, 41.49, np.nan]})
        got = score_field_values(scores, [TOTAL])
        assert got["lead_score"].tolist()[:5] == [1, 2, 3, -1, 41] and got["lead_score"].isna().tolist()[5]
        assert str(got["lead_score"].dtype) == "Int64"

    def test_categories_become_text_and_stamps_iso_utc(self) -> None:
        scores = pd.DataFrame({
            "lead_id": [1, 2],
            "band": pd.Categorical(["A", None], categories=["B", "A"], ordered=True),
            "scored_at": [pd.Timestamp("2026-11-23T15:45:01.9+01:00"), pd.NaT],
        })
        got = score_field_values(scores, [BAND, STAMP])
        assert got["record_id"].tolist() == ["1", "2"]
        assert got["score_band"].tolist()[0] == "A" and pd.isna(got["score_band"].iloc[1])
        assert got["scored_at"].tolist()[0] == "2026-11-23T14:45:01Z" and pd.isna(got["scored_at"].iloc[1])

    def test_empty_text_is_pushed_as_no_value(self) -> None:
        """A lead without reasons ("") gets NULL, which is what a CRM reads back, so a re-push plans nothing."""
        desired = score_field_values(pd.DataFrame({"lead_id": ["a", "b"], "band": ["", "A"]}), [BAND])
        assert pd.isna(desired["score_band"].iloc[0]) and desired["score_band"].iloc[1] == "A"
        current = wide({"record_id": ["a", "b"], "score_band": pd.Series([None, "A"], dtype="str")})
        assert plan_changes(current, desired, [BAND]).empty

    def test_missing_columns_are_named(self) -> None:
        with pytest.raises(InputDataError, match="missing column.*band, scored_at"):
            score_field_values(pd.DataFrame({"lead_id": ["a"], "total": [1.0]}), [TOTAL, BAND, STAMP])

    def test_duplicate_leads_are_refused(self) -> None:
        with pytest.raises(InputDataError, match="appear more than once"):
            score_field_values(pd.DataFrame({"lead_id": ["a", "a"], "total": [1.0, 2.0]}), [TOTAL])

    def test_a_field_spec_with_a_wrong_kind_is_refused(self) -> None:
        with pytest.raises(Exception, match="must be number"):
            score_field_values(pd.DataFrame({"lead_id": ["a"], "total": [1.0]}), [ScoreField("total", "x", "text")])


class TestPlanChanges:
    def test_only_changed_cells_are_planned_numbers_numerically(self) -> None:
        current = wide({"record_id": ["a", "b", "c"], "lead_score": [42.0, np.nan, 7.0],
                        "score_band": pd.Series(["A", "B", None], dtype="str")})
        desired = wide({"record_id": ["c", "b", "a"], "lead_score": pd.array([7, 3, 42], dtype="Int64"),
                        "score_band": pd.Series(["C", "B", "A"], dtype="str")})
        plan = plan_changes(current, desired, [TOTAL, BAND])
        assert plan.values.tolist() == [["c", "score_band", None, "C"], ["b", "lead_score", None, 3]]

    def test_value_to_null_is_a_change(self) -> None:
        current = wide({"record_id": ["a"], "lead_score": [5.0]})
        desired = wide({"record_id": ["a"], "lead_score": pd.array([None], dtype="Int64")})
        assert plan_changes(current, desired, [TOTAL]).values.tolist() == [["a", "lead_score", 5.0, None]]

    def test_scored_at_follows_other_changes_only(self) -> None:
        current = wide({"record_id": ["a", "b"], "lead_score": [1.0, 2.0], "scored_at": ["2026-01-01T00:00:00Z"] * 2})
        desired = wide({"record_id": ["a", "b"], "lead_score": [1, 3], "scored_at": ["2026-01-02T00:00:00Z"] * 2})
        plan = plan_changes(current, desired, [TOTAL, STAMP])
        assert plan[["record_id", "field"]].values.tolist() == [["b", "lead_score"], ["b", "scored_at"]]

    def test_records_the_crm_lacks_are_not_planned(self) -> None:
        current = wide({"record_id": ["a"], "lead_score": [1.0]})
        desired = wide({"record_id": ["a", "ghost"], "lead_score": [2, 3]})
        assert plan_changes(current, desired, [TOTAL])["record_id"].tolist() == ["a"]

    def test_nothing_changed_gives_an_empty_plan_with_columns(self) -> None:
        current = wide({"record_id": ["a"], "lead_score": [1.0]})
        plan = plan_changes(current, wide({"record_id": ["a"], "lead_score": [1]}), [TOTAL])
        assert plan.empty and list(plan.columns) == ["record_id", "field", "old", "new"]

    def test_plans_200k_records_vectorised(self) -> None:
        n = 200_000
        ids = pd.Series([f"r{i}" for i in range(n)], dtype="str")
        current = wide({"record_id": ids, "lead_score": np.arange(n, dtype=float)})
        desired = wide({"record_id": ids, "lead_score": pd.array(np.arange(n) + (np.arange(n) % 2), dtype="Int64")})
        plan = plan_changes(current, desired, [TOTAL])
        assert len(plan) == n // 2


class TestPush:
    def test_dry_run_reports_without_writing(self, crm: LocalCRM, journal: PushJournal, ids: list[str]) -> None:
        result = push_scores(crm, journal, synthetic_scores(ids), FIELDS, "v1", dry_run=True)
        assert result.push_id is None and result.dry_run and result.planned == 8 * len(FIELDS)
        assert result.fields_to_create == tuple(f.name for f in FIELDS)
        assert result.field_counts["planned"].to_dict() == {f.name: 8 for f in FIELDS}
        assert result.field_counts.loc["lead_score"].tolist() == [8, 0, 0, 0]
        assert len(result.sample) == push_module.SAMPLE_ROWS
        assert journal.pushes().empty and crm.requests == 0

    def test_push_journals_old_and_new_and_reports_counts(
        self, crm: LocalCRM, journal: PushJournal, ids: list[str]
    ) -> None:
        scores = synthetic_scores(ids)
        result = push_scores(crm, journal, scores, FIELDS, "v1", push_id="p-fixed")
        assert result.push_id == "p-fixed" and result.applied == result.planned == 8 * len(FIELDS)
        entries = journal.entries("p-fixed")
        assert entries["old"].isna().all() and (entries["status"] == "applied").all()
        assert entries["model_version"].eq("v1").all() and entries["crm"].eq("local").all()
        first = entries[(entries["record_id"] == ids[0]) & (entries["field"] == "lead_score")]["new"].item()
        assert first == int(np.floor(scores["total"].iloc[0] + 0.5))

    def test_missing_records_are_counted_not_planned(self, crm: LocalCRM, journal: PushJournal, ids: list[str]) -> None:
        result = push_scores(crm, journal, synthetic_scores([*ids, "ghost"]), FIELDS, "v1")
        assert result.missing_records == 1 and "ghost" not in set(journal.entries(str(result.push_id))["record_id"])

    def test_batches_follow_capabilities_and_progress_is_reported(
        self, crm: LocalCRM, journal: PushJournal, ids: list[str]
    ) -> None:
        counting = CountingConnector(crm, max_batch_records=3)
        seen: list[tuple[int, int]] = []
        result = push_scores(counting, journal, synthetic_scores(ids), FIELDS, "v1",
                             progress=lambda done, total: seen.append((done, total)))
        assert counting.calls == 3 and result.requests == 3
        assert [d for d, _ in seen] == [3 * len(FIELDS), 6 * len(FIELDS), 8 * len(FIELDS)]

    def test_a_duplicate_push_id_is_refused_before_writing(
        self, crm: LocalCRM, journal: PushJournal, ids: list[str]
    ) -> None:
        push_scores(crm, journal, synthetic_scores(ids[:1]), FIELDS, "v1", push_id="p-same")
        before = crm.requests
        with pytest.raises(JournalError, match="already in journal"):
            push_scores(crm, journal, synthetic_scores(ids, seed=2), FIELDS, "v1", push_id="p-same")
        assert crm.requests == before

    def test_a_transient_error_is_retried_without_double_writes(
        self, crm: LocalCRM, journal: PushJournal, ids: list[str]
    ) -> None:
        class OnceBusy(CountingConnector):
            failed = False

            def write_score_values(self, changes: CheckedChanges) -> WriteReport:
                if not self.failed:
                    self.failed = True
                    raise RetriableCRMError("429 rate limited (simulated)", retry_after=0)
                return super().write_score_values(changes)

        flaky = OnceBusy(crm)
        result = push_scores(flaky, journal, synthetic_scores(ids), FIELDS, "v1")
        assert result.applied == result.planned and len(flaky.sent) == len(set(flaky.sent)) == result.planned

    def test_a_fatal_error_interrupts_with_a_resume_hint(
        self, crm: LocalCRM, journal: PushJournal, ids: list[str]
    ) -> None:
        class Refused(ConnectorWrapper):
            def write_score_values(self, changes: CheckedChanges) -> WriteReport:
                raise FatalCRMError("401 INVALID_SESSION_ID (simulated)")

        with pytest.raises(PushInterruptedError, match=r"stopped after 0 of 1 batches.*--resume p-x") as caught:
            push_scores(Refused(crm), journal, synthetic_scores(ids), FIELDS, "v1", push_id="p-x")
        assert isinstance(caught.value.__cause__, FatalCRMError)
        assert set(journal.entries("p-x")["status"]) == {"pending"}
        with pytest.raises(JournalError, match="p-x against local was interrupted"):
            push_scores(crm, journal, synthetic_scores(ids), FIELDS, "v1")
        assert resume_push(crm, journal, "p-x").applied == 8 * len(FIELDS)

    def test_a_plan_outside_the_score_fields_never_reaches_the_crm(self, crm: LocalCRM) -> None:
        with pytest.raises(ScoreFieldViolation, match="allowed: lead_score"):
            checked_changes(pd.DataFrame({"record_id": ["L0000"], "field": ["owner_id"], "new": ["U2"]}), [TOTAL])
        assert crm.requests == 0


class TestResume:
    def test_a_conflicting_pending_entry_is_skipped_and_reported(
        self, crm: LocalCRM, journal: PushJournal, ids: list[str]
    ) -> None:
        with pytest.raises(PushInterruptedError):
            push_scores(InterruptingConnector(crm, fail_after=1, max_batch_records=4), journal,
                        synthetic_scores(ids), FIELDS, "v1", push_id="p-r")
        theirs = pd.DataFrame({"record_id": [ids[6]], "field": ["lead_score"], "new": [999]})
        crm.write_score_values(checked_changes(theirs, FIELDS))
        result = resume_push(crm, journal, "p-r")
        assert result.skipped == 1 and result.conflicts[["record_id", "field"]].values.tolist() == [[ids[6], "lead_score"]]
        assert "expected None or" in result.conflicts["error"].item() and "found 999.0" in result.conflicts["error"].item()
        assert journal.pending_push_ids() == []
        assert crm.read_score_values([TOTAL], [ids[6]])["lead_score"].item() == 999
        assert result.planned == result.applied + result.failed + result.skipped

    def test_resume_against_another_crm_is_refused(self, crm: LocalCRM, journal: PushJournal, ids: list[str]) -> None:
        push_scores(crm, journal, synthetic_scores(ids), FIELDS, "v1", push_id="p-1")
        other = ConnectorWrapper(crm)
        other.capabilities = Capabilities(name="hubspot", max_batch_records=100)
        with pytest.raises(JournalError, match="made against local, not hubspot"):
            resume_push(other, journal, "p-1")


class TestUndo:
    def test_undo_refuses_an_unfinished_push(self, crm: LocalCRM, journal: PushJournal, ids: list[str]) -> None:
        with pytest.raises(PushInterruptedError):
            push_scores(InterruptingConnector(crm, fail_after=1), journal, synthetic_scores(ids), FIELDS, "v1",
                        push_id="p-u")
        with pytest.raises(JournalError, match="pending entries; finish it with `scorebench push --resume p-u`"):
            undo_push(crm, journal, "p-u")

    def test_dry_run_undo_writes_and_journals_nothing(self, crm: LocalCRM, journal: PushJournal, ids: list[str]) -> None:
        pushed = push_scores(crm, journal, synthetic_scores(ids), FIELDS, "v1")
        values = crm.read_score_values(FIELDS)
        preview = undo_push(crm, journal, str(pushed.push_id), dry_run=True)
        assert preview.push_id is None and preview.planned == pushed.applied and preview.skipped == 0
        assert len(journal.pushes()) == 1
        pdt.assert_frame_equal(crm.read_score_values(FIELDS), values)

    def test_undo_restores_values_that_were_set_before(self, crm: LocalCRM, journal: PushJournal, ids: list[str]) -> None:
        push_scores(crm, journal, synthetic_scores(ids, seed=1), FIELDS, "v1")
        before = crm.read_score_values(FIELDS)
        second = push_scores(crm, journal, synthetic_scores(ids, seed=2, scored_at="2026-02-01T00:00:00Z"), FIELDS, "v2")
        undo = undo_push(crm, journal, str(second.push_id))
        assert undo.applied == second.applied and journal.push_header(str(undo.push_id)).target_push_id == second.push_id
        pdt.assert_frame_equal(crm.read_score_values(FIELDS), before)

    def test_a_push_and_its_undo_never_reuse_a_journaled_id(self, crm: LocalCRM, journal: PushJournal, ids: list[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
        """Pushes started within one second share the time part of their id, and the random part can repeat
        (a shadow run's snapshots on a simulated clock): a generated id the journal holds is drawn again."""
        drawn = iter(["p20261123T144501-aaaa", "p20261123T144501-aaaa", "p20261123T144501-bbbb",
                      "p20261123T144501-aaaa", "p20261123T144501-bbbb", "p20261123T144501-cccc"])
        monkeypatch.setattr(push_module, "new_push_id", lambda: next(drawn))
        first = push_scores(crm, journal, synthetic_scores(ids, seed=1), FIELDS, "v1")
        second = push_scores(crm, journal, synthetic_scores(ids, seed=2, scored_at="2026-02-01T00:00:00Z"), FIELDS, "v2")
        undo = undo_push(crm, journal, str(second.push_id))
        assert (first.push_id, second.push_id, undo.push_id) == (
            "p20261123T144501-aaaa", "p20261123T144501-bbbb", "p20261123T144501-cccc")
        assert undo.applied == second.applied

    def test_unknown_push_id_is_a_journal_error(self, crm: LocalCRM, journal: PushJournal) -> None:
        with pytest.raises(JournalError, match="no push 'p-nope'"):
            undo_push(crm, journal, "p-nope")


def test_push_ids_are_short_and_sort_by_time() -> None:
    early = new_push_id(pd.Timestamp("2026-11-23T14:45:01Z").to_pydatetime())
    late = new_push_id(pd.Timestamp("2026-11-23T16:00:00+01:00").to_pydatetime())
    assert re.fullmatch(r"p20261123T144501-[0-9a-f]{4}", early) and late.startswith("p20261123T150000-")
    assert sorted([late, early]) == [early, late]


def test_pacer_waits_for_the_window_to_free_a_slot() -> None:
    now = [0.0]
    slept: list[float] = []
    pacer = RequestPacer(2, 10.0, clock=lambda: now[0], sleep=slept.append)
    for at in (0.0, 1.0, 2.0):
        now[0] = at
        pacer.wait()
        pacer.count(1)
    assert slept == [8.0]


def test_bulk_capable_crms_get_bulk_sized_batches_above_their_threshold() -> None:
    caps = Capabilities(name="sf", max_batch_records=200, supports_bulk=True, bulk_threshold_records=2000)
    assert caps.records_per_batch(1999) == 200 and caps.records_per_batch(2000) == BULK_BATCH_RECORDS


def test_rollout_all_lists_exactly_the_public_names() -> None:
    import rollout

    public = {
        name for name, value in vars(rollout).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert public == set(rollout.__all__)
    assert set(push_module.__all__) <= set(vars(push_module))
