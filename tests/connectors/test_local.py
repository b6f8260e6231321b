"""The local CRM: loading canonical frames atomically, UTC round trips, score fields as columns, cell-level writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from connectors.errors import FatalCRMError, RetriableCRMError, ScoreFieldViolation
from connectors.guard import checked_changes
from connectors.local import LocalCRM
from scoring.errors import InputDataError, SettingsError
from scoring.fields import ScoreField

Frames = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]


def changes(rows: list[tuple[str, str, object]]) -> pd.DataFrame:
    """A changes frame from (record_id, field, new) tuples."""
    return pd.DataFrame(rows, columns=["record_id", "field", "new"])


def test_load_funnel_round_trips_every_frame(tmp_path: Path, frames: Callable[..., Frames]) -> None:
    leads, accounts, events, outcomes = frames()
    with LocalCRM(tmp_path / "crm.sqlite") as crm:
        crm.load_funnel(leads, accounts, events, outcomes)
        got = crm.read_leads()
        pdt.assert_series_equal(got["lead_id"], leads["lead_id"].astype("str"))
        pdt.assert_series_equal(got["employees"], leads["employees"])
        pdt.assert_series_equal(got["created_at"], leads["created_at"].astype("datetime64[us, UTC]"))
        assert got["campaign"].isna().all()
        pdt.assert_frame_equal(crm.read_accounts(), accounts.astype({"industry": "str", "country": "str",
                                                                      "segment": "str"}))
        pdt.assert_series_equal(crm.read_events()["value"], events["value"])
        pdt.assert_series_equal(crm.read_outcomes()["at"], outcomes["at"].astype("datetime64[us, UTC]"))


def test_random_funnel_with_missing_values_loads(tmp_path: Path, funnel: Callable[..., tuple[pd.DataFrame, pd.DataFrame]]) -> None:
    leads, events = funnel(7, n_leads=300)
    with LocalCRM(tmp_path / "crm.sqlite") as crm:
        crm.load_funnel(leads, events=events)
        got = crm.read_leads()
        assert len(got) == 300 and len(crm.read_events()) == len(events)
        pdt.assert_series_equal(got["account_id"].isna(), leads["account_id"].isna())
        pdt.assert_series_equal(got["annual_revenue"], leads["annual_revenue"].astype("float64"))


def test_naive_datetimes_are_utc_and_aware_ones_are_converted(tmp_path: Path, frames: Callable[..., Frames]) -> None:
    leads, *_ = frames(2)
    leads["created_at"] = [pd.Timestamp("2026-03-01 10:00"), pd.Timestamp("2026-03-01 10:00", tz="Europe/Berlin")]
    with LocalCRM(tmp_path / "crm.sqlite") as crm:
        crm.load_funnel(leads)
        got = crm.read_leads()["created_at"].tolist()
    assert got == [pd.Timestamp("2026-03-01 10:00", tz="UTC"), pd.Timestamp("2026-03-01 09:00", tz="UTC")]


def test_since_keeps_rows_at_or_after_the_instant(crm: LocalCRM) -> None:
    events = crm.read_events()
    cut = events["at"].iloc[3]
    assert crm.read_events(since=cut.tz_convert("Asia/Tokyo"))["at"].tolist() == events["at"].iloc[3:].tolist()
    assert len(crm.read_leads(since=crm.read_leads()["created_at"].iloc[-1])) == 1


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda leads, events: (pd.concat([leads, leads.iloc[:2]]), events), "2 duplicate lead_id values"),
        (lambda leads, events: (leads.drop(columns=["email", "segment"]), events), "missing column(s) email, segment"),
        (lambda leads, events: (leads, events.assign(lead_id="L9999")), "name leads that are not loaded"),
        (lambda leads, events: (leads.assign(employees="many"), events), "employees values are not numbers"),
        (lambda leads, events: (leads, events.assign(at="yesterday")), "at values are not ISO-8601"),
    ],
)
def test_bad_frames_raise_and_write_nothing(
    tmp_path: Path, frames: Callable[..., Frames], breakage: Callable[..., tuple[pd.DataFrame, pd.DataFrame]],
    message: str,
) -> None:
    leads, accounts, events, _ = frames()
    leads, events = breakage(leads, events)
    with LocalCRM(tmp_path / "crm.sqlite") as crm:
        with pytest.raises(InputDataError, match=message.replace("(", r"\(").replace(")", r"\)")):
            crm.load_funnel(leads, accounts, events)
        assert crm.read_leads().empty and crm.read_accounts().empty and crm.read_events().empty


def test_a_failing_insert_rolls_back_the_whole_load(tmp_path: Path, frames: Callable[..., Frames]) -> None:
    leads, accounts, events, outcomes = frames()
    with LocalCRM(tmp_path / "crm.sqlite") as crm:
        crm._conn.execute("CREATE TRIGGER boom BEFORE INSERT ON outcomes BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        with pytest.raises(FatalCRMError, match="disk full"):
            crm.load_funnel(leads, accounts, events, outcomes)
        assert crm.read_leads().empty and crm.read_events().empty


def test_loading_a_lead_twice_is_refused(crm: LocalCRM, frames: Callable[..., Frames]) -> None:
    leads, *_ = frames()
    with pytest.raises(InputDataError, match="already in .*load only new records"):
        crm.load_funnel(leads.iloc[:1])


def test_unknown_outcome_stage_is_refused(tmp_path: Path, frames: Callable[..., Frames]) -> None:
    leads, _, _, outcomes = frames()
    with LocalCRM(tmp_path / "crm.sqlite") as crm, pytest.raises(InputDataError, match="unknown stage.*use one of"):
        crm.load_funnel(leads, outcomes=outcomes.assign(stage="signed"))


def test_ensure_score_fields_adds_typed_columns_once(crm: LocalCRM, fields: list[ScoreField]) -> None:
    plan = crm.ensure_score_fields(fields)
    assert [f.name for f in plan.to_create] == [f.name for f in fields] and plan.existing == ()
    assert crm.ensure_score_fields(fields[:2]).to_create == ()
    values = crm.read_score_values(fields)
    assert values.dtypes["lead_score"] == "float64" and values.dtypes["score_band"] == "str"
    assert values[["lead_score", "score_band"]].isna().all().all()


def test_dry_run_ensure_creates_nothing(crm: LocalCRM, fields: list[ScoreField]) -> None:
    crm.ensure_score_fields(fields, dry_run=True)
    with pytest.raises(FatalCRMError, match="do not exist.*ensure_score_fields"):
        crm.read_score_values(fields)


@pytest.mark.parametrize(
    ("field", "error", "message"),
    [
        (ScoreField("total", "lead score", "number"), SettingsError, "letters, digits and underscores"),
        (ScoreField("total", 'x"; DROP TABLE leads; --', "number"), SettingsError, "not valid in the local CRM"),
        (ScoreField("total", "Email", "number"), ScoreFieldViolation, "standard lead field"),
        (ScoreField("total", "lead_score", "text"), SettingsError, "it must be number"),
    ],
)
def test_unusable_field_names_are_refused(
    crm: LocalCRM, field: ScoreField, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        crm.ensure_score_fields([field])


def test_existing_field_of_another_kind_is_fatal(crm: LocalCRM) -> None:
    crm.ensure_score_fields([ScoreField("band", "x_score", "text")])
    with pytest.raises(FatalCRMError, match="exists .* as text, but the model writes number"):
        crm.ensure_score_fields([ScoreField("total", "x_score", "number")])


def test_write_touches_only_changed_cells(crm: LocalCRM, fields: list[ScoreField]) -> None:
    """An UPDATE trigger (the outside world's audit log) sees no update for values already in place."""
    crm.ensure_score_fields(fields)
    crm._conn.executescript(
        "CREATE TABLE audit (lead_id TEXT); "
        "CREATE TRIGGER audited AFTER UPDATE ON leads BEGIN INSERT INTO audit VALUES (new.lead_id); END;"
    )
    first = changes([("L0000", "lead_score", 40), ("L0001", "lead_score", 50), ("L0000", "score_band", "A")])
    report = crm.write_score_values(checked_changes(first, fields))
    assert (report.records_written, report.fields_written, report.requests) == (2, 3, 1)
    audited = crm._conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
    again = changes([("L0000", "lead_score", 40.0), ("L0001", "lead_score", 51), ("L0000", "score_band", "A")])
    crm.write_score_values(checked_changes(again, fields))
    assert crm._conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == audited + 1
    assert crm.requests == 2


def test_empty_write_costs_no_request(crm: LocalCRM, fields: list[ScoreField]) -> None:
    crm.ensure_score_fields(fields)
    report = crm.write_score_values(checked_changes(changes([]), fields))
    assert report.requests == 0 and crm.requests == 0


def test_refusals_come_back_as_failures(crm: LocalCRM, fields: list[ScoreField]) -> None:
    crm.ensure_score_fields(fields)
    bad = changes([("L0000", "lead_score", "high"), ("nobody", "lead_score", 1), ("L0001", "score_band", 7),
                   ("L0002", "scored_at", "soon"), ("L0003", "lead_score", 12.5)])
    report = crm.write_score_values(checked_changes(bad, fields))
    codes = {(f.record_id, f.field): f.status_code for f in report.failures}
    assert codes == {("nobody", None): "NOT_FOUND", ("L0000", "lead_score"): "INVALID_VALUE",
                     ("L0001", "score_band"): "INVALID_VALUE", ("L0002", "scored_at"): "INVALID_VALUE"}
    assert report.fields_written == 1
    values = crm.read_score_values(fields[:1]).set_index("record_id")["lead_score"]
    assert values["L0003"] == 12.5 and np.isnan(values["L0000"])


def test_datetimes_are_stored_as_utc_iso_text(crm: LocalCRM, fields: list[ScoreField]) -> None:
    crm.ensure_score_fields(fields)
    stamps = changes([("L0000", "scored_at", "2026-05-01T12:00:00+02:00"),
                      ("L0001", "scored_at", pd.Timestamp("2026-05-01T10:00:00.250Z"))])
    crm.write_score_values(checked_changes(stamps, fields))
    got = crm.read_score_values([fields[-1]], ["L0000", "L0001"])["scored_at"].tolist()
    assert got == ["2026-05-01T10:00:00Z", "2026-05-01T10:00:00.250000Z"]


def test_raw_frames_are_refused_before_anything_is_written(crm: LocalCRM, fields: list[ScoreField]) -> None:
    crm.ensure_score_fields(fields)
    with pytest.raises(ScoreFieldViolation, match="checked_changes"):
        crm.write_score_values(changes([("L0000", "email", "x@y")]))  # type: ignore[arg-type]
    assert crm.requests == 0 and crm.read_leads()["email"].iloc[0] == "lead0@example.com"


def test_oversized_batch_is_refused(tmp_path: Path, fields: list[ScoreField]) -> None:
    with LocalCRM(tmp_path / "crm.sqlite") as crm:
        crm.capabilities = type(crm.capabilities)(name="local", max_batch_records=2)
        crm.ensure_score_fields(fields)
        many = changes([(f"L{i}", "lead_score", i) for i in range(3)])
        with pytest.raises(FatalCRMError, match="exceeds the local CRM's batch of 2"):
            crm.write_score_values(checked_changes(many, fields))


def test_read_score_values_keeps_only_known_ids_in_load_order(crm: LocalCRM, fields: list[ScoreField]) -> None:
    crm.ensure_score_fields(fields)
    got = crm.read_score_values(fields[:1], ["L0003", "ghost", "L0001", "L0003"])
    assert got["record_id"].tolist() == ["L0001", "L0003"]


def test_a_locked_database_is_retriable(tmp_path: Path, fields: list[ScoreField], frames: Callable[..., Frames]) -> None:
    path = tmp_path / "crm.sqlite"
    with LocalCRM(path, busy_timeout=0.05) as crm:
        crm.load_funnel(*frames())
        crm.ensure_score_fields(fields)
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(RetriableCRMError, match="busy"):
                crm.write_score_values(checked_changes(changes([("L0000", "lead_score", 1)]), fields))
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert crm.write_score_values(checked_changes(changes([("L0000", "lead_score", 1)]), fields)).failures == ()


def test_a_file_that_is_not_a_crm_is_fatal(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database " * 100)
    with pytest.raises(FatalCRMError, match="is not a local CRM file"):
        LocalCRM(path)
