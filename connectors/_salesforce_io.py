"""Every Salesforce call of the adapter: one wrapper that refreshes an expired session once, guards the
daily API allocation and turns client exceptions into ours; SOQL reads, sObject Collections and Bulk 2.0 writes.

The client is built with a session id (never with credentials), so simple-salesforce's own re-login,
which recurses without bound in SFType and is missing in bulk2, never runs: `OrgSession.call` is
the only place a session is refreshed, for REST, Tooling, composite and Bulk 2.0 alike.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import Operation, _Bulk2Client
from simple_salesforce.exceptions import (
    SalesforceError, SalesforceExpiredSession, SalesforceMalformedRequest,
    SalesforceOperationError, SalesforceRefusedRequest, SalesforceResourceNotFound,
)
from urllib3.exceptions import HTTPError as Urllib3Error

from connectors._salesforce_auth import RETRY_STATUSES, SalesforceSettings, login, redacted
from connectors.errors import CRMError, FatalCRMError, RetriableCRMError
from connectors.protocol import RecordFailure

T = TypeVar("T")
COLLECTION_RECORDS = 200
"""Most records in one sObject Collections request."""
_TERMINAL_JOB_STATES = frozenset({"JobComplete", "Failed", "Aborted"})


class OrgSession:
    """One org's client behind a single call wrapper; counts HTTP calls and tracks `Sforce-Limit-Info`.

    Args:
        settings: how to log in (or the session to use).
        http: the requests session (retries mounted); shared by login and every call.
        usage_limit: share of the daily API allocation (0-1] after which calls stop with FatalCRMError.
    """

    def __init__(self, settings: SalesforceSettings, http: requests.Session, usage_limit: float = 0.9) -> None:
        if not 0 < usage_limit <= 1:
            raise ValueError(f"usage_limit must be in (0, 1], got {usage_limit}")
        self.settings = settings
        self.http = http
        self.usage_limit = usage_limit
        self.http_calls = 0
        """HTTP responses received (logins included; urllib3 retries of one call count once)."""
        self.refreshes = 0
        self.usage: tuple[int, int] | None = None
        """(used, total) of the daily API allocation from the last Sforce-Limit-Info header."""
        http.hooks["response"].append(self._count)
        self._sf: Salesforce | None = None

    def _count(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.http_calls += 1

    @property
    def client(self) -> Salesforce:
        """The simple-salesforce client, logging in on first use."""
        if self._sf is None:
            self._connect()
        assert self._sf is not None
        return self._sf

    def _connect(self) -> None:
        s = self.settings
        if s.flow == "session" and self._sf is None:
            assert s.session_id is not None and s.instance_url is not None
            self._sf = Salesforce(session_id=s.session_id.get_secret_value(), instance_url=s.instance_url,
                                  session=self.http, version=s.api_version)
            return
        session_id, instance = login(s, self.http)
        self._sf = Salesforce(session_id=session_id, instance=instance, session=self.http, version=s.api_version)

    def call(self, what: str, fn: Callable[[Salesforce], T], record: str | None = None) -> T:
        """`fn(client)`, after a check of the API allocation; an expired session is refreshed once, errors become ours."""
        self._check_usage(what)
        for attempt in (1, 2):
            client = self.client
            try:
                result = fn(client)
            except SalesforceExpiredSession as exc:
                if attempt == 1 and _is_invalid_session(exc):
                    self._connect()
                    self.refreshes += 1
                    continue
                raise self.error(what, exc, record) from None
            except (SalesforceError, SalesforceOperationError, requests.RequestException, Urllib3Error) as exc:
                raise self.error(what, exc, record) from None
            finally:
                self._note_usage(client)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _note_usage(self, client: Salesforce) -> None:
        usage = client.api_usage.get("api-usage")
        if usage is not None:
            self.usage = (int(usage.used), int(usage.total))

    def _check_usage(self, what: str) -> None:
        if self.usage is None:
            return
        used, total = self.usage
        if total and used >= self.usage_limit * total:
            raise FatalCRMError(
                f"stopped before {what}: the org has used {used} of its {total} daily API requests "
                f"({used / total:.0%}, limit {self.usage_limit:.0%} set by SF_API_USAGE_LIMIT); "
                "resume once the rolling 24-hour usage has dropped, or raise the limit"
            )

    def error(self, what: str, exc: BaseException, record: str | None = None) -> CRMError:
        """Our error for a client exception: retriable for 429/5xx/REQUEST_LIMIT_EXCEEDED/network, fatal otherwise."""
        where = f" (record {record})" if record else ""
        secrets = self.settings.secrets() + ((self._sf.session_id,) if self._sf is not None else ())
        if isinstance(exc, SalesforceError):
            codes = ", ".join(f"{e.get('errorCode', '?')}: {e.get('message', '')}" for e in _errors(exc.content))
            text = redacted(f"{what}{where}: Salesforce answered HTTP {exc.status} at {exc.url}: {codes}", secrets)
            if exc.status in RETRY_STATUSES or "REQUEST_LIMIT_EXCEEDED" in codes:
                return RetriableCRMError(text + " (retries exhausted; try again later)", retry_after=None)
            hint = {
                SalesforceExpiredSession: "the session expired again right after a refresh; check the user's session policy",
                SalesforceRefusedRequest: "give the integration user the needed permission",
                SalesforceResourceNotFound: "check the object and field names in the mapping and the API version",
                SalesforceMalformedRequest: "check the mapping file's field names against the org",
            }.get(type(exc), "see the Salesforce error code")
            return FatalCRMError(f"{text} ({hint})")
        if isinstance(exc, SalesforceOperationError):
            return FatalCRMError(redacted(f"{what}{where}: {exc}", secrets))
        return RetriableCRMError(redacted(f"{what}{where}: cannot reach Salesforce: {exc}", secrets))

    def close(self) -> None:
        """Close the HTTP session."""
        self.http.close()
        self._sf = None


def _errors(content: Any) -> list[dict[str, Any]]:
    """Salesforce's error list from a response body (a JSON list, a dict, bytes or text)."""
    if isinstance(content, (bytes, str)):
        try:
            content = json.loads(content)
        except ValueError:
            return [{"errorCode": "UNKNOWN", "message": str(content)[:300]}]
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list):
        return [e for e in content if isinstance(e, dict)]
    return []


