"""generate_funnel: one seeded synthetic funnel (accounts, leads, events, outcomes and the hidden truth).

The draws happen in a fixed order from one Generator, so the same spec and seed give identical frames:
accounts -> committee windows -> leads -> lead windows -> creation times -> unsubscribes -> content
consumers -> events -> propensity -> outcomes. When the spec asks for daily arrivals (leads_per_day,
a peak season's volume) or arrivals are given, the arrival days are drawn first and fix the number
of leads and their creation times. Every number is drawn here, eagerly; the leads, events, outcomes and
latent frames are built from the draws on first use (`Funnel.draws`), so a caller that scores from arrays
(simulator.chunked) never builds their strings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from scoring.errors import SettingsError
from simulator._sampling import BoolArray, FloatArray, IntArray, padded_ids, str_take
from simulator._scenario_time import LeadArrivals, arrival_created_days, arrival_days, has_volume_season
from simulator.behaviour import EventDraw, draw_content_consumers, draw_events, draw_unsubscribed
from simulator.intent import LeadWindows, draw_account_windows, draw_lead_windows
from simulator.in_market import InMarket, won_propensity
from simulator.outcomes import OutcomeDraw, draw_outcome_numbers
from simulator.population import Accounts, Contacts, created_days, draw_accounts, draw_contacts, leads_frame
from simulator.spec import FunnelSpec
from simulator.vocabulary import INTENT_KINDS

__all__ = ["Funnel", "LATENT_COLUMNS", "LeadDraws", "generate_funnel"]

LATENT_COLUMNS: tuple[str, ...] = (
    "lead_id", "fit", "intent", "account_heat", "propensity", "window", "content_consumer",
)
"""The hidden truth per lead: latent fit, current intent, account heat, P(won), buying-window kind
("none", "current", "past") and whether the lead is a content consumer. Never an input to scoring."""


@dataclass(frozen=True, eq=False)
class LeadDraws:
    """Everything drawn per lead, as arrays: what the leads, outcomes and latent frames are built from."""

    accounts: Accounts
    contacts: Contacts
    created: FloatArray
    """Creation of each lead, days relative to as_of (< 0)."""
    windows: LeadWindows
    content_consumer: BoolArray
    outcomes: OutcomeDraw
    """The outcomes' random numbers and each lead's P(won) (`propensity` in the latent frame)."""


@dataclass(frozen=True, eq=False)
class Funnel:
    """A synthetic funnel in the canonical columns, plus the latent truth that generated it.

    Every random number is drawn by `generate_funnel`; the leads, events, outcomes and latent frames are
    built from the draws on first use (the same frames whenever they are built)."""

    accounts: pd.DataFrame
    """ACCOUNT_COLUMNS."""
    spec: FunnelSpec
    """The spec drawn from; with daily or given arrivals, n_leads is the realised number of leads."""
    event_draw: EventDraw
    """The events as arrays (lead index, type code, seconds, value), sorted by (lead, time): what scoring
    needs without strings (simulator.chunked); `events` is built from it on first use."""
    in_market: InMarket
    """The latent terms of P(won), so a sweep can ask for a lead's P(won) at the moment it is routed."""
    draws: LeadDraws
    """The per-lead draws the frames are built from."""

    @cached_property
    def lead_ids(self) -> np.ndarray:
        """lead_id per lead index ("L0000001", ...), numpy unicode."""
        return padded_ids("L", 7, self.spec.n_leads)

    @cached_property
    def leads(self) -> pd.DataFrame:
        """LEAD_COLUMNS, one row per lead in lead order (built on first use)."""
        d = self.draws
        return leads_frame(self.spec, d.accounts, d.contacts, d.created, self.lead_ids)

    @cached_property
    def events(self) -> pd.DataFrame:
        """EVENT_COLUMNS, sorted by (lead_id, at), all at or before as_of (built on first use)."""
        return self.event_draw.frame(self.spec.as_of, self.lead_ids)

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        """OUTCOME_COLUMNS, all in (as_of, as_of + outcome_days] (built on first use)."""
        return self.draws.outcomes.frame(self.spec, self.lead_ids)

    @cached_property
    def latent(self) -> pd.DataFrame:
        """LATENT_COLUMNS, one row per lead in lead order (built on first use)."""
        d = self.draws
        return pd.DataFrame({
            "lead_id": str_take(self.lead_ids, np.arange(self.spec.n_leads)),
            "fit": d.contacts.fit,
            "intent": d.windows.intent,
            "account_heat": d.windows.account_heat,
            "propensity": d.outcomes.won_probability,
            "window": str_take(INTENT_KINDS, d.windows.kind),
            "content_consumer": d.content_consumer,
        }, columns=list(LATENT_COLUMNS))


