"""Factory fixtures for connector tests: a seeded local CRM, a journal file, the sample score fields."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from connectors.journal import PushJournal
from connectors.local import LocalCRM
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
