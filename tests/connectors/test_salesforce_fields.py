"""Finding existing score fields against the loopback fake org, which keeps Salesforce's Tooling SOQL limits on
FieldDefinition: one equality query per lead object, every page read, score fields picked out client-side."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connectors._salesforce_mapping import SalesforceMapping
from scoring.fields import ScoreField
from tests.connectors.fake_salesforce import FakeSalesforce, running
from tests.connectors.test_salesforce_conformance import connect

FIELDS = (
    ScoreField("total", "Lead_Score__c", "number"),
    ScoreField("band", "Score_Band__c", "text"),
    ScoreField("scored_at", "Scored_At__c", "datetime"),
)
TOOLING_QUERY = "/services/data/v59.0/tooling/query/"


@pytest.fixture
def org() -> Iterator[FakeSalesforce]:
    """A fake org answering 4 records a query page, so an object's FieldDefinition rows span several pages."""
    yield from running(page_size=4)


def test_score_fields_come_from_one_equality_query_per_object_across_every_page(
    org: FakeSalesforce, lead_and_contact: SalesforceMapping,
) -> None:
    """Custom fields follow the standard ones, so on the last Tooling page: found only if every page is read,
    and `scored_at__c` matches Scored_At__c as Salesforce API names do, whatever the case."""
    org.add_custom_field("Lead", "Lead_Score__c", {"type": "Number", "precision": 3, "scale": 0})
    org.add_custom_field("Contact", "scored_at__c", {"type": "DateTime"})
    with connect(org, mapping=lead_and_contact) as crm:
        plan = crm.ensure_score_fields(FIELDS, dry_run=True)
    tooling = [urlsplit(url) for method, url in org.log if urlsplit(url).path.startswith(TOOLING_QUERY)]
    assert [parse_qs(u.query)["q"][0] for u in tooling if u.query] == [
        f"SELECT QualifiedApiName, DataType, ValueTypeId, IsCalculated FROM FieldDefinition "
        f"WHERE EntityDefinition.QualifiedApiName = '{sobject}'" for sobject in ("Lead", "Contact")
    ]
    assert len([u for u in tooling if not u.query]) >= 2, "no further Tooling page was read"
    assert [note.split(" (")[0] for note in plan.notes if note.startswith("would create")] == [
        "would create Lead.Score_Band__c", "would create Lead.Scored_At__c",
        "would create Contact.Lead_Score__c", "would create Contact.Score_Band__c",
    ]
    assert {method for method, _ in org.log} == {"GET"}


@pytest.mark.parametrize(("where", "message"), [
    ("EntityDefinition.QualifiedApiName IN ('Lead', 'Contact')", "Disjunctions not supported"),
    ("EntityDefinition.QualifiedApiName = 'Lead' OR EntityDefinition.QualifiedApiName = 'Contact'",
     "Disjunctions not supported"),
    ("EntityDefinition.QualifiedApiName = 'Lead' AND QualifiedApiName IN ('Lead_Score__c')",
     "Disjunctions not supported"),
    ("EntityDefinition.QualifiedApiName != 'Lead'", "Only equals comparisons permitted"),
])
def test_fake_org_refuses_field_definition_filters_that_salesforce_refuses(
    org: FakeSalesforce, where: str, message: str,
) -> None:
    """As the Tooling API guide's "SOQL Operation Limitations" documents, so a return to IN or OR fails the suite."""
    with requests.Session() as http:
        http.trust_env = False
        response = http.get(
            org.instance_url + TOOLING_QUERY, headers={"Authorization": f"Bearer {org.token}"},
            params={"q": f"SELECT QualifiedApiName FROM FieldDefinition WHERE {where}"}, verify=org.ca_file, timeout=10,
        )
    assert response.status_code == 400
    assert response.json() == [{"message": message, "errorCode": "EXTERNAL_OBJECT_UNSUPPORTED_EXCEPTION"}]
