"""HubSpot adapter: contacts as leads, companies as accounts, score fields as custom contact properties.

Reads page through `GET /crm/v3/objects/{contacts,companies}` (100 a page, `paging.next.after`);
incremental reads (`since`) use the search API on `lastmodifieddate`, sorted by `hs_object_id` and
restarted with `hs_object_id GT <last id>` before the 10,000-result cap, so no record is dropped.
Events and outcomes come from the contact properties the mapping names (mappings/hubspot.toml: the
contact's "last page view / form / email open" timestamps and lifecycle-stage dates): the CRM API
has no per-contact event stream, so each contact gives at most one event per type, its latest.
Writes are `POST /crm/v3/objects/contacts/batch/update`, up to 100 records a request; a 207
multi-status is split record by record. Retries (429, 5xx, dropped connections) are urllib3's,
see connectors._hubspot_http. Every request waits its turn in the account's rolling 10-second window
(`requests_per_window`), and searches also in their per-second limit, so a long read does not run into
429s. `requests` counts HTTP calls made (retries by urllib3 not included).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
from pydantic import SecretStr
from urllib3.util.retry import Retry

from connectors._hubspot_frames import (
    Record, accounts_frame, epoch_ms, events_frame, leads_frame, outcomes_frame, property_value, score_values_frame,
)
from connectors._hubspot_http import RateLimit, Transport, default_retry, new_client
from connectors._hubspot_mapping import HubSpotMapping, load_mapping
from connectors.credentials import require_secret, setting
from connectors.errors import FatalCRMError, ScoreFieldViolation
from connectors.guard import CheckedChanges, changes_frame, score_field_names
from connectors.pacing import RequestPacer
from connectors.protocol import Capabilities, FieldPlan, RecordFailure, WriteReport
from scoring.errors import SettingsError
from scoring.fields import ScoreField

__all__ = ["HubSpotCRM", "HUBSPOT_CAPABILITIES", "TOKEN_ENV"]

HUBSPOT_CAPABILITIES = Capabilities(
    name="hubspot", max_batch_records=100, requests_per_window=100, window_seconds=10.0, atomic_batches=False,
)
"""Batch update takes 100 inputs; private apps get 100 requests per 10 s on Free/Starter (190 on Pro/Enterprise)."""
TOKEN_ENV = "HUBSPOT_ACCESS_TOKEN"
PAGE_LIMIT = 100
SEARCH_LIMIT = 200
SEARCH_RESULT_CAP = 10_000
_PROPERTY_TYPES = {"number": ("number", "number"), "text": ("string", "textarea"), "datetime": ("datetime", "date")}
"""Score-field kind -> HubSpot (type, fieldType)."""


class HubSpotCRM:
    """HubSpot through a private-app token; close it, or use it as a context manager.

    Args:
        access_token: the private app's token (`pat-na1-...`); kept as a SecretStr, never shown.
        host: API base URL; None for https://api.hubapi.com (tests pass a loopback fake).
        mapping_path: property mapping (TOML); None for connectors/mappings/hubspot.toml.
        requests_per_window: requests per 10-second window the push planner may send (100 Free/Starter,
            190 Pro/Enterprise).
        daily_limit_share: stop with FatalCRMError once this share of the daily limit is used.
        retry: urllib3 Retry for every request; None for `_hubspot_http.default_retry()`.
        search_result_cap: results one search query may page through (HubSpot: 10,000).
        search_page_size: results per search request (HubSpot: at most 200).
        searches_per_second: search requests per second (HubSpot allows 5 per account; 4 leaves room for
            other apps). Every request, reads included, is also paced to `requests_per_window` per 10 s.
        clock, sleep: the pacers' time source and wait, in seconds (tests pass a fake clock).
    """

    def __init__(
        self,
        access_token: SecretStr | str,
        *,
        host: str | None = None,
        mapping_path: str | Path | None = None,
        requests_per_window: int = 100,
        daily_limit_share: float = 0.9,
        retry: Retry | None = None,
        search_result_cap: int = SEARCH_RESULT_CAP,
        search_page_size: int = SEARCH_LIMIT,
        searches_per_second: int = 4,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        token = access_token if isinstance(access_token, SecretStr) else SecretStr(access_token)
        if not token.get_secret_value().strip():
            raise SettingsError(f"the HubSpot access token is empty; set {TOKEN_ENV}")
        self.capabilities: Capabilities = dataclasses.replace(
            HUBSPOT_CAPABILITIES, requests_per_window=requests_per_window)
        self.mapping: HubSpotMapping = load_mapping(mapping_path)
        self.host = host
        if not 1 <= search_page_size <= min(SEARCH_LIMIT, search_result_cap):
            raise SettingsError(f"search_page_size must be 1..{min(SEARCH_LIMIT, search_result_cap)}, "
                                f"got {search_page_size}")
        self._search_cap = search_result_cap
        self._search_page = search_page_size
        if searches_per_second < 1:
            raise SettingsError(f"searches_per_second must be at least 1, got {searches_per_second}")
        self._transport = Transport(
            daily_limit_share,
            window=RequestPacer(requests_per_window, self.capabilities.window_seconds, clock, sleep),
            search=RequestPacer(searches_per_second, 1.0, clock, sleep))
        client = new_client(token, retry or default_retry(), host)
        self._contacts = client.crm.contacts
        self._apis: dict[str, Any] = {
            "contacts": self._contacts.basic_api, "contacts_batch": self._contacts.batch_api,
            "contacts_search": self._contacts.search_api, "companies": client.crm.companies.basic_api,
            "properties": client.crm.properties.core_api, "groups": client.crm.properties.groups_api,
        }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **options: Any) -> HubSpotCRM:
        """A connector configured from the environment (token also from the OS keyring).

        Reads HUBSPOT_ACCESS_TOKEN (env var, else keyring service "scorebench", user HUBSPOT_ACCESS_TOKEN),
        and optional HUBSPOT_HOST, HUBSPOT_MAPPING (a mapping file), HUBSPOT_REQUESTS_PER_WINDOW,
        HUBSPOT_SEARCHES_PER_SECOND and HUBSPOT_DAILY_LIMIT_SHARE; keyword `options` override them. SettingsError lists every place looked.
        """
        token = require_secret(TOKEN_ENV, "the HubSpot connector (a private app access token)", environ)
        settings: dict[str, Any] = {
            "host": setting("HUBSPOT_HOST", None, environ), "mapping_path": setting("HUBSPOT_MAPPING", None, environ),
        }
        for name, key, convert in (("HUBSPOT_REQUESTS_PER_WINDOW", "requests_per_window", int),
                                   ("HUBSPOT_SEARCHES_PER_SECOND", "searches_per_second", int),
                                   ("HUBSPOT_DAILY_LIMIT_SHARE", "daily_limit_share", float)):
            raw = setting(name, None, environ)
            if raw is not None:
                try:
                    settings[key] = convert(raw)
                except ValueError:
                    raise SettingsError(f"{name}={raw!r} is not a {convert.__name__}") from None
        settings.update(options)
        return cls(token, **settings)

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (each urllib3 retry of one is not counted again)."""
        return sum(self._transport.requests.values())

    @property
    def requests_by_kind(self) -> Counter[str]:
        """Requests sent so far by kind: list, search, batch_read, batch_update, property, group."""
        return Counter(self._transport.requests)

    @property
    def rate_limit(self) -> RateLimit:
        """The latest X-HubSpot-RateLimit-* values seen."""
        return self._transport.rate_limit

    def close(self) -> None:
        """Release the connection pools of every API client."""
        for api in self._apis.values():
            api.api_client.rest_client.pool_manager.clear()
            api.api_client.close()

    def __enter__(self) -> HubSpotCRM:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HubSpotCRM(host={self.host or 'https://api.hubapi.com'!r}, mapping={str(self.mapping.path)!r})"

    def read_leads(self, since: datetime | None = None) -> pd.DataFrame:
        """Contacts created or modified at or after `since` (UTC; None for all), LEAD_COLUMNS, by id."""
        props = list(self.mapping.leads.values())
        if since is None:
            records, companies = self._list("contacts", props, associations=True)
            return leads_frame(records, self.mapping, companies)
        group = [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": epoch_ms(since)}]
        return leads_frame(self._search([group], props), self.mapping, None)

    def read_accounts(self) -> pd.DataFrame:
        """All companies, ACCOUNT_COLUMNS."""
        records, _ = self._list("companies", list(self.mapping.accounts.values()))
        return accounts_frame(records, self.mapping)

    def read_events(self, since: datetime | None = None) -> pd.DataFrame:
        """Events (lead_id, type, at, value) from the mapped "last <event>" contact properties, at >= since.

        With `since`, a search returns only contacts with some mapped timestamp at or after it (one
        filter group per event type, at most 5); otherwise, or with more types, every contact is read.
        """
        props = self.mapping.event_properties
        if not self.mapping.events:
            return events_frame([], self.mapping, since)
        if since is not None and len(self.mapping.events) <= 5:
            stamp = epoch_ms(since)
            groups = [[{"propertyName": e.at, "operator": "GTE", "value": stamp}] for e in self.mapping.events]
            return events_frame(self._search(groups, props), self.mapping, since)
        records, _ = self._list("contacts", props)
        return events_frame(records, self.mapping, since)

    def read_outcomes(self) -> pd.DataFrame:
        """Stage outcomes (lead_id, stage, at) from the mapped lifecycle-stage date properties."""
        if not self.mapping.outcomes:
            return outcomes_frame([], self.mapping)
        records, _ = self._list("contacts", list(self.mapping.outcomes.values()))
        return outcomes_frame(records, self.mapping)

    def ensure_score_fields(self, fields: Sequence[ScoreField], dry_run: bool = False) -> FieldPlan:
        """Create missing score fields as contact properties in the mapping's group (none in a dry run); idempotent."""
        names = score_field_names(fields)
        existing: list[ScoreField] = []
        to_create: list[ScoreField] = []
        mismatched: list[str] = []
        for field in fields:
            answer = self._call("property", f"reading contact property {field.name!r}",
                                self._apis["properties"].get_by_name_with_http_info, "contacts", field.name,
                                allow=(404,))
            if answer.status == 404:
                to_create.append(field)
                continue
            found = answer.data
            if getattr(found, "hubspot_defined", False):
                raise ScoreFieldViolation(
                    [field.name], names, f"{field.name!r} is a HubSpot-defined contact property; name the score field "
                    "something else in the model file")
            if found.type != _PROPERTY_TYPES[field.kind][0]:
                mismatched.append(f"HubSpot contact property {field.name!r} exists as type {found.type!r}, but the "
                                  f"model writes {field.kind} (type {_PROPERTY_TYPES[field.kind][0]!r})")
                continue
            existing.append(field)
        if mismatched:
            raise FatalCRMError(f"{'; '.join(mismatched)}; nothing was created (rename the fields in the model file)")
        if to_create and not dry_run:
            self._ensure_group()
            for field in to_create:
                kind, field_type = _PROPERTY_TYPES[field.kind]
                body = {"name": field.name, "label": field.label or field.name, "type": kind, "fieldType": field_type,
                        "groupName": self.mapping.score_group,
                        "description": f"scorebench score field ({field.column})"}
                self._call("property", f"creating contact property {field.name!r}",
                           self._apis["properties"].create_with_http_info, "contacts", body, allow=(409,))
        return FieldPlan(to_create=tuple(to_create), existing=tuple(existing))

    def read_score_values(
        self, fields: Sequence[ScoreField], record_ids: Sequence[str] | pd.Series | None = None
    ) -> pd.DataFrame:
        """Current score values: record_id plus one column per field (float64 numbers, str text/ISO datetimes)."""
        names = [f.name for f in fields]
        if record_ids is None:
            records, _ = self._list("contacts", names)
            return score_values_frame(records, fields)
        ids = list(dict.fromkeys(str(i) for i in pd.Series(record_ids, dtype=object).tolist()))
        ids = [i for i in ids if i.isdigit()]
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(ids, PAGE_LIMIT):
            body = {"inputs": [{"id": i} for i in chunk], "properties": names, "propertiesWithHistory": []}
            answer = self._call("batch_read", f"reading score fields of contacts {_span(chunk)}",
                                self._apis["contacts_batch"].read_with_http_info, body)
            for result in answer.data.results:
                found[str(result.id)] = dict(result.properties or {})
        return score_values_frame([(i, found[i]) for i in ids if i in found], fields)

    def write_score_values(self, changes: CheckedChanges) -> WriteReport:
        """Write guarded changes with batch update, 100 records a request; 207 errors come back as failures."""
        frame = changes_frame(changes)
        if frame.empty:
            return WriteReport(records_written=0, fields_written=0, requests=0)
        kinds = {f.name: f.kind for f in changes.fields}
        failures: list[RecordFailure] = []
        inputs: dict[str, dict[str, str]] = {}
        for record_id, name, new in frame.itertuples(index=False, name=None):
            if not record_id.isdigit():
                failures.append(RecordFailure(record_id, None, "OBJECT_NOT_FOUND",
                                              f"no HubSpot contact {record_id!r}: contact ids are numbers"))
                continue
            value = property_value(new, kinds[name])
            if value is None:
                failures.append(RecordFailure(record_id, name, "INVALID_VALUE",
                                              f"{new!r} is not a valid {kinds[name]} for property {name}"))
                continue
            inputs.setdefault(record_id, {})[name] = value
        refused = {f.record_id for f in failures if f.field is None}
        ids = [i for i in inputs if i not in refused]
        written: list[str] = []
        requests = 0
        for chunk in _chunks(ids, self.capabilities.max_batch_records):
            requests += 1
            ok, chunk_failures = self._update_batch(chunk, inputs)
            written += ok
            failures += chunk_failures
        return WriteReport(records_written=len(written), fields_written=sum(len(inputs[i]) for i in written),
                           requests=requests, failures=tuple(failures))

    def _update_batch(
        self, chunk: list[str], inputs: dict[str, dict[str, str]]
    ) -> tuple[list[str], list[RecordFailure]]:
        """One batch update: ids written, and a failure per refused record (207 errors, or a 400 for all)."""
        body = {"inputs": [{"id": i, "properties": inputs[i]} for i in chunk]}
        answer = self._call("batch_update", f"updating score fields of contacts {_span(chunk)}",
                            self._apis["contacts_batch"].update_with_http_info, body, allow=(400,))
        if answer.status == 400:
            category = answer.error.get("category", "VALIDATION_ERROR")
            message = f"HubSpot refused the whole batch: {answer.error.get('message', 'bad request')}"
            return [], [RecordFailure(i, None, category, message) for i in chunk]
        written = [str(r.id) for r in answer.data.results]
        failures: list[RecordFailure] = []
        named: set[str] = set(written)
        for error in getattr(answer.data, "errors", None) or []:
            for record_id in (error.context or {}).get("ids", []):
                if record_id in inputs and record_id not in named:
                    named.add(record_id)
                    failures.append(RecordFailure(record_id, None, error.category or error.status, error.message))
        failures += [RecordFailure(i, None, "NOT_CONFIRMED", "HubSpot's answer did not include this contact")
                     for i in chunk if i not in named]
        confirmed = set(written)
        return [i for i in chunk if i in confirmed], failures

    def _ensure_group(self) -> None:
        """Create the score property group when missing."""
        group = self.mapping.score_group
        answer = self._call("group", f"reading property group {group!r}",
                            self._apis["groups"].get_by_name_with_http_info, "contacts", group, allow=(404,))
        if answer.status == 404:
            self._call("group", f"creating property group {group!r}", self._apis["groups"].create_with_http_info,
                       "contacts", {"name": group, "label": self.mapping.score_group_label, "displayOrder": -1},
                       allow=(409,))

    def _list(self, object_type: str, properties: list[str], associations: bool = False
              ) -> tuple[list[Record], dict[str, str]]:
        """Every record of `object_type` with `properties`, paged; and contact -> first company when asked."""
        records: list[Record] = []
        companies: dict[str, str] = {}
        after: str | None = None
        while True:
            options: dict[str, Any] = {"limit": PAGE_LIMIT, "properties": properties or ["hs_object_id"]}
            if after is not None:
                options["after"] = after
            if associations:
                options["associations"] = ["companies"]
            page = self._call("list", f"listing {object_type}", self._apis[object_type].get_page_with_http_info,
                              **options).data
            for result in page.results:
                records.append((str(result.id), dict(result.properties or {})))
                linked = (result.associations or {}).get("companies") if associations else None
                if linked is not None and linked.results:
                    primary = [a for a in linked.results if a.type == "contact_to_company"] or linked.results
                    companies[str(result.id)] = str(primary[0].id)
            after = page.paging.next.after if page.paging and page.paging.next else None
            if after is None:
                return records, companies

    def _search(self, groups: list[list[dict[str, str]]], properties: list[str]) -> list[Record]:
        """Contacts matching any filter group, all of them: windows of `search_result_cap` keyed on hs_object_id."""
        records: dict[str, dict[str, Any]] = {}
        last_id: str | None = None
        start_after: str | None = None  # the hs_object_id the current window starts after; fixed within it
        after: str | None = None
        while True:
            window = [[*g, {"propertyName": "hs_object_id", "operator": "GT", "value": start_after}] if start_after
                      else g for g in groups]
            body: dict[str, Any] = {"filterGroups": [{"filters": g} for g in window], "properties": properties,
                                    "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                                    "limit": self._search_page}
            if after is not None:
                body["after"] = after
            page = self._call("search", "searching contacts", self._apis["contacts_search"].do_search_with_http_info,
                              body).data
            for result in page.results:
                records.setdefault(str(result.id), dict(result.properties or {}))
                last_id = str(result.id)
            after = page.paging.next.after if page.paging and page.paging.next else None
            if after is None or not page.results:
                return list(records.items())
            if not after.isdigit() or int(after) + self._search_page > self._search_cap:
                after, start_after = None, last_id  # the next page would pass the cap: restart after the last id

    def _call(self, kind: str, what: str, method: Any, *args: Any, allow: tuple[int, ...] = (), **kwargs: Any) -> Any:
        return self._transport.call(kind, what, method, *args, allow=allow, **kwargs)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _span(ids: list[str]) -> str:
    """A short description of a batch of ids for messages: '51', or '51..99 (40 records)'."""
    return ids[0] if len(ids) == 1 else f"{ids[0]}..{ids[-1]} ({len(ids)} records)"

