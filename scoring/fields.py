"""The score-field spec: which scores-frame column lands in which CRM field, and as what kind of value.

This is the one thing connectors import from scoring (ARCHITECTURE.md): a push may write these fields
and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["ScoreField", "FieldKind", "SCORE_FIELD_KINDS"]

FieldKind = Literal["number", "text", "datetime"]

SCORE_FIELD_KINDS: dict[str, FieldKind] = {
    "total": "number",
    "fit": "number",
    "behaviour": "number",
    "negative": "number",
    "account": "number",
    "band": "text",
    "tier": "text",
    "reasons": "text",
    "model_version": "text",
    "scored_at": "datetime",
}
"""Scores-frame columns that may be written to a CRM, and the kind of field each needs."""


@dataclass(frozen=True)
class ScoreField:
    """One CRM score field: `column` of the scores frame written to CRM field `name`."""

    column: str
    name: str
    kind: FieldKind
    label: str = ""
