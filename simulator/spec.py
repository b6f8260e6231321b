"""FunnelSpec: every size, rate and prior of a synthetic funnel, with DOMAIN.md-based defaults.

Nothing the simulator draws from is a constant in code: each mix, rate, weight and delay is a field
here, so a scenario (a later TOML file, a sweep) changes a field and nothing else. Times are in days;
"age" means days before `as_of`. Mappings are treated as read-only; derive a variant with
`dataclasses.replace(spec, field=...)`. The spec is validated once, at construction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from scoring.errors import SettingsError
from simulator._scenario_time import time_problems
from simulator._spec_checks import spec_problems
from simulator.vocabulary import TITLES

__all__ = ["FunnelSpec"]


def _as_of_default() -> pd.Timestamp:
    return pd.Timestamp("2026-11-01", tz="UTC")


def _d(**values: float) -> dict[str, float]:
    return dict(values)


@dataclass(frozen=True)
class FunnelSpec:
    """Sizes, mixes, rates and priors of one synthetic funnel (DOMAIN.md defaults)."""

    # ---- size and time ------------------------------------------------------------------------
    n_leads: int = 20_000
    n_accounts: int | None = None
    """Accounts to draw; None derives ceil(n_leads / leads_per_account)."""
    leads_per_account: float = 5.0
    as_of: pd.Timestamp = field(default_factory=_as_of_default)
    """The moment the funnel is observed (UTC): events happen before it, outcomes after it."""
    history_days: int = 120
    """Leads are created and behave in [as_of - history_days, as_of]."""
    outcome_days: int = 90
    """Stage outcomes happen in (as_of, as_of + outcome_days]."""

    # ---- accounts -------------------------------------------------------------------------------
    segment_mix: Mapping[str, float] = field(
        default_factory=lambda: _d(smb=0.6, mid_market=0.3, enterprise=0.1))
    segment_employees: Mapping[str, tuple[int, int]] = field(
        default_factory=lambda: {"smb": (5, 199), "mid_market": (200, 1999), "enterprise": (2000, 60000)})
    """Employee range per segment (inclusive), drawn log-uniformly; segment is <200 / 200-1999 / >=2000."""
    revenue_per_employee: tuple[float, float] = (150_000.0, 0.5)
    """Annual revenue per employee in USD: median and log-scale standard deviation."""
    segment_lead_weight: Mapping[str, float] = field(
        default_factory=lambda: _d(smb=1.0, mid_market=1.1, enterprise=1.4))
    """Relative number of contacts an account of each segment brings into the CRM."""
    account_contacts_sd: float = 0.5
    """Log-scale spread of contacts per account around its segment's weight."""
    industry_mix: Mapping[str, float] = field(default_factory=lambda: _d(
        software=0.20, fintech=0.10, healthcare=0.12, manufacturing=0.16, retail=0.14, education=0.10,
        government=0.08, media=0.10))
    target_industries: tuple[str, ...] = ("software", "fintech", "healthcare")
    country_mix: Mapping[str, float] = field(default_factory=lambda: _d(
        US=0.50, GB=0.12, DE=0.09, CA=0.07, FR=0.06, AU=0.05, NL=0.04, IN=0.04, SE=0.03))

    # ---- fit (latent): DOMAIN fit points / 25 ----------------------------------------------------
    account_fit_weights: Mapping[str, float] = field(default_factory=lambda: _d(
        target_industry=1.0, revenue_in_band=1.0, revenue_over_band=0.8, employees_200_plus=0.6))
    revenue_band: tuple[float, float] = (10_000_000.0, 100_000_000.0)
    """The ideal annual revenue range in USD (DOMAIN: $10M-$100M +25)."""
    seniority_fit: Mapping[str, float] = field(default_factory=lambda: _d(
        c_level=1.2, vp=1.2, director=1.0, manager=0.4, individual=0.0, student=-1.5))
    free_mail_fit: float = -1.0
    competitor_fit: float = -2.0
    fit_noise_sd: float = 0.5

    # ---- leads ----------------------------------------------------------------------------------
    seniority_mix: Mapping[str, float] = field(default_factory=lambda: _d(
        c_level=0.05, vp=0.09, director=0.15, manager=0.26, individual=0.45))
    """Seniority of non-student leads; students come from student_share."""
    titles: tuple[tuple[str, str, str, float], ...] = TITLES
    """(title, seniority, department, weight within the seniority)."""
    student_share: float = 0.04
    competitor_share: float = 0.01
    free_mail_share: float = 0.15
    """Mean share of non-student, non-competitor leads with a personal mail domain."""
    free_mail_fit_slope: float = 0.8
    """How much likelier low-fit leads are to use free mail (logit per unit of account+title fit)."""
    student_free_mail_share: float = 0.7
    free_mail_domains: tuple[str, ...] = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com")
    competitor_domains: tuple[str, ...] = ("rivalscore.io", "leadlytics.com")
    missing_shares: Mapping[str, float] = field(default_factory=lambda: _d(
        industry=0.07, employees=0.06, annual_revenue=0.08, title=0.05))
    """Share of leads with a blank field (data-quality gaps; the account record stays complete)."""
    source_mix: Mapping[str, float] = field(default_factory=lambda: _d(
        organic=0.22, paid_search=0.18, paid_social=0.12, webinar=0.12, event=0.08, referral=0.07,
        outbound=0.14, partner=0.07))
    campaigns: Mapping[str, str] = field(default_factory=lambda: {
        "organic": "seo-content", "paid_search": "paid-search-brand", "paid_social": "linkedin-abm",
        "webinar": "webinar-series", "event": "field-events", "referral": "customer-referrals",
        "outbound": "sdr-outbound", "partner": "partner-co-marketing"})
    """Campaign slug per source; the campaign is "<year>-q<quarter of created_at>-<slug>"."""
    n_owners: int = 24

    # ---- intent: buying windows ---------------------------------------------------------------
    individual_window_share: float = 0.22
    """Share of leads outside an engaged committee that have a buying window of their own."""
    competitor_window_share: float = 0.5
    """Competitors browse like buyers (pricing, demos) and never buy."""
    current_window_days: float = 10.0
    """A window still running at as_of, or ended at most this many days before it, is "current"; older ones
    are "past" (the latent `window` kind). Windows start uniformly over the history, so buying and
    MQL arrivals are steady over time and as_of sees whatever happens to be live then."""
    window_length_days: tuple[float, float] = (10.0, 30.0)
    window_creation_lead_days: float = 3.0
    """A lead with a buying window exists by at most this many days (uniform) before its first event."""
    intent_strength_shape: float = 2.0
    intent_strength_mean: float = 1.0
    """Gamma-distributed strength of a buying window; scales its event counts."""
    intent_half_life_days: float = 14.0
    """Current intent = strength * 0.5 ** (days since the window ended / half-life)."""
    intent_event_rates: Mapping[str, float] = field(default_factory=lambda: _d(
        blog_read=0.5, case_study=1.3, webinar=0.5, email_click=1.0, pricing_page=2.2, demo_request=0.9))
    """Expected events per unit of strength over a buying window."""
    intent_event_positions: Mapping[str, float] = field(default_factory=lambda: _d(
        blog_read=0.10, case_study=0.35, webinar=0.45, email_click=0.50, pricing_page=0.70,
        demo_request=0.92))
    """Where in the window (0 = start, 1 = end) each event type tends to happen: a rising sequence."""
    intent_position_sd: float = 0.12
    intent_pricing_seconds: tuple[float, float] = (210.0, 0.5)
    """Seconds on the pricing page during a buying window: median and log-sd (long visits)."""
    casual_pricing_seconds: tuple[float, float] = (45.0, 0.8)

    # ---- accounts: buying committees ------------------------------------------------------------
    account_window_share: float = 0.12
    """Mean share of accounts with a committee buying window (tilted toward high-fit accounts)."""
    account_window_fit_slope: float = 0.6
    committee_lead_boost: float = 2.0
    """Accounts with a committee bring this many times more contacts into the CRM."""
    committee_role_share: float = 0.4
    """Share of a committee account's contacts drawn from the committee departments."""
    committee_department_mix: Mapping[str, float] = field(default_factory=lambda: _d(
        procurement=0.4, security=0.3, it=0.3))
    """Departments of a committee account's committee-role contacts (title by weight within each)."""
    committee_engage_share: float = 0.65
    """Share of a committee account's contacts who engage during the account's window."""
    max_committee_size: int = 10
    """Most contacts of one account that engage in its committee window, i.e. the buying committee is 1 to
    this many people (DOMAIN: 6-10); beyond it, engaged contacts drawn at random do not engage."""
    committee_jitter_days: float = 4.0
    committee_security_rate: float = 1.5
    """Expected security_page visits per engaged security/it contact over the window."""
    committee_security_position: float = 0.6
    """Where in the window security reviews tend to happen (0 = start, 1 = end)."""
    committee_rfp_share: float = 0.5
    """Chance that a committee window produces an rfp_received (to a procurement contact if any)."""
    committee_rfp_position: float = 0.85

    # ---- background behaviour -----------------------------------------------------------------
    event_base_rates: Mapping[str, float] = field(default_factory=lambda: _d(
        email_open=0.035, blog_read=0.02, email_click=0.005, webinar=0.002, case_study=0.002,
        pricing_page=0.003, security_page=0.0005, demo_request=0.0004))
    """Events per lead per day since creation, whatever the lead's intent."""
    content_consumer_share: float = 0.15
    """Leads who read and open everything, uncorrelated with fit or intent (vanity volume)."""
    content_consumer_rates: Mapping[str, float] = field(default_factory=lambda: _d(
        blog_read=0.3, email_open=0.12))
    """Extra events per day for content consumers."""
    unsubscribe_share: float = 0.04
    unsubscribe_fit_slope: float = 0.5
    """How much likelier low-fit leads are to unsubscribe (logit per unit of fit)."""

    # ---- propensity -----------------------------------------------------------------------------
    propensity_base: float = -5.6
    propensity_fit_weight: float = 0.75
    propensity_intent_weight: float = 1.6
    propensity_heat_weight: float = 1.0
    propensity_unsubscribe_weight: float = -1.5
    """propensity = sigmoid(base + fit_w * fit + intent_w * intent + heat_w * account_heat + unsub_w);
    competitors have propensity 0."""

    # ---- stages and speed -----------------------------------------------------------------------
    stage_propensity_shares: Mapping[str, float] = field(default_factory=lambda: _d(
        accepted=0.45, meeting=0.15, opportunity=0.15, won=0.25))
    """P(reach a stage | the previous one) = propensity ** share; shares sum to 1, so P(won) = propensity."""
    rejected_rate: float = 0.05
    """Share of leads that are not accepted which a rep reviews and rejects (a "rejected" row)."""
    days_to_close_mean: float = 55.0
    """Mean days from as_of to the close of an opportunity (score-to-close), within outcome_days."""
    days_to_close_concentration: float = 6.0
    stage_time_shares: Mapping[str, float] = field(default_factory=lambda: _d(
        accepted=0.06, meeting=0.14, opportunity=0.25, closed=0.55))
    """Mean share of the time to close spent before each stage."""
    stage_time_concentration: float = 20.0

    # ---- arrivals, peak season and drift (defaults: off) ----------------------------------------
    leads_per_day: float | None = None
    """None: n_leads leads created over history_days (the original draw). A rate: leads arrive per
    day, Poisson at leads_per_day (times the peak volume multiplier), and n_leads of the generated
    funnel is the realised count."""
    peak_season: tuple[str, str] | None = None
    """A yearly peak ("MM-DD", "MM-DD"), both days included; may wrap over the new year."""
    peak_volume_multiplier: float = 1.0
    """Lead arrivals per day in the peak season, relative to the rest of the year."""
    peak_event_multiplier: float = 1.0
    """Behaviour events per day in the peak season (DOMAIN: peak campaigns inflate scores ~15%);
    propensity does not change, so peak scores overstate conversion."""
    drift_weights: Mapping[str, float] = field(default_factory=dict)
    """Propensity weight per term (fit, intent, heat) for leads created at as_of; leads created at the
    start of the history use propensity_<term>_weight, leads in between a linear (or stepped) mix."""
    drift_step_days: float = 0.0
    """0: weights drift linearly with creation time; > 0: in steps of this many days (30 = monthly)."""

    def __post_init__(self) -> None:
        problems = spec_problems(self) + time_problems(self)
        if problems:
            lines = "\n".join(f"  {p}" for p in problems)
            raise SettingsError(f"FunnelSpec has {len(problems)} problem(s):\n{lines}")

    @property
    def account_count(self) -> int:
        """Accounts to draw: n_accounts, or n_leads / leads_per_account rounded up."""
        if self.n_accounts is not None:
            return self.n_accounts
        return max(1, math.ceil(self.n_leads / self.leads_per_account))
