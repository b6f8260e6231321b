"""Shared fixtures: a clean environment (no credentials leak in) and small random funnels."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connectors.journal import PushJournal
from connectors.local import LocalCRM
from connectors.testing import sample_funnel

AS_OF = pd.Timestamp("2026-11-01T00:00:00Z")
EVENT_TYPES = ("demo_request", "pricing_page", "case_study", "webinar", "blog_read", "email_open",
               "email_click", "security_page", "rfp_received", "unsubscribe")
_CREDENTIAL_PREFIXES = ("SF_", "SALESFORCE_", "HUBSPOT_", "SCOREBENCH_")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees a credential from the developer's shell."""
    for name in list(os.environ):
        if name.startswith(_CREDENTIAL_PREFIXES):
            monkeypatch.delenv(name)
    yield


RandomFunnel = Callable[..., tuple[pd.DataFrame, pd.DataFrame]]


def random_funnel(seed: int, n_leads: int = 200, events_per_lead: float = 6.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random leads and events in the canonical columns, with every quirk a model must handle (NaN, free mail)."""
    rng = np.random.default_rng(seed)
    n_accounts = max(n_leads // 3, 1)
    lead_ids = np.array([f"L{i:07d}" for i in range(n_leads)], dtype=object)
    account_ids = np.array([f"A{i:06d}" for i in rng.integers(0, n_accounts, n_leads)], dtype=object)
    account_ids[rng.random(n_leads) < 0.05] = None
    domains = np.array(["acme.com", "gmail.com", "rivalscore.io", "globex.io", "yahoo.com"], dtype=object)
    seniority = np.array(["c_level", "vp", "director", "manager", "individual", "student", None], dtype=object)
    titles = np.array(["CTO", "VP Sales", "Director of IT", "IT Manager", "Engineer", "Student", "Intern"], dtype=object)
    industries = np.array(["software", "fintech", "healthcare", "retail", "education", None], dtype=object)
    departments = np.array(["engineering", "it", "security", "procurement", "finance", None], dtype=object)
    employees = rng.choice([10, 150, 400, 2500, np.nan], n_leads)
    revenue = rng.choice([1e6, 2e7, 8e7, 3e8, np.nan], n_leads)
    created = AS_OF - pd.to_timedelta(rng.integers(0, 400, n_leads), unit="D")
    leads = pd.DataFrame({
        "lead_id": lead_ids,
        "account_id": account_ids,
        "email": [f"p{i}@{d}" for i, d in enumerate(rng.choice(domains, n_leads))],
        "title": rng.choice(titles, n_leads),
        "seniority": rng.choice(seniority, n_leads),
        "department": rng.choice(departments, n_leads),
        "industry": rng.choice(industries, n_leads),
        "employees": employees,
        "annual_revenue": revenue,
        "country": rng.choice(["US", "DE", "BR"], n_leads),
        "source": rng.choice(["organic", "paid_search", "webinar"], n_leads),
        "campaign": "c1",
        "segment": rng.choice(["smb", "mid_market", "enterprise"], n_leads),
        "created_at": created,
        "owner_id": "U001",
    })
    n_events = int(rng.poisson(events_per_lead * n_leads))
    owner = rng.integers(0, n_leads, n_events)
    days_back = rng.exponential(40.0, n_events)
    events = pd.DataFrame({
        "lead_id": lead_ids[owner],
        "type": rng.choice(EVENT_TYPES, n_events, p=[.04, .12, .08, .06, .3, .2, .1, .04, .02, .04]),
        "at": AS_OF - pd.to_timedelta(np.round(days_back * 86400), unit="s"),
        "value": np.where(rng.random(n_events) < 0.5, rng.integers(10, 600, n_events), np.nan),
    })
    return leads, events


@pytest.fixture
def funnel() -> RandomFunnel:
    """Factory: random_funnel(seed, n_leads=200) -> (leads, events)."""
    return random_funnel


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[LocalCRM]:
    """A local CRM at tmp_path/crm.sqlite seeded with the 8-lead sample funnel; closed afterwards."""
    with LocalCRM(tmp_path / "crm.sqlite") as connector:
        connector.load_funnel(*sample_funnel())
        yield connector


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[PushJournal]:
    """An empty push journal in its own file; closed afterwards."""
    with PushJournal(tmp_path / "journal.sqlite") as opened:
        yield opened
