"""generate_funnel: determinism, the canonical contract, and the latent story the scoring models rely on."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scoring.columns import ACCOUNT_COLUMNS, EVENT_COLUMNS, LEAD_COLUMNS, OUTCOME_COLUMNS, STAGES
from scoring.event_arrays import event_arrays, lead_positions
from simulator import (
    DEPARTMENTS,
    EVENT_TYPES,
    INDUSTRIES,
    LATENT_COLUMNS,
    SEGMENTS,
    SENIORITIES,
    SOURCES,
    Funnel,
    FunnelSpec,
    generate_funnel,
)

N_LEADS = 20_000
SEED = 20261101
Z = 3.0
"""Standard errors of slack in statistical asserts."""


@pytest.fixture(scope="module")
def funnel() -> Funnel:
    return generate_funnel(FunnelSpec(n_leads=N_LEADS), np.random.default_rng(SEED))


@pytest.fixture(scope="module")
def won(funnel: Funnel) -> pd.Series:
    """Whether each lead (in lead order) was won, as a bool Series indexed by lead_id."""
    winners = funnel.outcomes.loc[funnel.outcomes["stage"] == "won", "lead_id"]
    return pd.Series(funnel.leads["lead_id"].isin(winners).to_numpy(), index=funnel.leads["lead_id"])


def _rate_se(hits: pd.Series | np.ndarray) -> tuple[float, float]:
    """Share of True and its binomial standard error."""
    values = np.asarray(hits, dtype=bool)
    p = float(values.mean())
    return p, math.sqrt(max(p * (1 - p), 1e-12) / values.size)


def _quartile_won_rates(counts: pd.Series, won: pd.Series) -> list[tuple[float, float]]:
    """Won rate and standard error per quartile of a ranking by counts (ties broken at random)."""
    values = counts.reindex(won.index, fill_value=0).to_numpy(dtype=float)
    jitter = np.random.default_rng(0).random(values.size) * 0.5
    quartile = pd.qcut(pd.Series(values + jitter).rank(method="first"), 4, labels=False).to_numpy()
    return [_rate_se(won.to_numpy()[quartile == q]) for q in range(4)]


def _event_counts(funnel: Funnel, types: list[str], days: int | None = None) -> pd.Series:
    events = funnel.events
    keep = events["type"].isin(types)
    if days is not None:
        keep &= events["at"] > funnel.spec.as_of - pd.Timedelta(days=days)
    return events[keep].groupby("lead_id").size()


# ---- determinism --------------------------------------------------------------------------------

def test_same_seed_gives_identical_frames() -> None:
    spec = FunnelSpec(n_leads=3_000)
    first = generate_funnel(spec, np.random.default_rng(42))
    second = generate_funnel(spec, np.random.default_rng(42))
    for name in ("accounts", "leads", "events", "outcomes", "latent"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))


def test_frames_built_on_first_use_do_not_depend_on_build_order_or_touch_the_generator() -> None:
    """The frames are built lazily from the draws: built in opposite orders they agree, and building them
    draws nothing more from the caller's generator (every draw happened inside generate_funnel)."""
    spec = FunnelSpec(n_leads=3_000)
    names = ("leads", "events", "outcomes", "latent")
    rng_first, rng_second = np.random.default_rng(42), np.random.default_rng(42)
    first, second = generate_funnel(spec, rng_first), generate_funnel(spec, rng_second)
    state = rng_first.bit_generator.state
    built_first = {name: getattr(first, name) for name in names}
    built_second = {name: getattr(second, name) for name in reversed(names)}
    assert rng_first.bit_generator.state == state == rng_second.bit_generator.state
    for name in names:
        pd.testing.assert_frame_equal(built_first[name], built_second[name])


def test_different_seeds_give_different_frames() -> None:
    spec = FunnelSpec(n_leads=3_000)
    first = generate_funnel(spec, np.random.default_rng(1))
    second = generate_funnel(spec, np.random.default_rng(2))
    for name in ("accounts", "leads", "events", "latent"):
        assert not getattr(first, name).equals(getattr(second, name)), name


# ---- the canonical contract ---------------------------------------------------------------------

