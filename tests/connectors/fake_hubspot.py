"""A stateful loopback fake of the HubSpot CRM v3 API, for the conformance suite and fault tests.

Serves on 127.0.0.1 from a thread (stdlib http.server), speaks the wire formats of CRM_API.md section 2:
object pages, search (filter groups, sorts, the result cap), batch read/update with 207 multi-status,
properties and property groups, Bearer auth, X-HubSpot-RateLimit-* headers. Faults are queued with
`fail_next` (an HTTP error answer) and `drop_next` (the connection closes before answering).
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from connectors._hubspot_mapping import HubSpotMapping

DEFAULT_PROPERTIES = ("hs_object_id", "createdate", "lastmodifieddate")
SEARCH_CAP = 10_000


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _ms(value: str | None) -> int | None:
    """A date string (ISO or epoch ms) as epoch ms; None when empty or unparsable."""
    if value is None or value == "":
        return None
    if value.isdigit():
        return int(value)
    try:
        return int(pd.Timestamp(value).tz_convert("UTC").value // 1_000_000)
    except (ValueError, TypeError):
        return None


def _error(status: int, category: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"status": "error", "message": message, "correlationId": "fake-0000", "category": category}


class FakeHubSpot:
    """The fake's state (objects, properties, groups) and its server; use as a context manager or start/stop."""

    def __init__(self, token: str = "pat-na1-fake", search_cap: int = SEARCH_CAP, daily_limit: int = 250_000) -> None:
        self.token = token
        self.search_cap = search_cap
        self.daily_limit = daily_limit
        self.daily_used = 0
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, Any]] = []
        """Every request served: (method, path, JSON body or query dict)."""
        self.faults: deque[tuple[int, dict[str, str], dict[str, Any]] | None] = deque()
        self.reset()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def reset(self) -> None:
        """Forget every object, custom property, group, request and fault."""
        with self.lock:
            self.objects: dict[str, dict[str, dict[str, str]]] = {"contacts": {}, "companies": {}}
            self.associations: dict[str, list[str]] = {}
            self.properties: dict[str, dict[str, dict[str, Any]]] = {"contacts": {}, "companies": {}}
            self.groups: dict[str, dict[str, dict[str, Any]]] = {"contacts": {"contactinformation": {}}}
            self.requests.clear()
            self.faults.clear()
            self._next_id = 101
            for object_type in self.properties:
                for name in DEFAULT_PROPERTIES:
                    self.define_property(object_type, name, "datetime" if name != "hs_object_id" else "number")

    # -- seeding -----------------------------------------------------------------------------------
    def define_property(self, object_type: str, name: str, type_: str = "string", hubspot_defined: bool = True,
                        group: str = "contactinformation") -> None:
        """Declare a property as HubSpot would have it (standard ones are hubspotDefined)."""
        field_type = {"number": "number", "datetime": "date", "date": "date"}.get(type_, "text")
        self.properties[object_type][name] = {
            "name": name, "label": name, "type": type_, "fieldType": field_type, "groupName": group,
            "hubspotDefined": hubspot_defined, "description": "", "displayOrder": -1, "options": [],
            "hidden": False, "formField": False, "calculated": False, "externalOptions": False,
            "hasUniqueValue": False, "archived": False, "createdAt": "2020-01-01T00:00:00Z",
            "updatedAt": "2020-01-01T00:00:00Z",
        }

    def add(self, object_type: str, properties: dict[str, str | None], companies: Sequence[str] = ()) -> str:
        """Store a new record; returns its id. Undeclared properties are declared as strings."""
        with self.lock:
            record_id = str(self._next_id)
            self._next_id += 1
        props = {k: v for k, v in properties.items() if v is not None}
        props.setdefault("createdate", _now())
        props.setdefault("lastmodifieddate", props["createdate"])
        props["hs_object_id"] = record_id
        for name in props:
            if name not in self.properties[object_type]:
                self.define_property(object_type, name)
        self.objects[object_type][record_id] = props
        if companies:
            self.associations[record_id] = list(companies)
        return record_id

    def fail_next(self, status: int, times: int = 1, headers: dict[str, str] | None = None,
                  body: dict[str, Any] | None = None) -> None:
        """Answer the next `times` requests with `status` (and headers/body) instead of serving them."""
        body = body or _error(status, "RATE_LIMIT" if status == 429 else "ERROR", f"simulated {status}")[1]
        for _ in range(times):
            self.faults.append((status, dict(headers or {}), body))

    def drop_next(self, times: int = 1) -> None:
        """Close the connection of the next `times` requests without answering."""
        for _ in range(times):
            self.faults.append(None)

    def paths(self, method: str | None = None) -> list[str]:
        """Paths of the requests served, optionally of one method."""
        return [p for m, p, _ in self.requests if method is None or m == method]

    # -- server ------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHubSpot:
        fake = self

        class Handler(_Handler):
            state = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-hubspot",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join()
            self._server = None

    def __enter__(self) -> FakeHubSpot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- API ---------------------------------------------------------------------------------------
    def answer(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) of one authorised request."""
        routes: list[tuple[str, str, Any]] = [
            ("GET", r"/crm/v3/objects/(contacts|companies)", self._list),
            ("POST", r"/crm/v3/objects/(contacts|companies)/search", self._search),
            ("POST", r"/crm/v3/objects/(contacts|companies)/batch/read", self._batch_read),
            ("POST", r"/crm/v3/objects/(contacts|companies)/batch/update", self._batch_update),
            ("GET", r"/crm/v3/properties/(contacts|companies)/groups/([\w-]+)", self._get_group),
            ("POST", r"/crm/v3/properties/(contacts|companies)/groups", self._create_group),
            ("GET", r"/crm/v3/properties/(contacts|companies)/([\w-]+)", self._get_property),
            ("POST", r"/crm/v3/properties/(contacts|companies)", self._create_property),
        ]
        for verb, pattern, serve in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                with self.lock:
                    return serve(*match.groups(), query=query, body=body)  # type: ignore[no-any-return]
        return _error(404, "OBJECT_NOT_FOUND", f"no route {method} {path}")

    def _public(self, object_type: str, record_id: str, names: Sequence[str], associations: bool = False
                ) -> dict[str, Any]:
        props = self.objects[object_type][record_id]
        wanted = {*DEFAULT_PROPERTIES, *names}
        out: dict[str, Any] = {
            "id": record_id, "properties": {n: props.get(n) for n in wanted},
            "createdAt": props["createdate"], "updatedAt": props["lastmodifieddate"], "archived": False,
        }
        if associations and self.associations.get(record_id):
            out["associations"] = {"companies": {"results": [
                {"id": c, "type": "contact_to_company"} for c in self.associations[record_id]]}}
        return out

    def _list(self, object_type: str, query: dict[str, list[str]], body: Any) -> tuple[int, dict[str, Any]]:
        limit = min(int(query.get("limit", ["10"])[0]), 100)
        ids = sorted(self.objects[object_type], key=int)
        start = ids.index(query["after"][0]) if "after" in query and query["after"][0] in ids else 0
        page = ids[start:start + limit]
        out: dict[str, Any] = {"results": [
            self._public(object_type, i, query.get("properties", []), "companies" in query.get("associations", []))
            for i in page]}
        if start + limit < len(ids):
            out["paging"] = {"next": {"after": ids[start + limit], "link": "?after=" + ids[start + limit]}}
        return 200, out

    def _comparable(self, object_type: str, name: str, value: str | None) -> Any:
        kind = self.properties[object_type].get(name, {}).get("type", "string")
        if value is None or value == "":
            return None
        if kind in ("datetime", "date"):
            return _ms(value)
        if kind == "number":
            try:
                return float(value)
            except ValueError:
                return None
        return value

    def _matches(self, object_type: str, props: dict[str, str], group: dict[str, Any]) -> bool:
        for f in group.get("filters", []):
            have = self._comparable(object_type, f["propertyName"], props.get(f["propertyName"]))
            want = self._comparable(object_type, f["propertyName"], f.get("value"))
            op = f["operator"]
            if op == "HAS_PROPERTY":
                ok = have is not None
            elif have is None or want is None:
                ok = False
            else:
                ok = {"EQ": have == want, "NEQ": have != want, "GT": have > want, "GTE": have >= want,
                      "LT": have < want, "LTE": have <= want}[op]
            if not ok:
                return False
        return True

    def _search(self, object_type: str, query: dict[str, list[str]], body: Any) -> tuple[int, dict[str, Any]]:
        limit = int(body.get("limit", 10))
        after = int(body.get("after") or 0)
        if limit > 200:
            return _error(400, "VALIDATION_ERROR", "limit must be at most 200")
        if after + limit > self.search_cap:
            return _error(400, "VALIDATION_ERROR", f"paging past {self.search_cap} search results is not allowed")
        groups = body.get("filterGroups") or [{"filters": []}]
        records = self.objects[object_type]
        hits = [i for i, p in records.items() if any(self._matches(object_type, p, g) for g in groups)]
        for sort in body.get("sorts", [])[:1]:
            name = sort["propertyName"]

            def key(i: str, name: str = name) -> tuple[bool, Any]:
                value = self._comparable(object_type, name, records[i].get(name))
                return value is None, value if value is not None else 0

            hits.sort(key=key, reverse=sort.get("direction") == "DESCENDING")
        page = hits[after:after + limit]
        out: dict[str, Any] = {"total": len(hits), "results": [
            self._public(object_type, i, body.get("properties", [])) for i in page]}
        if after + limit < len(hits):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return 200, out

    def _batch_outcome(self, object_type: str, found: list[dict[str, Any]], missing: list[str]
                       ) -> tuple[int, dict[str, Any]]:
        now = _now()
        out: dict[str, Any] = {"status": "COMPLETE", "results": found, "startedAt": now, "completedAt": now}
        if not missing:
            return 200, out
        out["numErrors"] = 1
        out["errors"] = [{
            "status": "error", "category": "OBJECT_NOT_FOUND", "context": {"ids": missing}, "links": {}, "errors": [],
            "message": f"Could not get some {object_type[:-1].upper()} objects, they may be deleted or not exist. "
                       "Check that ids are valid.",
        }]
        return 207, out

    def _batch_read(self, object_type: str, query: dict[str, list[str]], body: Any) -> tuple[int, dict[str, Any]]:
        ids = [str(i["id"]) for i in body["inputs"]]
        if len(ids) > 100:
            return _error(400, "VALIDATION_ERROR", "at most 100 inputs")
        known = [i for i in ids if i in self.objects[object_type]]
        found = [self._public(object_type, i, body.get("properties", [])) for i in known]
        return self._batch_outcome(object_type, found, [i for i in ids if i not in self.objects[object_type]])

    def _batch_update(self, object_type: str, query: dict[str, list[str]], body: Any) -> tuple[int, dict[str, Any]]:
        inputs = body["inputs"]
        if len(inputs) > 100:
            return _error(400, "VALIDATION_ERROR", "at most 100 inputs")
        problems = []
        for item in inputs:
            for name, value in item["properties"].items():
                spec = self.properties[object_type].get(name)
                if spec is None:
                    problems.append({"isValid": False, "message": f'Property "{name}" does not exist',
                                     "error": "PROPERTY_DOESNT_EXIST", "name": name})
                elif value != "" and self._comparable(object_type, name, value) is None:
                    problems.append({"isValid": False, "message": f"{value!r} is not a valid {spec['type']}",
                                     "error": "INVALID_" + spec["type"].upper(), "name": name})
        if problems:
            return _error(400, "VALIDATION_ERROR", f"Property values were not valid: {json.dumps(problems)}")
        done = []
        now = _now()
        for item in inputs:
            record = self.objects[object_type].get(str(item["id"]))
            if record is None:
                continue
            for name, value in item["properties"].items():
                if self.properties[object_type][name]["type"] == "datetime" and value:
                    value = pd.Timestamp(_ms(value), unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
                record[name] = value
            record["lastmodifieddate"] = now
            done.append(self._public(object_type, str(item["id"]), list(item["properties"])))
        missing = [str(i["id"]) for i in inputs if str(i["id"]) not in self.objects[object_type]]
        return self._batch_outcome(object_type, done, missing)

    def _get_property(self, object_type: str, name: str, query: dict[str, list[str]], body: Any
                      ) -> tuple[int, dict[str, Any]]:
        spec = self.properties[object_type].get(name)
        if spec is None:
            return _error(404, "OBJECT_NOT_FOUND", f"Unable to find property {name}")
        return 200, spec

    def _create_property(self, object_type: str, query: dict[str, list[str]], body: Any) -> tuple[int, dict[str, Any]]:
        if body["name"] in self.properties[object_type]:
            return _error(409, "OBJECT_ALREADY_EXISTS", f"A property named '{body['name']}' already exists.")
        if body.get("groupName") not in self.groups.get(object_type, {}):
            return _error(400, "VALIDATION_ERROR", f"group {body.get('groupName')!r} does not exist")
        self.define_property(object_type, body["name"], body["type"], hubspot_defined=False, group=body["groupName"])
        self.properties[object_type][body["name"]].update(label=body.get("label"), fieldType=body.get("fieldType"))
        return 201, self.properties[object_type][body["name"]]

    def _get_group(self, object_type: str, name: str, query: dict[str, list[str]], body: Any
                   ) -> tuple[int, dict[str, Any]]:
        if name not in self.groups.get(object_type, {}):
            return _error(404, "OBJECT_NOT_FOUND", f"Unable to find group {name}")
        return 200, {"name": name, "label": name, "displayOrder": -1, "archived": False}

    def _create_group(self, object_type: str, query: dict[str, list[str]], body: Any) -> tuple[int, dict[str, Any]]:
        if body["name"] in self.groups.setdefault(object_type, {}):
            return _error(409, "OBJECT_ALREADY_EXISTS", f"group {body['name']} exists")
        self.groups[object_type][body["name"]] = body
        return 201, {"name": body["name"], "label": body["label"], "displayOrder": body.get("displayOrder", -1),
                     "archived": False}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    state: FakeHubSpot

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the default stderr log
        pass

    def _serve(self) -> None:
        fake = self.state
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        query = parse_qs(parts.query)
        fake.requests.append((self.command, parts.path, body if body is not None else query))
        if fake.faults:
            fault = fake.faults.popleft()
            if fault is None:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            status, headers, payload = fault
            return self._send(status, payload, headers)
        if self.headers.get("Authorization") != f"Bearer {fake.token}":
            return self._send(*_error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found. "
                                      "This API supports OAuth 2.0 authentication."))
        fake.daily_used += 1
        headers = {} if parts.path.endswith("/search") else {
            "X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "99",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000", "X-HubSpot-RateLimit-Daily": str(fake.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(fake.daily_limit - fake.daily_used, 0)),
        }
        status, payload = fake.answer(self.command, parts.path, query, body)
        self._send(status, payload, headers)

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = _serve
    do_POST = _serve


def iso_ms(values: pd.Series) -> Iterator[str | None]:
    """UTC datetimes as HubSpot writes them, `2026-01-01T08:00:00.000Z`; None for NaT."""
    for v in values:
        yield None if pd.isna(v) else pd.Timestamp(v).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def load_funnel(fake: FakeHubSpot, leads: pd.DataFrame, accounts: pd.DataFrame, events: pd.DataFrame,
                outcomes: pd.DataFrame, mapping: HubSpotMapping) -> dict[str, str]:
    """Store canonical frames as companies and contacts through `mapping`; returns lead_id -> contact id.

    Events become the contact's "last <type>" properties (the latest event of each type), outcomes
    the stage date properties; lastmodifieddate is the contact's createdate.
    """
    number_types = {"employees", "annual_revenue", "value"}
    for object_type, props in (("contacts", mapping.leads), ("companies", mapping.accounts)):
        for column, name in props.items():
            kind = "datetime" if column == "created_at" else "number" if column in number_types else "string"
            fake.define_property(object_type, name, kind)
    for source in mapping.events:
        fake.define_property("contacts", source.at, "datetime")
        if source.value:
            fake.define_property("contacts", source.value, "number")
    for name in mapping.outcomes.values():
        fake.define_property("contacts", name, "datetime")
    company_ids: dict[str, str] = {}
    for row in accounts.to_dict("records"):
        props = {name: _text(row[column]) for column, name in mapping.accounts.items() if column in row}
        company_ids[str(row["account_id"])] = fake.add("companies", props)
    latest = events.sort_values("at").groupby(["lead_id", "type"]).tail(1)
    by_type = {e.type: e for e in mapping.events}
    contact_ids: dict[str, str] = {}
    for row in leads.to_dict("records"):
        props: dict[str, str | None] = {}
        for column, name in mapping.leads.items():
            value = row.get(column)
            props[name] = next(iso_ms(pd.Series([value]))) if column == "created_at" else _text(value)
        company = company_ids.get(str(row.get("account_id")))
        if "account_id" in mapping.leads:
            props[mapping.leads["account_id"]] = company
        props["createdate"] = props.get(mapping.leads.get("created_at", "createdate"))
        for event in latest[latest["lead_id"] == row["lead_id"]].itertuples():
            source = by_type.get(str(event.type))
            if source is not None:
                props[source.at] = next(iso_ms(pd.Series([event.at])))
                if source.value and not pd.isna(event.value):
                    props[source.value] = _text(event.value)
        for outcome in outcomes[outcomes["lead_id"] == row["lead_id"]].itertuples():
            if outcome.stage in mapping.outcomes:
                props[mapping.outcomes[str(outcome.stage)]] = next(iso_ms(pd.Series([outcome.at])))
        contact_ids[str(row["lead_id"])] = fake.add("contacts", props, [company] if company else [])
    return contact_ids


def _text(value: object) -> str | None:
    """A canonical value as a HubSpot property string (numbers without a trailing .0); None when missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[arg-type]
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
