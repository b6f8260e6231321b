"""HubSpot adapter through the real hubspot-api-client: hand-written cassettes (cassettes/hubspot) and a loopback fake.

Cassettes replay with record mode "none". To re-record against a real portal, put a private-app
token in the keyring (`keyring set scorebench HUBSPOT_ACCESS_TOKEN`; the test environment is
scrubbed of HUBSPOT_* variables) and run `pytest tests/connectors/test_hubspot.py --record-mode=rewrite`:
the Authorization header is filtered before anything is written.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keyring
import keyring.backends.null
import pandas as pd
import pytest
import vcr as vcrpy
from urllib3.util.retry import Retry

from connectors._hubspot_http import Transport
from connectors.credentials import KEYRING_SERVICE
from connectors.errors import FatalCRMError, RetriableCRMError
from connectors.guard import checked_changes
from connectors.hubspot import HUBSPOT_CAPABILITIES, TOKEN_ENV, HubSpotCRM
from connectors.pacing import RequestPacer
from scoring.errors import SettingsError
from scoring.fields import ScoreField
from tests.connectors.fake_hubspot import FakeHubSpot

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "hubspot"
PLACEHOLDER_TOKEN = "pat-cassette-placeholder"  # not token-shaped on purpose (the cassette scan)
LEAD_SCORE = ScoreField("total", "lead_score", "number", "Lead score")
BAND = ScoreField("band", "score_band", "text", "Score band")


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    """Scrub credentials; match POST bodies as JSON so the requests the adapter builds are checked too."""
    return {
        "filter_headers": ["authorization"],
        "match_on": ["method", "scheme", "host", "port", "path", "query", "body"],
    }


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """The OS keyring is outside world: replace it with an empty one."""
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.null.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def crm(record_mode: str) -> Iterator[HubSpotCRM]:
    """A connector for the real host; the placeholder token on replay, the keyring's when re-recording."""
    token = PLACEHOLDER_TOKEN
    if record_mode != "none":
        token = keyring.get_password(KEYRING_SERVICE, TOKEN_ENV) or pytest.fail("re-recording needs a keyring token")
    with HubSpotCRM(token, retry=Retry(total=3, status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None,
                                       backoff_factor=0)) as connector:
        yield connector


@pytest.fixture
def fake() -> Iterator[FakeHubSpot]:
    with FakeHubSpot() as server:
        yield server


def _fast_retry(total: int = 3) -> Retry:
    return Retry(total=total, status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None, backoff_factor=0)


# -- cassettes -------------------------------------------------------------------------------------

@pytest.mark.vcr
def test_paginated_read_follows_paging_after(crm: HubSpotCRM, vcr: Any) -> None:
    leads = crm.read_leads()
    assert leads["lead_id"].tolist() == ["51", "52", "53"]
    assert leads["account_id"].tolist()[:2] == ["9001", "9002"], "property first, else the associated company"
    assert pd.isna(leads["account_id"].iloc[2])
    assert leads.loc[2, "annual_revenue"] == 5e6 and leads.loc[2, "owner_id"] == "77"
    assert str(leads["created_at"].dt.tz) == "UTC" and leads.loc[1, "created_at"] == pd.Timestamp("2026-01-02T09:30Z")
    assert vcr.all_played and crm.requests_by_kind == {"list": 2}
    assert crm.rate_limit.daily_remaining == 249120


@pytest.mark.vcr
def test_incremental_read_restarts_search_window_at_cap(crm: HubSpotCRM, vcr: Any) -> None:
    """Past 10,000 results the search restarts without `after`, filtering hs_object_id GT the last id seen."""
    leads = crm.read_leads(since=datetime(2026, 1, 1, tzinfo=UTC))
    assert leads["lead_id"].tolist() == ["101", "102", "103", "104"]
    assert vcr.all_played and crm.requests_by_kind == {"search": 3}


@pytest.mark.vcr
def test_ensure_fields_dry_run_only_reads(crm: HubSpotCRM, vcr: Any) -> None:
    plan = crm.ensure_score_fields([LEAD_SCORE, BAND], dry_run=True)
    assert plan.to_create == (LEAD_SCORE,) and plan.existing == (BAND,)
    assert vcr.all_played and crm.requests_by_kind == {"property": 2}