def test_frames_have_the_canonical_columns_and_dtypes(funnel: Funnel) -> None:
    utc = pd.DatetimeTZDtype(unit="us", tz="UTC")
    assert tuple(funnel.accounts.columns) == ACCOUNT_COLUMNS
    assert tuple(funnel.leads.columns) == LEAD_COLUMNS
    assert tuple(funnel.events.columns) == EVENT_COLUMNS
    assert tuple(funnel.outcomes.columns) == OUTCOME_COLUMNS
    assert tuple(funnel.latent.columns) == LATENT_COLUMNS
    assert funnel.accounts["employees"].dtype == np.int64
    for frame in (funnel.leads, funnel.accounts):
        assert frame["annual_revenue"].dtype == np.float64
    assert funnel.leads["employees"].dtype == np.float64
    assert funnel.leads["created_at"].dtype == utc
    assert funnel.events["at"].dtype == utc
    assert funnel.outcomes["at"].dtype == utc
    assert funnel.events["value"].dtype == np.float64
    for frame, columns in ((funnel.leads, ("lead_id", "email", "segment", "owner_id", "campaign")),
                           (funnel.events, ("lead_id", "type")), (funnel.outcomes, ("lead_id", "stage"))):
        for column in columns:
            assert frame[column].dtype == "str", column
    for column in ("fit", "intent", "account_heat", "propensity"):
        assert funnel.latent[column].dtype == np.float64


def test_ids_and_values_use_the_shared_vocabulary(funnel: Funnel) -> None:
    leads, accounts = funnel.leads, funnel.accounts
    assert leads["lead_id"].str.fullmatch(r"L\d{7}").all() and leads["lead_id"].is_unique
    assert accounts["account_id"].str.fullmatch(r"A\d{6}").all() and accounts["account_id"].is_unique
    assert accounts["domain"].str.fullmatch(r"[a-z]+-\d+\.com").all()
    assert leads["owner_id"].str.fullmatch(r"U\d{3}").all()
    assert leads["campaign"].str.fullmatch(r"2026-q[1-4]-[a-z-]+").all()
    assert leads["email"].str.fullmatch(r"[a-z]+\.[a-z]+[\d.]*@[a-z0-9.-]+").all()
    assert leads["email"].is_unique
    assert leads["account_id"].isin(accounts["account_id"]).all()
    for column, vocabulary in (("segment", SEGMENTS), ("seniority", SENIORITIES),
                               ("department", DEPARTMENTS), ("source", SOURCES)):
        assert leads[column].isin(vocabulary).all(), column
    assert leads["industry"].dropna().isin(INDUSTRIES).all()
    assert funnel.events["type"].isin(EVENT_TYPES).all()
    assert set(funnel.events["type"]) == set(EVENT_TYPES)
    assert funnel.outcomes["stage"].isin(STAGES).all()
    assert leads["country"].str.fullmatch(r"[A-Z]{2}").all()


def test_segment_follows_employee_count(funnel: Funnel) -> None:
    accounts = funnel.accounts
    expected = pd.cut(accounts["employees"], [0, 199, 1999, np.inf], labels=list(SEGMENTS)).astype("str")
    assert (accounts["segment"] == expected).all()
    shares = accounts["segment"].value_counts(normalize=True)
    assert shares["smb"] > shares["mid_market"] > shares["enterprise"] > 0.05


def test_leads_copy_firmographics_from_their_account_with_some_gaps(funnel: Funnel) -> None:
    merged = funnel.leads.merge(funnel.accounts, on="account_id", suffixes=("", "_account"))
    for column in ("industry", "employees", "annual_revenue"):
        present = merged[column].notna()
        assert (merged.loc[present, column] == merged.loc[present, f"{column}_account"]).all(), column
    for column in ("industry", "employees", "annual_revenue", "title"):
        share = funnel.leads[column].isna().mean()
        assert 0.05 - Z * math.sqrt(0.05 * 0.95 / N_LEADS) <= share <= 0.10, column
    assert (merged["segment"] == merged["segment_account"]).all()
    assert (merged["country"] == merged["country_account"]).all()


def test_email_domains_mix_company_free_mail_and_competitors(funnel: Funnel) -> None:
    spec = funnel.spec
    domain = funnel.leads["email"].str.split("@").str[1]
    free, _ = _rate_se(domain.isin(spec.free_mail_domains))
    competitor, se = _rate_se(domain.isin(spec.competitor_domains))
    assert 0.12 <= free <= 0.20
    assert abs(competitor - spec.competitor_share) <= Z * se
    merged = funnel.leads.assign(domain=domain).merge(funnel.accounts[["account_id", "domain"]],
                                                      on="account_id", suffixes=("", "_account"))
    company = ~merged["domain"].isin(spec.free_mail_domains + spec.competitor_domains)
    assert (merged.loc[company, "domain"] == merged.loc[company, "domain_account"]).all()


