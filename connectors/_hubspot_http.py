"""HubSpot transport for the adapter: client with urllib3 retries, rate-limit headers, client errors -> ours.

Retries on 429, 5xx and dropped connections are urllib3's (`Retry` handed to `hubspot.Client.create`),
POST included (`allowed_methods=None`), honouring Retry-After; once they run out urllib3 raises
MaxRetryError, which `crm_error` turns into RetriableCRMError. Every hubspot package has its own
ApiException class: all of them are caught here. The access token is never put in a message.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hubspot
import hubspot.crm.companies.exceptions as _companies_exc
import hubspot.crm.contacts.exceptions as _contacts_exc
import hubspot.crm.properties.exceptions as _properties_exc
import urllib3
from pydantic import SecretStr
from urllib3.util.retry import Retry

from connectors.errors import CRMError, FatalCRMError, RetriableCRMError
from connectors.pacing import RequestPacer

API_EXCEPTIONS: tuple[type[Exception], ...] = (
    _contacts_exc.ApiException, _companies_exc.ApiException, _properties_exc.ApiException,
)
"""ApiException of every hubspot package the adapter calls; they share no base but OpenApiException per package."""
CLIENT_EXCEPTIONS: tuple[type[Exception], ...] = (
    _contacts_exc.OpenApiException, _companies_exc.OpenApiException, _properties_exc.OpenApiException,
)
RETRIABLE_STATUSES = (429, 500, 502, 503, 504)
SEARCH_KIND = "search"
"""The request kind HubSpot limits per second on top of the account's 10-second window."""
REQUEST_TIMEOUT = (10.0, 60.0)
"""(connect, read) timeout of each request, seconds."""


def default_retry(total: int = 5, backoff_factor: float = 1.0, backoff_max: float = 30.0) -> Retry:
    """urllib3 retries for HubSpot: 429/5xx and dropped connections, POST too, Retry-After honoured."""
    return Retry(
        total=total, connect=total, read=total, status=total, other=0,
        status_forcelist=RETRIABLE_STATUSES, allowed_methods=None, respect_retry_after_header=True,
        backoff_factor=backoff_factor, backoff_max=backoff_max, raise_on_status=True,
    )


def new_client(token: SecretStr, retry: Retry, host: str | None) -> Any:
    """A hubspot.Client whose every API shares `retry` and, when given, `host` (a fake server in tests)."""
    options: dict[str, Any] = {"access_token": token.get_secret_value(), "retry": retry}
    if host is not None:
        options["host"] = host.rstrip("/")
    return hubspot.Client.create(**options)


@dataclass(frozen=True)
class RateLimit:
    """The latest X-HubSpot-RateLimit-* headers: requests per interval and per day, and what is left."""

    max: int | None = None
    remaining: int | None = None
    interval_ms: int | None = None
    daily: int | None = None
    daily_remaining: int | None = None

    @classmethod
    def from_headers(cls, headers: Any, previous: RateLimit) -> RateLimit:
        """The limits a response's headers state; values it leaves out (search answers) keep `previous`."""
        found = header_map(headers)
        if not found:
            return previous

        def number(name: str, old: int | None) -> int | None:
            value = found.get(f"x-hubspot-ratelimit-{name.lower()}")
            try:
                return int(value) if value is not None else old
            except ValueError:
                return old

        return cls(
            max=number("Max", previous.max), remaining=number("Remaining", previous.remaining),
            interval_ms=number("Interval-Milliseconds", previous.interval_ms),
            daily=number("Daily", previous.daily), daily_remaining=number("Daily-Remaining", previous.daily_remaining),
        )


@dataclass(frozen=True)
class Answer:
    """A client call's deserialised data (None for an allowed error), HTTP status, and error body ({} on success)."""

    data: Any
    status: int
    error: dict[str, Any]


