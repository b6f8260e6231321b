"""The shadow-mode commands replayed from cassettes against Salesforce and HubSpot: start, snapshot (a
back-filled 14-day window), report with gates, approve, push --run, undo.

Recorded like tests/rollout/test_cli_cassettes.py: through the real client libraries against the
loopback fake orgs of tests/connectors, loopback address rewritten to the real hosts, and replayed with
no server. The window lies in the past, so one snapshot back-fills all 14 days whatever today is, and
the conversation is the same on every run; requests are matched on method and path, in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rollout.cli import app
from tests.rollout.test_cli_cassettes import _recorder, replayed_crm

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes" / "cli"
MODELS = ROOT / "models"
runner = CliRunner()


@pytest.fixture(params=["salesforce", "hubspot"])
def crm(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """Requests matched on method and path, in order: the shadow conversation is the same on every run."""
    name: str = request.param
    monkeypatch.chdir(tmp_path)
    yield from replayed_crm(name, CASSETTES / f"{name}_shadow.yaml", _recorder(("method", "path")), monkeypatch)


def run(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (args, result.output)
    return result.output


def test_shadow_cycle_replays_from_cassette(crm: str, tmp_path: Path) -> None:
    store = tmp_path / "shadow.sqlite"
    run("shadow", "start", "--crm", crm, "--champion", MODELS / "baseline.toml", "--challenger",
        MODELS / "candidate.toml", "--days", "14", "--start", "2026-10-18", "--shadow-fields", "--store", store,
        "--run-id", "cassette-run")
    snapshot = run("shadow", "snapshot", "cassette-run", "--store", store)
    assert "2026-10-31" in snapshot, snapshot
    report = run("shadow", "report", "cassette-run", "--store", store, "--out", tmp_path / "report")
    assert "verdict:" in report and (tmp_path / "report" / "report.html").is_file()
    run("approve", "cassette-run", "--by", "tester", "--note", "cassette replay", "--override", "--store", store)
    pushed = run("push", "--run", "cassette-run", "--store", store, "--as-of", "2026-11-01")
    assert "failed 0" in pushed
    push_id = pushed.split("push ", 1)[1].split(":", 1)[0]
    undone = run("undo", push_id, "--crm", crm)
    assert "failed 0" in undone and "conflicts 0" in undone
