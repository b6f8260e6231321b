"""Scenario files: a TOML description of a funnel and a sales team -> FunnelSpec + TeamSpec.

    scenario = load_scenario("scenarios/default.toml")
    funnel = scenario_funnel(scenario, numpy.random.default_rng(7))

Sections: [scenario] (name, description), [arrivals] (uniform, poisson or csv), [funnel] (any
FunnelSpec field), [seasonality], [drift], [team] (any TeamSpec field). Unknown keys are errors;
every problem is reported at once, each with the file, the dotted key and its line, as a
ScenarioFileError (a ConfigFileError). This module is the I/O edge: it reads the scenario
and, for `process = "csv"`, the arrivals CSV, and hands arrays to the pure generator.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
import tomllib
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError

from scoring._toml_lines import key_lines, line_of
from scoring.errors import ConfigFileError, InputDataError, ModelProblem
from scoring.model_file import config_text
from simulator._scenario_schema import (
    SECTION_FIELDS,
    ArrivalsSection,
    DriftSection,
    FunnelSection,
    ScenarioInfo,
    SeasonalitySection,
    arrivals_problems,
    section_model,
)
from simulator._scenario_time import LeadArrivals, time_problems
from simulator._spec_checks import spec_problems
from simulator.funnel import Funnel, generate_funnel
from simulator.spec import FunnelSpec
from simulator.team_spec import TeamSpec, team_problems
from simulator.vocabulary import SOURCES

__all__ = [
    "LeadArrivals",
    "Scenario",
    "ScenarioFileError",
    "TeamSpec",
    "load_scenario",
    "parse_scenario",
    "read_lead_arrivals",
    "scenario_funnel",
    "scenario_funnel_spec",
]

_Loc = tuple[str | int, ...]


class ScenarioFileError(ConfigFileError):
    """A scenario file cannot be used; carries every problem found (key, line, what is wrong)."""

    kind = "scenario file"


TeamSection = section_model("TeamSection", TeamSpec)

_SECTIONS: dict[str, type[BaseModel]] = {
    "scenario": ScenarioInfo, "arrivals": ArrivalsSection, "funnel": FunnelSection,
    "seasonality": SeasonalitySection, "drift": DriftSection, "team": TeamSection,
}


@dataclass(frozen=True, eq=False)
class Scenario:
    """A loaded scenario: the funnel to simulate, the team that works it, and where leads come from."""

    name: str
    description: str
    funnel: FunnelSpec
    team: TeamSpec
    arrivals_process: str
    """"uniform", "poisson" or "csv"."""
    arrivals: LeadArrivals | None = None
    """Given arrival days and sources (process "csv"), else None: the generator draws them."""
    arrivals_path: Path | None = None
    """The CSV the arrivals were read from (process "csv")."""
    path: Path | None = None
    """The scenario file."""


# ---- loading ------------------------------------------------------------------------------------

def load_scenario(path: str | Path) -> Scenario:
    """Read and validate the scenario file at `path` (and its arrivals CSV, if any).

    Args:
        path: a TOML scenario file; a CSV path inside it is resolved relative to this file.

    Returns:
        The Scenario.

    Raises:
        ScenarioFileError: listing every problem with file, key and line.
    """
    file = Path(path)
    text = config_text(file, ScenarioFileError)
    scenario = parse_scenario(text, source=str(file), base_dir=file.resolve().parent)
    return dataclasses.replace(scenario, path=file.resolve())


def parse_scenario(text: str, source: str = "<scenario>", base_dir: Path | None = None) -> Scenario:
    """Validate scenario text; `source` names the file in errors, `base_dir` anchors a relative CSV path."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        message = getattr(exc, "msg", str(exc))
        raise ScenarioFileError(source, [ModelProblem("(syntax)", f"not valid TOML: {message}", line)]) from None
    lines = key_lines(text)
    problems: list[ModelProblem] = []

    def add(loc: _Loc, message: str) -> None:
        problems.append(ModelProblem(_dotted(loc), message, line_of(lines, loc)))

    sections: dict[str, BaseModel] = {}
    for key, value in data.items():
        if key not in _SECTIONS:
            add((key,), _unknown(key, list(_SECTIONS), "section"))
        elif not isinstance(value, dict):
            add((key,), f"must be a table [{key}], got {value!r}")
    if "scenario" not in data:
        add(("scenario",), "required section [scenario] (name, description) is missing")
    for name, model in _SECTIONS.items():
        raw = data.get(name, None if name in ("seasonality", "drift") else {})
        if not isinstance(raw, dict) or (name == "scenario" and name not in data):
            continue
        try:
            sections[name] = model.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                add((name, *error["loc"]), _message(error, model))

    funnel: FunnelSpec | None = None
    arrivals_section = cast("ArrivalsSection | None", sections.get("arrivals"))
    if arrivals_section is not None:
        for loc, message in arrivals_problems(arrivals_section):
            add(loc, message)
    if all(n in sections or n not in data for n in ("arrivals", "funnel", "seasonality", "drift")) \
            and arrivals_section is not None and "funnel" in sections:
        funnel = _funnel_spec(sections, add)
    team = _team_spec(sections["team"], add) if "team" in sections else None

    arrivals: LeadArrivals | None = None
    arrivals_path: Path | None = None
    if funnel is not None and arrivals_section is not None and arrivals_section.process == "csv" \
            and arrivals_section.path is not None and arrivals_section.date_column is not None:
        arrivals_path = (base_dir or Path.cwd()) / arrivals_section.path
        arrivals = _csv_arrivals(arrivals_path, arrivals_section, funnel, add)
    if problems:
        raise ScenarioFileError(source, problems)
    assert funnel is not None and team is not None and arrivals_section is not None
    info = cast(ScenarioInfo, sections["scenario"])
    return Scenario(name=info.name, description=info.description, funnel=funnel, team=team,
                    arrivals_process=arrivals_section.process, arrivals=arrivals,
                    arrivals_path=arrivals_path.resolve() if arrivals_path else None)


