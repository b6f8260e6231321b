"""Salesforce credentials and sessions: settings from env vars or the keyring, login, the retrying HTTP session, redaction.

Three ways in, tried in this order: JWT bearer (the default: SF_USERNAME, SF_CONSUMER_KEY,
SF_PRIVATE_KEY_FILE or SF_PRIVATE_KEY), username + password + security token (SF_USERNAME,
SF_PASSWORD, SF_SECURITY_TOKEN; older orgs, SOAP login), or a session id + instance URL
(SF_SESSION_ID, SF_INSTANCE_URL; never refreshed). Secrets stay SecretStr until the login call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypedDict

import requests
from pydantic import SecretStr
from requests.adapters import HTTPAdapter
from simple_salesforce import SalesforceLogin
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from urllib3.util.retry import Retry

from connectors.credentials import KEYRING_SERVICE, secret, setting
from connectors.errors import FatalCRMError, RetriableCRMError
from scoring.errors import SettingsError

DEFAULT_API_VERSION = "59.0"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SECRET_NAMES = ("SF_CONSUMER_KEY", "SF_PRIVATE_KEY", "SF_PASSWORD", "SF_SECURITY_TOKEN", "SF_SESSION_ID")
SETTING_NAMES = ("SF_USERNAME", "SF_PRIVATE_KEY_FILE", "SF_DOMAIN", "SF_INSTANCE_URL", "SF_API_VERSION",
                 "SF_PERMISSION_SET", "SF_MAPPING_FILE", "SF_API_USAGE_LIMIT", "SF_BULK_THRESHOLD")
_TOKENS = re.compile(
    r"(00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]+)"          # Salesforce session ids / access tokens
    r"|((?:Bearer|Basic)\s+)[^\s'\",]+"                  # Authorization header values
    r"|((?:access_token|assertion|password|client_secret|sessionId)[\"']?\s*[=:]\s*[\"']?)[^\s&'\",<]+"
    r"|(<(?:urn:)?password>)[^<]*"
    r"|([?&]q=)[^&\s'\"]+",                              # SOQL in URLs (may carry personal data)
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SalesforceSettings:
    """How to reach one org: the auth flow and its inputs, API version, domain or instance URL."""

    flow: Literal["jwt", "password", "session"]
    username: str | None = None
    consumer_key: SecretStr | None = None
    private_key_file: str | None = None
    private_key: SecretStr | None = field(default=None, repr=False)
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    session_id: SecretStr | None = None
    instance_url: str | None = None
    domain: str = "login"
    api_version: str = DEFAULT_API_VERSION

    def secrets(self) -> tuple[str, ...]:
        """The secret values, for scrubbing them out of any text."""
        values = (self.consumer_key, self.private_key, self.password, self.security_token, self.session_id)
        return tuple(v.get_secret_value() for v in values if v is not None and v.get_secret_value())


class _Endpoint(TypedDict):
    """The SalesforceSettings fields every flow shares."""

    domain: str
    api_version: str
    instance_url: str | None


def settings_from_environment(environ: Mapping[str, str] | None = None) -> SalesforceSettings:
    """Settings from environment variables or the keyring; SettingsError listing every place looked when none is complete."""
    domain = setting("SF_DOMAIN", "login", environ) or "login"
    version = (setting("SF_API_VERSION", DEFAULT_API_VERSION, environ) or DEFAULT_API_VERSION).lstrip("vV")
    if not re.fullmatch(r"\d{2,3}\.0", version):
        raise SettingsError(f"SF_API_VERSION={version!r} is not an API version like '59.0'")
    instance_url = setting("SF_INSTANCE_URL", None, environ)
    username = setting("SF_USERNAME", None, environ)
    key_file = setting("SF_PRIVATE_KEY_FILE", None, environ)
    found = {name: secret(name, environ) for name in SECRET_NAMES}
    common: _Endpoint = {"domain": domain, "api_version": version, "instance_url": instance_url}
    if username and found["SF_CONSUMER_KEY"] and (key_file or found["SF_PRIVATE_KEY"]):
        return SalesforceSettings("jwt", username=username, consumer_key=found["SF_CONSUMER_KEY"],
                                  private_key_file=key_file, private_key=found["SF_PRIVATE_KEY"], **common)
    if username and found["SF_PASSWORD"] and found["SF_SECURITY_TOKEN"]:
        return SalesforceSettings("password", username=username, password=found["SF_PASSWORD"],
                                  security_token=found["SF_SECURITY_TOKEN"], **common)
    if found["SF_SESSION_ID"] and instance_url:
        return SalesforceSettings("session", session_id=found["SF_SESSION_ID"], **common)
    have = {n for n, v in found.items() if v is not None} | {
        n for n, v in (("SF_USERNAME", username), ("SF_PRIVATE_KEY_FILE", key_file), ("SF_INSTANCE_URL", instance_url))
        if v
    }
    flows = {
        "JWT bearer (default)": ("SF_USERNAME", "SF_CONSUMER_KEY", "SF_PRIVATE_KEY_FILE or SF_PRIVATE_KEY"),
        "username + password": ("SF_USERNAME", "SF_PASSWORD", "SF_SECURITY_TOKEN"),
        "session id": ("SF_SESSION_ID", "SF_INSTANCE_URL"),
    }
    lines = []
    for flow, names in flows.items():
        missing = [n for n in names if not any(part in have for part in n.split(" or "))]
        lines.append(f"{flow}: needs {', '.join(names)}; missing {', '.join(missing)}")
    raise SettingsError(
        "no complete Salesforce credentials. Looked in the environment variables "
        + ", ".join(("SF_USERNAME", "SF_PRIVATE_KEY_FILE", "SF_INSTANCE_URL", *SECRET_NAMES))
        + f" and, for {', '.join(SECRET_NAMES)}, in the OS keyring (service {KEYRING_SERVICE!r}, user = the name). "
        + "; ".join(lines)
        + ". Set one flow completely, e.g. `export SF_USERNAME=... SF_PRIVATE_KEY_FILE=...` and "
        + f"`keyring set {KEYRING_SERVICE} SF_CONSUMER_KEY`"
    )


def retrying_session(retries: int = 4, backoff: float = 1.0, verify: str | bool = True) -> requests.Session:
    """A requests session that retries 429, 5xx and dropped connections for every method, honouring Retry-After."""
    policy = Retry(
        total=retries, connect=retries, read=retries, status=retries, other=0,
        status_forcelist=RETRY_STATUSES, allowed_methods=None, backoff_factor=backoff,
        respect_retry_after_header=True, raise_on_status=False,
    )
    session = requests.Session()
    session.trust_env = False
    session.verify = verify
    adapter = HTTPAdapter(max_retries=policy)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def login(settings: SalesforceSettings, session: requests.Session) -> tuple[str, str]:
    """A fresh (session id, instance host) for JWT or password settings; FatalCRMError when the org refuses."""
    if settings.flow == "session":
        raise FatalCRMError(
            "the Salesforce session given in SF_SESSION_ID has expired and cannot be refreshed; "
            "get a new one, or use JWT bearer credentials (SF_USERNAME, SF_CONSUMER_KEY, SF_PRIVATE_KEY_FILE)"
        )
    try:
        if settings.flow == "jwt":
            assert settings.consumer_key is not None
            session_id, instance = SalesforceLogin(
                username=settings.username, consumer_key=settings.consumer_key.get_secret_value(),
                privatekey_file=settings.private_key_file,
                privatekey=settings.private_key.get_secret_value() if settings.private_key else None,
                domain=settings.domain, session=session,
            )
        else:
            assert settings.password is not None and settings.security_token is not None
            session_id, instance = SalesforceLogin(
                username=settings.username, password=settings.password.get_secret_value(),
                security_token=settings.security_token.get_secret_value(), domain=settings.domain,
                sf_version=settings.api_version, session=session,
            )
    except SalesforceAuthenticationFailed as exc:
        raise FatalCRMError(
            f"Salesforce refused the {settings.flow} login for {settings.username} on {settings.domain}: "
            f"{redacted(str(exc), settings.secrets())} (check the credentials, the connected app and "
            "that the user is pre-authorized for it)"
        ) from None
    except requests.RequestException as exc:
        raise RetriableCRMError(
            f"cannot reach Salesforce to log in: {redacted(str(exc), settings.secrets())}"
        ) from None
    except OSError as exc:
        raise SettingsError(f"cannot read the private key file {settings.private_key_file}: {exc.strerror}") from None
    return str(session_id), str(instance)


def redacted(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with tokens, Authorization values, passwords, SOQL in URLs and the given secrets replaced by <redacted>."""
    for value in secrets:
        if len(value) >= 4:
            text = text.replace(value, "<redacted>")

    def keep_prefix(match: re.Match[str]) -> str:
        prefix = next((g for g in match.groups()[1:] if g), "")
        return prefix + "<redacted>"

    return _TOKENS.sub(keep_prefix, text)