@pytest.mark.vcr
def test_ensure_fields_creates_group_then_missing_property(crm: HubSpotCRM, vcr: Any) -> None:
    plan = crm.ensure_score_fields([LEAD_SCORE, BAND])
    assert plan.to_create == (LEAD_SCORE,) and plan.existing == (BAND,)
    assert vcr.all_played and crm.requests_by_kind == {"property": 3, "group": 2}


@pytest.mark.vcr
def test_batch_update_sends_one_request_per_100_records(crm: HubSpotCRM, vcr: Any) -> None:
    ids = [str(i) for i in range(1001, 1151)]
    changes = pd.DataFrame({"record_id": ids, "field": "lead_score", "new": [int(i) % 90 for i in ids]})
    report = crm.write_score_values(checked_changes(changes, [LEAD_SCORE]))
    assert (report.requests, report.records_written, report.fields_written, report.failures) == (2, 150, 150, ())
    assert vcr.all_played and crm.requests_by_kind == {"batch_update": 2}


@pytest.mark.vcr
def test_batch_update_multi_status_fails_only_the_missing_record(crm: HubSpotCRM, vcr: Any) -> None:
    changes = pd.DataFrame({"record_id": ["51", "999", "52"], "field": "lead_score", "new": [51, 9, 52]})
    report = crm.write_score_values(checked_changes(changes, [LEAD_SCORE]))
    assert (report.requests, report.records_written, report.fields_written) == (1, 2, 2)
    (failure,) = report.failures
    assert (failure.record_id, failure.field, failure.status_code) == ("999", None, "OBJECT_NOT_FOUND")
    assert "Could not get some CONTACT objects" in failure.message
    assert vcr.all_played


@pytest.mark.vcr
def test_rate_limited_batch_is_retried_after_retry_after(crm: HubSpotCRM, vcr: Any) -> None:
    changes = pd.DataFrame({"record_id": ["51", "52"], "field": "lead_score", "new": [51, 52]})
    report = crm.write_score_values(checked_changes(changes, [LEAD_SCORE]))
    assert (report.requests, report.records_written, report.failures) == (1, 2, ())
    assert vcr.play_count == 2 and vcr.all_played, "the 429 and the retry both went out"


@pytest.mark.vcr
def test_rejected_token_is_a_fatal_error_naming_where_to_fix_it(crm: HubSpotCRM, vcr: Any) -> None:
    with pytest.raises(FatalCRMError, match="401 INVALID_AUTHENTICATION.*HUBSPOT_ACCESS_TOKEN") as caught:
        crm.read_accounts()
    assert PLACEHOLDER_TOKEN not in str(caught.value) and caught.value.__cause__ is None


def test_cassettes_hold_no_credentials() -> None:
    files = sorted(CASSETTES.glob("*.yaml"))
    assert len(files) >= 8
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "pat-" not in text and "Bearer" not in text and "authorization" not in text.lower(), path.name


def test_recording_scrubs_the_token(fake: FakeHubSpot, tmp_path: Path) -> None:
    """Record real traffic (to the loopback fake) with our vcr_config's filter, then search the file for the token."""
    fake.add("contacts", {"email": "a@x.test"})
    cassette = tmp_path / "recorded.yaml"
    with vcrpy.use_cassette(str(cassette), record_mode="all", filter_headers=["authorization"]):
        with HubSpotCRM(fake.token, host=fake.url) as connector:
            assert len(connector.read_leads()) == 1
    text = cassette.read_text(encoding="utf-8")
    assert "crm/v3/objects/contacts" in text and fake.token not in text and "Bearer" not in text


# -- settings and secrets ---------------------------------------------------------------------------

def test_missing_token_names_every_place_looked(no_keyring: None) -> None:
    with pytest.raises(SettingsError) as caught:
        HubSpotCRM.from_environment(environ={})
    text = str(caught.value)
    assert "environment variable HUBSPOT_ACCESS_TOKEN" in text and "keyring" in text and "'scorebench'" in text


def test_from_environment_reads_token_host_and_limits(fake: FakeHubSpot, no_keyring: None) -> None:
    environ = {TOKEN_ENV: fake.token, "HUBSPOT_HOST": fake.url, "HUBSPOT_REQUESTS_PER_WINDOW": "190"}
    with HubSpotCRM.from_environment(environ=environ) as connector:
        assert connector.capabilities.requests_per_window == 190 and connector.capabilities.max_batch_records == 100
        assert connector.read_leads().empty
        assert fake.token not in repr(connector) and fake.token not in str(vars(connector))