def _arrivals(spec: FunnelSpec, given: LeadArrivals | None, rng: np.random.Generator,
              ) -> tuple[IntArray | None, IntArray | None]:
    """(arrival day per lead, source code per lead or None); (None, None) for the original draw."""
    if given is not None:
        if given.size == 0:
            raise SettingsError("arrivals: no leads given")
        if given.day.min() < -spec.history_days or given.day.max() > -1:
            raise SettingsError(
                f"arrivals: days {int(given.day.min())}..{int(given.day.max())} relative to as_of "
                f"{spec.as_of} must lie in [-history_days, -1] = [{-spec.history_days}, -1]; "
                "move as_of or widen history_days")
        return given.day.astype(np.int64), given.source.astype(np.int64)
    if spec.leads_per_day is None and not has_volume_season(spec):
        return None, None
    day = arrival_days(spec, rng)
    if day.size == 0:
        raise SettingsError(f"leads_per_day: no lead arrived in {spec.history_days} days at "
                            f"{spec.leads_per_day} a day; raise the rate or the history")
    return day, None


def generate_funnel(spec: FunnelSpec, rng: np.random.Generator, arrivals: LeadArrivals | None = None,
                    ) -> Funnel:
    """Draw a funnel whose conversion depends on latent fit, current intent and account heat.

    Args:
        spec: sizes, mixes, rates and priors (see FunnelSpec); `spec.as_of` anchors every time.
        rng: the only source of randomness; the same seed gives identical frames.
        arrivals: given arrival days (and sources) of the leads, e.g. read from a CRM export by
            `simulator.scenario`; they replace n_leads and leads_per_day.

    Returns:
        A Funnel: accounts, leads, events, outcomes in the canonical columns and the latent truth.
    """
    arrival_day, arrival_source = _arrivals(spec, arrivals, rng)
    if arrival_day is not None:
        spec = dataclasses.replace(spec, n_leads=int(arrival_day.size))
    accounts = draw_accounts(spec, rng)
    account_windows = draw_account_windows(spec, accounts.fit, rng)
    contacts = draw_contacts(spec, accounts, account_windows.active, rng)
    windows = draw_lead_windows(spec, contacts, account_windows, rng)
    if arrival_day is None:
        created = created_days(spec, windows.start, rng)
    else:
        created, used = arrival_created_days(spec, arrival_day, windows.start, rng)
        if arrival_source is not None:
            source = arrival_source[used]
            contacts = dataclasses.replace(contacts, source=np.where(source >= 0, source, contacts.source))
    unsubscribed_day = draw_unsubscribed(spec, contacts.fit, created, rng)

    consumer = draw_content_consumers(spec, spec.n_leads, rng)
    event_draw = draw_events(spec, contacts, windows, created, unsubscribed_day, consumer, rng)

    in_market = InMarket(spec=spec, fit=contacts.fit, competitor=contacts.is_competitor, created=created,
                         unsubscribed_day=unsubscribed_day, strength=windows.strength, window_start=windows.start,
                         window_end=windows.end, committee_size=windows.committee_size,
                         account_start=windows.account_start, account_end=windows.account_end)
    won_probability = won_propensity(spec, created, contacts.fit, windows.intent, windows.account_heat,
                                     ~np.isnan(unsubscribed_day), contacts.is_competitor)
    outcomes = draw_outcome_numbers(spec, won_probability, rng)
    draws = LeadDraws(accounts=accounts, contacts=contacts, created=created, windows=windows,
                      content_consumer=consumer, outcomes=outcomes)
    return Funnel(accounts=accounts.frame, spec=spec, event_draw=event_draw, in_market=in_market, draws=draws)
