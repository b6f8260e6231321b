"""The scenario file's schema: pydantic models per TOML section, and the checks that span keys.

Unknown keys are errors everywhere. `[funnel]` takes any FunnelSpec field except those that have
their own section (arrivals, seasonality, drift); `[team]` takes any TeamSpec field. Both models are
built from the dataclasses, so a new spec field is a scenario key without further code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, create_model

from simulator.spec import FunnelSpec
from simulator.vocabulary import SOURCES

__all__ = [
    "SECTION_FIELDS",
    "ScenarioInfo",
    "ArrivalsSection",
    "SeasonalitySection",
    "DriftSection",
    "FunnelSection",
    "section_model",
    "arrivals_problems",
]

SECTION_FIELDS: dict[str, tuple[str, ...]] = {
    "n_leads": ("arrivals", "n_leads"),
    "leads_per_day": ("arrivals", "leads_per_day"),
    "peak_season": ("seasonality", "peak_start"),
    "peak_volume_multiplier": ("seasonality", "volume_multiplier"),
    "peak_event_multiplier": ("seasonality", "event_multiplier"),
    "drift_weights": ("drift",),
    "drift_step_days": ("drift", "step_days"),
}
"""FunnelSpec fields set by a section other than [funnel], and where they live in the file."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioInfo(_Strict):
    """[scenario]: what the scenario is called and what it shows."""

    name: str = Field(min_length=1)
    description: str = ""


class ArrivalsSection(_Strict):
    """[arrivals]: how leads arrive over the history.

    uniform: n_leads leads over history_days (the original draw); poisson: leads_per_day a day;
    csv: dates (and sources) read from `path`, resolved relative to the scenario file.
    """

    process: Literal["uniform", "poisson", "csv"] = "uniform"
    n_leads: int | None = None
    leads_per_day: float | None = None
    path: str | None = None
    date_column: str | None = None
    source_column: str | None = None
    source_map: dict[str, str] = Field(default_factory=dict)
    """CSV value -> one of SOURCES; unmapped values (and blanks) get a source drawn from source_mix."""


class SeasonalitySection(_Strict):
    """[seasonality]: a yearly peak from peak_start to peak_end ("MM-DD", both included)."""

    peak_start: str
    peak_end: str
    volume_multiplier: float = 1.0
    event_multiplier: float = 1.0


class DriftSection(_Strict):
    """[drift]: propensity weights for leads created at as_of (base weights apply at the start)."""

    fit_weight: float | None = None
    intent_weight: float | None = None
    heat_weight: float | None = None
    step_days: float = 0.0


def _toml_type(hint: Any) -> Any:
    """The pydantic annotation for a dataclass field: timestamps as TOML dates, mappings as dicts."""
    if hint is pd.Timestamp:
        return dt.datetime | dt.date
    origin = typing.get_origin(hint)
    if origin is Mapping:
        key, value = typing.get_args(hint)
        return dict[key, value]  # type: ignore[valid-type]
    return hint


def section_model(name: str, spec_type: type[Any], skip: tuple[str, ...] = ()) -> type[BaseModel]:
    """A strict pydantic model with every field of `spec_type` (a dataclass) as an optional key."""
    hints = typing.get_type_hints(spec_type)
    fields: dict[str, Any] = {
        f.name: (_toml_type(hints[f.name]), None)
        for f in dataclasses.fields(spec_type) if f.name not in skip
    }
    return create_model(name, __base__=_Strict, **fields)


FunnelSection = section_model("FunnelSection", FunnelSpec, skip=tuple(SECTION_FIELDS))
"""[funnel]: any FunnelSpec field (DOMAIN defaults for the rest)."""


def arrivals_problems(section: ArrivalsSection) -> list[tuple[tuple[str, ...], str]]:
    """Key combinations [arrivals] does not allow, as (location, problem)."""
    out: list[tuple[tuple[str, ...], str]] = []
    where = ("arrivals",)
    given = section.model_fields_set
    allowed = {"uniform": {"n_leads"}, "poisson": {"leads_per_day"},
               "csv": {"path", "date_column", "source_column", "source_map"}}
    for key in sorted(given - {"process"} - allowed[section.process]):
        out.append(((*where, key), f"not used with process = {section.process!r} "
                                   f"(it takes {sorted(allowed[section.process])})"))
    if section.process == "poisson" and section.leads_per_day is None:
        out.append(((*where, "process"), "process = 'poisson' needs leads_per_day"))
    if section.process == "csv":
        for key in ("path", "date_column"):
            if getattr(section, key) is None:
                out.append(((*where, "process"), f"process = 'csv' needs {key}"))
        if section.source_map and section.source_column is None:
            out.append(((*where, "source_map"), "needs source_column"))
    for value_of, source in section.source_map.items():
        if source not in SOURCES:
            out.append(((*where, "source_map", value_of),
                        f"unknown source {source!r} (allowed {list(SOURCES)})"))
    return out
