"""Buying windows: when a lead or an account was in market, and how much of that intent is current.

A window is a span of days (relative to as_of, negative = past) with a strength. Windows start uniformly
over the history and may still be running at as_of, so buying (and MQL arrivals) are steady over time; a
window that is running or ended at most `current_window_days` before as_of is "current", older ones
"past". A lead's intent at a moment is its window strength decayed by the days since the window ended
(`intent_at`), so old intent is worth little. Committee accounts have one window that most of their
contacts share (with jitter): the buying committee, 1 to max_committee_size (10) people; the account's heat
(how many contacts engage, decayed the same way) lifts every contact of the account.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator._sampling import BoolArray, FloatArray, IntArray, group_ranks, tilted_probability, uniform_between
from simulator.population import Contacts
from simulator.spec import FunnelSpec
from simulator.vocabulary import INTENT_KINDS

__all__ = [
    "AccountWindows",
    "LeadWindows",
    "draw_account_windows",
    "draw_lead_windows",
    "decayed_intent",
    "intent_at",
]

_CURRENT = INTENT_KINDS.index("current")
_PAST = INTENT_KINDS.index("past")


@dataclass(frozen=True, eq=False)
class AccountWindows:
    """Committee buying windows, one entry per account (days relative to as_of; NaN when none)."""

    active: BoolArray
    kind: IntArray
    """Codes into INTENT_KINDS."""
    start: FloatArray
    end: FloatArray


@dataclass(frozen=True, eq=False)
class LeadWindows:
    """Each lead's buying window and the latent intent it leaves at as_of."""

    kind: IntArray
    """Codes into INTENT_KINDS ("none" when the lead never was in market)."""
    start: FloatArray
    end: FloatArray
    strength: FloatArray
    """Window strength (0 without a window): scales the lead's intent events."""
    engaged: BoolArray
    """The lead engaged as part of its account's buying committee."""
    intent: FloatArray
    """Current intent at as_of: strength decayed by days since the window ended."""
    account_heat: FloatArray
    """Heat of the lead's account at as_of: log(1 + engaged contacts), decayed like intent."""
    committee_size: FloatArray
    """log(1 + engaged contacts) of the lead's account: its heat while the account's window runs."""
    account_start: FloatArray
    account_end: FloatArray
    """The lead's account's committee window (NaN without one)."""


def decayed_intent(strength: FloatArray, end: FloatArray, half_life_days: float) -> FloatArray:
    """Intent left at as_of: strength * 0.5 ** (days since the window ended / half-life); 0 for NaN."""
    decay = np.exp2(np.minimum(end, 0.0) / half_life_days)
    return np.where(np.isnan(end), 0.0, strength * decay)


def intent_at(strength: FloatArray, start: FloatArray, end: FloatArray, day: FloatArray,
              half_life_days: float) -> FloatArray:
    """Intent at `day` (relative to as_of): 0 before the window starts (or without one), the full strength
    during it, then halving every half_life_days after it ends."""
    started = np.nan_to_num(start, nan=np.inf) <= day
    return np.where(started, decayed_intent(strength, end - day, half_life_days), 0.0)


def _window_times(spec: FunnelSpec, rng: np.random.Generator, n: int,
                  ) -> tuple[IntArray, FloatArray, FloatArray]:
    """Kind (current or past), start and end day of n candidate windows: starts uniform over the history."""
    start = uniform_between(rng, -float(spec.history_days), 0.0, n)
    end = start + uniform_between(rng, *spec.window_length_days, n)
    kind = np.where(end >= -spec.current_window_days, _CURRENT, _PAST).astype(np.int64)
    return kind, start, end


def draw_account_windows(spec: FunnelSpec, account_fit: FloatArray, rng: np.random.Generator,
                         ) -> AccountWindows:
    """Which accounts run a committee buying window (likelier for high fit) and when."""
    n = account_fit.size
    p = tilted_probability(spec.account_window_share, account_fit, spec.account_window_fit_slope)
    active = rng.random(n) < p
    kind, start, end = _window_times(spec, rng, n)
    return AccountWindows(
        active=active,
        kind=np.where(active, kind, 0).astype(np.int64),
        start=np.where(active, start, np.nan),
        end=np.where(active, end, np.nan),
    )


def _committee_capped(engaged: BoolArray, account: IntArray, cap: int, rng: np.random.Generator) -> BoolArray:
    """`engaged` with at most `cap` engaged leads per account: past the cap, those with the highest random
    keys drop out."""
    key = rng.random(engaged.size)
    rows = np.flatnonzero(engaged)
    by_key = rows[np.argsort(key[rows], kind="stable")]
    kept = engaged.copy()
    kept[by_key[group_ranks(account[by_key]) >= cap]] = False
    return kept


def draw_lead_windows(spec: FunnelSpec, contacts: Contacts, accounts: AccountWindows,
                      rng: np.random.Generator) -> LeadWindows:
    """Each lead's window: its committee's (jittered) if it engages, else its own with some chance."""
    n = contacts.account.size
    acc = contacts.account
    eligible = ~contacts.is_competitor & ~contacts.is_student
    engaged = accounts.active[acc] & eligible & (rng.random(n) < spec.committee_engage_share)
    engaged = _committee_capped(engaged, acc, spec.max_committee_size, rng)
    own_share = np.where(contacts.is_competitor, spec.competitor_window_share, spec.individual_window_share)
    own = ~engaged & (rng.random(n) < own_share)
    _, own_start, own_end = _window_times(spec, rng, n)

    jitter = spec.committee_jitter_days * rng.standard_normal((2, n))
    history = -float(spec.history_days)
    committee_start = np.clip(accounts.start[acc] + jitter[0], history, 0.0)
    committee_end = np.fmax(accounts.end[acc] + jitter[1], committee_start)

    start = np.where(engaged, committee_start, np.where(own, own_start, np.nan))
    end = np.where(engaged, committee_end, np.where(own, own_end, np.nan))
    current = np.where(end >= -spec.current_window_days, _CURRENT, _PAST)
    kind = np.where(engaged | own, current, 0).astype(np.int64)
    scale = spec.intent_strength_mean / spec.intent_strength_shape
    strength = np.where(kind > 0, rng.gamma(spec.intent_strength_shape, scale, n), 0.0)
    intent = decayed_intent(strength, end, spec.intent_half_life_days)

    n_accounts = accounts.active.size
    engaged_count = np.bincount(acc[engaged], minlength=n_accounts)
    account_decay = decayed_intent(np.ones(n_accounts), accounts.end, spec.intent_half_life_days)
    size = np.log1p(engaged_count)
    return LeadWindows(kind=kind, start=start, end=end, strength=strength, engaged=engaged,
                       intent=intent, account_heat=(account_decay * size)[acc], committee_size=size[acc],
                       account_start=accounts.start[acc], account_end=accounts.end[acc])
