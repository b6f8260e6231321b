"""Capacity: the DOMAIN rep-load formula, Erlang C against textbook values, and the formula-vs-queue table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scoring.errors import SettingsError
from simulator.capacity import FORMULA_VS_QUEUE_COLUMNS, erlang_c, formula_vs_queue, rep_load


def test_rep_load_matches_domain_figures() -> None:
    """DOMAIN.md section 6: 1,200 leads over 12 reps is 100 a rep, 120 at a 1.2 peak."""
    assert rep_load(1_200, 12) == pytest.approx(100.0)
    assert rep_load(1_200, 12, factor=1.2) == pytest.approx(120.0)


def test_rep_load_rejects_no_reps() -> None:
    with pytest.raises(SettingsError, match="reps"):
        rep_load(1_200, 0)


def test_erlang_c_small_exact_value() -> None:
    """A = 2 Erlangs on c = 3 servers: Erlang B = (4/3) / (19/3) = 4/19, so C = 4/9 exactly."""
    queue = erlang_c(arrival_rate=2.0, service_rate=1.0, servers=3)
    assert queue.wait_probability == pytest.approx(4 / 9, abs=1e-12)
    assert queue.mean_wait == pytest.approx((4 / 9) / (3 - 2), abs=1e-12)


def test_erlang_c_call_centre_example() -> None:
    """The classic call-centre example: 100 calls per 30 minutes, 180 s handling time (A = 10 Erlangs),
    11 agents -> P(wait) = 68.21%, average speed of answer 122.8 s, service level 39.0% within 20 s."""
    queue = erlang_c(arrival_rate=100 / 1_800, service_rate=1 / 180, servers=11, sla=20.0)
    assert queue.offered_load == pytest.approx(10.0)
    assert queue.wait_probability == pytest.approx(0.6821, abs=5e-5)
    assert queue.mean_wait == pytest.approx(122.8, abs=0.05)
    assert queue.within_sla == pytest.approx(0.3896, abs=5e-4)


def test_erlang_c_unstable_queue_always_waits() -> None:
    queue = erlang_c(arrival_rate=12.0, service_rate=1.0, servers=12, sla=1.0)
    assert queue.wait_probability == 1.0 and math.isinf(queue.mean_wait) and queue.within_sla == 0.0


def test_erlang_c_more_servers_wait_less() -> None:
    waits = [erlang_c(8.0, 1.0, c, sla=0.5) for c in range(9, 16)]
    assert all(a.wait_probability > b.wait_probability for a, b in zip(waits, waits[1:]))
    assert all(a.within_sla < b.within_sla for a, b in zip(waits, waits[1:]))


@pytest.fixture(scope="module")
def table():  # type: ignore[no-untyped-def]
    return formula_vs_queue(np.random.default_rng(20261102), reps=(4, 8, 12, 16), peak_factor=1.2)


def test_formula_vs_queue_has_a_row_per_head_count_and_factor(table) -> None:  # type: ignore[no-untyped-def]
    assert list(table.columns) == list(FORMULA_VS_QUEUE_COLUMNS)
    assert sorted(zip(table["reps"], table["factor"])) == [(r, f) for r in (4, 8, 12, 16) for f in (1.0, 1.2)]
    assert (table["disagrees"] == (table["formula_ok"] != table["queue_ok"])).all()


def test_formula_calls_100_a_rep_fine_while_the_queue_breaches(table) -> None:  # type: ignore[no-untyped-def]
    """At 100 leads a rep the formula is satisfied, but a queue at 100% utilisation breaches the SLA."""
    row = table.loc[(table["reps"] == 12) & (table["factor"] == 1.0)].iloc[0]
    assert row["leads_per_rep"] == pytest.approx(100.0) and row["formula_ok"]
    assert not row["queue_ok"] and row["disagrees"]
    assert row["erlang_wait_probability"] == 1.0


def test_more_reps_never_raise_breach_rate_in_the_table(table) -> None:  # type: ignore[no-untyped-def]
    for _, rows in table.groupby("factor"):
        rates = rows.sort_values("reps")["sim_breach_rate"].to_numpy()
        assert (np.diff(rates) <= 1e-9).all(), rates
