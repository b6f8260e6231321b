"""FunnelSpec: DOMAIN defaults, derived sizes and validation that names every bad field at once."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from scoring.errors import ScorebenchError, SettingsError
from simulator import FunnelSpec


def test_defaults_follow_the_brief() -> None:
    spec = FunnelSpec()
    assert spec.as_of == pd.Timestamp("2026-11-01", tz="UTC")
    assert (spec.history_days, spec.outcome_days) == (120, 90)
    assert dict(spec.segment_mix) == {"smb": 0.6, "mid_market": 0.3, "enterprise": 0.1}
    assert spec.target_industries == ("software", "fintech", "healthcare")
    assert sum(spec.stage_propensity_shares.values()) == pytest.approx(1.0)


def test_account_count_is_derived_from_leads_unless_given() -> None:
    assert FunnelSpec(n_leads=1_001, leads_per_account=5).account_count == 201
    assert FunnelSpec(n_leads=1_000, n_accounts=7).account_count == 7


def test_replace_gives_a_validated_variant() -> None:
    spec = dataclasses.replace(FunnelSpec(), free_mail_share=0.3)
    assert spec.free_mail_share == 0.3
    with pytest.raises(SettingsError):
        dataclasses.replace(spec, free_mail_share=1.3)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        FunnelSpec(n_leads=0, free_mail_share=1.5, segment_mix={"smb": 1.0, "galactic": 1.0},
                   as_of=pd.Timestamp("2026-11-01"))
    message = str(caught.value)
    assert isinstance(caught.value, ScorebenchError) and isinstance(caught.value, ValueError)
    for fragment in ("n_leads", "free_mail_share", "segment_mix", "galactic", "as_of"):
        assert fragment in message


def test_window_lengths_and_the_current_span_are_checked() -> None:
    with pytest.raises(SettingsError, match="current_window_days") as caught:
        FunnelSpec(current_window_days=-1.0, window_length_days=(20.0, 10.0))
    assert "window_length_days" in str(caught.value)


def test_stage_shares_must_sum_to_one() -> None:
    with pytest.raises(SettingsError, match="stage_propensity_shares"):
        FunnelSpec(stage_propensity_shares={"accepted": 0.5, "meeting": 0.5, "opportunity": 0.5, "won": 0.5})
