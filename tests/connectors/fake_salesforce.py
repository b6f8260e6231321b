"""A stateful loopback fake of the Salesforce REST API, for the conformance suite through the real client.

HTTPS on 127.0.0.1 (stdlib http.server in a thread) with a self-signed certificate made at test time.
It keeps sObject records in memory and answers what the adapter sends: SOQL query (paged with
nextRecordsUrl), Tooling query on FieldDefinition and CustomField create, sObject Collections
update/create, Bulk API 2.0 ingest jobs. FieldDefinition keeps Salesforce's Tooling SOQL limitations: it
needs a filter on the object and refuses OR, IN, NOT and non-equality comparisons (`metadata_refusal`).
Every response carries Sforce-Limit-Info; a wrong bearer token gets 401 INVALID_SESSION_ID; `fail_next`
queues error responses (429, 503...) to exercise retries.
SOQL support is the subset the adapter emits: SELECT fields FROM object [WHERE cond AND cond ...]
with =, !=, >=, <=, >, <, IN (...), string/number/bool/null/datetime literals.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
import itertools
import json
import re
import ssl
import tempfile
import threading
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from connectors._salesforce_frames import long_id
from connectors._salesforce_mapping import SalesforceMapping

API = "/services/data/v59.0/"
PREFIXES = {"Lead": "00Q", "Contact": "003", "Account": "001", "Task": "00T", "Event": "00U",
            "CampaignMember": "00v", "LeadHistory": "017", "PermissionSet": "0PS", "FieldPermissions": "01k",
            "CustomField": "00N"}
STANDARD = {
    "Lead": {"Id", "Email", "Title", "Industry", "NumberOfEmployees", "AnnualRevenue", "Country", "LeadSource",
             "CreatedDate", "OwnerId", "ConvertedAccountId", "SystemModstamp", "Status", "IsConverted", "Company",
             "LastName"},
    "Contact": {"Id", "AccountId", "Email", "Title", "Department", "LeadSource", "CreatedDate", "OwnerId",
                "SystemModstamp", "LastName"},
    "Account": {"Id", "Name", "Website", "Industry", "NumberOfEmployees", "AnnualRevenue", "BillingCountry",
                "CreatedDate", "SystemModstamp"},
    "Task": {"Id", "WhoId", "Subject", "TaskSubtype", "CreatedDate", "CallDurationInSeconds", "SystemModstamp"},
    "Event": {"Id", "WhoId", "Subject", "ActivityDateTime", "CreatedDate", "SystemModstamp"},
    "CampaignMember": {"Id", "LeadId", "Status", "CreatedDate", "SystemModstamp"},
    "LeadHistory": {"Id", "LeadId", "Field", "NewValue", "OldValue", "CreatedDate"},
    "PermissionSet": {"Id", "Name"},
    "FieldPermissions": {"Id", "ParentId", "SobjectType", "Field", "PermissionsRead", "PermissionsEdit"},
}
STANDARD_TYPES = {
    "Email": ("Email", "string"), "LastName": ("Text(80)", "string"), "Company": ("Text(255)", "string"),
    "NumberOfEmployees": ("Number(8, 0)", "int"), "AnnualRevenue": ("Currency(18, 0)", "double"),
    "IsConverted": ("Checkbox", "boolean"), "CallDurationInSeconds": ("Number(8, 0)", "int"),
    "Status": ("Picklist", "string"), "LeadSource": ("Picklist", "string"), "Industry": ("Picklist", "string"),
    "CreatedDate": ("Date/Time", "datetime"), "SystemModstamp": ("Date/Time", "datetime"),
    "ActivityDateTime": ("Date/Time", "datetime"), "OwnerId": ("Lookup(User,Group)", "id"),
    "AccountId": ("Lookup(Account)", "id"), "ConvertedAccountId": ("Lookup(Account)", "id"),
    "WhoId": ("Lookup(Contact,Lead)", "id"), "LeadId": ("Lookup(Lead)", "id"),
}
"""FieldDefinition (DataType, ValueTypeId) of standard fields; other `...Id` fields are lookups, the rest Text."""


def sf_datetime(value: Any) -> str:
    """A timestamp as Salesforce writes it: 2026-01-01T08:00:00.000+0000."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"


