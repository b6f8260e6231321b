"""Monte Carlo funnels: seeded synthetic accounts, leads, behaviour events and stage outcomes.

`generate_funnel(FunnelSpec(...), numpy.random.default_rng(seed))` returns a `Funnel` whose
conversion depends on latent fit, current intent and account heat, so a scoring model that reads
the right signals shows a lift curve and one that reads vanity signals does not.
"""

from __future__ import annotations

from simulator.funnel import LATENT_COLUMNS, Funnel, generate_funnel
from simulator.spec import FunnelSpec
from simulator.vocabulary import (
    ACCOUNT_FIT_TERMS,
    DEPARTMENTS,
    EVENT_TYPES,
    INDUSTRIES,
    INTENT_KINDS,
    SEGMENTS,
    SENIORITIES,
    SOURCES,
    TITLES,
)

__all__ = [
    "ACCOUNT_FIT_TERMS",
    "DEPARTMENTS",
    "EVENT_TYPES",
    "INDUSTRIES",
    "INTENT_KINDS",
    "LATENT_COLUMNS",
    "SEGMENTS",
    "SENIORITIES",
    "SOURCES",
    "TITLES",
    "Funnel",
    "FunnelSpec",
    "generate_funnel",
]
