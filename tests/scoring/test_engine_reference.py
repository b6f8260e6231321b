"""The vectorised engine and the per-lead reference scorer agree on random funnels (STYLE rule 6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.engine import score
from scoring.model_file import load_model
from tests.conftest import AS_OF, random_funnel
from tests.reference.scorer import reference_score

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.mark.parametrize("model_name", ["candidate", "baseline"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_engine_matches_reference_scorer(model_name: str, seed: int) -> None:
    spec = load_model(MODELS / f"{model_name}.toml")
    leads, events = random_funnel(seed, n_leads=300)
    fast = score(leads, events, spec, AS_OF)
    slow = reference_score(leads, events, spec, AS_OF)
    for column in ("fit", "behaviour", "negative", "account", "total"):
        np.testing.assert_allclose(fast[column].to_numpy(), slow[column].to_numpy(), atol=1e-9, err_msg=column)
    for column in ("band", "tier", "reasons"):
        assert fast[column].astype(str).tolist() == slow[column].astype(str).tolist(), column

def test_engine_accepts_shuffled_events_and_gives_the_same_scores() -> None:
    spec = load_model(MODELS / "candidate.toml")
    leads, events = random_funnel(7, n_leads=120)
    shuffled = events.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(score(leads, events, spec, AS_OF), score(leads, shuffled, spec, AS_OF))
