"""Custom score fields in Salesforce: which exist and with what type (Tooling SOQL on FieldDefinition, one
query per lead object), refusing any whose type the model cannot write, creating the missing ones
(Tooling REST, POST sobjects/CustomField) and granting field-level security on a permission set (POST
composite/sobjects of FieldPermissions), since a new field is invisible to every profile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simple_salesforce import format_soql

from connectors._salesforce_io import OrgSession, query_records
from connectors._salesforce_mapping import NumberSpec, ScoreFieldSpecs, TextSpec
from connectors.errors import FatalCRMError
from scoring.errors import SettingsError
from scoring.fields import FieldKind, ScoreField

VALUE_TYPES: dict[FieldKind, str] = {"number": "double", "text": "string", "datetime": "datetime"}
"""FieldDefinition.ValueTypeId (the API value type, the same in every user language) that each score-field
kind needs: Number fields of any precision are double; Text, Text Area and Long Text Area are string;
Date/Time is datetime."""
NEEDED_TYPES: dict[FieldKind, str] = {
    "number": "a Number field (any precision)",
    "text": "a Text, Text Area or Long Text Area field",
    "datetime": "a Date/Time field",
}
"""What to tell the user a score field of each kind must be, in Setup's words."""


@dataclass(frozen=True)
class FieldWork:
    """What ensure_score_fields found and did: (object, field) pairs missing, grants missing, notes for the report."""

    missing: tuple[tuple[str, str], ...]
    grants: tuple[tuple[str, str, str | None], ...]
    """(object, field, id of the FieldPermissions row to update or None to insert) lacking read or edit."""
    notes: tuple[str, ...]
    permission_set_id: str | None = None


def checked_names(fields: Sequence[ScoreField]) -> None:
    """SettingsError unless every score field is a custom field name (Name__c)."""
    bad = [f.name for f in fields if not f.name.endswith("__c") or "__" in f.name[:-3]]
    if bad:
        raise SettingsError(
            f"Salesforce score field names must be custom field API names ending in __c without other double "
            f"underscores, e.g. Lead_Score__c; got {', '.join(bad)} (fix the score-field names in the model file)"
        )


def field_metadata(sobject: str, field: ScoreField, specs: ScoreFieldSpecs) -> dict[str, Any]:
    """Tooling API CustomField body for a score field: Number(precision, scale), Text(length) or DateTime."""
    label = field.label or field.name[:-3].replace("_", " ")
    spec = specs.overrides.get(field.name)
    if field.kind == "number":
        number = spec if isinstance(spec, NumberSpec) else specs.number
        meta = {"label": label, "type": "Number", "precision": number.precision, "scale": number.scale}
    elif field.kind == "text":
        text = spec if isinstance(spec, TextSpec) else specs.text
        meta = {"label": label, "type": "Text", "length": text.length}
    else:
        meta = {"label": label, "type": "DateTime"}
    meta["description"] = f"scorebench score field ({field.column}); written only by scorebench pushes"
    return {"FullName": f"{sobject}.{field.name}", "Metadata": meta}


def field_work(
    org: OrgSession, objects: Sequence[str], fields: Sequence[ScoreField], permission_set: str | None
) -> FieldWork:
    """Which score fields are missing on which objects, and which lack read/edit on `permission_set`.

    FatalCRMError listing every existing field whose type the model cannot write (see `existing_fields`),
    before the permission set is even looked up: nothing is created, granted or written then.
    """
    found = existing_fields(org, objects, fields)
    checked_types(found, fields)
    missing = tuple((o, f.name) for o in objects for f in fields if (o, f.name.lower()) not in found)
    if not permission_set:
        note = ("field-level security not granted: no permission set given (SF_PERMISSION_SET); grant read and "
                "edit on the score fields to the integration user, or new fields stay invisible to every profile")
        return FieldWork(missing, (), (note,))
    parent = permission_set_id(org, permission_set)
    wanted = [f"{o}.{f.name}" for o in objects for f in fields]
    soql = format_soql(
        "SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions WHERE ParentId = {} AND Field IN {}",
        parent, wanted,
    )
    rows = {r["Field"]: r for r in query_records(org, "reading field permissions", soql)}
    grants = tuple(
        (o, f.name, rows.get(f"{o}.{f.name}", {}).get("Id")) for o in objects for f in fields
        if not (rows.get(f"{o}.{f.name}", {}).get("PermissionsRead") and rows.get(f"{o}.{f.name}", {}).get("PermissionsEdit"))
    )
    return FieldWork(missing, grants, (), parent)