def _is_invalid_session(exc: SalesforceError) -> bool:
    """Whether a 401 says the session expired (not e.g. a revoked app)."""
    return any(e.get("errorCode") == "INVALID_SESSION_ID" for e in _errors(exc.content)) or not _errors(exc.content)


def query_records(org: OrgSession, what: str, soql: str, tooling: bool = False) -> list[dict[str, Any]]:
    """All records of a SOQL query, every page read: by query_all_iter, or on the Tooling API (`tooling`) by
    following each page's nextRecordsUrl (tooling/query/<locator>) until done."""
    if not tooling:
        return org.call(what, lambda sf: list(sf.query_all_iter(soql)))

    def pages(sf: Salesforce) -> list[dict[str, Any]]:
        result = sf.toolingexecute("query/", params={"q": soql})
        records = list(result["records"])
        while not result.get("done", True):
            result = sf.toolingexecute("query/" + result["nextRecordsUrl"].rsplit("/", 1)[-1])
            records.extend(result["records"])
        return records

    return org.call(what, pages)


def update_collections(
    org: OrgSession, records: Sequence[dict[str, Any]], written: Mapping[str, Sequence[str]]
) -> tuple[int, list[RecordFailure]]:
    """Update records (dicts with attributes/id/fields) 200 per PATCH composite/sobjects, allOrNone false.

    `written` maps record id -> the fields sent for it. Returns requests sent and the refusals: one
    per (record, field) sent, or one per record (field None) when the id itself is refused.
    """
    failures: list[RecordFailure] = []
    requests_sent = 0
    for start in range(0, len(records), COLLECTION_RECORDS):
        chunk = list(records[start:start + COLLECTION_RECORDS])
        body = {"allOrNone": False, "records": chunk}
        first = chunk[0]["id"]
        results = org.call(
            f"updating {len(chunk)} records from {first}",
            lambda sf: sf.restful("composite/sobjects", method="PATCH", json=body),
        )
        requests_sent += 1
        for sent, result in zip(chunk, results or [], strict=False):
            if not result.get("success", False):
                failures.extend(_refusals(sent["id"], written.get(sent["id"], ()), result.get("errors") or []))
    return requests_sent, failures


