"""Canonical column names of the frames that flow between packages (ARCHITECTURE.md, 'Data')."""

from __future__ import annotations

__all__ = [
    "LEAD_COLUMNS",
    "ACCOUNT_COLUMNS",
    "EVENT_COLUMNS",
    "OUTCOME_COLUMNS",
    "SCORE_COLUMNS",
    "STAGES",
    "FUNNEL_STAGES",
]

LEAD_COLUMNS: tuple[str, ...] = (
    "lead_id", "account_id", "email", "title", "seniority", "department", "industry",
    "employees", "annual_revenue", "country", "source", "campaign", "segment", "created_at",
    "owner_id",
)
ACCOUNT_COLUMNS: tuple[str, ...] = (
    "account_id", "name", "domain", "industry", "employees", "annual_revenue", "country", "segment",
)
EVENT_COLUMNS: tuple[str, ...] = ("lead_id", "type", "at", "value")
OUTCOME_COLUMNS: tuple[str, ...] = ("lead_id", "stage", "at")
SCORE_COLUMNS: tuple[str, ...] = (
    "lead_id", "fit", "behaviour", "negative", "account", "total", "band", "tier", "reasons",
    "model_version", "scored_at",
)
STAGES: tuple[str, ...] = ("accepted", "meeting", "opportunity", "won", "lost", "rejected")
FUNNEL_STAGES: tuple[str, ...] = ("accepted", "meeting", "opportunity", "won")
"""Stages in funnel order: reaching a later one implies the earlier ones were reached."""
