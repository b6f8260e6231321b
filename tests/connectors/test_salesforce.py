"""The Salesforce adapter through the real simple-salesforce client: hand-written vcrpy cassettes of the
documented wire formats (cassettes/salesforce/), replayed with record_mode "none".

Re-record against a real org with `pytest --record-mode=rewrite` and SF_* credentials set; the
vcr_config below scrubs Authorization headers, JWT assertions, passwords and tokens.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from pydantic import SecretStr

from connectors._salesforce_auth import SalesforceSettings, retrying_session
from connectors._salesforce_fields import checked_types
from connectors._salesforce_mapping import SalesforceMapping
from connectors.errors import FatalCRMError, RetriableCRMError
from connectors.guard import checked_changes
from connectors.salesforce import SALESFORCE_CAPABILITIES, SalesforceCRM
from scoring.columns import LEAD_COLUMNS
from scoring.fields import ScoreField

ROOT = Path(__file__).resolve().parents[2]
INSTANCE = "https://acme.my.salesforce.com"
FIELDS = (
    ScoreField("total", "Lead_Score__c", "number"),
    ScoreField("band", "Score_Band__c", "text"),
    ScoreField("scored_at", "Scored_At__c", "datetime"),
)
HOSTILE = "O'Brien\\' OR Name LIKE '%"


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """Tokens out of login answers before a cassette is written."""
    body = response.get("body", {}).get("string")
    if isinstance(body, bytes) and (b"access_token" in body or b"<sessionId>" in body):
        body = re.sub(rb'("access_token"\s*:\s*")[^"]+', rb"\1REDACTED", body)
        body = re.sub(rb'("signature"\s*:\s*")[^"]+', rb"\1REDACTED", body)
        response["body"]["string"] = re.sub(rb"<sessionId>[^<]+", b"<sessionId>REDACTED", body)
    return response


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(ROOT / "cassettes" / "salesforce")


@pytest.fixture
def vcr_config(record_mode: str) -> dict[str, Any]:
    """Replay only, unless --record-mode says otherwise; no credential is ever written to a cassette."""
    return {
        "record_mode": record_mode,
        "filter_headers": [("authorization", "REDACTED"), ("cookie", None), ("set-cookie", None)],
        "filter_post_data_parameters": [("assertion", "REDACTED"), ("password", "REDACTED"),
                                        ("client_secret", "REDACTED")],
        "before_record_response": _scrub_response,
        "decode_compressed_response": True,
    }


def session_crm(sent: list[requests.PreparedRequest] | None = None, retries: int = 2, **options: Any) -> SalesforceCRM:
    """An adapter on a given session (SF_SESSION_ID flow) for https://acme.my.salesforce.com, no retry backoff.

    Requests actually sent are appended to `sent` (in playback, the cassette's own requests are the recorded ones).
    """
    settings = SalesforceSettings("session", session_id=SecretStr("REDACTED-session"), instance_url=INSTANCE)
    return SalesforceCRM(settings, http=_watched(retrying_session(retries=retries, backoff=0.0), sent), **options)


def _watched(http: requests.Session, sent: list[requests.PreparedRequest] | None) -> requests.Session:
    if sent is not None:
        http.hooks["response"].append(lambda r, *a, **k: sent.append(r.request))
    return http


@pytest.fixture
def jwt_environ(tmp_path: Path) -> dict[str, str]:
    """JWT bearer settings as environment variables, with a throwaway RSA key made now."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "server.key"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return {"SF_USERNAME": "integration@acme.com", "SF_CONSUMER_KEY": "3MVG9-test-consumer-key",
            "SF_PRIVATE_KEY_FILE": str(path), "SF_DOMAIN": "login"}


def changes(rows: list[tuple[str, str, object]]) -> Any:
    frame = pd.DataFrame(rows, columns=["record_id", "field", "new"])
    return checked_changes(frame, FIELDS)


@pytest.mark.vcr
@pytest.mark.default_cassette("read_leads_two_pages.yaml")
def test_read_leads_follows_next_records_url_across_two_pages(vcr: Any) -> None:
    with session_crm() as crm:
        leads = crm.read_leads()
    assert vcr.play_count == 2 and vcr.all_played
    assert list(leads.columns) == list(LEAD_COLUMNS)
    assert leads["lead_id"].tolist() == ["00Q5e00000AbCdEEAV", "00Q5e00000AbCdFEAV", "00Q5e00000AbCdGEAV"]
    assert leads["employees"].dtype == "float64" and leads["employees"].isna().tolist() == [False, True, False]
    assert str(leads["created_at"].dt.tz) == "UTC"
    assert leads["created_at"].iloc[1] == pd.Timestamp("2026-01-06T17:40:12Z")
    assert leads["seniority"].isna().all()


