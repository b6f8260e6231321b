"""Accounts and leads: firmographics, personas, emails, sources and the latent fit behind them.

Accounts get a segment, size, revenue, industry and country; their latent fit comes from target
industry, revenue band and size. Leads are contacts of accounts (committee accounts bring more of
them, many from procurement, security and IT); a lead's fit adds seniority and subtracts free-mail,
student and competitor penalties. Everything is drawn for all rows at once from one Generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.dtypes import StringDType
import pandas as pd

from scoring.columns import ACCOUNT_COLUMNS, LEAD_COLUMNS
from simulator._names import COMPANY_SUFFIXES, COMPANY_WORDS, FIRST_NAMES, LAST_NAMES
from simulator._sampling import (
    BoolArray,
    FloatArray,
    IntArray,
    day_seconds,
    labels,
    lognormal_around,
    mix_codes,
    padded_ids,
    str_series,
    str_take,
    tilted_probability,
    timestamps,
    uniform_between,
)
from simulator.spec import FunnelSpec
from simulator.vocabulary import DEPARTMENTS, INDUSTRIES, SEGMENTS, SENIORITIES, SOURCES

__all__ = [
    "Accounts",
    "Contacts",
    "EmailDraw",
    "draw_accounts",
    "account_fit",
    "draw_contacts",
    "created_days",
    "created_timestamps",
    "email_addresses",
    "lead_numbers",
    "leads_frame",
]


@dataclass(frozen=True, eq=False)
class Accounts:
    """Drawn accounts: the canonical frame plus per-account arrays the later draws need."""

    frame: pd.DataFrame
    """ACCOUNT_COLUMNS, one row per account, in account-index order."""
    segment: IntArray
    """Codes into SEGMENTS."""
    industry: IntArray
    """Codes into INDUSTRIES."""
    fit: FloatArray
    """Latent account fit (fit units: DOMAIN fit points / 25)."""
    domain: np.ndarray
    """Web domain per account (numpy unicode)."""


@dataclass(frozen=True, eq=False)
class EmailDraw:
    """The integer draws behind each lead's email address; the strings are built with the leads frame."""

    first: IntArray
    """Index into FIRST_NAMES."""
    last: IntArray
    """Index into LAST_NAMES."""
    digits: IntArray
    """1..999, appended to the local part of a free-mail address."""
    free: IntArray
    """Index into spec.free_mail_domains (used by free-mail leads)."""
    rival: IntArray
    """Index into spec.competitor_domains (used by competitors)."""


@dataclass(frozen=True, eq=False)
class Contacts:
    """Drawn leads before their timeline: one entry per lead, in lead-index order."""

    account: IntArray
    title: IntArray
    """Row index into spec.titles."""
    seniority: IntArray
    department: IntArray
    is_student: BoolArray
    is_competitor: BoolArray
    is_free_mail: BoolArray
    fit: FloatArray
    """Latent lead fit: account fit + seniority + negative penalties + noise."""
    email: EmailDraw
    """The draws of the email address (`email_addresses` builds the strings)."""
    source: IntArray
    owner: IntArray
    missing: dict[str, BoolArray]
    """Per blanked field (industry, employees, annual_revenue, title): which leads lack it."""


def account_fit(spec: FunnelSpec, industry: IntArray, employees: IntArray, revenue: FloatArray,
                ) -> FloatArray:
    """Latent fit of accounts (fit units): target industry, revenue band, size at or above mid-market."""
    w = spec.account_fit_weights
    target_codes = [INDUSTRIES.index(i) for i in spec.target_industries]
    low, high = spec.revenue_band
    return (
        w.get("target_industry", 0.0) * np.isin(industry, target_codes)
        + w.get("revenue_in_band", 0.0) * ((revenue >= low) & (revenue < high))
        + w.get("revenue_over_band", 0.0) * (revenue >= high)
        + w.get("employees_200_plus", 0.0) * (employees >= spec.segment_employees["mid_market"][0])
    ).astype(np.float64)


