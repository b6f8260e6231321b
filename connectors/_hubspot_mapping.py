"""The HubSpot mapping file: contact and company properties -> canonical columns, validated once with pydantic."""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, create_model

from scoring.columns import ACCOUNT_COLUMNS, LEAD_COLUMNS, STAGES
from scoring.errors import SettingsError

DEFAULT_MAPPING_PATH = Path(__file__).parent / "mappings" / "hubspot.toml"

PropertyName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,99}$")]
"""A HubSpot internal property name: lower case letters, digits, underscores."""
EventType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]

_STRICT = ConfigDict(extra="forbid", frozen=True)


def _columns_model(name: str, columns: tuple[str, ...]) -> type[BaseModel]:
    """A model with one optional property name per canonical column; unknown columns are refused."""
    spec: dict[str, Any] = {c: (PropertyName | None, None) for c in columns}
    return create_model(name, __config__=_STRICT, **spec)


if TYPE_CHECKING:  # a class built by create_model cannot be a type to mypy; to it these are plain models
    _Leads = BaseModel
    _Accounts = BaseModel
    _Outcomes = BaseModel
else:
    _Leads = _columns_model("leads", tuple(c for c in LEAD_COLUMNS if c != "lead_id"))
    _Accounts = _columns_model("accounts", tuple(c for c in ACCOUNT_COLUMNS if c != "account_id"))
    _Outcomes = _columns_model("outcomes", STAGES)


class _Event(BaseModel):
    model_config = _STRICT
    at: PropertyName
    value: PropertyName | None = None


class _ScoreFields(BaseModel):
    model_config = _STRICT
    group: PropertyName = "scorebench"
    group_label: str = Field(default="scorebench", min_length=1, max_length=100)


class _MappingFile(BaseModel):
    model_config = _STRICT
    leads: _Leads
    accounts: _Accounts
    events: dict[EventType, _Event] = Field(default_factory=dict)
    outcomes: _Outcomes = Field(default_factory=_Outcomes)
    score_fields: _ScoreFields = Field(default_factory=_ScoreFields)


@dataclass(frozen=True)
class EventSource:
    """One canonical event type read from a contact's datetime property `at` (and number property `value`)."""

    type: str
    at: str
    value: str | None


@dataclass(frozen=True)
class HubSpotMapping:
    """Validated mapping: canonical column -> HubSpot property, for contacts, companies, events, outcomes."""

    path: Path
    leads: dict[str, str]
    accounts: dict[str, str]
    events: tuple[EventSource, ...]
    outcomes: dict[str, str]
    score_group: str
    score_group_label: str

    @property
    def event_properties(self) -> list[str]:
        """Contact properties that events are read from."""
        names = [e.at for e in self.events] + [e.value for e in self.events if e.value]
        return list(dict.fromkeys(names))


def load_mapping(path: str | Path | None = None) -> HubSpotMapping:
    """The mapping in `path` (the packaged default when None); SettingsError naming file and key of every problem."""
    file = Path(path) if path is not None else DEFAULT_MAPPING_PATH
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(
            f"HubSpot mapping file {file} does not exist; give an existing file, or none for the default"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"HubSpot mapping file {file} cannot be read: {exc}") from None
    try:
        parsed = _MappingFile.model_validate(raw)
    except ValidationError as exc:
        problems = [_problem(file, err) for err in exc.errors()]
        raise SettingsError(
            f"HubSpot mapping file {file} has {len(problems)} problem{'s' * (len(problems) != 1)}:\n"
            + "\n".join(problems)
        ) from None
    return HubSpotMapping(
        path=file,
        leads={k: v for k, v in parsed.leads.model_dump().items() if v},
        accounts={k: v for k, v in parsed.accounts.model_dump().items() if v},
        events=tuple(EventSource(t, e.at, e.value) for t, e in parsed.events.items()),
        outcomes={k: v for k, v in parsed.outcomes.model_dump().items() if v},
        score_group=parsed.score_fields.group,
        score_group_label=parsed.score_fields.group_label,
    )


_ALLOWED: dict[str, tuple[str, ...]] = {
    "": ("leads", "accounts", "events", "outcomes", "score_fields"),
    "leads": tuple(c for c in LEAD_COLUMNS if c != "lead_id"),
    "accounts": tuple(c for c in ACCOUNT_COLUMNS if c != "account_id"),
    "outcomes": STAGES,
    "score_fields": ("group", "group_label"),
}


def _problem(file: Path, err: Any) -> str:
    """One line naming file, dotted key, the problem and, for an unknown key, the allowed and closest keys."""
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        section = loc[0] if len(loc) > 1 else ""
        allowed = _ALLOWED.get(section, ("at", "value") if section == "events" else ())
        near = difflib.get_close_matches(loc[-1], allowed, n=2)
        hint = f"; did you mean {' or '.join(near)}?" if near else ""
        return f"  {file}: {key}: unknown key (allowed: {', '.join(allowed)}){hint}"
    if err["type"] == "string_pattern_mismatch":
        return (f"  {file}: {key}: {err['input']!r} is not a HubSpot internal name "
                "(lower case letters, digits and underscores, starting with a letter)")
    return f"  {file}: {key}: {err['msg']}"
