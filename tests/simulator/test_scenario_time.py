"""Scenario time: daily arrivals, the peak season, drifting weights, Olist arrivals and the default rates."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator import SOURCES, Funnel, FunnelSpec, generate_funnel
from simulator._scenario_time import drift_fraction
from simulator.scenario import LeadArrivals, load_scenario, read_lead_arrivals, scenario_funnel

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
Z = 3.0


def _rate_se(hits: np.ndarray) -> tuple[float, float]:
    p = float(np.mean(hits))
    return p, math.sqrt(max(p * (1 - p), 1e-12) / hits.size)


def _reached(funnel: Funnel, stage: str) -> np.ndarray:
    ids = funnel.outcomes.loc[funnel.outcomes["stage"] == stage, "lead_id"]
    return funnel.leads["lead_id"].isin(ids).to_numpy()


@pytest.fixture(scope="module")
def default() -> Funnel:
    return scenario_funnel(SCENARIOS / "default.toml", np.random.default_rng(20261101))


def test_default_funnel_rates_land_in_domain_average_ranges(default: Funnel) -> None:
    """Every simulated lead is handed to sales: lead -> SAL 18-25%, SAL -> opp 25-35%, opp -> won 20-30%."""
    accepted, opportunity, won = (_reached(default, s) for s in ("accepted", "opportunity", "won"))
    for hits, (low, high) in ((accepted, (0.18, 0.25)), (opportunity[accepted], (0.25, 0.35)),
                              (won[opportunity], (0.20, 0.30))):
        rate, se = _rate_se(hits)
        assert low - Z * se <= rate <= high + Z * se


def test_default_arrivals_follow_the_configured_daily_volume_and_mixes(default: Funnel) -> None:
    spec = default.spec
    days = spec.history_days
    peak_days = 31
    expected = spec.leads_per_day * (days - peak_days + peak_days * spec.peak_volume_multiplier)
    assert abs(spec.n_leads - expected) <= Z * math.sqrt(expected)
    sources = default.leads["source"].to_numpy()
    total = sum(spec.source_mix.values())
    for source, weight in spec.source_mix.items():
        share, se = _rate_se(sources == source)
        assert abs(share - weight / total) <= Z * se, source
    segments = default.accounts["segment"].to_numpy()
    for segment, weight in spec.segment_mix.items():
        share, se = _rate_se(segments == segment)
        assert abs(share - weight) <= Z * se, segment


def test_peak_season_multiplies_daily_arrivals(default: Funnel) -> None:
    spec = default.spec
    day = (default.leads["created_at"] - spec.as_of).dt.floor("D").dt.days.to_numpy()
    counts = np.bincount(day + spec.history_days, minlength=spec.history_days)
    dates = spec.as_of + pd.to_timedelta(np.arange(-spec.history_days, 0), unit="D")
    peak = np.asarray(dates.month == 10)
    ratio = counts[peak].mean() / counts[~peak].mean()
    se = ratio * math.sqrt(1 / counts[peak].sum() + 1 / counts[~peak].sum())
    assert abs(ratio - spec.peak_volume_multiplier) <= Z * se


def test_peak_season_multiplies_events_on_peak_days_only() -> None:
    """Same seed with and without the event peak: off-peak events are identical, peak days ~1.15x."""
    base = FunnelSpec(n_leads=4_000, peak_season=("10-01", "10-31"))
    plain = generate_funnel(base, np.random.default_rng(3))
    boosted = generate_funnel(dataclasses.replace(base, peak_event_multiplier=1.15), np.random.default_rng(3))

    def split(funnel: Funnel) -> tuple[pd.DataFrame, int]:
        events = funnel.events
        in_peak = (events["at"].dt.month == 10) & ~events["type"].isin(["unsubscribe", "rfp_received"])
        return events[~in_peak].reset_index(drop=True), int(in_peak.sum())

    plain_rest, plain_peak = split(plain)
    boosted_rest, boosted_peak = split(boosted)
    pd.testing.assert_frame_equal(plain_rest, boosted_rest)
    assert plain_peak > 1_000
    extra, se = boosted_peak / plain_peak - 1.0, math.sqrt(0.15 * 0.85 / plain_peak)
    assert abs(extra - 0.15) <= Z * se


def test_a_peak_season_can_wrap_over_the_new_year() -> None:
    spec = FunnelSpec(n_leads=3_000, history_days=365, peak_season=("12-15", "01-15"),
                      peak_volume_multiplier=3.0)
    funnel = generate_funnel(spec, np.random.default_rng(4))
    created = funnel.leads["created_at"]
    md = created.dt.month * 100 + created.dt.day
    in_peak = ((md >= 1215) | (md <= 115)).mean()
    expected = 32 * 3.0 / (32 * 3.0 + 333)
    assert abs(in_peak - expected) <= Z * math.sqrt(expected * (1 - expected) / 3_000)


def test_drift_fraction_steps_monthly_from_zero_to_one() -> None:
    spec = FunnelSpec(history_days=180, drift_step_days=30.0)
    created = np.array([-180.0, -150.5, -149.5, -31.0, -0.5, 0.0])
    assert drift_fraction(spec, created).tolist() == [0.0, 0.0, 0.2, 0.8, 1.0, 1.0]
    linear = dataclasses.replace(spec, drift_step_days=0.0)
    assert drift_fraction(linear, np.array([-180.0, -90.0, 0.0])).tolist() == [0.0, 0.5, 1.0]


def _auc(score: np.ndarray, won: np.ndarray) -> tuple[float, float]:
    """Area under the ROC curve of `score` for `won`, and its Hanley-McNeil standard error."""
    ranks = pd.Series(score).rank().to_numpy()
    n1, n0 = int(won.sum()), int((~won).sum())
    auc = (ranks[won].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    se = math.sqrt((auc * (1 - auc) + (n1 - 1) * (q1 - auc ** 2) + (n0 - 1) * (q2 - auc ** 2)) / (n1 * n0))
    return auc, se


def test_drift_moves_conversion_from_fit_to_intent_over_the_months() -> None:
    """A fit-only ranking tuned on the first two months ranks the last two months worse, intent better."""
    funnel = scenario_funnel(SCENARIOS / "drifting_market.toml", np.random.default_rng(8), leads_per_day=150.0)
    spec = funnel.spec
    age = (spec.as_of - funnel.leads["created_at"]).dt.days.to_numpy()
    early, late = age >= spec.history_days - 60, age < 60
    won = _reached(funnel, "won")
    fit, intent = funnel.latent["fit"].to_numpy(), funnel.latent["intent"].to_numpy()
    fit_early, fit_early_se = _auc(fit[early], won[early])
    fit_late, fit_late_se = _auc(fit[late], won[late])
    assert fit_early - fit_late > Z * math.hypot(fit_early_se, fit_late_se)
    intent_early, intent_early_se = _auc(intent[early], won[early])
    intent_late, intent_late_se = _auc(intent[late], won[late])
    assert intent_late - intent_early > Z * math.hypot(intent_early_se, intent_late_se)


def test_without_drift_settings_propensity_ignores_creation_time() -> None:
    spec = FunnelSpec(n_leads=2_000)
    drifted = dataclasses.replace(spec, drift_weights={"fit": spec.propensity_fit_weight})
    a = generate_funnel(spec, np.random.default_rng(9)).latent
    b = generate_funnel(drifted, np.random.default_rng(9)).latent
    np.testing.assert_allclose(a["propensity"], b["propensity"], rtol=1e-12)


def test_given_arrivals_fix_the_days_and_sources() -> None:
    spec = FunnelSpec(history_days=150)
    day = np.repeat(np.array([-150, -90, -2]), [300, 500, 200])
    source = np.where(day == -2, SOURCES.index("referral"), -1)
    funnel = generate_funnel(spec, np.random.default_rng(2), arrivals=LeadArrivals(day=day, source=source))
    assert funnel.spec.n_leads == 1_000
    arrived = (funnel.leads["created_at"] - spec.as_of).dt.floor("D").dt.days
    assert arrived.value_counts().to_dict() == {-150: 300, -90: 500, -2: 200}
    assert (funnel.leads.loc[arrived == -2, "source"] == "referral").all()
    assert (funnel.leads.loc[arrived != -2, "source"] != "referral").mean() > 0.8


def test_read_lead_arrivals_maps_sources_and_days(tmp_path: Path) -> None:
    file = tmp_path / "leads.csv"
    file.write_text("when,origin\n2026-10-31,social\n2026-10-01,\n2026-09-30T23:00:00Z,mystery\n", encoding="utf-8")
    arrivals = read_lead_arrivals(file, as_of=pd.Timestamp("2026-11-01", tz="UTC"), date_column="when",
                                  source_column="origin", source_map={"social": "paid_social"})
    assert arrivals.day.tolist() == [-1, -31, -32]
    assert arrivals.source.tolist() == [SOURCES.index("paid_social"), -1, -1]


# ---- Olist: real arrivals from ../shared/data (present in CI; a missing file is an error, not a skip) -

@pytest.fixture(scope="module")
def olist() -> tuple[Funnel, pd.DataFrame]:
    scenario = load_scenario(SCENARIOS / "olist_arrivals.toml")
    assert scenario.arrivals_path is not None
    csv = pd.read_csv(scenario.arrivals_path, dtype=str, keep_default_na=False)
    return scenario_funnel(scenario, np.random.default_rng(2018)), csv


def test_olist_arrivals_reproduce_the_csv_monthly_counts_exactly(olist: tuple[Funnel, pd.DataFrame]) -> None:
    funnel, csv = olist
    assert len(csv) == 8_000 and len(funnel.leads) == 8_000
    expected = csv["first_contact_date"].str[:7].value_counts().sort_index()
    got = funnel.leads["created_at"].dt.strftime("%Y-%m").value_counts().sort_index()
    assert got.to_dict() == expected.to_dict()
    daily = csv["first_contact_date"].value_counts().sort_index()
    assert funnel.leads["created_at"].dt.strftime("%Y-%m-%d").value_counts().sort_index().to_dict() == daily.to_dict()


def test_olist_origins_become_sources(olist: tuple[Funnel, pd.DataFrame]) -> None:
    funnel, csv = olist
    scenario = load_scenario(SCENARIOS / "olist_arrivals.toml")
    source_map = {"organic_search": "organic", "paid_search": "paid_search", "social": "paid_social",
                  "direct_traffic": "organic", "email": "outbound", "referral": "referral",
                  "display": "paid_social", "other_publicities": "event"}
    mapped = csv["origin"].map(source_map)
    got = funnel.leads["source"].value_counts()
    for source, count in mapped.value_counts().items():
        assert got[source] >= count, source
    assert int(got.sum() - mapped.notna().sum()) == int(mapped.isna().sum()) == 1_309
    assert scenario.funnel.as_of == pd.Timestamp("2018-06-01", tz="UTC")