def _refusals(record_id: str, fields: Sequence[str], errors: Iterable[Mapping[str, Any]]) -> list[RecordFailure]:
    """A refused record as failures: per field sent (the record saved nothing), naming the field Salesforce blamed."""
    errors = list(errors) or [{"statusCode": "UNKNOWN_ERROR", "message": "no error detail"}]
    blamed = {f for e in errors for f in (e.get("fields") or [])}
    text = "; ".join(
        f"{e.get('statusCode', '?')}: {e.get('message', '')}" + (f" [{', '.join(e['fields'])}]" if e.get("fields") else "")
        for e in errors
    )
    code = str(errors[0].get("statusCode", "UNKNOWN_ERROR"))
    if "Id" in blamed or not fields:
        return [RecordFailure(record_id, None, code, text)]
    return [
        RecordFailure(record_id, f, code, text if f in blamed or not blamed else f"record not saved: {text}")
        for f in fields
    ]


def bulk_update(
    org: OrgSession, sobject: str, csv_text: str, n_records: int, poll_seconds: float = 2.0,
    timeout_seconds: float = 3600.0,
) -> tuple[int, list[RecordFailure]]:
    """Update records with one Bulk API 2.0 ingest job (create, upload, close, poll, failedResults).

    Returns requests sent and the refused records (one failure per record, field None).
    """
    sent = 0

    def step(what: str, fn: Callable[[_Bulk2Client], T]) -> T:
        nonlocal sent
        sent += 1
        return org.call(f"Bulk API 2.0 {sobject} job: {what}", lambda sf: fn(_bulk_client(sf, sobject)))

    job = step("create", lambda c: c.create_job(Operation.update))
    job_id = str(job["id"])
    try:
        step("upload CSV", lambda c: c.upload_job_data(job_id, csv_text))
        step("close", lambda c: c.close_job(job_id))
        deadline = time.monotonic() + timeout_seconds
        while True:
            info = step("poll", lambda c: c.get_job(job_id, False))
            if info["state"] in _TERMINAL_JOB_STATES:
                break
            if time.monotonic() > deadline:
                raise FatalCRMError(f"Bulk API 2.0 job {job_id} still {info['state']} after {timeout_seconds:.0f} s; "
                                    "check it in Setup > Bulk Data Load Jobs, then resume the push")
            time.sleep(poll_seconds)
    except CRMError:
        try:
            step("abort", lambda c: c.abort_job(job_id, False))
        except CRMError:
            pass
        raise
    if info["state"] != "JobComplete":
        raise FatalCRMError(
            f"Bulk API 2.0 job {job_id} for {n_records} {sobject} records ended {info['state']}: "
            f"{info.get('errorMessage') or 'no message'} (nothing or part was written; resume the push to retry)"
        )
    failures: list[RecordFailure] = []
    if int(info.get("numberRecordsFailed") or 0):
        text = step("failed results", lambda c: c.get_ingest_results(job_id, "failedResults"))
        for row in csv.DictReader(io.StringIO(text)):
            code, _, message = (row.get("sf__Error") or "UNKNOWN_ERROR:").partition(":")
            failures.append(RecordFailure(row.get("Id") or row.get("sf__Id") or "", None, code.strip(),
                                          message.rstrip(" -").strip()))
    return sent, failures


def _bulk_client(sf: Salesforce, sobject: str) -> _Bulk2Client:
    """A Bulk 2.0 client for `sobject` with the client's current session (so a refresh is seen)."""
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + sf.session_id, "X-PrettyPrint": "1"}
    return _Bulk2Client(sobject, sf.bulk2_url, headers, sf.session)