def test_token_comes_from_the_keyring_when_the_environment_lacks_it(fake: FakeHubSpot, no_keyring: None,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring, "get_password", lambda service, user: fake.token if user == TOKEN_ENV else None)
    with HubSpotCRM.from_environment(environ={"HUBSPOT_HOST": fake.url}) as connector:
        assert connector.read_accounts().empty


def test_bad_numeric_setting_is_a_settings_error(no_keyring: None) -> None:
    with pytest.raises(SettingsError, match="HUBSPOT_REQUESTS_PER_WINDOW='many'"):
        HubSpotCRM.from_environment(environ={TOKEN_ENV: "pat-x", "HUBSPOT_REQUESTS_PER_WINDOW": "many"})


def test_capabilities_are_hubspots_batch_and_window() -> None:
    assert (HUBSPOT_CAPABILITIES.max_batch_records, HUBSPOT_CAPABILITIES.requests_per_window,
            HUBSPOT_CAPABILITIES.window_seconds) == (100, 100, 10.0)


def test_mapping_problems_name_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "mapping.toml"
    bad.write_text('[leads]\nemial = "email"\ntitle = "Job Title"\n[accounts]\n[outcomes]\nwin = "x"\n')
    with pytest.raises(SettingsError) as caught:
        HubSpotCRM("pat-x", mapping_path=bad)
    text = str(caught.value)
    assert f"{bad}: leads.emial: unknown key" in text and "did you mean email" in text
    assert "leads.title: 'Job Title' is not a HubSpot internal name" in text and "outcomes.win" in text


# -- faults, limits and counts against the loopback fake -------------------------------------------

def _seeded(fake: FakeHubSpot, n: int) -> list[str]:
    fake.define_property("contacts", "lead_score", "number", hubspot_defined=False)
    return [fake.add("contacts", {"email": f"p{i}@x.test"}) for i in range(n)]


def test_writes_cost_ceil_changed_over_100_requests_and_none_when_unchanged(fake: FakeHubSpot) -> None:
    ids = _seeded(fake, 250)
    with HubSpotCRM(fake.token, host=fake.url) as connector:
        for n, expected in ((0, 0), (1, 1), (100, 1), (101, 2), (250, 3)):
            before = connector.requests_by_kind["batch_update"]
            changes = pd.DataFrame({"record_id": ids[:n], "field": "lead_score", "new": list(range(n))})
            report = connector.write_score_values(checked_changes(changes, [LEAD_SCORE]))
            sent = connector.requests_by_kind["batch_update"] - before
            assert report.requests == sent == expected == math.ceil(n / 100)
        assert connector.read_score_values([LEAD_SCORE], ids[:3])["lead_score"].tolist() == [0.0, 1.0, 2.0]


def test_dropped_connection_on_search_is_retried(fake: FakeHubSpot) -> None:
    _seeded(fake, 3)
    fake.drop_next()
    with HubSpotCRM(fake.token, host=fake.url, retry=_fast_retry()) as connector:
        assert len(connector.read_leads(since=datetime(2000, 1, 1, tzinfo=UTC))) == 3
        assert connector.requests_by_kind == {"search": 1}
    assert fake.paths("POST").count("/crm/v3/objects/contacts/search") == 2


def test_exhausted_retries_raise_retriable_error(fake: FakeHubSpot) -> None:
    ids = _seeded(fake, 2)
    fake.fail_next(503, times=5)
    with HubSpotCRM(fake.token, host=fake.url, retry=_fast_retry(2)) as connector:
        changes = pd.DataFrame({"record_id": ids, "field": "lead_score", "new": [1, 2]})
        with pytest.raises(RetriableCRMError, match=r"updating score fields of contacts .*no answer after retries"):
            connector.write_score_values(checked_changes(changes, [LEAD_SCORE]))
    assert len(fake.paths("POST")) == 3


def test_search_windows_never_drop_records_past_the_cap(fake: FakeHubSpot) -> None:
    _seeded(fake, 23)
    fake.search_cap = 10
    with HubSpotCRM(fake.token, host=fake.url, search_result_cap=10, search_page_size=4) as connector:
        leads = connector.read_leads(since=datetime(2000, 1, 1, tzinfo=UTC))
    assert leads["lead_id"].tolist() == sorted(fake.objects["contacts"], key=int)
    bodies = [b for m, p, b in fake.requests if p.endswith("/search")]
    restarts = [b for b in bodies if "after" not in b]
    assert len(restarts) == 3 and all(int(b.get("after", 0)) + 4 <= 10 for b in bodies)