def test_events_lie_between_creation_and_as_of_and_are_sorted(funnel: Funnel) -> None:
    events = funnel.events.merge(funnel.leads[["lead_id", "created_at"]], on="lead_id", how="left")
    assert events["created_at"].notna().all()
    assert (events["at"] >= events["created_at"]).all()
    assert (events["at"] <= funnel.spec.as_of).all()
    history_start = funnel.spec.as_of - pd.Timedelta(days=funnel.spec.history_days)
    assert (funnel.leads["created_at"] >= history_start).all()
    key = funnel.events[["lead_id", "at"]]
    assert key.equals(key.sort_values(["lead_id", "at"], kind="stable").reset_index(drop=True))
    assert 6 <= len(funnel.events) / N_LEADS <= 16


def test_event_arrays_match_the_events_frame_as_the_engine_reads_it(funnel: Funnel) -> None:
    """The strings-free EventDraw gives the engine exactly the arrays it derives from the events frame."""
    draw = funnel.event_draw
    assert draw is not None
    n = len(funnel.leads)
    from_draw = draw.arrays(n)
    from_frame = event_arrays(funnel.events, lead_positions(funnel.leads["lead_id"], funnel.events["lead_id"]), n,
                              funnel.spec.as_of)
    assert np.array_equal(from_draw.lead, from_frame.lead)
    assert np.array_equal(from_draw.days, from_frame.days)
    assert np.array_equal(from_draw.value, from_frame.value, equal_nan=True)
    names_draw = np.array(from_draw.type_names, dtype=object)[from_draw.type_code]
    names_frame = np.array(from_frame.type_names, dtype=object)[from_frame.type_code]
    assert np.array_equal(names_draw, names_frame)
    assert draw.frame(funnel.spec.as_of, funnel.leads["lead_id"].to_numpy()).equals(funnel.events)


def test_only_pricing_page_events_carry_seconds_on_page(funnel: Funnel) -> None:
    events = funnel.events
    pricing = events["type"] == "pricing_page"
    assert events.loc[~pricing, "value"].isna().all()
    assert (events.loc[pricing, "value"] >= 1).all()


def test_outcomes_happen_after_as_of_within_the_outcome_window(funnel: Funnel) -> None:
    at, spec = funnel.outcomes["at"], funnel.spec
    assert (at > spec.as_of).all()
    assert (at <= spec.as_of + pd.Timedelta(days=spec.outcome_days)).all()
    assert funnel.outcomes["lead_id"].isin(funnel.leads["lead_id"]).all()


def test_outcomes_are_consistent_per_lead(funnel: Funnel) -> None:
    """won implies opportunity implies meeting implies accepted; won and lost exclude each other."""
    outcomes = funnel.outcomes
    assert not outcomes.duplicated(["lead_id", "stage"]).any()
    counts = pd.crosstab(outcomes["lead_id"], outcomes["stage"])
    reached = counts.reindex(columns=list(STAGES), fill_value=0) > 0
    assert (reached["won"] <= reached["opportunity"]).all()
    assert (reached["lost"] <= reached["opportunity"]).all()
    assert (reached["opportunity"] <= reached["meeting"]).all()
    assert (reached["meeting"] <= reached["accepted"]).all()
    assert (reached["opportunity"] == (reached["won"] | reached["lost"])).all()
    assert not (reached["won"] & reached["lost"]).any()
    assert not (reached["rejected"] & reached["accepted"]).any()
    order = outcomes["stage"].map({s: i for i, s in enumerate(STAGES)}).clip(upper=3)
    steps = outcomes.assign(order=order).groupby("lead_id")
    assert (steps["order"].diff().dropna() > 0).all()
    assert (steps["at"].diff().dropna() >= pd.Timedelta(0)).all()


def test_latent_truth_has_one_row_per_lead(funnel: Funnel) -> None:
    latent = funnel.latent
    assert latent["lead_id"].equals(funnel.leads["lead_id"])
    assert latent["propensity"].between(0, 1).all()
    assert set(latent["window"]) == {"none", "current", "past"}


# ---- the latent story -----------------------------------------------------------------------------

def test_won_and_accepted_rates_are_plausible(funnel: Funnel, won: pd.Series) -> None:
    accepted_ids = funnel.outcomes.loc[funnel.outcomes["stage"] == "accepted", "lead_id"]
    accepted = funnel.leads["lead_id"].isin(accepted_ids)
    assert 0.025 <= won.mean() <= 0.06
    assert 0.13 <= accepted.mean() <= 0.27