def existing_fields(
    org: OrgSession, objects: Sequence[str], fields: Sequence[ScoreField]
) -> dict[tuple[str, str], dict[str, Any]]:
    """FieldDefinition rows of the score fields that exist, keyed by (object as `objects` names it,
    lower-cased field API name).

    One Tooling API query on FieldDefinition per object, every page read: FieldDefinition is one of the
    Tooling objects that refuse OR (so IN lists, a disjunction too), NOT and LIMIT ("SOQL Operation
    Limitations" in the Tooling API guide), and its documented filter is an equality on the object
    (EntityDefinition.QualifiedApiName = 'Lead'). So each object's fields are read whole and the score
    fields picked out here, API names compared case-insensitively as Salesforce does. A row answers both
    "does it exist" and "of what type": ValueTypeId is the API value type (double, string, datetime...),
    DataType the type as Setup shows it ("Text(255)"), IsCalculated marks formula fields. FieldDefinition
    lists fields whatever the integration user's field-level security, unlike an sObject describe, and
    CustomField's Metadata would cost one query per field (Tooling returns it only for single-row queries).
    """
    wanted = {f.name.lower() for f in fields}
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for sobject in objects:
        soql = format_soql(
            "SELECT QualifiedApiName, DataType, ValueTypeId, IsCalculated FROM FieldDefinition "
            "WHERE EntityDefinition.QualifiedApiName = {}", sobject,
        )
        for row in query_records(org, f"finding score fields on {sobject}", soql, tooling=True):
            if row["QualifiedApiName"].lower() in wanted:
                found[(sobject, row["QualifiedApiName"].lower())] = row
    return found


def checked_types(found: Mapping[tuple[str, str], Mapping[str, Any]], fields: Sequence[ScoreField]) -> None:
    """FatalCRMError naming every existing score field that is a formula or holds another value type than
    its kind needs (VALUE_TYPES): object, field, type found, type needed, and what to do."""
    by_name = {f.name.lower(): f for f in fields}
    problems: list[str] = []
    for (sobject, name), row in sorted(found.items()):
        field = by_name[name]
        if row.get("ValueTypeId") == VALUE_TYPES[field.kind] and not row.get("IsCalculated"):
            continue
        what = "a formula field" if row.get("IsCalculated") else f"value type {row.get('ValueTypeId')}"
        problems.append(
            f"{sobject}.{row['QualifiedApiName']} exists as {row.get('DataType')} "
            f"({what}), but the model writes {field.kind} (column {field.column}), "
            f"which needs {NEEDED_TYPES[field.kind]}"
        )
    if problems:
        raise FatalCRMError(
            f"Salesforce score field{'s' if len(problems) > 1 else ''} of the wrong type: {'; '.join(problems)}. "
            "Nothing was created, granted or written. Rename the field in the model file's [fields.salesforce] "
            "section, or change its type (or delete it) in Setup > Object Manager > Fields & Relationships"
        )


def permission_set_id(org: OrgSession, name: str) -> str:
    """Id of the permission set named (API name) `name`; FatalCRMError when there is none."""
    soql = format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", name)
    rows = query_records(org, f"finding permission set {name!r}", soql)
    if not rows:
        raise FatalCRMError(
            f"no permission set with API name {name!r} in the org; create it, assign it to the integration user, "
            "and set SF_PERMISSION_SET to its API name"
        )
    return str(rows[0]["Id"])


def create_fields(
    org: OrgSession, missing: Sequence[tuple[str, str]], fields: Sequence[ScoreField], specs: ScoreFieldSpecs
) -> int:
    """Create each missing (object, field) through the Tooling API; returns requests sent."""
    by_name = {f.name: f for f in fields}
    for sobject, name in missing:
        body = field_metadata(sobject, by_name[name], specs)
        result = org.call(
            f"creating custom field {sobject}.{name}",
            lambda sf: sf.toolingexecute("sobjects/CustomField", method="POST", data=body),
        )
        if isinstance(result, dict) and result.get("success") is False:
            raise FatalCRMError(f"Salesforce did not create {sobject}.{name}: {result.get('errors')}")
    return len(missing)


def grant_access(org: OrgSession, grants: Sequence[tuple[str, str, str | None]], parent: str, permission_set: str) -> None:
    """Grant read and edit on each (object, field) to the permission set: new FieldPermissions rows by POST,
    existing read-only rows by PATCH, both as composite/sobjects with up to 200 records a request."""
    new = [{"attributes": {"type": "FieldPermissions"}, "ParentId": parent, "SobjectType": o,
            "Field": f"{o}.{name}", "PermissionsRead": True, "PermissionsEdit": True}
           for o, name, row in grants if row is None]
    old = [{"attributes": {"type": "FieldPermissions"}, "id": row, "PermissionsRead": True, "PermissionsEdit": True}
           for _, _, row in grants if row is not None]
    for method, records in (("POST", new), ("PATCH", old)):
        for start in range(0, len(records), 200):
            batch = records[start:start + 200]
            body = {"allOrNone": False, "records": batch}
            results = org.call(
                "granting field permissions",
                lambda sf: sf.restful("composite/sobjects", method=method, json=body),
            )
            refused = [(r.get("Field") or r.get("id"), res.get("errors"))
                       for r, res in zip(batch, results or [], strict=False) if not res.get("success")]
            if refused:
                raise FatalCRMError(
                    f"Salesforce refused field permissions on permission set {permission_set}: {refused} "
                    "(the integration user needs the Manage Profiles and Permission Sets permission)"
                )