def test_daily_limit_share_stops_before_the_limit(fake: FakeHubSpot) -> None:
    fake.daily_limit = 10
    _seeded(fake, 1)
    with HubSpotCRM(fake.token, host=fake.url, daily_limit_share=0.2) as connector:
        connector.read_accounts()
        connector.read_accounts()
        with pytest.raises(FatalCRMError, match="2 of 10 requests used today"):
            connector.read_accounts()
    assert len(fake.requests) == 2


def test_invalid_values_and_ids_fail_locally_without_a_request(fake: FakeHubSpot) -> None:
    ids = _seeded(fake, 1)
    with HubSpotCRM(fake.token, host=fake.url) as connector:
        changes = pd.DataFrame({"record_id": [ids[0], "L0001"], "field": "lead_score", "new": [True, 3]})
        report = connector.write_score_values(checked_changes(changes, [LEAD_SCORE]))
    assert report.requests == 0 and [(f.record_id, f.field, f.status_code) for f in report.failures] == [
        (ids[0], "lead_score", "INVALID_VALUE"), ("L0001", None, "OBJECT_NOT_FOUND")]


def test_whole_batch_validation_error_fails_every_record_of_the_batch(fake: FakeHubSpot) -> None:
    ids = _seeded(fake, 2)
    with HubSpotCRM(fake.token, host=fake.url) as connector:
        changes = pd.DataFrame({"record_id": ids, "field": "score_band", "new": ["A", "B"]})
        report = connector.write_score_values(checked_changes(changes, [BAND]))
    assert report.records_written == 0 and {f.record_id for f in report.failures} == set(ids)
    assert all(f.status_code == "VALIDATION_ERROR" and "score_band" in f.message for f in report.failures)


def test_hubspot_defined_property_is_refused_as_a_score_field(fake: FakeHubSpot) -> None:
    from connectors.errors import ScoreFieldViolation

    with HubSpotCRM(fake.token, host=fake.url) as connector:
        with pytest.raises(ScoreFieldViolation, match="HubSpot-defined"):
            connector.ensure_score_fields([ScoreField("total", "createdate", "number")])



def _most_in_any_window(stamps: list[float], seconds: float) -> int:
    """The most request times that fall in one rolling window of `seconds`."""
    return max((sum(1 for s in stamps if start <= s < start + seconds) for start in stamps), default=0)


class _FakeClock:
    """Seconds that advance only when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


def test_transport_paces_every_call_to_the_window_and_searches_per_second() -> None:
    clock = _FakeClock()
    transport = Transport(0.9, window=RequestPacer(10, 10.0, clock, clock.sleep),
                          search=RequestPacer(2, 1.0, clock, clock.sleep))
    sent: dict[str, list[float]] = {"list": [], "search": []}

    def answer(kind: str) -> Any:
        def method(**_: Any) -> tuple[None, int, dict[str, str]]:
            sent[kind].append(clock.now)
            return None, 200, {}
        return method

    for i in range(25):
        kind = "search" if i % 3 else "list"
        transport.call(kind, "testing", answer(kind))
    every = sorted(sent["list"] + sent["search"])
    assert _most_in_any_window(every, 10.0) == 10
    assert _most_in_any_window(sent["search"], 1.0) == 2
    assert clock.now >= 20.0  # 25 calls at 10 per 10 s


def test_a_long_read_waits_for_the_window_instead_of_hitting_429(fake: FakeHubSpot) -> None:
    """Reads through the real client are paced: 10 searches at 3 per 10 s take >= 30 s on the (fake) clock."""
    _seeded(fake, 45)
    clock = _FakeClock()
    with HubSpotCRM(fake.token, host=fake.url, requests_per_window=3, searches_per_second=2, search_result_cap=10,
                    search_page_size=5, clock=clock, sleep=clock.sleep) as connector:
        leads = connector.read_leads(since=datetime(2000, 1, 1, tzinfo=UTC))
        searches = connector.requests_by_kind["search"]
    assert sorted(leads["lead_id"], key=int) == sorted(fake.objects["contacts"], key=int)
    assert searches >= 9
    assert clock.now >= 10.0 * ((searches - 1) // 3)


def test_searches_per_second_must_be_positive(fake: FakeHubSpot) -> None:
    with pytest.raises(SettingsError, match="searches_per_second"):
        HubSpotCRM(fake.token, host=fake.url, searches_per_second=0)
