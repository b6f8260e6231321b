"""The HubSpot adapter passes the conformance suite against the stateful loopback fake of HubSpot's API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from connectors._hubspot_mapping import load_mapping
from connectors.hubspot import HubSpotCRM
from connectors.testing import SAMPLE_SCORE_FIELDS, SeededConnector, parametrize_with_checks, sample_funnel
from tests.connectors.fake_hubspot import FakeHubSpot, load_funnel

_FAKE = FakeHubSpot()


@pytest.fixture(scope="module", autouse=True)
def fake_server() -> Iterator[FakeHubSpot]:
    """One fake HubSpot for the module; each factory call resets and reseeds it."""
    with _FAKE:
        yield _FAKE


def hubspot_crm(workdir: Path) -> SeededConnector:
    """A HubSpot connector on a freshly seeded fake (8 contacts, 2 companies, events, outcomes)."""
    _FAKE.reset()
    load_funnel(_FAKE, *sample_funnel(), mapping=load_mapping())
    crm = HubSpotCRM(_FAKE.token, host=_FAKE.url)
    return SeededConnector(crm, SAMPLE_SCORE_FIELDS)


@parametrize_with_checks(hubspot_crm, adapter="hubspot")
def test_hubspot_conforms(check: Callable[[], None]) -> None:
    check()
