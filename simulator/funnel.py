"""generate_funnel: one seeded synthetic funnel (accounts, leads, events, outcomes and the hidden truth).

The draws happen in a fixed order from one Generator, so the same spec and seed give identical frames:
accounts -> committee windows -> leads -> lead windows -> creation times -> unsubscribes -> content
consumers -> events -> propensity -> outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator._sampling import padded_ids, str_take
from simulator.behaviour import draw_content_consumers, draw_events, draw_unsubscribed
from simulator.intent import draw_account_windows, draw_lead_windows
from simulator.outcomes import draw_outcomes, propensity
from simulator.population import created_days, draw_accounts, draw_contacts, leads_frame
from simulator.spec import FunnelSpec
from simulator.vocabulary import INTENT_KINDS

__all__ = ["Funnel", "LATENT_COLUMNS", "generate_funnel"]

LATENT_COLUMNS: tuple[str, ...] = (
    "lead_id", "fit", "intent", "account_heat", "propensity", "window", "content_consumer",
)
"""The hidden truth per lead: latent fit, current intent, account heat, P(won), buying-window kind
("none", "current", "past") and whether the lead is a content consumer. Never an input to scoring."""


@dataclass(frozen=True, eq=False)
class Funnel:
    """A synthetic funnel in the canonical columns, plus the latent truth that generated it."""

    accounts: pd.DataFrame
    """ACCOUNT_COLUMNS."""
    leads: pd.DataFrame
    """LEAD_COLUMNS."""
    events: pd.DataFrame
    """EVENT_COLUMNS, sorted by (lead_id, at), all at or before as_of."""
    outcomes: pd.DataFrame
    """OUTCOME_COLUMNS, all in (as_of, as_of + outcome_days]."""
    latent: pd.DataFrame
    """LATENT_COLUMNS, one row per lead in lead order."""
    spec: FunnelSpec


def generate_funnel(spec: FunnelSpec, rng: np.random.Generator) -> Funnel:
    """Draw a funnel whose conversion depends on latent fit, current intent and account heat.

    Args:
        spec: sizes, mixes, rates and priors (see FunnelSpec); `spec.as_of` anchors every time.
        rng: the only source of randomness; the same seed gives identical frames.

    Returns:
        A Funnel: accounts, leads, events, outcomes in the canonical columns and the latent truth.
    """
    accounts = draw_accounts(spec, rng)
    account_windows = draw_account_windows(spec, accounts.fit, rng)
    contacts = draw_contacts(spec, accounts, account_windows.active, rng)
    windows = draw_lead_windows(spec, contacts, account_windows, rng)
    created = created_days(spec, windows.start, rng)
    unsubscribed_day = draw_unsubscribed(spec, contacts.fit, created, rng)
    lead_ids = padded_ids("L", 7, spec.n_leads)

    consumer = draw_content_consumers(spec, spec.n_leads, rng)
    events = draw_events(spec, contacts, windows, created, unsubscribed_day, consumer, lead_ids, rng)

    won_probability = propensity(spec, contacts.fit, windows.intent, windows.account_heat,
                                 ~np.isnan(unsubscribed_day), contacts.is_competitor)
    outcomes = draw_outcomes(spec, won_probability, lead_ids, rng)
    latent = pd.DataFrame({
        "lead_id": str_take(lead_ids, np.arange(spec.n_leads)),
        "fit": contacts.fit,
        "intent": windows.intent,
        "account_heat": windows.account_heat,
        "propensity": won_probability,
        "window": str_take(INTENT_KINDS, windows.kind),
        "content_consumer": consumer,
    }, columns=list(LATENT_COLUMNS))
    return Funnel(accounts=accounts.frame, leads=leads_frame(spec, accounts, contacts, created, lead_ids),
                  events=events, outcomes=outcomes, latent=latent, spec=spec)

