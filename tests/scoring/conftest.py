"""Factory fixtures for the evaluation tests: scores, outcomes and leads frames built from small tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pytest

BANDS = pd.CategoricalDtype(["0-24", "25-49", "50-74", "75-100"], ordered=True)
TIERS = pd.CategoricalDtype(["D", "C", "B", "A"], ordered=True)
EPOCH = pd.Timestamp("2024-01-01", tz="UTC")

ScoresFactory = Callable[..., pd.DataFrame]
OutcomesFactory = Callable[[Sequence[tuple[str, str, int]]], pd.DataFrame]


def _scores(totals: Sequence[float], lead_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Scores frame with band and tier cut from totals at 25/50/75 points (D..A follow the bands)."""
    ids = list(lead_ids) if lead_ids is not None else [f"L{i}" for i in range(len(totals))]
    total = np.asarray(totals, dtype=np.float64)
    codes = np.searchsorted(np.array([25.0, 50.0, 75.0]), total, side="right")
    return pd.DataFrame(
        {
            "lead_id": pd.array(ids, dtype="str"),
            "total": total,
            "band": pd.Categorical.from_codes(codes, dtype=BANDS),
            "tier": pd.Categorical.from_codes(codes, dtype=TIERS),
        }
    )


def _outcomes(rows: Sequence[tuple[str, str, int]]) -> pd.DataFrame:
    """Outcomes frame from (lead_id, stage, day after 2024-01-01) rows."""
    return pd.DataFrame(
        {
            "lead_id": pd.array([r[0] for r in rows], dtype="str"),
            "stage": pd.array([r[1] for r in rows], dtype="str"),
            "at": pd.DatetimeIndex(
                [EPOCH + pd.Timedelta(days=r[2]) for r in rows], dtype="datetime64[ns, UTC]"
            ),
        }
    )


@pytest.fixture(scope="session")
def make_scores() -> ScoresFactory:
    """Build a scores frame from totals (lead ids L0, L1, ... unless given)."""
    return _scores


@pytest.fixture(scope="session")
def make_outcomes() -> OutcomesFactory:
    """Build an outcomes frame from (lead_id, stage, day) rows."""
    return _outcomes


@pytest.fixture(scope="session")
def funnel() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Ten leads in three of four bands (50-74 is empty) with hand-countable outcomes.

    lead  total band    tier segment outcomes (day)          reached
    L0     5    0-24    D    smb     -                       nothing
    L1    15    0-24    D    ent     lost (5)                nothing
    L2    20    0-24    D    smb     accepted (1)            accepted
    L3    30    25-49   C    ent     accepted, meeting       meeting
    L4    40    25-49   C    smb     opportunity             opportunity
    L5    45    25-49   C    ent     rejected                nothing
    L6    80    75-100  A    smb     won (10)                won
    L7    85    75-100  A    ent     accepted..won (12)      won
    L8    90    75-100  A    smb     accepted, lost (11)     accepted
    L9    95    75-100  A    ent     meeting                 meeting
    """
    scores = _scores([5, 15, 20, 30, 40, 45, 80, 85, 90, 95])
    outcomes = _outcomes(
        [
            ("L1", "lost", 5),
            ("L2", "accepted", 1),
            ("L3", "accepted", 1),
            ("L3", "meeting", 2),
            ("L4", "opportunity", 3),
            ("L5", "rejected", 2),
            ("L6", "won", 10),
            ("L7", "accepted", 1),
            ("L7", "meeting", 2),
            ("L7", "opportunity", 4),
            ("L7", "won", 12),
            ("L8", "accepted", 2),
            ("L8", "lost", 11),
            ("L9", "meeting", 3),
        ]
    )
    leads = pd.DataFrame(
        {
            "lead_id": pd.array([f"L{i}" for i in range(10)], dtype="str"),
            "segment": pd.array(["smb", "ent"] * 5, dtype="str"),
        }
    )
    return scores, outcomes, leads