@pytest.mark.vcr
@pytest.mark.default_cassette("read_leads_since.yaml")
def test_incremental_read_filters_on_system_modstamp(vcr: Any) -> None:
    with session_crm() as crm:
        leads = crm.read_leads(since=pd.Timestamp("2026-03-01T10:30:00+01:00").to_pydatetime())
    assert vcr.all_played and leads["lead_id"].tolist() == ["00Q5e00000AbCdFEAV"]


@pytest.mark.vcr
@pytest.mark.default_cassette("read_leads_hostile_filter.yaml")
def test_hostile_filter_value_is_sent_as_one_escaped_string(vcr: Any) -> None:
    """The cassette holds the exact escaped query; any other query string would not match and would fail."""
    with session_crm(lead_filter={"LeadSource": HOSTILE}) as crm:
        assert crm.read_leads().empty
    assert vcr.all_played


@pytest.mark.vcr
@pytest.mark.default_cassette("ensure_fields.yaml")
def test_ensure_fields_creates_missing_fields_and_grants_read_edit(vcr: Any) -> None:
    requests_sent: list[requests.PreparedRequest] = []
    with session_crm(requests_sent, permission_set="Scorebench_Integration") as crm:
        plan = crm.ensure_score_fields(FIELDS)
    sent = [(r.method, r.path_url) for r in requests_sent]
    assert vcr.all_played
    assert [f.name for f in plan.to_create] == ["Score_Band__c", "Scored_At__c"]
    assert [f.name for f in plan.existing] == ["Lead_Score__c"]
    assert plan.notes == (
        "created Lead.Score_Band__c (Text(255))",
        "created Lead.Scored_At__c (DateTime)",
        "granted read/edit on Lead.Lead_Score__c, Lead.Score_Band__c, Lead.Scored_At__c to permission set "
        "Scorebench_Integration",
    )
    assert sent.count(("POST", "/services/data/v59.0/tooling/sobjects/CustomField")) == 2


@pytest.mark.vcr
@pytest.mark.default_cassette("ensure_fields.yaml")
def test_ensure_fields_dry_run_only_reads_and_returns_the_plan(vcr: Any) -> None:
    with session_crm(permission_set="Scorebench_Integration") as crm:
        plan = crm.ensure_score_fields(FIELDS, dry_run=True)
    assert vcr.play_count == 3, "a dry run sends the three reads and nothing else"
    assert [f.name for f in plan.to_create] == ["Score_Band__c", "Scored_At__c"]
    assert plan.notes[0] == "would create Lead.Score_Band__c (Text(255))"
    assert plan.notes[-1].startswith("would grant read/edit on Lead.Lead_Score__c")


@pytest.mark.vcr
@pytest.mark.default_cassette("ensure_fields_wrong_type.yaml")
@pytest.mark.parametrize("dry_run", [False, True], ids=["ensure", "dry-run"])
def test_existing_fields_of_the_wrong_type_are_all_refused_before_anything_is_created(
    vcr: Any, dry_run: bool, lead_and_contact: SalesforceMapping,
) -> None:
    """Text where the model writes numbers, Number where it writes datetimes, on Lead and Contact: one error
    names all three, after one FieldDefinition query per object and nothing else."""
    sent: list[requests.PreparedRequest] = []
    with session_crm(sent, permission_set="Scorebench_Integration", mapping=lead_and_contact) as crm:
        with pytest.raises(FatalCRMError) as caught:
            crm.ensure_score_fields(FIELDS, dry_run=dry_run)
    message = str(caught.value)
    assert "Lead.Lead_Score__c exists as Text(255)" in message and "model writes number" in message
    assert "Lead.Scored_At__c exists as Number(18, 0)" in message and "model writes datetime" in message
    assert "Contact.Scored_At__c exists as Number(18, 0)" in message
    assert "needs a Number field" in message and "needs a Date/Time field" in message
    assert "[fields.salesforce]" in message and "Setup" in message and "Score_Band__c" not in message
    queries = [("GET", "/services/data/v59.0/tooling/query/")] * len(lead_and_contact.leads.objects)
    assert [(r.method, r.path_url.split("?")[0]) for r in sent] == queries
    assert not [r for r in sent if r.method in ("POST", "PATCH", "PUT")]
    assert vcr.all_played
    assert [(r.method, r.path) for r in vcr.requests] == queries, (
        "the cassette holds a create, grant or write request after the check")


def _definition(name: str, data_type: str, value_type: str, calculated: bool = False) -> dict[str, Any]:
    """A Tooling FieldDefinition row of a field as existing_fields returns it (the object is in its key)."""
    return {"attributes": {"type": "FieldDefinition"}, "QualifiedApiName": name, "DataType": data_type,
            "ValueTypeId": value_type, "IsCalculated": calculated}