@cache
def certificate() -> tuple[str, str]:
    """(cert PEM path, key PEM path) of a self-signed CA certificate for 127.0.0.1, made once per test run."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scorebench fake salesforce")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="scorebench-fake-sf-"))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


class SoqlError(ValueError):
    """A query the fake (like Salesforce) refuses: errorCode and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<op>!=|>=|<=|=|>|<|\(|\)|,)|(?P<word>[^\s=!<>(),']+))")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise SoqlError("MALFORMED_QUERY", f"unexpected text at {text[pos:pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _literal(kind: str, text: str) -> Any:
    if kind == "str":
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])
    low = text.lower()
    if low in ("null", "true", "false"):
        return {"null": None, "true": True, "false": False}[low]
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})", text):
        return pd.Timestamp(text)
    try:
        return float(text)
    except ValueError:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token {text!r}") from None


def parse_soql(soql: str) -> tuple[list[str], str, list[tuple[str, str, Any]]]:
    """(fields, object, [(field, op, value)]) of a SELECT the adapter emits; SoqlError otherwise."""
    m = re.fullmatch(r"\s*SELECT\s+(.+?)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.*))?\s*", soql, re.S | re.I)
    if not m:
        raise SoqlError("MALFORMED_QUERY", "expected SELECT ... FROM ... [WHERE ...]")
    fields = [f.strip() for f in m.group(1).split(",")]
    conditions: list[tuple[str, str, Any]] = []
    tokens = _tokens(m.group(3) or "")
    i = 0
    while i < len(tokens):
        (k1, name), (k2, op) = tokens[i], tokens[i + 1]
        if k1 != "word" or not (k2 == "op" or op.upper() == "IN"):
            raise SoqlError("MALFORMED_QUERY", f"unexpected {name!r} {op!r}")
        i += 2
        if op.upper() == "IN":
            values = []
            i += 1  # (
            while tokens[i][1] != ")":
                if tokens[i][1] != ",":
                    values.append(_literal(*tokens[i]))
                i += 1
            i += 1
            conditions.append((name, "IN", values))
        else:
            conditions.append((name, op, _literal(*tokens[i])))
            i += 1
        if i < len(tokens):
            if tokens[i][1].upper() != "AND":
                raise SoqlError("MALFORMED_QUERY", f"only AND is supported, got {tokens[i][1]!r}")
            i += 1
    return fields, m.group(2), conditions


def metadata_refusal(soql: str) -> SoqlError | None:
    """What Salesforce answers a FieldDefinition query filtered otherwise than by equalities joined with AND:
    "Disjunctions not supported" for OR (and IN, a list of ORs), "Only equals comparisons permitted" for
    NOT, != and ranges (Tooling API guide, "SOQL Operation Limitations"); None for an acceptable filter.

    The guide gives only the messages; the errorCode is the one a FieldDefinition filter refusal is
    reported with (EXTERNAL_OBJECT_UNSUPPORTED_EXCEPTION, unverified for these two messages).
    """
    m = re.fullmatch(r"\s*SELECT\s+.+?\s+FROM\s+\w+\s+WHERE\s+(.*)", soql, re.S | re.I)
    tokens = _tokens(m.group(1)) if m else []
    words = {text.upper() for kind, text in tokens if kind == "word"}
    if words & {"OR", "IN"}:
        return SoqlError("EXTERNAL_OBJECT_UNSUPPORTED_EXCEPTION", "Disjunctions not supported")
    if "NOT" in words or any(kind == "op" and text in ("!=", ">=", "<=", ">", "<") for kind, text in tokens):
        return SoqlError("EXTERNAL_OBJECT_UNSUPPORTED_EXCEPTION", "Only equals comparisons permitted")
    return None


def _matches(record: dict[str, Any], conditions: list[tuple[str, str, Any]]) -> bool:
    for name, op, want in conditions:
        have = record.get(name)
        if isinstance(want, pd.Timestamp):
            if have is None:
                return False
            have = pd.Timestamp(have)
            want = want.tz_convert("UTC") if want.tzinfo else want.tz_localize("UTC")
        if op == "IN":
            ok = have in want
        elif op == "=":
            ok = have == want
        elif op == "!=":
            ok = have != want
        elif have is None:
            ok = False
        else:
            ok = {">=": have >= want, "<=": have <= want, ">": have > want, "<": have < want}[op]
        if not ok:
            return False
    return True


