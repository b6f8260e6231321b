"""The CLI against Salesforce and HubSpot, as a user runs it: credentials in the environment, the real
client libraries over HTTP, a loopback fake org speaking the documented wire formats (tests/connectors)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rollout.cli import app
from simulator import FunnelSpec, generate_funnel
from tests.connectors.fake_orgs import start_fake_org

MODEL = Path(__file__).resolve().parents[2] / "models" / "candidate.toml"
runner = CliRunner()


class Org(NamedTuple):
    crm: str
    environ: dict[str, str]
    score_field: str
    leads: int


def small_funnel():  # noqa: ANN201 - a Funnel
    return generate_funnel(FunnelSpec(n_leads=40), np.random.default_rng(5))


@pytest.fixture(params=["salesforce", "hubspot"])
def org(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Org]:
    funnel = small_funnel()
    field = {"salesforce": "Lead_Score__c", "hubspot": "sb_lead_score"}[request.param]
    with ExitStack() as stack:
        environ, _ = start_fake_org(request.param, funnel, stack)
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        yield Org(request.param, environ, field, len(funnel.leads))


def run(*args: object) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def pulled_scores(crm: str, field: str) -> pd.Series:
    """The score field as the adapter reads it back (through the CLI's own connector factory)."""
    from connectors.registry import open_connector
    from scoring.fields import ScoreField

    connector = open_connector(crm, Path("unused"))
    try:
        values = connector.read_score_values([ScoreField("total", field, "number")])
    finally:
        connector.close()
    return values.set_index("record_id")[field]


def test_score_field_of_the_wrong_type_stops_every_command_before_the_org_changes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """Lead_Score__c already exists in the org as Text(255): fields ensure and push, dry runs included, exit 1
    naming the field and both types, and the org gets no POST, PATCH or PUT."""
    with ExitStack() as stack:
        environ, fake = start_fake_org("salesforce", small_funnel(), stack)
        fake.add_custom_field("Lead", "Lead_Score__c", {"type": "Text", "length": 255})
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        for command in (("fields", "ensure", "--dry-run"), ("fields", "ensure"), ("push", "--dry-run"), ("push",)):
            code, out = run(*command, "--crm", "salesforce", "--model", MODEL)
            assert code == 1, out
            assert "Lead.Lead_Score__c exists as Text(255)" in out and "model writes number" in out, out
        assert [method for method, _ in fake.log if method != "GET"] == []


def test_fields_pull_push_and_undo_from_the_cli(org: Org, tmp_path: Path) -> None:
    code, out = run("fields", "ensure", "--crm", org.crm, "--model", MODEL, "--dry-run")
    assert code == 0 and "would create" in out and org.score_field in out, out
    code, out = run("fields", "ensure", "--crm", org.crm, "--model", MODEL)
    assert code == 0 and "created" in out, out
    code, out = run("fields", "ensure", "--crm", org.crm, "--model", MODEL)
    assert code == 0 and "exists" in out and "created" not in out, out

    code, out = run("pull", "--crm", org.crm, "--out", tmp_path / "pulled")
    assert code == 0, out
    leads = pd.read_csv(tmp_path / "pulled" / "leads.csv")
    assert len(leads) == org.leads and leads["lead_id"].is_unique

    code, out = run("push", "--crm", org.crm, "--model", MODEL, "--as-of", "2026-11-01", "--dry-run")
    assert code == 0 and "would change" in out, out
    assert pulled_scores(org.crm, org.score_field).isna().all()

    code, out = run("push", "--crm", org.crm, "--model", MODEL, "--as-of", "2026-11-01")
    assert code == 0 and "failed 0" in out, out
    push_id = out.split("push ", 1)[1].split(":", 1)[0]
    after = pulled_scores(org.crm, org.score_field)
    assert after.notna().all() and after.between(0, 100).all()
    journal = tmp_path / ".scorebench" / "journal.sqlite"
    assert journal.is_file()

    code, out = run("push", "--crm", org.crm, "--model", MODEL, "--as-of", "2026-11-01")
    assert code == 0 and "changed 0 field values" in out, out

    code, out = run("undo", push_id, "--crm", org.crm)
    assert code == 0 and "failed 0" in out, out
    assert pulled_scores(org.crm, org.score_field).isna().all()


def test_missing_credentials_name_every_place_looked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import keyring
    import keyring.backends.null

    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.null.Keyring())
    try:
        for crm, variable in (("hubspot", "HUBSPOT_ACCESS_TOKEN"), ("salesforce", "SF_USERNAME")):
            code, out = run("pull", "--crm", crm, "--out", tmp_path / crm)
            assert code == 1 and variable in out and "keyring" in out, out
    finally:
        keyring.set_keyring(previous)
