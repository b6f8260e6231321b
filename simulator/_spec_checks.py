"""Validation of a FunnelSpec: every problem found, as "field: what is wrong (allowed ...)" lines."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from simulator.vocabulary import (
    ACCOUNT_FIT_TERMS,
    DEPARTMENTS,
    EVENT_TYPES,
    INDUSTRIES,
    SEGMENTS,
    SENIORITIES,
    SOURCES,
)

if TYPE_CHECKING:
    from simulator.spec import FunnelSpec


def spec_problems(spec: FunnelSpec) -> list[str]:
    """Every problem with a spec, as "field: what is wrong (allowed ...)" lines."""
    out: list[str] = []

    def mix(name: str, allowed: tuple[str, ...], *, complete: bool = False, distribution: bool = True,
            ) -> None:
        value: Mapping[str, float] = getattr(spec, name)
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            out.append(f"{name}: unknown keys {unknown} (allowed {list(allowed)})")
        if complete and set(value) != set(allowed):
            out.append(f"{name}: needs every key of {list(allowed)}, got {sorted(value)}")
        if any(not v >= 0 for v in value.values()):
            out.append(f"{name}: weights must be >= 0, got {dict(value)}")
        elif distribution and not sum(value.values()) > 0:
            out.append(f"{name}: weights must not all be 0")

    def share(name: str) -> None:
        v = getattr(spec, name)
        if not 0.0 <= v <= 1.0:
            out.append(f"{name}: must be a share in [0, 1], got {v}")

    def span(name: str, low: float = 0.0) -> None:
        lo, hi = getattr(spec, name)
        if not low <= lo <= hi:
            out.append(f"{name}: needs {low} <= low <= high, got ({lo}, {hi})")

    if spec.n_leads < 1:
        out.append(f"n_leads: must be >= 1, got {spec.n_leads}")
    if spec.n_accounts is not None and spec.n_accounts < 1:
        out.append(f"n_accounts: must be >= 1 or None, got {spec.n_accounts}")
    if not spec.leads_per_account > 0:
        out.append(f"leads_per_account: must be > 0, got {spec.leads_per_account}")
    if not isinstance(spec.as_of, pd.Timestamp) or spec.as_of.tz is None:
        out.append(f"as_of: must be a tz-aware pd.Timestamp (UTC), got {spec.as_of!r}")
    if spec.history_days < 1 or spec.outcome_days < 1:
        out.append("history_days, outcome_days: must be >= 1 day")
    mix("segment_mix", SEGMENTS)
    mix("account_fit_weights", ACCOUNT_FIT_TERMS, distribution=False)
    mix("segment_lead_weight", SEGMENTS, complete=True)
    mix("industry_mix", INDUSTRIES)
    mix("seniority_mix", SENIORITIES[:-1])
    mix("source_mix", SOURCES)
    mix("country_mix", tuple(spec.country_mix))
    if set(spec.segment_employees) != set(SEGMENTS):
        out.append(f"segment_employees: needs keys {list(SEGMENTS)}")
    else:
        bounds = [spec.segment_employees[s] for s in SEGMENTS]
        if bounds[0][0] < 1 or any(lo > hi for lo, hi in bounds):
            out.append(f"segment_employees: ranges must be 1 <= low <= high, got {bounds}")
        if bounds[0][1] >= 200 or not 200 <= bounds[1][0] <= bounds[1][1] < 2000 or bounds[2][0] < 2000:
            out.append("segment_employees: ranges must respect the segment cut-offs 200 and 2000")
    if set(spec.seniority_fit) != set(SENIORITIES):
        out.append(f"seniority_fit: needs every key of {list(SENIORITIES)}")
    unknown_industries = sorted(set(spec.target_industries) - set(INDUSTRIES))
    if unknown_industries:
        out.append(f"target_industries: unknown {unknown_industries} (allowed {list(INDUSTRIES)})")
    for title, seniority, department, weight in spec.titles:
        if seniority not in SENIORITIES or department not in DEPARTMENTS or not weight >= 0:
            out.append(f"titles: bad row {(title, seniority, department, weight)}")
    for seniority in SENIORITIES:
        if not any(s == seniority and w > 0 for _, s, _, w in spec.titles):
            out.append(f"titles: no title with seniority {seniority!r} and a weight > 0")
    mix("committee_department_mix", DEPARTMENTS)
    for department, weight in spec.committee_department_mix.items():
        if weight > 0 and not any(d == department and s != "student" and w > 0 for _, s, d, w in spec.titles):
            out.append(f"committee_department_mix: no non-student title in department {department!r}")
    missing_campaigns = sorted(set(SOURCES) - set(spec.campaigns))
    if missing_campaigns:
        out.append(f"campaigns: no campaign for sources {missing_campaigns}")
    bad_missing = sorted(set(spec.missing_shares) - {"industry", "employees", "annual_revenue", "title"})
    if bad_missing:
        out.append(f"missing_shares: unknown {bad_missing} "
                   "(allowed industry, employees, annual_revenue, title)")
    if any(not 0.0 <= v <= 1.0 for v in spec.missing_shares.values()):
        out.append(f"missing_shares: shares must be in [0, 1], got {dict(spec.missing_shares)}")
    for name in ("intent_event_rates", "intent_event_positions", "event_base_rates",
                 "content_consumer_rates"):
        mix(name, EVENT_TYPES, distribution=False)
    if set(spec.intent_event_positions) != set(spec.intent_event_rates):
        out.append("intent_event_positions: needs the same keys as intent_event_rates")
    for name in ("committee_security_position", "committee_rfp_position"):
        share(name)
    if spec.max_committee_size < 1:
        out.append(f"max_committee_size: a buying committee needs at least 1 person, got {spec.max_committee_size}")
    if any(not 0.0 <= v <= 1.0 for v in spec.intent_event_positions.values()):
        out.append("intent_event_positions: positions must be in [0, 1]")
    if "unsubscribe" in spec.event_base_rates or "rfp_received" in spec.event_base_rates:
        out.append("event_base_rates: unsubscribe and rfp_received come from unsubscribe_share and "
                   "committee_rfp_share, not base rates")
    if set(spec.stage_propensity_shares) != set(("accepted", "meeting", "opportunity", "won")):
        out.append("stage_propensity_shares: needs keys accepted, meeting, opportunity, won")
    elif not math.isclose(sum(spec.stage_propensity_shares.values()), 1.0, abs_tol=1e-9) or any(
            v < 0 for v in spec.stage_propensity_shares.values()):
        out.append("stage_propensity_shares: must be >= 0 and sum to 1, "
                   f"got {dict(spec.stage_propensity_shares)}")
    if set(spec.stage_time_shares) != {"accepted", "meeting", "opportunity", "closed"} or any(
            not v > 0 for v in spec.stage_time_shares.values()):
        out.append("stage_time_shares: needs positive accepted, meeting, opportunity, closed")
    for name in ("student_share", "competitor_share", "free_mail_share", "student_free_mail_share",
                 "individual_window_share", "competitor_window_share",
                 "account_window_share", "committee_role_share", "committee_engage_share",
                 "committee_rfp_share", "content_consumer_share", "unsubscribe_share", "rejected_rate"):
        share(name)
    if spec.student_share + spec.competitor_share > 1:
        out.append("student_share + competitor_share: must be <= 1")
    span("window_length_days", low=1e-6)
    if not spec.current_window_days >= 0:
        out.append(f"current_window_days: must be >= 0, got {spec.current_window_days}")
    if not 0 < spec.days_to_close_mean < spec.outcome_days:
        out.append(f"days_to_close_mean: must be in (0, outcome_days={spec.outcome_days}), "
                   f"got {spec.days_to_close_mean}")
    for name in ("intent_strength_shape", "intent_strength_mean", "intent_half_life_days",
                 "days_to_close_concentration", "stage_time_concentration", "committee_lead_boost"):
        if not getattr(spec, name) > 0:
            out.append(f"{name}: must be > 0, got {getattr(spec, name)}")
    for name in ("fit_noise_sd", "intent_position_sd", "window_creation_lead_days",
                 "committee_jitter_days", "committee_security_rate", "account_contacts_sd"):
        if not getattr(spec, name) >= 0:
            out.append(f"{name}: must be >= 0, got {getattr(spec, name)}")
    if spec.n_owners < 1 or spec.n_owners > 999:
        out.append(f"n_owners: must be in [1, 999], got {spec.n_owners}")
    if not spec.free_mail_domains or not spec.competitor_domains:
        out.append("free_mail_domains, competitor_domains: must not be empty")
    return out

