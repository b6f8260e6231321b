"""Small deterministic canonical frames and scores for seeding a CRM under test (no simulator needed)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from scoring.fields import ScoreField

SAMPLE_SCORE_FIELDS: tuple[ScoreField, ...] = (
    ScoreField("total", "lead_score", "number"),
    ScoreField("fit", "fit_score", "number"),
    ScoreField("behaviour", "behaviour_score", "number"),
    ScoreField("band", "score_band", "text"),
    ScoreField("tier", "score_tier", "text"),
    ScoreField("reasons", "score_reasons", "text"),
    ScoreField("model_version", "score_model_version", "text"),
    ScoreField("scored_at", "scored_at", "datetime"),
)
"""A typical score-field spec: three numbers, four texts and the scored_at stamp."""


def sample_funnel(n_leads: int = 8) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Leads, accounts, events and outcomes (canonical columns) for `n_leads` leads over two accounts."""
    ids = [f"L{i:04d}" for i in range(n_leads)]
    created = pd.Timestamp("2026-01-01T08:00:00Z") + pd.to_timedelta(np.arange(n_leads), unit="h")
    leads = pd.DataFrame({
        "lead_id": ids,
        "account_id": [f"A{i % 2}" for i in range(n_leads)],
        "email": [f"lead{i}@example.com" for i in range(n_leads)],
        "title": ["VP Sales", "Analyst"] * (n_leads // 2) + ["Intern"] * (n_leads % 2),
        "seniority": ["vp", "ic"] * (n_leads // 2) + ["ic"] * (n_leads % 2),
        "department": "sales",
        "industry": "software",
        "employees": [250.0, np.nan] * (n_leads // 2) + [10.0] * (n_leads % 2),
        "annual_revenue": 5.0e6,
        "country": "DE",
        "source": "webinar",
        "campaign": None,
        "segment": "mid",
        "created_at": created,
        "owner_id": "U1",
    })
    accounts = pd.DataFrame({
        "account_id": ["A0", "A1"], "name": ["Acme", "Globex"], "domain": ["acme.test", "globex.test"],
        "industry": "software", "employees": [250.0, 40.0], "annual_revenue": [5.0e6, 1.0e6],
        "country": "DE", "segment": "mid",
    })
    events = pd.DataFrame({
        "lead_id": [ids[i % n_leads] for i in range(2 * n_leads)],
        "type": ["page_view", "email_open"] * n_leads,
        "at": pd.Timestamp("2026-01-02T00:00:00Z") + pd.to_timedelta(np.arange(2 * n_leads), unit="D"),
        "value": [30.0, np.nan] * n_leads,
    })
    outcomes = pd.DataFrame({
        "lead_id": ids[:2], "stage": ["accepted", "meeting"],
        "at": pd.to_datetime(["2026-02-01T10:00:00Z", "2026-02-03T10:00:00Z"], utc=True),
    })
    return leads, accounts, events, outcomes


def synthetic_scores(
    lead_ids: Sequence[str] | pd.Series, seed: int = 0, scored_at: str = "2026-01-05T09:00:00Z",
    model_version: str = "conformance-1",
) -> pd.DataFrame:
    """A deterministic scores frame (SCORE_COLUMNS) for `lead_ids`: totals in points 0-100, ordered band/tier."""
    rng = np.random.default_rng(seed)
    n = len(lead_ids)
    fit = rng.uniform(0, 60, n).round(2)
    behaviour = rng.uniform(0, 40, n).round(2)
    negative = -rng.integers(0, 10, n).astype(float)
    account = rng.uniform(0, 10, n).round(2)
    total = np.clip(fit + behaviour + negative + account, 0, 100)
    band = pd.Categorical(np.select([total >= 60, total >= 30], ["A", "B"], "C"), categories=["C", "B", "A"],
                          ordered=True)
    tier = pd.Categorical(np.where(total >= 50, "hot", "cold"), categories=["cold", "hot"], ordered=True)
    return pd.DataFrame({
        "lead_id": pd.Series(lead_ids, dtype="str").to_numpy(),
        "fit": fit, "behaviour": behaviour, "negative": negative, "account": account, "total": total,
        "band": band, "tier": tier,
        "reasons": pd.Series([f"fit {f:.0f}; behaviour {b:.0f}" for f, b in zip(fit, behaviour, strict=True)],
                             dtype="str").to_numpy(),
        "model_version": model_version,
        "scored_at": pd.Timestamp(scored_at),
    })