def draw_accounts(spec: FunnelSpec, rng: np.random.Generator) -> Accounts:
    """Accounts with segment-consistent employees, revenue (USD), industry, country and fit."""
    n = spec.account_count
    segment = mix_codes(rng, spec.segment_mix, SEGMENTS, n)
    bounds = np.array([spec.segment_employees[s] for s in SEGMENTS], dtype=np.float64)
    low, high = bounds[segment, 0], bounds[segment, 1]
    log_employees = uniform_between(rng, np.log(low), np.log(high + 1.0), n)
    employees = np.clip(np.floor(np.exp(log_employees)), low, high).astype(np.int64)
    industry = mix_codes(rng, spec.industry_mix, INDUSTRIES, n)
    per_employee, sigma = spec.revenue_per_employee
    revenue = np.round(employees * lognormal_around(rng, per_employee, sigma, n), -3)
    countries = tuple(spec.country_mix)
    country = mix_codes(rng, spec.country_mix, countries, n)
    word = labels(COMPANY_WORDS, rng.integers(len(COMPANY_WORDS), size=n))
    suffix = labels(COMPANY_SUFFIXES, rng.integers(len(COMPANY_SUFFIXES), size=n))
    numbers = np.arange(1, n + 1).astype(np.str_)
    domain = np.char.add(np.char.add(np.char.add(word, "-"), numbers), ".com")
    name = np.char.add(np.char.add(np.char.capitalize(word), " "), suffix)
    fit = account_fit(spec, industry, employees, revenue)
    frame = pd.DataFrame({
        "account_id": str_series(padded_ids("A", 6, n)),
        "name": str_series(name),
        "domain": str_series(domain),
        "industry": str_take(INDUSTRIES, industry),
        "employees": employees,
        "annual_revenue": revenue,
        "country": str_take(countries, country),
        "segment": str_take(SEGMENTS, segment),
    }, columns=list(ACCOUNT_COLUMNS))
    return Accounts(frame=frame, segment=segment, industry=industry, fit=fit, domain=domain)


def _title_codes(spec: FunnelSpec, seniority: IntArray, rng: np.random.Generator) -> IntArray:
    """A title row per lead, drawn by weight among the titles of the lead's seniority."""
    title_seniority = np.array([SENIORITIES.index(t[1]) for t in spec.titles])
    weights = np.array([t[3] for t in spec.titles], dtype=np.float64)
    out = np.zeros(seniority.size, dtype=np.int64)
    for code in range(len(SENIORITIES)):
        rows = np.flatnonzero(seniority == code)
        candidates = np.flatnonzero((title_seniority == code) & (weights > 0))
        if rows.size:
            p = weights[candidates] / weights[candidates].sum()
            out[rows] = rng.choice(candidates, size=rows.size, p=p)
    return out


def _committee_titles(spec: FunnelSpec, size: int, rng: np.random.Generator) -> IntArray:
    """Title rows for committee-role contacts: department from the committee mix, then title by weight."""
    department = mix_codes(rng, spec.committee_department_mix, DEPARTMENTS, size)
    title_department = np.array([DEPARTMENTS.index(t[2]) for t in spec.titles])
    weights = np.array([w if s != "student" else 0.0 for _, s, _, w in spec.titles])
    out = np.zeros(size, dtype=np.int64)
    for code in np.unique(department).tolist():
        rows = np.flatnonzero(department == code)
        candidates = np.flatnonzero((title_department == code) & (weights > 0))
        out[rows] = rng.choice(candidates, size=rows.size, p=weights[candidates] / weights[candidates].sum())
    return out


def _email_draw(spec: FunnelSpec, n: int, rng: np.random.Generator) -> EmailDraw:
    """Names, digits and free-mail / competitor domains of n email addresses (integer codes only)."""
    first = rng.integers(len(FIRST_NAMES), size=n)
    last = rng.integers(len(LAST_NAMES), size=n)
    digits = rng.integers(1, 1000, size=n)
    free = rng.integers(len(spec.free_mail_domains), size=n)
    rival = rng.integers(len(spec.competitor_domains), size=n)
    return EmailDraw(first=first, last=last, digits=digits, free=free, rival=rival)