def _funnel_spec(sections: dict[str, BaseModel], add: Any) -> FunnelSpec | None:
    """The FunnelSpec of a schema-valid file, or None after reporting its problems."""
    values: dict[str, Any] = dict(sections["funnel"].model_dump(exclude_unset=True))
    if "as_of" in values:
        as_of = _timestamp(values["as_of"])
        if as_of is None:
            add(("funnel", "as_of"), f"needs a UTC offset, e.g. 2026-11-01T00:00:00Z, got {values['as_of']}")
            return None
        values["as_of"] = as_of
    arrivals = cast(ArrivalsSection, sections["arrivals"])
    if arrivals.n_leads is not None:
        values["n_leads"] = arrivals.n_leads
    if arrivals.process == "poisson":
        values["leads_per_day"] = arrivals.leads_per_day
    season = cast("SeasonalitySection | None", sections.get("seasonality"))
    if season is not None:
        values.update(peak_season=(season.peak_start, season.peak_end),
                      peak_volume_multiplier=season.volume_multiplier,
                      peak_event_multiplier=season.event_multiplier)
    drift = cast("DriftSection | None", sections.get("drift"))
    if drift is not None:
        weights = {term: getattr(drift, f"{term}_weight") for term in ("fit", "intent", "heat")}
        values.update(drift_weights={k: v for k, v in weights.items() if v is not None},
                      drift_step_days=drift.step_days)
    merged = {f.name: getattr(_DEFAULT_FUNNEL, f.name) for f in dataclasses.fields(FunnelSpec)}
    merged.update(values)
    namespace = cast(FunnelSpec, types.SimpleNamespace(**merged))
    found = spec_problems(namespace) + time_problems(namespace)
    for problem in found:
        add(_problem_loc(problem, "funnel", SECTION_FIELDS), _problem_text(problem))
    return None if found else FunnelSpec(**values)


def _timestamp(value: dt.datetime | dt.date) -> pd.Timestamp | None:
    """A TOML date (midnight UTC) or offset datetime as a UTC Timestamp; None for a local datetime."""
    if isinstance(value, dt.datetime):
        return None if value.tzinfo is None else pd.Timestamp(value).tz_convert("UTC")
    return pd.Timestamp(value).tz_localize("UTC")


def _team_spec(section: BaseModel, add: Any) -> TeamSpec | None:
    values = section.model_dump(exclude_unset=True)
    merged = {f.name: getattr(_DEFAULT_TEAM, f.name) for f in dataclasses.fields(TeamSpec)}
    merged.update(values)
    found = team_problems(cast(TeamSpec, types.SimpleNamespace(**merged)))
    for problem in found:
        add(_problem_loc(problem, "team", {}), _problem_text(problem))
    return None if found else TeamSpec(**values)


_DEFAULT_FUNNEL = FunnelSpec()
_DEFAULT_TEAM = TeamSpec()


