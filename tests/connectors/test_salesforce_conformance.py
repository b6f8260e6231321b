"""The Salesforce adapter passes the conformance suite against a stateful loopback fake, through the real client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from connectors._salesforce_auth import SalesforceSettings, retrying_session
from connectors._salesforce_mapping import load_mapping
from connectors.salesforce import SalesforceCRM
from connectors.testing import SeededConnector, parametrize_with_checks, sample_funnel
from scoring.fields import ScoreField

from tests.connectors.fake_salesforce import FakeSalesforce

SALESFORCE_SCORE_FIELDS = (
    ScoreField("total", "Lead_Score__c", "number"),
    ScoreField("fit", "Fit_Score__c", "number"),
    ScoreField("behaviour", "Behaviour_Score__c", "number"),
    ScoreField("band", "Score_Band__c", "text"),
    ScoreField("tier", "Score_Tier__c", "text"),
    ScoreField("reasons", "Score_Reasons__c", "text"),
    ScoreField("model_version", "Score_Model_Version__c", "text"),
    ScoreField("scored_at", "Scored_At__c", "datetime"),
)
"""The sample spec with Salesforce custom field names (Number(3,0) for Lead_Score__c per the default mapping)."""

_SERVERS: list[FakeSalesforce] = []


def connect(fake: FakeSalesforce, **options: object) -> SalesforceCRM:
    """An adapter on the fake's session, trusting only the fake's certificate, without retry sleeps."""
    settings = SalesforceSettings("session", session_id=SecretStr(fake.token), instance_url=fake.instance_url)
    http = retrying_session(retries=2, backoff=0.0, verify=fake.ca_file)
    return SalesforceCRM(settings, http=http, **options)  # type: ignore[arg-type]


def salesforce_org(workdir: Path) -> SeededConnector:
    """A fresh fake org seeded with the sample funnel (3 records a query page, to exercise paging)."""
    fake = FakeSalesforce(page_size=3)
    _SERVERS.append(fake)
    fake.seed(load_mapping(), *sample_funnel())
    fake.add_permission_set("Scorebench_Integration")
    return SeededConnector(connect(fake, permission_set="Scorebench_Integration"), SALESFORCE_SCORE_FIELDS)


@pytest.fixture(scope="module", autouse=True)
def stop_fakes() -> Iterator[None]:
    yield
    while _SERVERS:
        _SERVERS.pop().stop()


@parametrize_with_checks(salesforce_org, adapter="salesforce")
def test_salesforce_conforms(check: Callable[[], None]) -> None:
    check()