def email_addresses(spec: FunnelSpec, accounts: Accounts, contacts: Contacts) -> np.ndarray:
    """first.last@<account domain>, first.last<digits>@free-mail, first.last@competitor; unique per lead
    (a repeated address gets ".<lead number>" after its local part). Object array of str."""
    draw, n = contacts.email, contacts.account.size
    text = StringDType()  # numpy's variable-width strings: concatenation runs in C, ~3x faster than "<U"
    first = labels(FIRST_NAMES, draw.first).astype(text)
    last = labels(LAST_NAMES, draw.last).astype(text)
    local = np.strings.add(np.strings.add(first, "."), last)
    digits = draw.digits.astype(text)
    local = np.where(contacts.is_free_mail, np.strings.add(local, digits), local)
    free = labels(spec.free_mail_domains, draw.free).astype(text)
    rival = labels(spec.competitor_domains, draw.rival).astype(text)
    domain = np.where(contacts.is_competitor, rival,
                      np.where(contacts.is_free_mail, free, accounts.domain[contacts.account].astype(text)))
    email = np.strings.add(np.strings.add(local, "@"), domain)
    duplicated = pd.Series(email.astype(object)).duplicated().to_numpy()
    if duplicated.any():
        suffix = np.strings.add(".", np.arange(1, n + 1).astype(text))
        local = np.where(duplicated, np.strings.add(local, suffix), local)
        email = np.strings.add(np.strings.add(local, "@"), domain)
    return email.astype(object)


def draw_contacts(spec: FunnelSpec, accounts: Accounts, committee_account: BoolArray,
                  rng: np.random.Generator) -> Contacts:
    """Leads of the accounts: persona, negatives, email draws, source, owner, data gaps and latent fit."""
    n = spec.n_leads
    lead_weight = np.array([spec.segment_lead_weight[s] for s in SEGMENTS])[accounts.segment]
    weight = lead_weight * np.where(committee_account, spec.committee_lead_boost, 1.0)
    weight = weight * lognormal_around(rng, 1.0, spec.account_contacts_sd, weight.size)
    account = rng.choice(weight.size, size=n, p=weight / weight.sum()).astype(np.int64)

    role = rng.random(n)
    is_competitor = role < spec.competitor_share
    is_student = ~is_competitor & (role < spec.competitor_share + spec.student_share)
    seniority = mix_codes(rng, spec.seniority_mix, SENIORITIES, n)
    seniority[is_student] = SENIORITIES.index("student")
    title = _title_codes(spec, seniority, rng)
    committee_role = committee_account[account] & ~is_student & (rng.random(n) < spec.committee_role_share)
    title[committee_role] = _committee_titles(spec, int(committee_role.sum()), rng)
    seniority = np.array([SENIORITIES.index(t[1]) for t in spec.titles])[title]
    department = np.array([DEPARTMENTS.index(t[2]) for t in spec.titles])[title]

    seniority_fit = np.array([spec.seniority_fit[s] for s in SENIORITIES])[seniority]
    prior_fit = accounts.fit[account] + seniority_fit
    p_free = tilted_probability(spec.free_mail_share, prior_fit, -spec.free_mail_fit_slope)
    p_free = np.where(is_student, np.maximum(p_free, spec.student_free_mail_share), p_free)
    is_free_mail = ~is_competitor & (rng.random(n) < p_free)
    fit = (prior_fit + spec.free_mail_fit * is_free_mail + spec.competitor_fit * is_competitor
           + spec.fit_noise_sd * rng.standard_normal(n))

    email = _email_draw(spec, n, rng)
    source = mix_codes(rng, spec.source_mix, SOURCES, n)
    owner = rng.integers(spec.n_owners, size=n).astype(np.int64)
    missing = {name: rng.random(n) < spec.missing_shares.get(name, 0.0)
               for name in ("industry", "employees", "annual_revenue", "title")}
    return Contacts(account=account, title=title, seniority=seniority, department=department,
                    is_student=is_student, is_competitor=is_competitor, is_free_mail=is_free_mail,
                    fit=fit, email=email, source=source, owner=owner, missing=missing)


