"""Start a loopback fake Salesforce org or HubSpot portal seeded with a funnel, and the environment that
points `SalesforceCRM.from_environment` / `HubSpotCRM.from_environment` (and so the CLI) at it."""

from __future__ import annotations

from contextlib import ExitStack

from connectors._hubspot_mapping import load_mapping as load_hubspot_mapping
from connectors._salesforce_mapping import load_mapping as load_salesforce_mapping
from simulator import Funnel
from tests.connectors.fake_hubspot import FakeHubSpot
from tests.connectors.fake_hubspot import load_funnel as load_hubspot_funnel
from tests.connectors.fake_salesforce import FakeSalesforce

PERMISSION_SET = "Scorebench_Integration"


def start_fake_org(crm: str, funnel: Funnel, stack: ExitStack,
                   page_size: int = 25) -> tuple[dict[str, str], FakeSalesforce | FakeHubSpot]:
    """A started fake `crm` ('salesforce' or 'hubspot') holding `funnel`, stopped when `stack` closes;
    returns the credentials environment for it and the fake."""
    frames = (funnel.leads, funnel.accounts, funnel.events, funnel.outcomes)
    if crm == "salesforce":
        org = FakeSalesforce(page_size=page_size)
        stack.callback(org.stop)
        org.seed(load_salesforce_mapping(), *frames)
        org.add_permission_set(PERMISSION_SET)
        return {"SF_SESSION_ID": org.token, "SF_INSTANCE_URL": org.instance_url, "SF_CA_BUNDLE": org.ca_file,
                "SF_PERMISSION_SET": PERMISSION_SET}, org
    portal = FakeHubSpot().start()
    stack.callback(portal.stop)
    load_hubspot_funnel(portal, *frames, load_hubspot_mapping())
    return {"HUBSPOT_ACCESS_TOKEN": portal.token, "HUBSPOT_HOST": portal.url}, portal
