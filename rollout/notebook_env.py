"""Notebook sizes from the environment: tests run the notebooks small without a line of logic in their cells."""

from __future__ import annotations

import os
from collections.abc import Mapping

from scoring.errors import SettingsError

__all__ = ["LEADS_ENV", "notebook_leads_per_day"]

LEADS_ENV = "SCOREBENCH_NOTEBOOK_LEADS"
"""Environment variable: leads over the scenario's history for notebook runs (tests set it small)."""


def notebook_leads_per_day(history_days: int, environ: Mapping[str, str] | None = None) -> float | None:
    """Leads a day that give SCOREBENCH_NOTEBOOK_LEADS leads over `history_days`; None when it is unset.

    Raises:
        SettingsError: when the variable is set but is not a positive number.
    """
    value = (os.environ if environ is None else environ).get(LEADS_ENV, "").strip()
    if not value:
        return None
    try:
        leads = float(value)
    except ValueError:
        raise SettingsError(f"{LEADS_ENV}={value!r}: expected a number of leads, e.g. 1500") from None
    if not leads > 0:
        raise SettingsError(f"{LEADS_ENV}={value!r}: must be > 0, e.g. 1500")
    return leads / history_days
