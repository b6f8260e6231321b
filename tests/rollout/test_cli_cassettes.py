"""The CLI replayed from cassettes: fields ensure, pull, push --dry-run, push, undo for Salesforce and HubSpot.

Each cassette holds one CLI session, recorded through the real client libraries against the loopback
fake orgs of tests/connectors (which follow the documented wire formats) and replayed here with no
server and no network. A missing cassette is recorded on the next run; a request that is not in the
cassette fails the test (record mode "once"). Authorization headers are filtered before writing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pytest
import vcr
from typer.testing import CliRunner

from rollout.cli import app
from simulator import FunnelSpec, generate_funnel
from tests.connectors.fake_orgs import start_fake_org

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes" / "cli"
MODEL = ROOT / "models" / "candidate.toml"
runner = CliRunner()

SESSION = [
    ("fields", "ensure", "--model", str(MODEL), "--dry-run"),
    ("fields", "ensure", "--model", str(MODEL)),
    ("pull", "--out", "{tmp}/pulled", "--full"),
    ("push", "--model", str(MODEL), "--as-of", "2026-11-01", "--dry-run"),
    ("push", "--model", str(MODEL), "--as-of", "2026-11-01"),
    ("undo", "{push_id}"),
]


def _recorder(match_on: tuple[str, ...] = ("method", "path", "query", "body")) -> vcr.VCR:
    return vcr.VCR(
        record_mode="once",
        match_on=list(match_on),
        filter_headers=["authorization"],
        decode_compressed_response=True,
    )


def _fake_org(crm: str, stack: ExitStack) -> dict[str, str]:
    """Start a seeded fake org (only when recording) and return the environment pointing at it."""
    funnel = generate_funnel(FunnelSpec(n_leads=30), np.random.default_rng(11))
    return start_fake_org(crm, funnel, stack, page_size=20)[0]


REPLAY_ENV = {
    "salesforce": {"SF_SESSION_ID": "REDACTED", "SF_INSTANCE_URL": "https://acme.my.salesforce.com",
                   "SF_PERMISSION_SET": "Scorebench_Integration"},
    "hubspot": {"HUBSPOT_ACCESS_TOKEN": "REDACTED"},
}
"""Replaying needs no server: the cassette answers before a connection is made. Recorded cassettes have
the fake's loopback address rewritten to the real hosts (acme.my.salesforce.com, api.hubapi.com)."""


def replayed_crm(name: str, cassette: Path, recorder: vcr.VCR, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CRM `name` for CLI commands: the cassette replayed when it exists, else a fake org being recorded."""
    with ExitStack() as stack:
        environ = REPLAY_ENV[name] if cassette.is_file() else _fake_org(name, stack)
        for key, value in environ.items():
            monkeypatch.setenv(key, value)
        stack.enter_context(recorder.use_cassette(str(cassette)))
        yield name


@pytest.fixture(params=["salesforce", "hubspot"])
def crm(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    name: str = request.param
    monkeypatch.chdir(tmp_path)
    yield from replayed_crm(name, CASSETTES / f"{name}_session.yaml", _recorder(), monkeypatch)


def test_cli_session_replays_from_cassette(crm: str, tmp_path: Path) -> None:
    push_id = ""
    outputs = []
    for step in SESSION:
        args = [a.format(tmp=tmp_path, push_id=push_id) for a in step]
        result = runner.invoke(app, [*args[:2], "--crm", crm, *args[2:]] if args[0] == "fields"
                               else [args[0], *args[1:], "--crm", crm])
        assert result.exit_code == 0, (args, result.output)
        outputs.append(result.output)
        if args[0] == "push" and "--dry-run" not in args:
            push_id = result.output.split("push ", 1)[1].split(":", 1)[0]
    ensure_dry, ensure, pulled, plan, pushed, undone = outputs
    assert "would create" in ensure_dry and "created" in ensure
    assert "30 leads" in pulled and json.loads((tmp_path / "pulled" / "funnel.json").read_text())["crm"] == crm
    assert "would change" in plan and "failed 0" in pushed and "applied 0" not in pushed
    assert push_id.startswith("p") and "failed 0" in undone and "conflicts 0" in undone