def _csv_arrivals(path: Path, section: ArrivalsSection, funnel: FunnelSpec, add: Any) -> LeadArrivals | None:
    """Arrivals read from the CSV, or None after reporting why they cannot be used."""
    assert section.date_column is not None
    if not path.is_file():
        add(("arrivals", "path"), f"no such file {path.resolve()} (resolved relative to the scenario file); "
                                  "put the data there or change arrivals.path")
        return None
    try:
        arrivals = read_lead_arrivals(path, as_of=funnel.as_of, date_column=section.date_column,
                                      source_column=section.source_column, source_map=section.source_map)
    except InputDataError as exc:
        add(("arrivals", "path"), str(exc))
        return None
    if arrivals.size == 0:
        add(("arrivals", "path"), f"{path} has no rows")
        return None
    low, high = int(arrivals.day.min()), int(arrivals.day.max())
    if low < -funnel.history_days or high > -1:
        first = (funnel.as_of + pd.Timedelta(days=low)).date()
        last = (funnel.as_of + pd.Timedelta(days=high)).date()
        add(("funnel", "history_days"),
            f"arrivals from {first} to {last} must lie in the {funnel.history_days} days before "
            f"as_of {funnel.as_of}; set funnel.as_of after the last and history_days to at least {-low}")
        return None
    return arrivals


def read_lead_arrivals(path: str | Path, *, as_of: pd.Timestamp, date_column: str,
                       source_column: str | None = None, source_map: Mapping[str, str] | None = None,
                       ) -> LeadArrivals:
    """Arrival days (relative to as_of) and sources of the leads in a CSV, one row per lead.

    Args:
        path: the CSV (header row, comma-separated, UTF-8).
        as_of: the funnel's as_of; a row dated D arrives on day floor((D - as_of) / 1 day).
        date_column: the column with each lead's arrival date (ISO 8601; naive means UTC).
        source_column: the column with each lead's channel, if any.
        source_map: channel value -> one of SOURCES; unmapped values and blanks get source -1
            (the generator draws those from source_mix).

    Raises:
        InputDataError: the file lacks a column or holds a date that cannot be read.
    """
    file = Path(path)
    columns = [date_column] + ([source_column] if source_column else [])
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputDataError(str(file), f"no column {missing}", f"columns are {list(frame.columns)}")
    dates = pd.to_datetime(frame[date_column], format="ISO8601", errors="coerce", utc=True)
    bad = np.flatnonzero(dates.isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise InputDataError(str(file), f"{date_column}: cannot read {frame[date_column].iloc[row]!r} "
                             f"as a date on data row {row + 1} ({bad.size} such rows)",
                             "use YYYY-MM-DD or an ISO 8601 timestamp")
    delta = (dates - as_of.tz_convert("UTC")).to_numpy(dtype="timedelta64[s]").astype(np.int64)
    day = np.floor_divide(delta, 86_400).astype(np.int64)
    source = np.full(day.size, -1, dtype=np.int64)
    if source_column:
        codes = {value: SOURCES.index(name) for value, name in (source_map or {}).items()}
        source = frame[source_column].map(codes).fillna(-1).to_numpy(dtype=np.int64)
    return LeadArrivals(day=day, source=source)


# ---- using a scenario -----------------------------------------------------------------------------

def scenario_funnel_spec(scenario: Scenario | str | Path, **overrides: Any) -> FunnelSpec:
    """The scenario's FunnelSpec, with fields replaced by `overrides` (e.g. leads_per_day=5 for a test)."""
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    return dataclasses.replace(loaded.funnel, **overrides) if overrides else loaded.funnel


def scenario_funnel(scenario: Scenario | str | Path, rng: np.random.Generator, **overrides: Any) -> Funnel:
    """One funnel of the scenario: generate_funnel with its spec (plus overrides) and given arrivals."""
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    return generate_funnel(scenario_funnel_spec(loaded, **overrides), rng, arrivals=loaded.arrivals)


# ---- error text ------------------------------------------------------------------------------------

def _dotted(loc: _Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _unknown(key: str, known: list[str], what: str) -> str:
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {what} {key!r}{hint} (allowed {known})"


def _message(error: Any, model: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        if len(error["loc"]) == 1 and model is FunnelSection and key in SECTION_FIELDS:
            return f"{key!r} is set in [{SECTION_FIELDS[key][0]}], not in [funnel]"
        known = list(model.model_fields) if len(error["loc"]) == 1 else []
        return _unknown(key, known, "key") if known else f"unknown key {key!r}"
    if kind == "missing":
        return "required key is missing"
    return f"{error['msg']} (got {error.get('input')!r})"


def _problem_loc(problem: str, section: str, elsewhere: Mapping[str, tuple[str, ...]]) -> _Loc:
    """Where a "field: what is wrong" line points: the first field named before the colon."""
    head = problem.split(":", 1)[0]
    for word in head.replace(",", " ").replace("+", " ").split():
        if word in elsewhere:
            return elsewhere[word]
        return (section, word)
    return (section,)


def _problem_text(problem: str) -> str:
    head, _, rest = problem.partition(":")
    return rest.strip() if " " not in head.strip() else problem
