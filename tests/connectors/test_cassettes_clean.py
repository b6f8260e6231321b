"""No cassette (or any tracked text file under cassettes/) holds a credential-shaped string (STYLE rule 18)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
TOKEN_SHAPES = re.compile(
    r"pat-(na|eu)[0-9]-[0-9a-f]{8}-"                        # HubSpot private-app token
    r"|00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{20,}"             # Salesforce session id / access token
    r"|Bearer [A-Za-z0-9._-]{24,}"                           # any long bearer token
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"                   # private keys
    r"|<sessionId>(?!REDACTED)[^<]{8,}</sessionId>"          # SOAP login answers
    r"|\"access_token\":\s*\"(?!REDACTED)[^\"]{8,}\""        # OAuth token answers
    r"|(?i:client_secret|password)=(?!REDACTED)[^&\s]{4,}"   # form-encoded secrets
)


def leaked_tokens(text: str) -> list[str]:
    """Credential-shaped substrings of a cassette's text."""
    return [m.group(0) for m in TOKEN_SHAPES.finditer(text)]


@pytest.mark.parametrize(
    "planted",
    [
        # built by concatenation so that this file itself holds no token-shaped literal
        "Authorization: " + "Bearer " + "00Dxx0000001gPL!" + "AQ4AQFh1xyzABCDEFGHIJKLMNOP",
        "authorization: [Bearer " + "pat-na1-" + "11111111-2222-3333-4444-555555555555]",
        '{"access_token": "00D5e000001N20Q!' + 'ARgAQ.realtoken"}',
        "grant_type=password&password=hunter2hunter2",
        "<sessionId>00D5e000001N20Q!AQ8AQ</sessionId>",
    ],
)
def test_scanner_finds_planted_tokens(planted: str) -> None:
    assert leaked_tokens(f"interactions:\n- request:\n    body: {planted}\n")


def test_scanner_accepts_redacted_values() -> None:
    assert not leaked_tokens('{"access_token": "REDACTED"}\nAuthorization: REDACTED\n<sessionId>REDACTED</sessionId>')


def test_no_cassette_holds_a_token() -> None:
    files = [p for p in CASSETTES.rglob("*") if p.is_file() and p.suffix in {".yaml", ".yml", ".json"}]
    leaks = {str(p.relative_to(CASSETTES)): found for p in files if (found := leaked_tokens(p.read_text("utf-8")))}
    assert not leaks, f"credential-shaped strings in cassettes: {leaks}"
