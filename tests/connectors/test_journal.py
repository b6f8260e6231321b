"""The push journal: exact value round trips, pending-to-resolved transitions, and errors that say what to do."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connectors.errors import JournalError
from connectors.journal import PushHeader, PushJournal
from connectors.local import LocalCRM
from scoring.fields import ScoreField


def header(push_id: str = "p20260101T000000-aaaa", fields: list[ScoreField] | None = None, **kw: object) -> PushHeader:
    """A push header against the local CRM."""
    spec = tuple(fields or [ScoreField("total", "lead_score", "number")])
    return PushHeader(push_id=push_id, kind=kw.pop("kind", "push"), crm=kw.pop("crm", "local"),  # type: ignore[arg-type]
                      model_version="v1", fields=spec, **kw)  # type: ignore[arg-type]


def entries(old: list[object], new: list[object]) -> pd.DataFrame:
    """Changes for records r0, r1, ... of field lead_score."""
    return pd.DataFrame({"record_id": [f"r{i}" for i in range(len(old))], "field": "lead_score",
                         "old": pd.Series(old, dtype=object), "new": pd.Series(new, dtype=object)})


def test_values_come_back_exactly_including_null(journal: PushJournal) -> None:
    """Floats keep every digit, ints stay ints, NaN/None/NA become None, empty text stays empty text."""
    values = [0.1 + 0.2, 12.5, 42, None, np.nan, pd.NA, "", "Ünïcode ✓", np.int64(7), np.float64(1e300), -0.0]
    journal.start_push(header())
    journal.append_entries("p20260101T000000-aaaa", entries(values, list(reversed(values))))
    got = journal.entries("p20260101T000000-aaaa")["old"].tolist()
    assert got[:4] == [0.1 + 0.2, 12.5, 42, None] and got[4] is None and got[5] is None
    assert got[6:10] == ["", "Ünïcode ✓", 7, 1e300]
    assert type(got[2]) is int and type(got[8]) is int and type(got[1]) is float
    assert math.copysign(1.0, got[10]) == -1.0


def test_datetimes_come_back_as_utc_timestamps(journal: PushJournal) -> None:
    journal.start_push(header())
    stamp = pd.Timestamp("2026-05-01T12:00:00.123456+02:00")
    journal.append_entries("p20260101T000000-aaaa", entries([stamp], ["2026-05-01T10:00:00Z"]))
    row = journal.entries("p20260101T000000-aaaa").iloc[0]
    assert row["old"] == stamp and str(row["old"].tz) == "UTC" and row["new"] == "2026-05-01T10:00:00Z"


def test_values_that_cannot_be_journaled_are_refused(journal: PushJournal) -> None:
    journal.start_push(header())
    with pytest.raises(JournalError, match="cannot journal value"):
        journal.append_entries("p20260101T000000-aaaa", entries([[1, 2]], [1]))
    assert journal.entries("p20260101T000000-aaaa").empty


def test_entries_start_pending_and_resolve_once(journal: PushJournal) -> None:
    journal.start_push(header())
    ids = journal.append_entries("p20260101T000000-aaaa", entries([1, 2, 3], [4, 5, 6]))
    assert journal.pending_push_ids() == ["p20260101T000000-aaaa"]
    journal.mark_applied(ids[:1])
    journal.mark_failed(ids[1:2], ["INVALID_VALUE: too big"])
    journal.mark_skipped(ids[2:], ["conflict"])
    got = journal.entries("p20260101T000000-aaaa")
    assert got["status"].tolist() == ["applied", "failed", "skipped"]
    assert got["error"].tolist() == [None, "INVALID_VALUE: too big", "conflict"]
    assert got["applied_at"].notna().tolist() == [True, False, False]
    with pytest.raises(JournalError, match="were not pending"):
        journal.mark_applied(ids[:1])
    journal.finish_push("p20260101T000000-aaaa")
    assert journal.pending_push_ids() == []


def test_entry_ids_follow_on_across_pushes(journal: PushJournal) -> None:
    journal.start_push(header("p1"))
    journal.start_push(header("p2"))
    first = journal.append_entries("p1", entries([1, 2], [3, 4]))
    second = journal.append_entries("p2", entries([1], [3]))
    assert first.tolist() == [1, 2] and second.tolist() == [3]
    assert journal.entries("p2")["record_id"].tolist() == ["r0"]


def test_a_push_with_pending_entries_cannot_finish(journal: PushJournal) -> None:
    journal.start_push(header())
    journal.append_entries("p20260101T000000-aaaa", entries([1], [2]))
    with pytest.raises(JournalError, match="1 pending entries; resume it"):
        journal.finish_push("p20260101T000000-aaaa")


def test_unknown_push_names_the_closest_ids(journal: PushJournal) -> None:
    journal.start_push(header("p20260101T000000-aaaa"))
    with pytest.raises(JournalError, match="did you mean p20260101T000000-aaaa"):
        journal.push_header("p20260101T000000-aaab")


def test_a_push_id_is_used_once(journal: PushJournal) -> None:
    journal.start_push(header())
    with pytest.raises(JournalError, match="already in journal.*use a new push id"):
        journal.start_push(header())


def test_header_keeps_fields_and_target(journal: PushJournal) -> None:
    spec = [ScoreField("total", "lead_score", "number"), ScoreField("scored_at", "scored_at", "datetime")]
    journal.start_push(header("u1", spec, kind="undo", target_push_id="p1"))
    got = journal.push_header("u1")
    assert got.fields == tuple(spec) and got.target_push_id == "p1" and got.kind == "undo"
    assert journal.undo_push_ids("p1") == ["u1"]


def test_pushes_counts_entries_by_status(journal: PushJournal) -> None:
    journal.start_push(header("p1"))
    journal.start_push(header("p2", crm="hubspot"))
    ids = journal.append_entries("p1", entries([1, 2], [3, 4]))
    journal.append_entries("p2", entries([1], [3]))
    journal.mark_applied(ids[:1])
    table = journal.pushes().set_index("push_id")
    assert table.loc["p1", ["entries", "pending", "applied"]].tolist() == [2, 1, 1]
    assert journal.pending_push_ids("hubspot") == ["p2"] and journal.pending_push_ids("local") == ["p1"]


def test_pushes_and_undos_come_back_in_the_order_they_were_started(journal: PushJournal) -> None:
    """Not by created_at or id: the wall clock can step back, and ids minted in one second sort at random."""
    journal.start_push(header("p-b", created_at="2026-11-23T14:45:01.100000Z"))
    journal.start_push(header("p-a", created_at="2026-11-23T14:45:00.900000Z"))  # clock stepped back 0.2 s
    for push_id in ("p-b", "p-a"):
        journal.append_entries(push_id, entries([1], [2]))
    assert journal.pending_push_ids() == ["p-b", "p-a"]
    journal.start_push(header("u-z", kind="undo", target_push_id="p-b"))
    journal.start_push(header("u-y", kind="undo", target_push_id="p-b"))
    assert journal.undo_push_ids("p-b") == ["u-z", "u-y"]


def test_journal_can_share_the_local_crm_file_while_it_is_open(tmp_path: Path) -> None:
    path = tmp_path / "crm.sqlite"
    with LocalCRM(path) as crm, PushJournal(path) as journal:
        journal.start_push(header())
        journal.append_entries("p20260101T000000-aaaa", entries([1], [2]))
        assert crm.read_leads().empty
    with PushJournal(path) as reopened:
        assert len(reopened.entries("p20260101T000000-aaaa")) == 1


def test_journal_file_of_its_own_holds_no_crm_tables(journal: PushJournal) -> None:
    with sqlite3.connect(journal.path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert tables == {"scorebench_pushes", "scorebench_journal"}


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    path.write_text("hello " * 200)
    with pytest.raises(JournalError, match="cannot hold a push journal"):
        PushJournal(path)