@pytest.mark.parametrize(("field", "data_type", "value_type"), [
    (FIELDS[0], "Number(18, 2)", "double"),
    (FIELDS[1], "Long Text Area(32768)", "string"),
    (FIELDS[1], "Text Area(255)", "string"),
    (FIELDS[2], "Date/Time", "datetime"),
])
def test_existing_field_of_a_fitting_type_is_accepted_whatever_its_size(
    field: ScoreField, data_type: str, value_type: str,
) -> None:
    found = {("Lead", field.name.lower()): _definition(field.name, data_type, value_type)}
    checked_types(found, FIELDS)


@pytest.mark.parametrize(("field", "data_type", "value_type", "calculated", "found"), [
    (FIELDS[0], "Formula (Number)", "double", True, "Formula (Number) (a formula field)"),
    (FIELDS[1], "Checkbox", "boolean", False, "Checkbox (value type boolean)"),
    (FIELDS[2], "Date", "date", False, "Date (value type date)"),
])
def test_formula_or_other_value_type_is_refused(
    field: ScoreField, data_type: str, value_type: str, calculated: bool, found: str,
) -> None:
    rows = {("Lead", field.name.lower()): _definition(field.name, data_type, value_type, calculated)}
    with pytest.raises(FatalCRMError, match=re.escape(f"Lead.{field.name} exists as {found}")):
        checked_types(rows, FIELDS)


@pytest.mark.vcr
@pytest.mark.default_cassette("write_two_batches.yaml")
def test_write_of_250_records_sends_two_collection_requests(vcr: Any) -> None:
    ids = [f"00Q5e00000B{i:05d}AAA" for i in range(250)]
    sent: list[requests.PreparedRequest] = []
    with session_crm(sent) as crm:
        report = crm.write_score_values(changes([(i, "Lead_Score__c", 42) for i in ids]))
        assert crm.requests == 2
    assert (report.requests, report.records_written, report.fields_written, report.failures) == (2, 250, 250, ())
    bodies = [json.loads(r.body or b"") for r in sent]
    assert [len(b["records"]) for b in bodies] == [200, 50] and all(b["allOrNone"] is False for b in bodies)
    assert bodies[0]["records"][0] == {"attributes": {"type": "Lead"}, "id": ids[0], "Lead_Score__c": 42}


def test_unchanged_records_cost_no_request() -> None:
    with session_crm() as crm:
        report = crm.write_score_values(changes([]))
    assert report.requests == 0 and crm.api_calls == 0


@pytest.mark.vcr
@pytest.mark.default_cassette("write_partial_failure.yaml")
def test_partial_failure_names_record_field_and_status_code(vcr: Any) -> None:
    rows = [("00Q5e00000AbCdEEAV", "Lead_Score__c", 10), ("00Qbroken", "Lead_Score__c", 11),
            ("00Q5e00000AbCdGEAV", "Lead_Score__c", 12), ("00Q5e00000AbCdGEAV", "Score_Band__c", "A" * 300)]
    with session_crm() as crm:
        report = crm.write_score_values(changes(rows))
    assert (report.records_written, report.fields_written) == (1, 1)
    got = [(f.record_id, f.field, f.status_code) for f in report.failures]
    assert got == [("00Qbroken", None, "MALFORMED_ID"), ("00Q5e00000AbCdGEAV", "Lead_Score__c", "STRING_TOO_LONG"),
                   ("00Q5e00000AbCdGEAV", "Score_Band__c", "STRING_TOO_LONG")]
    assert report.failures[1].message.startswith("record not saved: STRING_TOO_LONG")
    assert "[Score_Band__c]" in report.failures[2].message


@pytest.mark.vcr
@pytest.mark.default_cassette("write_429_then_success.yaml")
def test_429_is_retried_by_the_session_after_retry_after(vcr: Any) -> None:
    started = time.monotonic()
    with session_crm() as crm:
        report = crm.write_score_values(changes([("00Q5e00000AbCdEEAV", "Lead_Score__c", 42)]))
    assert vcr.play_count == 2 and report.failures == () and report.requests == 1
    assert time.monotonic() - started >= 1.0, "Retry-After: 1 was not honoured"


@pytest.mark.vcr
@pytest.mark.default_cassette("write_503_exhausted.yaml")
def test_503_after_every_retry_is_retriable_and_names_the_record(vcr: Any) -> None:
    with session_crm() as crm, pytest.raises(RetriableCRMError, match="00Q5e00000AbCdEEAV.*HTTP 503.*SERVER_UNAVAILABLE"):
        crm.write_score_values(changes([("00Q5e00000AbCdEEAV", "Lead_Score__c", 42)]))
    assert vcr.play_count == 3


