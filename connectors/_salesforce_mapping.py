"""The Salesforce mapping file (connectors/mappings/salesforce.toml): Salesforce fields -> canonical columns.

Validated once with pydantic; every problem is collected and raised as one SettingsError naming the
file and the dotted key.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator

from scoring.columns import ACCOUNT_COLUMNS, LEAD_COLUMNS
from scoring.errors import SettingsError

DEFAULT_MAPPING_FILE = Path(__file__).with_name("mappings") / "salesforce.toml"
_NAME = r"^[A-Za-z][A-Za-z0-9_]{0,79}(\.[A-Za-z][A-Za-z0-9_]{0,79})?$"
_OBJECT = r"^[A-Za-z][A-Za-z0-9_]{0,79}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _columns_model(name: str, columns: tuple[str, ...], required: str) -> type[BaseModel]:
    """A pydantic model with one optional Salesforce field name per canonical column; `required` must be set."""
    fields: dict[str, Any] = {c: (str | None, Field(default=None, pattern=_NAME)) for c in columns}
    fields[required] = (str, Field(pattern=_NAME))
    return create_model(name, __config__=ConfigDict(extra="forbid", frozen=True), **fields)


if TYPE_CHECKING:  # a class built by create_model cannot be a type to mypy; to it these are plain models
    LeadColumns = BaseModel
    AccountColumns = BaseModel
else:
    LeadColumns = _columns_model("LeadColumns", LEAD_COLUMNS, "lead_id")
    AccountColumns = _columns_model("AccountColumns", ACCOUNT_COLUMNS, "account_id")


class Leads(_Strict):
    objects: tuple[str, ...] = Field(min_length=1)
    columns: dict[str, LeadColumns]

    @model_validator(mode="after")
    def _every_object_mapped(self) -> Leads:
        missing = [o for o in self.objects if o not in self.columns]
        if missing:
            raise ValueError(f"objects {missing} have no [leads.columns.<object>] table")
        return self


class Accounts(_Strict):
    object: str = Field(pattern=_OBJECT)
    columns: AccountColumns


class EventRule(_Strict):
    field: str = Field(pattern=_NAME)
    type: str = Field(min_length=1)
    equals: str | None = None
    contains: str | None = None

    @model_validator(mode="after")
    def _one_test(self) -> EventRule:
        if (self.equals is None) == (self.contains is None):
            raise ValueError("give exactly one of `equals` or `contains`")
        return self


class EventSource(_Strict):
    object: str = Field(pattern=_OBJECT)
    lead_field: str = Field(pattern=_NAME)
    at_field: str = Field(pattern=_NAME)
    value_field: str | None = Field(default=None, pattern=_NAME)
    default_type: str = ""
    rules: tuple[EventRule, ...] = ()


class Outcomes(_Strict):
    object: str = Field(pattern=_OBJECT)
    lead_field: str = Field(pattern=_NAME)
    history_field: str = Field(pattern=_NAME)
    value_field: str = Field(pattern=_NAME)
    at_field: str = Field(pattern=_NAME)
    stages: dict[str, Literal["accepted", "meeting", "opportunity", "won", "lost", "rejected"]]


class NumberSpec(_Strict):
    precision: int = Field(ge=1, le=18)
    scale: int = Field(ge=0, le=17)

    @model_validator(mode="after")
    def _scale_fits(self) -> NumberSpec:
        if self.scale > self.precision:
            raise ValueError("scale must not exceed precision")
        return self


class TextSpec(_Strict):
    length: int = Field(ge=1, le=255)


class ScoreFieldSpecs(_Strict):
    number: NumberSpec
    text: TextSpec
    overrides: dict[str, NumberSpec | TextSpec] = {}

    @field_validator("overrides")
    @classmethod
    def _custom_names(cls, value: dict[str, NumberSpec | TextSpec]) -> dict[str, NumberSpec | TextSpec]:
        bad = [n for n in value if not n.endswith("__c")]
        if bad:
            raise ValueError(f"custom field names end in __c: {bad}")
        return value


class SalesforceMapping(_Strict):
    """A validated mapping file."""

    leads: Leads
    accounts: Accounts
    events: tuple[EventSource, ...] = ()
    outcomes: Outcomes | None = None
    score_fields: ScoreFieldSpecs

    def lead_columns(self, sobject: str) -> dict[str, str | None]:
        """Canonical lead column -> Salesforce field (None when unmapped) for one lead object."""
        return dict(self.leads.columns[sobject].model_dump())

    def account_columns(self) -> dict[str, str | None]:
        """Canonical account column -> Salesforce field (None when unmapped)."""
        return dict(self.accounts.columns.model_dump())



def load_mapping(path: str | os.PathLike[str] | None = None) -> SalesforceMapping:
    """The mapping at `path` (the shipped default when None); SettingsError naming file and keys on any problem."""
    file = Path(path) if path is not None else DEFAULT_MAPPING_FILE
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"Salesforce mapping file {file} cannot be read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"Salesforce mapping file {file} is not valid TOML: {exc}") from exc
    try:
        return SalesforceMapping.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{file}: {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            + (f" (got {err['input']!r})" if err["type"] != "missing" and not isinstance(err["input"], dict) else "")
            for err in exc.errors()
        ]
        raise SettingsError(
            f"Salesforce mapping file {file} has {len(problems)} problem(s):\n  " + "\n  ".join(problems)
        ) from None