def test_top_propensity_decile_wins_at_least_3x_the_bottom_half(funnel: Funnel, won: pd.Series) -> None:
    decile = pd.qcut(funnel.latent["propensity"].rank(method="first"), 10, labels=False).to_numpy()
    top, top_se = _rate_se(won.to_numpy()[decile == 9])
    bottom, bottom_se = _rate_se(won.to_numpy()[decile < 5])
    assert top - 3 * bottom > Z * math.hypot(top_se, 3 * bottom_se)


def test_ranking_by_recent_demo_and_pricing_shows_a_lift_curve(funnel: Funnel, won: pd.Series) -> None:
    """Quartiles of last-30-day demo_request + pricing_page counts: won rate never falls; the top is 2x."""
    rates = _quartile_won_rates(_event_counts(funnel, ["demo_request", "pricing_page"], days=30), won)
    for (low, low_se), (high, high_se) in zip(rates, rates[1:]):
        assert high >= low - Z * math.hypot(low_se, high_se)
    (bottom, bottom_se), (top, top_se) = rates[0], rates[-1]
    assert top - 2 * bottom > Z * math.hypot(top_se, 2 * bottom_se)


def test_ranking_by_blog_reads_and_email_opens_shows_no_lift(funnel: Funnel, won: pd.Series) -> None:
    """Vanity volume: the top quartile wins at less than 1.5x the bottom quartile."""
    rates = _quartile_won_rates(_event_counts(funnel, ["blog_read", "email_open"]), won)
    assert rates[-1][0] < 1.5 * rates[0][0]
    assert _event_counts(funnel, ["blog_read"]).max() >= 30


def test_old_intent_converts_much_less_than_current_intent(funnel: Funnel, won: pd.Series) -> None:
    window = funnel.latent["window"].to_numpy()
    current, current_se = _rate_se(won.to_numpy()[window == "current"])
    past, past_se = _rate_se(won.to_numpy()[window == "past"])
    assert current - 3 * past > Z * math.hypot(current_se, 3 * past_se)


def test_won_rate_rises_with_latent_fit(funnel: Funnel, won: pd.Series) -> None:
    quintile = pd.qcut(funnel.latent["fit"], 5, labels=False).to_numpy()
    low, low_se = _rate_se(won.to_numpy()[quintile == 0])
    high, high_se = _rate_se(won.to_numpy()[quintile == 4])
    assert high - 3 * low > Z * math.hypot(high_se, 3 * low_se)


def test_competitors_never_win(funnel: Funnel, won: pd.Series) -> None:
    domain = funnel.leads["email"].str.split("@").str[1]
    competitor = domain.isin(funnel.spec.competitor_domains).to_numpy()
    assert competitor.sum() > 0
    assert not won.to_numpy()[competitor].any()


def test_a_hot_account_lifts_contacts_without_a_window_of_their_own(funnel: Funnel, won: pd.Series) -> None:
    latent = funnel.latent
    quiet = (latent["window"] == "none").to_numpy()
    hot = quiet & (latent["account_heat"] > 0.5).to_numpy()
    cold = quiet & (latent["account_heat"] == 0).to_numpy()
    hot_rate, hot_se = _rate_se(won.to_numpy()[hot])
    cold_rate, cold_se = _rate_se(won.to_numpy()[cold])
    assert hot_rate - 2 * cold_rate > Z * math.hypot(hot_se, 2 * cold_se)


def test_committees_leave_security_and_rfp_signals(funnel: Funnel) -> None:
    rfp = funnel.events.loc[funnel.events["type"] == "rfp_received", "lead_id"]
    departments = funnel.leads.set_index("lead_id").loc[rfp, "department"]
    assert len(rfp) > 0 and (departments == "procurement").mean() > 0.5
    security = funnel.events.loc[funnel.events["type"] == "security_page", "lead_id"]
    assert funnel.leads.set_index("lead_id").loc[security, "department"].isin(["security", "it"]).mean() > 0.5


@pytest.mark.slow
def test_200k_leads_generate_in_a_few_seconds() -> None:
    import time

    started = time.perf_counter()
    result = generate_funnel(FunnelSpec(n_leads=200_000), np.random.default_rng(3))
    assert time.perf_counter() - started < 15
    assert len(result.leads) == 200_000
