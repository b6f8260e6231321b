"""The Salesforce adapter: canonical frames read with SOQL, score fields created with the Tooling API,
scores written with sObject Collections (200 records a request) or, for large pushes, Bulk API 2.0.

Every call goes through one wrapper (`connectors._salesforce_io.OrgSession.call`) that refreshes an
expired session once, stops before the org's daily API allocation runs out, and turns
simple-salesforce, requests and urllib3 exceptions into RetriableCRMError or FatalCRMError. 429, 5xx
and dropped connections are retried by urllib3 `Retry` on the HTTP session, honouring Retry-After.
SOQL values pass only through `simple_salesforce.format_soql`; field names come from the validated
mapping file. `requests` counts write requests; `api_calls` counts every HTTP response.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import pandas as pd
import requests
from simple_salesforce import format_soql

from connectors._salesforce_auth import SalesforceSettings, retrying_session, settings_from_environment
from connectors._salesforce_fields import checked_names, create_fields, field_metadata, field_work, grant_access
from connectors._salesforce_frames import (
    KEY_PREFIXES, bulk_csv, canonical_frame, collection_records, event_frame, long_id, score_values, utc_instants,
)
from connectors._salesforce_io import OrgSession, bulk_update, query_records, update_collections
from connectors._salesforce_mapping import SalesforceMapping, load_mapping
from connectors.credentials import setting
from connectors.guard import CheckedChanges, changes_frame, score_field_names
from connectors.protocol import Capabilities, FieldPlan, RecordFailure, WriteReport
from scoring.columns import EVENT_COLUMNS, OUTCOME_COLUMNS
from scoring.errors import SettingsError
from scoring.fields import ScoreField

__all__ = ["SalesforceCRM", "SALESFORCE_CAPABILITIES"]

SALESFORCE_CAPABILITIES = Capabilities(
    name="salesforce", max_batch_records=200, requests_per_window=15_000, window_seconds=86_400.0,
    supports_bulk=True, bulk_threshold_records=10_000,
)
"""Defaults; an adapter replaces requests_per_window with its org's daily allocation once it has seen it."""
IDS_PER_QUERY = 300
"""Record ids in one `Id IN (...)` filter (keeps the GET URL well under Salesforce's 16 KB)."""
READ_ALL_ABOVE = 6_000
"""Above this many ids, read_score_values reads the whole object (2,000 a page) rather than 300 ids a query."""