class FakeSalesforce:
    """The org's state and the HTTPS server in front of it; `instance_url`, `ca_file`, `token` for the client."""

    def __init__(self, page_size: int = 2000, daily_limit: int = 15_000) -> None:
        self.page_size = page_size
        self.daily_limit = daily_limit
        self.used = 0
        self.token = "00DFAKE000000001!fake.session.token"
        self.records: dict[str, dict[str, dict[str, Any]]] = {o: {} for o in STANDARD}
        self.fields: dict[str, set[str]] = {o: set(f) for o, f in STANDARD.items()}
        self.custom: dict[tuple[str, str], dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.cursors: dict[str, list[dict[str, Any]]] = {}
        self.cursor_paths: dict[str, str] = {}
        self.cursor_entities: dict[str, str] = {}
        """Tooling cursors -> entityTypeName (Tooling query pages carry size, queryLocator, entityTypeName)."""
        self.faults: list[tuple[int, Any, dict[str, str]]] = []
        self.log: list[tuple[str, str]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        cert, key = certificate()
        self.ca_file = cert
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    @property
    def instance_url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Shut the server down and close its socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def new_id(self, sobject: str) -> str:
        """A fresh 18-character id with the object's key prefix."""
        full = long_id(f"{PREFIXES[sobject]}5e{next(self._ids):010d}")
        assert full is not None
        return full

    def insert(self, sobject: str, values: dict[str, Any]) -> str:
        """Add a record (standard fields only); returns its id."""
        record_id = self.new_id(sobject)
        record = {k: v for k, v in values.items() if v is not None}
        record["Id"] = record_id
        record.setdefault("CreatedDate", sf_datetime(pd.Timestamp.now(tz="UTC")))
        if "SystemModstamp" in self.fields[sobject]:
            record.setdefault("SystemModstamp", record["CreatedDate"])
        self.records[sobject][record_id] = record
        return record_id

    def add_custom_field(self, sobject: str, name: str, metadata: dict[str, Any]) -> None:
        """A custom field an admin made before, e.g. ("Lead", "Lead_Score__c", {"type": "Text", "length": 255})."""
        self.custom[(sobject, name)] = metadata
        self.fields[sobject].add(name)

    def add_permission_set(self, name: str) -> str:
        return self.insert("PermissionSet", {"Name": name})

    def expire_session(self) -> None:
        """Invalidate the current token: every call now gets 401 INVALID_SESSION_ID."""
        self.token = self.token + "x"

    def fail_next(self, status: int, body: Any = None, headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Answer the next `times` requests with this status (e.g. 429 with Retry-After)."""
        body = body if body is not None else [{"errorCode": "SERVER_UNAVAILABLE", "message": f"HTTP {status}"}]
        self.faults.extend([(status, body, headers or {})] * times)

    def seed(self, mapping: SalesforceMapping, leads: pd.DataFrame, accounts: pd.DataFrame,
             events: pd.DataFrame, outcomes: pd.DataFrame) -> dict[str, str]:
        """Load canonical frames through the mapping (inverse); returns canonical lead id -> Salesforce id."""
        account_ids = {}
        account_columns = {c: n for c, n in mapping.account_columns().items() if n and c != "account_id"}
        for row in accounts.to_dict("records"):
            account_ids[row["account_id"]] = self.insert("Account", {n: _plain(row[c]) for c, n in account_columns.items()})
        lead_columns = {c: n for c, n in mapping.lead_columns("Lead").items() if n and c != "lead_id"}
        ids = {}
        for row in leads.to_dict("records"):
            values = {n: _plain(row[c]) for c, n in lead_columns.items()}
            if lead_columns.get("account_id"):
                values[lead_columns["account_id"]] = account_ids.get(row["account_id"])
            values["CreatedDate"] = sf_datetime(row["created_at"])
            ids[row["lead_id"]] = self.insert("Lead", values)
        for row in events.to_dict("records"):
            subject = {"email_open": "Email: opened newsletter", "page_view": "Visited pricing page"}.get(
                row["type"], row["type"].replace("_", " "))
            self.insert("Task", {"WhoId": ids[row["lead_id"]], "Subject": subject,
                                 "TaskSubtype": "Email" if row["type"] == "email_open" else "Task",
                                 "CreatedDate": sf_datetime(row["at"]), "CallDurationInSeconds": _plain(row["value"])})
        spec = mapping.outcomes
        statuses = {stage: status for status, stage in (spec.stages.items() if spec else ())}
        for row in outcomes.to_dict("records"):
            self.insert("LeadHistory", {"LeadId": ids[row["lead_id"]], "Field": "Status",
                                        "NewValue": statuses.get(row["stage"], row["stage"]),
                                        "CreatedDate": sf_datetime(row["at"])})
        return ids

    # request handling -------------------------------------------------------------------------

    def answer(self, method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict[str, str]]:
        """(status, JSON-able or text body, extra headers) for one request."""
        with self._lock:
            self.used += 1
            self.log.append((method, url))
            if self.faults:
                return self.faults.pop(0)
            if headers.get("authorization") != f"Bearer {self.token}":
                return 401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], {}
            parts = urlsplit(url)
            path = parts.path[len(API):] if parts.path.startswith(API) else parts.path
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            try:
                return self._route(method, path.rstrip("/"), query, body)
            except SoqlError as exc:
                return 400, [{"message": str(exc), "errorCode": exc.code}], {}

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, Any, dict[str, str]]:
        data = json.loads(body) if body and method != "PUT" else None
        if path in ("query", "tooling/query") and method == "GET":
            return 200, self._query(query["q"], tooling=path.startswith("tooling")), {}
        if path.startswith(("query/", "tooling/query/")) and method == "GET":
            return 200, self._page(path.rsplit("/", 1)[1]), {}
        if path == "tooling/sobjects/CustomField" and method == "POST":
            return self._create_field(data)
        if path == "composite/sobjects" and method in ("PATCH", "POST"):
            return 200, [self._save(r, create=method == "POST") for r in data["records"]], {}
        if path.startswith("jobs/ingest"):
            return self._bulk(method, path.split("/")[2:], data, body)
        return 404, [{"errorCode": "NOT_FOUND", "message": f"The requested resource does not exist: {path}"}], {}

    def _query(self, soql: str, tooling: bool = False) -> dict[str, Any]:
        if tooling and (refusal := metadata_refusal(soql)):
            raise refusal
        fields, sobject, conditions = parse_soql(soql)
        if tooling:
            if sobject != "FieldDefinition":
                raise SoqlError("INVALID_TYPE", f"sObject type '{sobject}' is not supported by this fake")
            rows = self._field_definitions(conditions)
            conditions = [c for c in conditions if c[0] != "EntityDefinition.QualifiedApiName"]
        else:
            if sobject not in self.records:
                raise SoqlError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
            unknown = [f for f in fields + [c[0] for c in conditions] if f not in self.fields[sobject]]
            if unknown:
                raise SoqlError("INVALID_FIELD", f"No such column '{unknown[0]}' on entity '{sobject}'.")
            rows = list(self.records[sobject].values())
        hits = [{"attributes": {"type": sobject}, **_selected(r, fields)} for r in rows if _matches(r, conditions)]
        cursor = f"01gFAKE{next(self._ids):08d}"
        self.cursors[cursor] = hits
        self.cursor_paths[cursor] = f"{API}tooling/query/" if tooling else f"{API}query/"
        if tooling:
            self.cursor_entities[cursor] = sobject
        return self._page(f"{cursor}-0", total=len(hits))

    def _field_definitions(self, conditions: list[tuple[str, str, Any]]) -> list[dict[str, Any]]:
        """FieldDefinition rows (standard fields, then custom ones) of the object named by the query's
        `EntityDefinition.QualifiedApiName = '...'` (matched case-insensitively); SoqlError without one."""
        named = [str(v) for name, op, v in conditions if name == "EntityDefinition.QualifiedApiName" and op == "="]
        if not named:
            raise SoqlError("EXTERNAL_OBJECT_UNSUPPORTED_EXCEPTION", "FieldDefinition: a filter on a reified column is required.")
        sobject = next((o for o in self.fields if o.lower() == named[0].lower()), None)
        if sobject is None:
            return []
        rows = [field_definition(sobject, name, None) for name in sorted(STANDARD.get(sobject, ()))]
        return rows + [field_definition(o, name, meta) for (o, name), meta in self.custom.items() if o == sobject]

    def _page(self, locator: str, total: int | None = None) -> dict[str, Any]:
        cursor, _, offset = locator.partition("-")
        hits = self.cursors[cursor]
        start = int(offset or 0)
        end = start + self.page_size
        size = len(hits) if total is None else total
        page: dict[str, Any] = {"totalSize": size, "done": end >= len(hits)}
        if end < len(hits):
            page["nextRecordsUrl"] = f"{self.cursor_paths[cursor]}{cursor}-{end}"
        if cursor in self.cursor_entities:
            page = {"size": size, **page, "queryLocator": f"{cursor}-{end}" if end < len(hits) else None,
                    "entityTypeName": self.cursor_entities[cursor]}
        page["records"] = hits[start:end]
        return page

    def _create_field(self, data: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        sobject, name = data["FullName"].split(".")
        if (sobject, name) in self.custom:
            return 400, [{"errorCode": "DUPLICATE_DEVELOPER_NAME", "message": "duplicate field"}], {}
        self.custom[(sobject, name)] = data["Metadata"]
        self.fields[sobject].add(name)
        return 201, {"id": self.new_id("CustomField"), "success": True, "errors": []}, {}

    def _save(self, data: dict[str, Any], create: bool) -> dict[str, Any]:
        sobject = data["attributes"]["type"]
        values = {k: v for k, v in data.items() if k not in ("attributes", "id")}
        if create:
            return {"id": self.insert(sobject, values), "success": True, "errors": []}
        record_id = str(data.get("id"))
        record = self.records.get(sobject, {}).get(record_id)
        if long_id(record_id) is None or not record_id.startswith(PREFIXES.get(sobject, "?")):
            return _failed("MALFORMED_ID", f"{sobject} ID: id value of incorrect type: {record_id}", ["Id"])
        if record is None:
            return _failed("ENTITY_IS_DELETED", "entity is deleted", [])
        clean = {}
        for name, value in values.items():
            if name not in self.fields[sobject]:
                return _failed("INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}", [name])
            meta = self.custom.get((sobject, name), {})
            try:
                clean[name] = _stored(value, meta)
            except ValueError as exc:
                code, _, message = str(exc).partition(":")
                return _failed(code, message, [name])
        record.update(clean)
        record["SystemModstamp"] = sf_datetime(pd.Timestamp.now(tz="UTC"))
        return {"id": record_id, "success": True, "errors": []}

    def _bulk(self, method: str, rest: list[str], data: Any, body: bytes) -> tuple[int, Any, dict[str, str]]:
        if not rest and method == "POST":
            job_id = f"750FAKE{next(self._ids):011d}"
            self.jobs[job_id] = {"id": job_id, "object": data["object"], "operation": data["operation"],
                                 "state": "Open", "csv": "", "failed": []}
            return 200, {k: v for k, v in self.jobs[job_id].items() if k not in ("csv", "failed")}, {}
        job = self.jobs[rest[0]]
        if rest[1:] == ["batches"] and method == "PUT":
            job["csv"] += body.decode("utf-8")
            return 201, "", {}
        if not rest[1:] and method == "PATCH":
            job["state"] = data["state"]
            if job["state"] == "UploadComplete":
                self._run_job(job)
        if not rest[1:]:
            info = {k: v for k, v in job.items() if k not in ("csv", "failed")}
            return 200, info, {}
        if rest[1:] == ["failedResults"]:
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            rows = job["failed"]
            header = ["sf__Id", "sf__Error", *(rows[0][2].keys() if rows else ["Id"])]
            writer.writerow(header)
            for record_id, error, row in rows:
                writer.writerow([record_id, error, *row.values()])
            return 200, out.getvalue(), {"Content-Type": "text/csv"}
        return 404, [{"errorCode": "NOT_FOUND", "message": "no such job resource"}], {}

    def _run_job(self, job: dict[str, Any]) -> None:
        rows = list(csv.DictReader(io.StringIO(job["csv"])))
        for row in rows:
            values = {k: (None if v == "#N/A" else _number_or_text(v)) for k, v in row.items() if k != "Id" and v != ""}
            result = self._save({"attributes": {"type": job["object"]}, "id": row["Id"], **values}, create=False)
            if not result["success"]:
                err = result["errors"][0]
                job["failed"].append(("", f"{err['statusCode']}:{err['message']}:{'/'.join(err['fields'])} --", row))
        job.update(state="JobComplete", numberRecordsProcessed=len(rows), numberRecordsFailed=len(job["failed"]))


def field_definition(sobject: str, name: str, meta: dict[str, Any] | None) -> dict[str, Any]:
    """The Tooling FieldDefinition row of a field (flat; dotted keys for relationship fields): DataType as Setup
    shows it, ValueTypeId the API value type; from its CustomField Metadata, or STANDARD_TYPES when `meta` is None."""
    if meta is None:
        lookup = ("Lookup", "id") if name.endswith("Id") else ("Text(255)", "string")
        data_type, value_type = STANDARD_TYPES.get(name, (f"{sobject} ID", "id") if name == "Id" else lookup)
    else:
        kind = meta["type"]
        data_type = {"Number": f"Number({meta.get('precision')}, {meta.get('scale')})",
                     "Text": f"Text({meta.get('length')})", "LongTextArea": f"Long Text Area({meta.get('length')})",
                     "DateTime": "Date/Time"}.get(kind, kind)
        value_type = {"Number": "double", "Currency": "double", "Percent": "double", "DateTime": "datetime",
                      "Date": "date", "Checkbox": "boolean"}.get(kind, "string")
    return {"EntityDefinition.QualifiedApiName": sobject, "QualifiedApiName": name, "DataType": data_type,
            "ValueTypeId": value_type, "IsCalculated": bool(meta and meta.get("formula"))}


def _selected(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The selected fields of a row as the API returns them: `Rel.Field` nested as {"Rel": {attributes, Field}}."""
    out: dict[str, Any] = {}
    for name in fields:
        if "." in name:
            relation, field = name.split(".", 1)
            out.setdefault(relation, {"attributes": {"type": relation}})[field] = row.get(name)
        else:
            out[name] = row.get(name)
    return out


def _failed(code: str, message: str, fields: list[str]) -> dict[str, Any]:
    return {"success": False, "errors": [{"statusCode": code, "message": message, "fields": fields}]}


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") else value


def _number_or_text(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _stored(value: Any, meta: dict[str, Any]) -> Any:
    """A written value as Salesforce stores it in a custom field, or ValueError('CODE:message')."""
    if value is None or not meta:
        return value
    if meta["type"] == "Number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"INVALID_TYPE_ON_FIELD_IN_RECORD:value not of required type: {value!r}")
        rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-meta["scale"]), rounding=ROUND_HALF_UP)
        if abs(rounded) >= Decimal(10) ** (meta["precision"] - meta["scale"]):
            raise ValueError("NUMBER_OUTSIDE_VALID_RANGE:value outside of valid range on numeric field")
        return float(rounded)
    if meta["type"] == "DateTime":
        try:
            return sf_datetime(pd.Timestamp(value))
        except ValueError:
            raise ValueError(f"INVALID_TYPE_ON_FIELD_IN_RECORD:value not a datetime: {value!r}") from None
    text = str(value)
    if len(text) > meta.get("length", 255):
        raise ValueError(f"STRING_TOO_LONG:data value too large: {text[:20]}... (max length={meta['length']})")
    return text


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # headers and body leave in one write (no Nagle/delayed-ACK stall)
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        fake: FakeSalesforce = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload, extra = fake.answer(self.command, self.path, headers, body)
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", extra.pop("Content-Type", "application/json;charset=UTF-8"))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Sforce-Limit-Info", f"api-usage={fake.used}/{fake.daily_limit}")
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: tests read `FakeSalesforce.log` instead."""


def running(page_size: int = 2000) -> Iterator[FakeSalesforce]:
    """A started fake, stopped afterwards (for fixtures)."""
    fake = FakeSalesforce(page_size=page_size)
    try:
        yield fake
    finally:
        fake.stop()