class Transport:
    """Calls hubspot client methods: counts requests by kind, tracks rate limits, keeps a daily reserve, and
    paces every request to the account's rolling window and searches to their own per-second limit."""

    def __init__(self, daily_limit_share: float, window: RequestPacer | None = None,
                 search: RequestPacer | None = None) -> None:
        if not 0 < daily_limit_share <= 1:
            raise ValueError(f"daily_limit_share must be in (0, 1], got {daily_limit_share}")
        self.daily_limit_share = daily_limit_share
        self.rate_limit = RateLimit()
        self.requests: Counter[str] = Counter()
        self._window = window or RequestPacer(None, None)
        self._search = search or RequestPacer(None, None)

    def call(
        self, kind: str, what: str, method: Callable[..., tuple[Any, int, Any]], *args: Any,
        allow: tuple[int, ...] = (), **kwargs: Any,
    ) -> Answer:
        """`method(*args, **kwargs)`, a `*_with_http_info` client method, counted as one `kind` request.

        A status in `allow` comes back as an Answer with its error body instead of raising; any other
        failure raises RetriableCRMError or FatalCRMError saying what was being done (`what`).
        """
        self._check_daily_budget()
        pacers = (self._window, self._search) if kind == SEARCH_KIND else (self._window,)
        for pacer in pacers:
            pacer.wait()
        for pacer in pacers:
            pacer.count(1)
        self.requests[kind] += 1
        try:
            data, status, headers = method(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except API_EXCEPTIONS as exc:
            self.rate_limit = RateLimit.from_headers(getattr(exc, "headers", None), self.rate_limit)
            status = int(getattr(exc, "status", 0) or 0)
            if status in allow:
                return Answer(None, status, error_body(exc))
            raise crm_error(exc, what) from None
        except (CLIENT_EXCEPTIONS + (urllib3.exceptions.HTTPError,)) as exc:
            raise crm_error(exc, what) from None
        self.rate_limit = RateLimit.from_headers(headers, self.rate_limit)
        return Answer(data, status, {})

    def _check_daily_budget(self) -> None:
        """FatalCRMError once the day's used share reaches `daily_limit_share` (the rest is left to other apps)."""
        limit = self.rate_limit
        if limit.daily and limit.daily_remaining is not None:
            used = limit.daily - limit.daily_remaining
            if used >= self.daily_limit_share * limit.daily:
                raise FatalCRMError(
                    f"stopped before HubSpot's daily API limit: {used:,} of {limit.daily:,} requests used today, "
                    f"and scorebench may use at most {self.daily_limit_share:.0%}; resume after midnight in the "
                    "HubSpot account's time zone, or raise daily_limit_share"
                )


def error_body(exc: Exception) -> dict[str, Any]:
    """HubSpot's JSON error body ({status, message, category, correlationId, ...}) or {}."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        return {"message": str(body)[:300]}
    return parsed if isinstance(parsed, dict) else {}


def header_map(headers: Any) -> dict[str, str]:
    """Response headers (a mapping or (name, value) pairs, as urllib3 or vcrpy give them) by lower-case name."""
    if not headers:
        return {}
    pairs = headers.items() if hasattr(headers, "items") else headers
    return {str(k).lower(): str(v) for k, v in pairs}


def retry_after(headers: Any) -> float | None:
    """Seconds of a Retry-After header (None when absent or not a number)."""
    value = header_map(headers).get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def crm_error(exc: Exception, what: str) -> CRMError:
    """Our error for a hubspot client or urllib3 exception raised while doing `what`: retriable by type."""
    if isinstance(exc, urllib3.exceptions.MaxRetryError):
        return RetriableCRMError(
            f"HubSpot {what}: no answer after retries ({type(exc.reason).__name__}: {exc.reason}); "
            "HubSpot may be rate-limiting or down, try again later"
        )
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return RetriableCRMError(f"HubSpot {what}: connection failed ({type(exc).__name__}: {exc}); try again later")
    if not isinstance(exc, API_EXCEPTIONS):
        return FatalCRMError(f"HubSpot {what}: the client refused the request ({type(exc).__name__}: {exc})")
    status = int(getattr(exc, "status", 0) or 0)
    body = error_body(exc)
    category = body.get("category") or body.get("errorType") or ""
    detail = f"{status}{' ' + category if category else ''}: {body.get('message') or getattr(exc, 'reason', '')}"
    if body.get("correlationId"):
        detail += f" (correlationId {body['correlationId']})"
    headers = getattr(exc, "headers", None)
    if status == 401:
        return FatalCRMError(
            f"HubSpot {what}: the access token was refused ({detail}); check HUBSPOT_ACCESS_TOKEN or the keyring "
            "entry (service 'scorebench'): the private app may have been deleted or its token rotated"
        )
    if status == 403:
        return FatalCRMError(
            f"HubSpot {what}: permission denied ({detail}); give the private app the scopes "
            "crm.objects.contacts.read/write, crm.objects.companies.read, crm.schemas.contacts.read/write"
        )
    if status == 429 or status >= 500 or status == 0:
        return RetriableCRMError(f"HubSpot {what}: {detail}; try again later", retry_after=retry_after(headers))
    return FatalCRMError(f"HubSpot {what}: request refused ({detail})")
