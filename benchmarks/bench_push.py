"""Push efficiency: HTTP (or SQL) write requests for N changed records among M, against the minimum the
CRM's API allows (ceil(changed / batch) for batch endpoints, a constant for a bulk job). Unchanged
records must cost zero requests. Prints one line per adapter and scenario; the last line is one JSON
object with the worst ratio.

Run: `.venv/bin/python benchmarks/bench_push.py [--records M]`. Salesforce and HubSpot run against the
loopback fake servers of the test suite (the real client libraries over HTTP), when present.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors._samples import SAMPLE_SCORE_FIELDS, synthetic_scores  # noqa: E402
from connectors.journal import PushJournal  # noqa: E402
from connectors.local import LocalCRM  # noqa: E402
from connectors.protocol import CRMConnector  # noqa: E402
from rollout.push import push_scores  # noqa: E402
from scoring.columns import LEAD_COLUMNS  # noqa: E402
from scoring.fields import ScoreField  # noqa: E402

Target = tuple[CRMConnector, Sequence[ScoreField]]
Seeded = Callable[[Path, pd.DataFrame], AbstractContextManager[Target]]


def bench_leads(n: int) -> pd.DataFrame:
    """n minimal canonical leads."""
    frame = pd.DataFrame({c: pd.Series([None] * n, dtype=object) for c in LEAD_COLUMNS})
    frame["lead_id"] = [f"L{i:07d}" for i in range(n)]
    frame["created_at"] = pd.Timestamp("2026-01-01T00:00:00Z")
    frame[["employees", "annual_revenue"]] = np.nan
    return frame


@contextmanager
def local_crm(workdir: Path, leads: pd.DataFrame) -> Iterator[Target]:
    """The embedded SQLite CRM seeded with `leads`."""
    crm = LocalCRM(workdir / "crm.sqlite")
    crm.load_funnel(leads)
    try:
        yield crm, SAMPLE_SCORE_FIELDS
    finally:
        crm.close()


@contextmanager
def salesforce_org(workdir: Path, leads: pd.DataFrame) -> Iterator[Target]:
    """The loopback fake Salesforce org of the test suite, seeded with `leads`, through simple-salesforce."""
    from pydantic import SecretStr

    from connectors._salesforce_auth import SalesforceSettings, retrying_session
    from connectors._salesforce_mapping import load_mapping
    from connectors.salesforce import SalesforceCRM
    from tests.connectors.fake_salesforce import FakeSalesforce

    fake = FakeSalesforce()
    empty = pd.DataFrame(columns=["lead_id", "type", "at", "value"])
    fake.seed(load_mapping(), leads, pd.DataFrame(columns=["account_id"]), empty,
              pd.DataFrame(columns=["lead_id", "stage", "at"]))
    settings = SalesforceSettings("session", session_id=SecretStr(fake.token), instance_url=fake.instance_url)
    crm = SalesforceCRM(settings, http=retrying_session(retries=2, backoff=0.0, verify=fake.ca_file))
    fields = tuple(ScoreField(f.column, f"{f.name.title()}__c", f.kind) for f in SAMPLE_SCORE_FIELDS)
    try:
        yield crm, fields
    finally:
        crm.close()
        fake.stop()


@contextmanager
def hubspot_portal(workdir: Path, leads: pd.DataFrame) -> Iterator[Target]:
    """The loopback fake HubSpot portal of the test suite, seeded with `leads`, through hubspot-api-client."""
    from connectors._hubspot_mapping import load_mapping
    from connectors.hubspot import HubSpotCRM
    from tests.connectors.fake_hubspot import FakeHubSpot, load_funnel

    fake = FakeHubSpot().start()
    empty = pd.DataFrame(columns=["lead_id", "type", "at", "value"])
    load_funnel(fake, leads, pd.DataFrame(columns=["account_id"]), empty,
                pd.DataFrame(columns=["lead_id", "stage", "at"]), load_mapping())
    crm = HubSpotCRM(fake.token, host=fake.url)
    try:
        yield crm, SAMPLE_SCORE_FIELDS
    finally:
        crm.close()
        fake.stop()


def requests_for(target: Seeded, records: int, changed: int, seed: int) -> tuple[int, int, int]:
    """Write requests of (a first push of all records, a re-push of the same scores, a push where
    `changed` records changed) on a fresh target, as the adapter reports them."""
    leads = bench_leads(records)
    with tempfile.TemporaryDirectory() as tmp, target(Path(tmp), leads) as (connector, fields):
        with PushJournal(Path(tmp) / "journal.sqlite") as journal:
            ids = connector.read_leads()["lead_id"]
            first = synthetic_scores(ids, seed=seed)
            initial = push_scores(connector, journal, first, fields, "bench-1").requests
            unchanged = push_scores(connector, journal, first, fields, "bench-1").requests
            second = first.copy()
            rows = np.random.default_rng(seed).choice(records, size=changed, replace=False)
            second.loc[rows, "total"] = np.where(second.loc[rows, "total"] >= 99, 0.0, second.loc[rows, "total"] + 1)
            made = push_scores(connector, journal, second, fields, "bench-2").requests
            return initial, unchanged, made


def minimum_requests(connector_batch: int, bulk_threshold: int | None, changed: int) -> int:
    """Fewest write requests the API allows: one bulk job above the threshold, else full batches."""
    if changed == 0:
        return 0
    if bulk_threshold is not None and changed >= bulk_threshold:
        return 1
    return math.ceil(changed / connector_batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000)
    args = parser.parse_args()
    targets: dict[str, Seeded] = {"local": local_crm, "salesforce": salesforce_org, "hubspot": hubspot_portal}
    worst = 0.0
    rows = []
    for name, target in targets.items():
        for share in (0.0, 0.05, 0.5):
            changed = int(args.records * share)
            first, unchanged, made = requests_for(target, args.records, changed, seed=1)
            with tempfile.TemporaryDirectory() as tmp, target(Path(tmp), bench_leads(2)) as (probe, _):
                caps = probe.capabilities
            floor = minimum_requests(caps.max_batch_records, caps.bulk_threshold_records if caps.supports_bulk else None,
                                     changed)
            ratio = (made / floor) if floor else (1.0 if made == 0 else math.inf)
            worst = max(worst, ratio)
            rows.append({"crm": name, "records": args.records, "changed": changed, "requests": made,
                         "minimum": floor, "ratio": ratio, "unchanged_repush_requests": unchanged})
            print(f"{name:10s} {changed:>7,} changed of {args.records:,}: {made} write requests, minimum {floor}, "
                  f"ratio {ratio:.2f}; unchanged re-push: {unchanged} requests")
    print(json.dumps({"metric": "write_requests_over_minimum", "value": round(worst, 3), "unit": "ratio",
                      "baseline": "ceil(changed / API batch size), 1 per bulk job, 0 when nothing changed",
                      "ratio": round(worst, 3), "cases": rows}))


if __name__ == "__main__":
    main()
