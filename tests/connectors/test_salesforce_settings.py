"""Salesforce settings, mapping file and loopback behaviours: credentials, escaping, expiry, bulk, scrubbing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import vcr as vcrpy

from connectors._salesforce_auth import redacted, settings_from_environment
from connectors._salesforce_mapping import DEFAULT_MAPPING_FILE, load_mapping
from connectors.errors import FatalCRMError, RetriableCRMError
from connectors.guard import checked_changes
from connectors.salesforce import SalesforceCRM
from scoring.errors import SettingsError
from tests.connectors.fake_salesforce import FakeSalesforce
from tests.connectors.test_salesforce_conformance import SALESFORCE_SCORE_FIELDS, connect

HOSTILE = "O'Brien\\' OR Name LIKE '%"


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    server = FakeSalesforce(page_size=2)
    yield server
    server.stop()


def test_missing_credentials_name_every_place_looked() -> None:
    with pytest.raises(SettingsError) as caught:
        SalesforceCRM.from_environment({"SF_USERNAME": "integration@acme.com"})
    text = str(caught.value)
    for name in ("SF_CONSUMER_KEY", "SF_PRIVATE_KEY_FILE", "SF_PASSWORD", "SF_SECURITY_TOKEN", "SF_SESSION_ID",
                 "SF_INSTANCE_URL", "keyring"):
        assert name in text
    assert "JWT bearer (default): needs SF_USERNAME, SF_CONSUMER_KEY" in text


def test_flows_are_chosen_jwt_first_and_secrets_never_print() -> None:
    env = {"SF_USERNAME": "u@acme.com", "SF_CONSUMER_KEY": "key-123456", "SF_PRIVATE_KEY_FILE": "/k.pem",
           "SF_PASSWORD": "hunter2hunter2", "SF_SECURITY_TOKEN": "tok-abcdef", "SF_API_VERSION": "v60.0"}
    settings = settings_from_environment(env)
    assert (settings.flow, settings.api_version, settings.domain) == ("jwt", "60.0", "login")
    assert "key-123456" not in repr(settings)
    del env["SF_CONSUMER_KEY"]
    assert settings_from_environment(env).flow == "password"
    assert settings_from_environment({"SF_SESSION_ID": "00Dx!abc", "SF_INSTANCE_URL": "https://acme.my.salesforce.com"}).flow == "session"


def test_bad_numeric_setting_is_refused_with_its_name() -> None:
    env = {"SF_SESSION_ID": "00Dx!abc", "SF_INSTANCE_URL": "https://acme.my.salesforce.com", "SF_API_USAGE_LIMIT": "most"}
    with pytest.raises(SettingsError, match="SF_API_USAGE_LIMIT='most'"):
        SalesforceCRM.from_environment(env)


def test_redaction_removes_tokens_soql_and_known_secrets() -> None:
    text = ("GET https://acme.my.salesforce.com/services/data/v59.0/query/?q=SELECT+Email+FROM+Lead "
            "Authorization: Bearer 00D5e000001N20Q!ARgAQ.realtoken password=hunter2 my-secret-value")
    out = redacted(text, ("my-secret-value",))
    assert "realtoken" not in out and "hunter2" not in out and "SELECT" not in out and "my-secret-value" not in out


def test_mapping_problems_are_collected_with_file_and_key(tmp_path: Path) -> None:
    text = DEFAULT_MAPPING_FILE.read_text().replace('email = "Email"', 'emial = "Email"', 1)
    text = text.replace('"Meeting Booked" = "meeting"', '"Meeting Booked" = "meet"')
    path = tmp_path / "sf.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_mapping(path)
    assert f"{path}: leads.columns.Lead.emial" in str(caught.value)
    assert f"{path}: outcomes.stages.Meeting Booked" in str(caught.value) and "2 problem(s)" in str(caught.value)


def test_hostile_filter_value_matches_only_the_record_holding_it(fake: FakeSalesforce) -> None:
    """Round trip through the fake's SOQL parser: the escaped literal is one string, not extra SOQL."""
    plain = fake.insert("Lead", {"LeadSource": "Web", "Email": "a@x.com"})
    odd = fake.insert("Lead", {"LeadSource": HOSTILE, "Email": "b@x.com"})
    with connect(fake, lead_filter={"LeadSource": HOSTILE}) as crm:
        assert crm.read_leads()["lead_id"].tolist() == [odd]
    with connect(fake, lead_filter={"LeadSource": "Web"}) as crm:
        assert crm.read_leads()["lead_id"].tolist() == [plain]


def test_expired_given_session_cannot_be_refreshed(fake: FakeSalesforce) -> None:
    with connect(fake) as crm:
        fake.expire_session()
        with pytest.raises(FatalCRMError, match="SF_SESSION_ID has expired") as caught:
            crm.read_leads()
    assert fake.token not in str(caught.value)


def test_429_with_retry_after_is_retried_on_the_loopback(fake: FakeSalesforce) -> None:
    fake.fail_next(429, [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}],
                   {"Retry-After": "0"})
    with connect(fake) as crm:
        assert crm.read_leads().empty
    fake.fail_next(503, times=3)
    with connect(fake) as crm, pytest.raises(RetriableCRMError, match="503"):
        crm.read_accounts()


def test_bulk_path_round_trips_through_the_fake(fake: FakeSalesforce) -> None:
    ids = [fake.insert("Lead", {"Email": f"l{i}@x.com"}) for i in range(4)]
    fields = list(SALESFORCE_SCORE_FIELDS)
    with connect(fake, bulk_threshold=3, bulk_poll_seconds=0.0) as crm:
        crm.ensure_score_fields(fields)
        rows = [(i, "Lead_Score__c", n) for n, i in enumerate(ids)] + [(ids[0], "Score_Band__c", "A"),
                                                                        ("00Q5e0000009999AAA", "Lead_Score__c", 1)]
        report = crm.write_score_values(checked_changes(pd.DataFrame(rows, columns=["record_id", "field", "new"]), fields))
        values = crm.read_score_values(fields[:4:3], ids)
    assert [f.record_id for f in report.failures] == ["00Q5e0000009999AAA"]
    assert values["Lead_Score__c"].tolist() == [0.0, 1.0, 2.0, 3.0] and values["Score_Band__c"].iloc[0] == "A"
    assert any(path.startswith("/services/data/v59.0/jobs/ingest") for _, path in fake.log)


def test_recorded_cassette_holds_no_token(fake: FakeSalesforce, tmp_path: Path) -> None:
    """Record real loopback traffic with the vcr_config filters, then search the file for the session token."""
    from tests.connectors.test_salesforce import _scrub_response

    recorder = vcrpy.VCR(record_mode="all", filter_headers=[("authorization", "REDACTED")],
                         before_record_response=_scrub_response)
    cassette = tmp_path / "recorded.yaml"
    fake.insert("Lead", {"Email": "a@x.com"})
    with recorder.use_cassette(str(cassette)), connect(fake) as crm:
        crm.read_leads()
    text = cassette.read_text()
    assert "a@x.com" in text and fake.token not in text and "REDACTED" in text