def created_days(spec: FunnelSpec, window_start: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Creation time of each lead in days relative to as_of (<= 0), before its buying window if any.

    Args:
        spec: the funnel spec (history_days, window_creation_lead_days).
        window_start: start of each lead's buying window in days relative to as_of, NaN for none.
        rng: the random generator.

    Returns:
        Days in [-history_days, 0); a lead with a window exists before the window's first event.
    """
    n = window_start.size
    base = uniform_between(rng, -float(spec.history_days), 0.0, n)
    before_window = window_start - spec.window_creation_lead_days * rng.random(n)
    created = np.where(np.isnan(window_start), base, np.fmin(base, before_window))
    return np.maximum(created, -float(spec.history_days))


def _campaigns(spec: FunnelSpec, created_at: pd.DatetimeIndex, source: IntArray) -> pd.Series:
    """Campaign per lead: "<year>-q<quarter of created_at>-<campaign slug of the source>"."""
    year = created_at.year.to_numpy().astype(np.int64)
    quarter = created_at.quarter.to_numpy().astype(np.int64)
    key = (year * 4 + quarter - 1) * len(SOURCES) + source
    unique, codes = np.unique(key, return_inverse=True)
    names = []
    for k in unique.tolist():
        quarter_index, source_code = divmod(k, len(SOURCES))
        slug = spec.campaigns[SOURCES[source_code]]
        names.append(f"{quarter_index // 4}-q{quarter_index % 4 + 1}-{slug}")
    return str_take(names, codes.astype(np.int64))


def created_timestamps(spec: FunnelSpec, created: FloatArray) -> pd.DatetimeIndex:
    """created_at per lead (datetime64[us, UTC]): as_of plus `created` days, rounded to whole seconds."""
    return timestamps(spec.as_of, day_seconds(created))


def lead_numbers(accounts: Accounts, contacts: Contacts, column: str) -> FloatArray:
    """Per lead, its account's `column` ("employees" or "annual_revenue") as float64, NaN where blanked."""
    values = accounts.frame[column].to_numpy()[contacts.account].astype(np.float64)
    return np.where(contacts.missing[column], np.nan, values)


def leads_frame(spec: FunnelSpec, accounts: Accounts, contacts: Contacts, created: FloatArray,
                lead_ids: np.ndarray) -> pd.DataFrame:
    """The canonical leads frame (LEAD_COLUMNS); firmographics copied from the account, some blanked."""
    acc = contacts.account
    created_at = created_timestamps(spec, created)
    missing = contacts.missing
    return pd.DataFrame({
        "lead_id": str_take(lead_ids, np.arange(lead_ids.size)),
        "account_id": str_take(accounts.frame["account_id"].to_numpy(), acc),
        "email": str_series(email_addresses(spec, accounts, contacts)),
        "title": str_take([t[0] for t in spec.titles], contacts.title, missing["title"]),
        "seniority": str_take(SENIORITIES, contacts.seniority),
        "department": str_take(DEPARTMENTS, contacts.department),
        "industry": str_take(INDUSTRIES, accounts.industry[acc], missing["industry"]),
        "employees": lead_numbers(accounts, contacts, "employees"),
        "annual_revenue": lead_numbers(accounts, contacts, "annual_revenue"),
        "country": str_take(accounts.frame["country"].to_numpy(), acc),
        "source": str_take(SOURCES, contacts.source),
        "campaign": _campaigns(spec, created_at, contacts.source),
        "segment": str_take(SEGMENTS, accounts.segment[acc]),
        "created_at": pd.Series(created_at),
        "owner_id": str_take(padded_ids("U", 3, spec.n_owners), contacts.owner),
    }, columns=list(LEAD_COLUMNS))