def _query(crm: SalesforceCRM) -> object:
    return crm.read_leads()


def _tooling(crm: SalesforceCRM) -> object:
    return crm.ensure_score_fields(FIELDS[:1], dry_run=True)


def _composite(crm: SalesforceCRM) -> object:
    return crm.write_score_values(changes([("00Q5e00000AbCdEEAV", "Lead_Score__c", 42)]))


def _bulk(crm: SalesforceCRM) -> object:
    rows = [(f"00Q5e00000AbCd{c}EAV", "Lead_Score__c", 1) for c in "EFG"]
    return crm.write_score_values(changes(rows))


@pytest.mark.vcr
@pytest.mark.parametrize("call", [
    pytest.param(call, id=path, marks=pytest.mark.default_cassette(f"expired_session_{path}.yaml"))
    for path, call in (("query", _query), ("tooling", _tooling), ("composite", _composite), ("bulk", _bulk))
])
def test_expired_session_is_refreshed_once_on_every_path(
    call: Callable[[SalesforceCRM], object], jwt_environ: dict[str, str], vcr: Any,
) -> None:
    sent: list[requests.PreparedRequest] = []
    http = _watched(retrying_session(retries=0, backoff=0.0), sent)
    with SalesforceCRM.from_environment(jwt_environ, http=http, bulk_threshold=3, bulk_poll_seconds=0.0) as crm:
        call(crm)
        assert crm.session_refreshes == 1
    assert vcr.all_played
    logins = [r for r in sent if r.path_url == "/services/oauth2/token"]
    assert len(logins) == 2 and all("assertion=" in str(r.body) for r in logins)
    assert sent[-1].headers["Authorization"] == "Bearer REDACTED"


@pytest.mark.vcr
@pytest.mark.default_cassette("expired_session_twice.yaml")
def test_session_expiring_again_after_refresh_is_fatal_without_a_loop(vcr: Any, jwt_environ: dict[str, str]) -> None:
    with SalesforceCRM.from_environment(jwt_environ, http=retrying_session(retries=0)) as crm:
        with pytest.raises(FatalCRMError, match="INVALID_SESSION_ID") as caught:
            crm.read_leads()
    assert vcr.all_played and vcr.play_count == 4
    assert "3MVG9-test-consumer-key" not in str(caught.value) and "q=<redacted>" in str(caught.value)


@pytest.mark.vcr
@pytest.mark.default_cassette("bulk_job.yaml")
def test_bulk_job_uploads_a_fixed_column_csv_and_reports_failed_records(vcr: Any) -> None:
    sent: list[requests.PreparedRequest] = []
    http = retrying_session(retries=0)
    http.hooks["response"].append(lambda r, *a, **k: sent.append(r.request))
    crm = SalesforceCRM(SalesforceSettings("session", session_id=SecretStr("REDACTED-session"), instance_url=INSTANCE),
                        http=http, bulk_threshold=3, bulk_poll_seconds=0.0)
    rows = [("00Q5e00000AbCdEEAV", "Score_Band__c", "A, \"quoted\""), ("00Q5e00000AbCdEEAV", "Lead_Score__c", 10),
            ("00Q5e00000AbCdFEAV", "Lead_Score__c", None), ("00Q5e00000AbCdZZZZ", "Lead_Score__c", 12)]
    with crm:
        report = crm.write_score_values(changes(rows))
    assert vcr.all_played and report.requests == 6
    upload = next(r for r in sent if r.method == "PUT")
    assert upload.body == (b'Id,Lead_Score__c,Score_Band__c\n00Q5e00000AbCdEEAV,10,"A, ""quoted"""\n'
                           b"00Q5e00000AbCdFEAV,#N/A,\n00Q5e00000AbCdZZZZ,12,\n")
    assert [(f.record_id, f.field, f.status_code) for f in report.failures] == [("00Q5e00000AbCdZZZZ", None, "MALFORMED_ID")]
    assert (report.records_written, report.fields_written) == (2, 3)


@pytest.mark.vcr
@pytest.mark.default_cassette("usage_limit.yaml")
def test_calls_stop_before_the_daily_allocation_share_is_spent(vcr: Any) -> None:
    with session_crm() as crm:
        crm.read_leads()
        assert crm.capabilities.requests_per_window == 15_000
        with pytest.raises(FatalCRMError, match="13600 of its 15000 daily API requests"):
            crm.read_leads()
    assert vcr.play_count == 1


def test_capabilities_declare_collection_and_bulk_limits() -> None:
    caps = SALESFORCE_CAPABILITIES
    assert (caps.max_batch_records, caps.supports_bulk, caps.bulk_threshold_records) == (200, True, 10_000)
    assert caps.records_per_batch(199) == 200 and caps.records_per_batch(10_000) > 200
