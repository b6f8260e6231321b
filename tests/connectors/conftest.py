"""Factory fixtures for connector tests: sample frames and score fields (the seeded local CRM and journal are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from connectors._salesforce_mapping import SalesforceMapping, load_mapping
from connectors.testing import SAMPLE_SCORE_FIELDS, sample_funnel
from scoring.fields import ScoreField

Frames = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]


@pytest.fixture
def fields() -> list[ScoreField]:
    """The sample score-field spec: lead_score, fit_score, behaviour_score, band, tier, reasons, version, scored_at."""
    return list(SAMPLE_SCORE_FIELDS)


@pytest.fixture
def frames() -> Callable[..., Frames]:
    """Factory: frames(n_leads=8) -> (leads, accounts, events, outcomes) in canonical columns."""
    return sample_funnel


@pytest.fixture
def lead_and_contact() -> SalesforceMapping:
    """The shipped Salesforce mapping scoring Contact as well as Lead (leads.objects = Lead, Contact)."""
    mapping = load_mapping()
    return mapping.model_copy(update={"leads": mapping.leads.model_copy(update={"objects": ("Lead", "Contact")})})
