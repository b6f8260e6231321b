"""Shadow snapshots and shadow-field writes against Salesforce and HubSpot loopback fakes (real client libraries)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest

from connectors.errors import CRMError
from connectors.registry import open_connector
from rollout.shadow_snapshot import snapshot_run
from rollout.shadow_start import start_run
from rollout.shadow_store import ShadowStore
from scoring.fields import ScoreField
from simulator import FunnelSpec, generate_funnel
from tests.connectors.fake_orgs import start_fake_org

MODELS = Path(__file__).resolve().parents[2] / "models"


class Org(NamedTuple):
    crm: str
    live_field: str
    shadow_field: str
    fake: object
    as_of: pd.Timestamp
    leads: int


@pytest.fixture(params=["salesforce", "hubspot"])
def org(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Org]:
    spec = FunnelSpec(n_leads=40)
    funnel = generate_funnel(spec, np.random.default_rng(5))
    live = {"salesforce": "Lead_Score__c", "hubspot": "sb_lead_score"}[request.param]
    with ExitStack() as stack:
        environ, fake = start_fake_org(request.param, funnel, stack)
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        yield Org(request.param, live, f"shadow_{live}", fake, spec.as_of, len(funnel.leads))


def values(crm: str, field: str) -> pd.Series | None:
    connector = open_connector(crm, Path("unused"))
    try:
        if not any(f.name == field for f in connector.ensure_score_fields(
                [ScoreField("total", field, "number")], dry_run=True).existing):
            return None
        return connector.read_score_values([ScoreField("total", field, "number")]).set_index("record_id")[field]
    finally:
        connector.close()


def test_snapshots_write_only_shadow_fields(org: Org, tmp_path: Path) -> None:
    store = tmp_path / "shadow.sqlite"
    start = org.as_of - pd.Timedelta(days=2)
    run = start_run(store, org.crm, MODELS / "baseline.toml", MODELS / "candidate.toml", days=2, clock="simulated",
                    start=str(start.date()), write_shadow_fields=True)
    first = snapshot_run(store, run.run_id)
    second = snapshot_run(store, run.run_id)
    assert first.shadow_push is not None and first.shadow_push.failed == 0
    assert second.complete and [d.day_index for d in second.days] == [2]
    shadow = values(org.crm, org.shadow_field)
    assert shadow is not None and shadow.notna().sum() == org.leads and shadow.between(0, 100).all()
    live = values(org.crm, org.live_field)
    assert live is None or live.isna().all(), "live score fields are never written by a snapshot"
    with ShadowStore(store) as book:
        assert [d.leads for d in book.days(run.run_id)][-1] == org.leads


def test_a_crm_failure_mid_snapshot_is_logged_and_the_next_snapshot_completes(org: Org, tmp_path: Path) -> None:
    store = tmp_path / "shadow.sqlite"
    start = org.as_of - pd.Timedelta(days=2)
    run = start_run(store, org.crm, MODELS / "baseline.toml", MODELS / "candidate.toml", days=2, clock="simulated",
                    start=str(start.date()))
    org.fake.fail_next(400, times=1)  # type: ignore[attr-defined]
    with pytest.raises(CRMError):
        snapshot_run(store, run.run_id)
    with ShadowStore(store) as book:
        assert book.days(run.run_id) == []
        assert book.log_lines(run.run_id).iloc[-1]["kind"] == "error"
    assert [d.day_index for d in snapshot_run(store, run.run_id).days] == [0, 1]