class SalesforceCRM:
    """A Salesforce org as a CRMConnector. Use `from_environment()`, or pass settings; close it or use `with`.

    Args:
        settings: credentials and API version (see `connectors._salesforce_auth.settings_from_environment`).
        mapping: a validated mapping, or the path of a mapping file; the shipped default when None.
        permission_set: API name of a permission set of the integration user that ensure_score_fields
            grants read/edit on the score fields; None to leave field-level security to an admin.
        usage_limit: share of the daily API allocation after which calls stop with FatalCRMError.
        bulk_threshold: write calls with at least this many records use a Bulk API 2.0 job.
        lead_filter: extra equality filters on lead objects, e.g. {"IsConverted": False}; values are
            quoted by format_soql, names must be field API names.
        http: the requests session to use (tests pass one trusting a local CA); a retrying one when None.
        retries, backoff: urllib3 Retry attempts and backoff factor (seconds) for 429/5xx/dropped connections.
        bulk_poll_seconds: wait between polls of a Bulk API 2.0 job.
    """

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        mapping: SalesforceMapping | str | os.PathLike[str] | None = None,
        permission_set: str | None = None,
        usage_limit: float = 0.9,
        bulk_threshold: int = 10_000,
        lead_filter: Mapping[str, object] | None = None,
        http: requests.Session | None = None,
        retries: int = 4,
        backoff: float = 1.0,
        bulk_poll_seconds: float = 2.0,
    ) -> None:
        self.mapping = mapping if isinstance(mapping, SalesforceMapping) else load_mapping(mapping)
        self.permission_set = permission_set or None
        self.lead_filter = dict(lead_filter or {})
        for name in self.lead_filter:
            if not name.replace("_", "").isalnum() or not name[:1].isalpha():
                raise SettingsError(f"lead_filter names Salesforce fields; {name!r} is not a field API name")
        if bulk_threshold < 1:
            raise SettingsError(f"bulk_threshold must be at least 1 record, got {bulk_threshold}")
        self.capabilities: Capabilities = dataclasses.replace(SALESFORCE_CAPABILITIES, bulk_threshold_records=bulk_threshold)
        self.bulk_poll_seconds = bulk_poll_seconds
        self.requests = 0
        """Write requests sent so far (sObject Collections PATCHes, Bulk API 2.0 job calls)."""
        self._org = OrgSession(settings, http or retrying_session(retries, backoff), usage_limit)

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, *, http: requests.Session | None = None, **options: Any
    ) -> SalesforceCRM:
        """An adapter from SF_* environment variables (secrets also from the keyring); SettingsError lists what is missing.

        Reads the credentials (see module connectors._salesforce_auth), SF_API_VERSION (59.0),
        SF_INSTANCE_URL, SF_DOMAIN (login), SF_PERMISSION_SET, SF_MAPPING_FILE, SF_API_USAGE_LIMIT (0.9),
        SF_BULK_THRESHOLD (10000) and SF_CA_BUNDLE (a CA file to trust, e.g. behind a TLS-inspecting
        proxy). Keyword `options` override them (see the constructor).
        """
        settings = settings_from_environment(environ)
        ca_bundle = setting("SF_CA_BUNDLE", None, environ)
        if http is None and ca_bundle:
            http = retrying_session(verify=ca_bundle)
        env: dict[str, Any] = {
            "permission_set": setting("SF_PERMISSION_SET", None, environ),
            "mapping": setting("SF_MAPPING_FILE", None, environ),
        }
        for name, key, kind in (("SF_API_USAGE_LIMIT", "usage_limit", float), ("SF_BULK_THRESHOLD", "bulk_threshold", int)):
            raw = setting(name, None, environ)
            if raw is not None:
                try:
                    env[key] = kind(raw)
                except ValueError:
                    raise SettingsError(f"{name}={raw!r} is not a {kind.__name__}") from None
        return cls(settings, http=http, **{**env, **options})

    @property
    def api_calls(self) -> int:
        """HTTP responses received so far, reads and logins included."""
        return self._org.http_calls

    @property
    def session_refreshes(self) -> int:
        """How many times an expired session was refreshed."""
        return self._org.refreshes

    def close(self) -> None:
        """Close the HTTP session; the adapter is unusable afterwards."""
        self._org.close()

    def __enter__(self) -> SalesforceCRM:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SalesforceCRM(flow={self._org.settings.flow!r}, api_version={self._org.settings.api_version!r})"

    def read_leads(self, since: datetime | None = None) -> pd.DataFrame:
        """Leads (and contacts, if mapped) modified at or after `since` (SystemModstamp; None for all), LEAD_COLUMNS."""
        frames = []
        for sobject in self.mapping.leads.objects:
            columns = self.mapping.lead_columns(sobject)
            where = [format_soql(f"{name} = {{}}", value) for name, value in self.lead_filter.items()]
            records = self._select(sobject, [n for n in columns.values() if n], where, since)
            frames.append(canonical_frame(records, columns))
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def read_accounts(self) -> pd.DataFrame:
        """All accounts, ACCOUNT_COLUMNS."""
        columns = self.mapping.account_columns()
        records = self._select(self.mapping.accounts.object, [n for n in columns.values() if n], [], None)
        return canonical_frame(records, columns)

    def read_events(self, since: datetime | None = None) -> pd.DataFrame:
        """Activity (Task, Event, CampaignMember as mapped) at or after `since`: lead_id, type, at, value."""
        frames = []
        for source in self.mapping.events:
            names = [source.lead_field, source.at_field, *([source.value_field] if source.value_field else []),
                     *(r.field for r in source.rules)]
            records = self._select(source.object, names, [f"{source.lead_field} != null"], since)
            frame = event_frame(records, source)
            if since is not None:
                frame = frame[frame["at"] >= _utc(since)].reset_index(drop=True)
            frames.append(frame)
        if not frames:
            return canonical_frame([], dict.fromkeys(EVENT_COLUMNS))
        return pd.concat(frames, ignore_index=True).sort_values("at", kind="stable").reset_index(drop=True)

    def read_outcomes(self) -> pd.DataFrame:
        """Stage outcomes from Lead Status history (LeadHistory), statuses mapped to stages; empty when unmapped."""
        spec = self.mapping.outcomes
        if spec is None:
            return canonical_frame([], dict.fromkeys(OUTCOME_COLUMNS))
        where = [format_soql("Field = {}", spec.history_field)]
        records = self._select(spec.object, [spec.lead_field, spec.value_field, spec.at_field], where, None, stamp=None)
        frame = pd.DataFrame({
            "lead_id": pd.Series([r.get(spec.lead_field) for r in records], dtype="str"),
            "stage": pd.Series([spec.stages.get(str(r.get(spec.value_field))) for r in records], dtype="str"),
            "at": utc_instants([r.get(spec.at_field) for r in records]),
        })
        return frame[frame["stage"].notna()].sort_values("at", kind="stable").reset_index(drop=True)

    def ensure_score_fields(self, fields: Sequence[ScoreField], dry_run: bool = False) -> FieldPlan:
        """Create missing score fields on every lead object and grant read/edit on the permission set (none in a dry run).

        The plan's `notes` say what was (or would be) created and granted, or that field-level security
        is left to an admin because no permission set was given. An existing field of a type the model
        cannot write (Text where it writes numbers, a formula...) raises FatalCRMError listing every such
        field, in a dry run too, before anything is created or granted.
        """
        score_field_names(fields)
        checked_names(fields)
        objects = self.mapping.leads.objects
        work = field_work(self._org, objects, fields, self.permission_set)
        verb = "would create" if dry_run else "created"
        notes = [f"{verb} {sobject}.{name} ({_describe(field_metadata(sobject, f, self.mapping.score_fields))})"
                 for sobject, name in work.missing for f in fields if f.name == name]
        if work.grants:
            granted = ", ".join(f"{o}.{n}" for o, n, _ in work.grants)
            notes.append(f"{'would grant' if dry_run else 'granted'} read/edit on {granted} to permission set "
                         f"{self.permission_set}")
        notes.extend(work.notes)
        if not dry_run:
            create_fields(self._org, work.missing, fields, self.mapping.score_fields)
            if work.grants and work.permission_set_id and self.permission_set:
                grant_access(self._org, work.grants, work.permission_set_id, self.permission_set)
        self._note_limits()
        missing = {name for _, name in work.missing}
        return FieldPlan(
            to_create=tuple(f for f in fields if f.name in missing),
            existing=tuple(f for f in fields if f.name not in missing),
            notes=tuple(notes),
        )

    def read_score_values(
        self, fields: Sequence[ScoreField], record_ids: Sequence[str] | pd.Series | None = None
    ) -> pd.DataFrame:
        """Current score values: record_id plus one column per field (float64 numbers, str text, ISO-UTC datetimes)."""
        names = ["Id", *(f.name for f in fields)]
        if record_ids is None:
            records = [r for o in self.mapping.leads.objects for r in self._select(o, names, [], None)]
            return score_values(records, fields)
        given: dict[str, str] = {}
        for record_id in pd.Series(record_ids, dtype=object).astype(str).tolist():
            full = long_id(record_id)
            if full is not None:
                given.setdefault(full, record_id)
        records = []
        for sobject in self.mapping.leads.objects:
            ids = [i for i in given if KEY_PREFIXES.get(i[:3], self.mapping.leads.objects[0]) == sobject]
            if len(ids) > READ_ALL_ABOVE:
                wanted = set(ids)
                records += [r for r in self._select(sobject, names, [], None) if r["Id"] in wanted]
                continue
            for start in range(0, len(ids), IDS_PER_QUERY):
                where = [format_soql("Id IN {}", ids[start:start + IDS_PER_QUERY])]
                records += self._select(sobject, names, where, None)
        for r in records:
            r["Id"] = given.get(r["Id"], r["Id"])
        return score_values(records, fields)

    def write_score_values(self, changes: CheckedChanges) -> WriteReport:
        """Write guarded changes: 200 records per sObject Collections PATCH, or a Bulk API 2.0 job per object
        from `bulk_threshold` records; refused records come back as failures (record, field, statusCode, message)."""
        frame = changes_frame(changes)
        if frame.empty:
            return WriteReport(records_written=0, fields_written=0, requests=0)
        n_records = frame["record_id"].nunique()
        default = self.mapping.leads.objects[0]
        if n_records >= (self.capabilities.bulk_threshold_records or n_records + 1):
            sent, failures = 0, []
            objects = frame["record_id"].str[:3].map(KEY_PREFIXES).fillna(default)
            order = [f.name for f in changes.fields]
            for sobject, part in frame.groupby(objects, sort=False):
                csv_text = bulk_csv(part, order)
                done, refused = bulk_update(self._org, str(sobject), csv_text, part["record_id"].nunique(),
                                            self.bulk_poll_seconds)
                sent += done
                failures += refused
        else:
            records, written = collection_records(frame, default)
            sent, failures = update_collections(self._org, records, written)
        self.requests += sent
        self._note_limits()
        return _report(frame, sent, failures)

    def _select(
        self, sobject: str, names: Sequence[str], where: Sequence[str], since: datetime | None,
        stamp: str | None = "SystemModstamp",
    ) -> list[dict[str, Any]]:
        """Records of a SOQL SELECT of `names` (validated API names) with AND-ed conditions and `stamp >= since`."""
        conditions = list(where)
        if since is not None and stamp is not None:
            conditions.append(format_soql(f"{stamp} >= {{}}", _utc(since).to_pydatetime()))
        soql = f"SELECT {', '.join(dict.fromkeys(names))} FROM {sobject}"
        if conditions:
            soql += " WHERE " + " AND ".join(conditions)
        records = query_records(self._org, f"reading {sobject}", soql)
        self._note_limits()
        return records

    def _note_limits(self) -> None:
        """Take the org's daily API allocation as the request budget once Salesforce has told it."""
        usage = self._org.usage
        if usage is not None and usage[1] and usage[1] != self.capabilities.requests_per_window:
            self.capabilities = dataclasses.replace(self.capabilities, requests_per_window=usage[1])


def _utc(value: datetime) -> pd.Timestamp:
    """A datetime as a UTC timestamp (naive taken as UTC)."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _describe(body: Mapping[str, Any]) -> str:
    """'Number(3,0)', 'Text(255)' or 'DateTime' for a CustomField body."""
    meta = body["Metadata"]
    if meta["type"] == "Number":
        return f"Number({meta['precision']},{meta['scale']})"
    if meta["type"] == "Text":
        return f"Text({meta['length']})"
    return str(meta["type"])


def _report(frame: pd.DataFrame, sent: int, failures: Sequence[RecordFailure]) -> WriteReport:
    """A WriteReport for changes given the refusals: records and cells written exclude every refused one."""
    whole = {f.record_id for f in failures if f.field is None}
    cells = {(f.record_id, f.field) for f in failures if f.field is not None}
    keys = list(zip(frame["record_id"], frame["field"], strict=True))
    ok = [r not in whole and (r, f) not in cells for r, f in keys]
    written_records = {r for (r, _), good in zip(keys, ok, strict=True) if good}
    return WriteReport(records_written=len(written_records), fields_written=sum(ok), requests=sent,
                       failures=tuple(failures))

