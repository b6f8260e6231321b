"""Shadow comparison on hand-built snapshots whose agreement, migration, load and outcomes are known."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from scoring.conversion import wilson_interval
from scoring.drift import psi
from scoring.errors import InputDataError, SettingsError
from scoring.shadow import SNAPSHOT_COLUMNS, RoutingMap, snapshot
from scoring.shadow_agreement import band_migration, score_psi_by_day, tier_agreement
from scoring.shadow_load import MotionCapacity, tier_load
from scoring.shadow_outcomes import early_outcomes_by_band, top_band_test, two_proportion_test

BANDS = ["0-24", "25-49", "50-74", "75-100"]
CHAMPION_TIERS = (["not_hot", "hot"], [50.0])
CHALLENGER_TIERS = (["D", "C", "B", "A"], [25.0, 50.0, 75.0])
START = pd.Timestamp("2026-11-01", tz="UTC")


def _scores(totals: Sequence[float], tiers: tuple[list[str], list[float]], day: int, version: str,
            ids: Sequence[str] | None = None) -> pd.DataFrame:
    """A scores frame as score() returns it (the columns snapshot reads), scored at START + day days."""
    total = np.asarray(totals, dtype=np.float64)
    names, cuts = tiers
    band = np.searchsorted([25.0, 50.0, 75.0], total, side="right")
    tier = np.searchsorted(cuts, total, side="right")
    n = len(total)
    return pd.DataFrame({
        "lead_id": list(ids) if ids is not None else [f"L{i + 1}" for i in range(n)],
        "total": total,
        "band": pd.Categorical.from_codes(band, categories=BANDS, ordered=True),
        "tier": pd.Categorical.from_codes(tier, categories=names, ordered=True),
        "model_version": version,
        "scored_at": pd.DatetimeIndex([START + pd.Timedelta(days=day)] * n),
    })


def _day(day: int, champion: Sequence[float], challenger: Sequence[float]) -> pd.DataFrame:
    """Snapshot of day `day` (closing at START + day days) for leads L1..Ln."""
    ids = [f"L{i + 1}" for i in range(len(champion))]
    leads = pd.DataFrame({"lead_id": ids, "segment": ["smb"] * len(ids)})
    return snapshot(leads, _scores(champion, CHAMPION_TIERS, day, "1.0.0"),
                    _scores(challenger, CHALLENGER_TIERS, day, "2.0.0"), START + pd.Timedelta(days=day - 1))


BASELINE_TOTALS = ([10, 10, 10, 10], [10, 10, 10, 10])
DAY1_TOTALS = ([60, 60, 10, 10], [80, 30, 55, 10])
DAY2_TOTALS = ([60, 60, 10, 10, 70], [60, 60, 55, 10, 20])
"""Default routing: champion hot -> warm; challenger A -> hot, B -> warm, C/D -> nurture.
Day 1 motions: champion warm, warm, nurture, nurture; challenger hot, nurture, warm, nurture.
Day 2 adds L5; challenger L1 drops A -> B (down), L2 rises C -> B (up)."""


@pytest.fixture
def two_days() -> pd.DataFrame:
    return pd.concat([_day(1, *DAY1_TOTALS), _day(2, *DAY2_TOTALS)], ignore_index=True)


def test_snapshot_aligns_challenger_rows_by_lead_id() -> None:
    leads = pd.DataFrame({"lead_id": ["L1", "L2"], "segment": ["smb", "enterprise"]})
    champion = _scores([60, 10], CHAMPION_TIERS, 1, "1.0.0")
    challenger = _scores([20, 90], CHALLENGER_TIERS, 1, "2.0.0", ids=["L2", "L1"])
    shot = snapshot(leads, champion, challenger, "2026-11-01")
    assert list(shot.columns) == list(SNAPSHOT_COLUMNS)
    assert shot["challenger_total"].tolist() == [90.0, 20.0]
    assert shot["challenger_tier"].astype(str).tolist() == ["A", "D"]
    assert shot["segment"].tolist() == ["smb", "enterprise"]
    assert (shot["day"] == pd.Timestamp("2026-11-01")).all()
    assert (shot["as_of"] == START + pd.Timedelta(days=1)).all()
    assert shot["challenger_band"].cat.categories.tolist() == BANDS


def test_snapshot_rejects_different_leads() -> None:
    leads = pd.DataFrame({"lead_id": ["L1", "L2"]})
    champion = _scores([60, 10], CHAMPION_TIERS, 1, "1.0.0")
    challenger = _scores([20], CHALLENGER_TIERS, 1, "2.0.0")
    with pytest.raises(InputDataError, match="different leads"):
        snapshot(leads, champion, challenger, "2026-11-01")


def test_tier_agreement_counts_routed_decisions_per_day_tier_and_overall(two_days: pd.DataFrame) -> None:
    table = tier_agreement(two_days)
    day1 = table[table["day"] == pd.Timestamp("2026-11-01")].set_index("tier")
    assert day1.loc["all", "leads"] == 4
    assert day1.loc["all", "agreement"] == pytest.approx(2 / 4)
    assert day1.loc["all", "same_motion"] == pytest.approx(1 / 4)
    assert day1.loc["hot", ["leads", "agree"]].tolist() == [2, 1]
    assert day1.loc["not_hot", ["leads", "agree"]].tolist() == [2, 1]
    assert day1.loc["all", ["champion_routed", "challenger_routed"]].tolist() == [2, 2]
    day2 = table[table["day"] == pd.Timestamp("2026-11-02")].set_index("tier")
    assert day2.loc["all", "agreement"] == pytest.approx(3 / 5)
    assert day2.loc["all", "same_motion"] == pytest.approx(3 / 5)
    overall = table[table["day"].isna()].set_index("tier")
    assert overall.loc["all", ["leads", "agree"]].tolist() == [9, 5]
    assert list(overall.index) == ["not_hot", "hot", "all"]


def test_tier_agreement_by_challenger_tier() -> None:
    table = tier_agreement(_day(1, *DAY1_TOTALS), by="challenger")
    overall = table[table["day"].isna()].set_index("tier")
    assert overall["leads"].to_dict() == {"D": 1, "C": 1, "B": 1, "A": 1, "all": 4}
    assert overall["agree"].to_dict() == {"D": 1, "C": 0, "B": 0, "A": 1, "all": 2}


def test_routing_map_is_configurable_and_checked(two_days: pd.DataFrame) -> None:
    """Mapping the champion's hot tier to the hot motion changes motion agreement, not routed agreement."""
    routing = RoutingMap(champion={"hot": "hot", "not_hot": "nurture"})
    table = tier_agreement(_day(1, *DAY1_TOTALS), routing).set_index("tier")
    assert table.loc["all", "agreement"].tolist() == [0.5, 0.5]
    assert table.loc["all", "same_motion"].tolist() == [0.5, 0.5]
    with pytest.raises(SettingsError, match="motions must be one of"):
        RoutingMap(challenger={"A": "urgent"})
    with pytest.raises(InputDataError, match="no motion in RoutingMap.challenger"):
        tier_agreement(two_days, RoutingMap(challenger={"A": "hot", "B": "warm"}))


def test_routing_map_of_an_unknown_model_names_it_and_the_valid_ones() -> None:
    routing = RoutingMap()
    assert routing.of("champion") == routing.champion and routing.of("challenger") == routing.challenger
    with pytest.raises(SettingsError, match=r"no model 'champoin'; use one of \['champion', 'challenger'\]"):
        routing.of("champoin")


def test_band_migration_counts_and_row_shares(two_days: pd.DataFrame) -> None:
    first = band_migration(two_days, day="2026-11-01")
    expected = pd.DataFrame([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 0, 1], [0, 0, 0, 0]], index=BANDS, columns=BANDS)
    np.testing.assert_array_equal(first.counts.to_numpy(), expected.to_numpy())
    assert first.counts.index.tolist() == BANDS and first.counts.columns.tolist() == BANDS
    assert first.row_shares.loc["50-74"].tolist() == [0.0, 0.5, 0.0, 0.5]
    assert first.row_shares.loc["25-49"].isna().all()
    last = band_migration(two_days)
    assert last.day == pd.Timestamp("2026-11-02")
    assert int(last.counts.to_numpy().sum()) == 5
    assert band_migration(two_days, level="tier").counts.loc["hot", "B"] == 2
    with pytest.raises(InputDataError, match="no snapshot on 2026-12-01"):
        band_migration(two_days, day="2026-12-01")


CAPACITY = {"warm": MotionCapacity(reps=1, leads_per_rep_per_day=1.5),
            "hot": MotionCapacity(reps=2, leads_per_rep_per_day=1.0, factor=1.2)}


def test_tier_load_counts_entries_against_capacity(two_days: pd.DataFrame) -> None:
    load = tier_load(two_days, CAPACITY, baseline=_day(0, *BASELINE_TOTALS))
    row = load.set_index(["day", "model", "key"])
    d1, d2 = pd.Timestamp("2026-11-01"), pd.Timestamp("2026-11-02")
    champion_warm = row.loc[(d1, "champion", "warm")]
    assert champion_warm["entering"] == 2
    assert champion_warm["leads_per_rep"] == pytest.approx(2.0)
    assert bool(champion_warm["over_capacity"])
    assert champion_warm["backlog"] == pytest.approx(0.5)
    challenger_hot = row.loc[(d1, "challenger", "hot")]
    assert challenger_hot["entering"] == 1
    assert challenger_hot["leads_per_rep"] == pytest.approx(1 * 1.2 / 2)
    assert challenger_hot["capacity"] == pytest.approx(2 * 1.0 / 1.2)
    assert not bool(challenger_hot["over_capacity"])
    assert row.loc[(d1, "challenger", "warm"), "entering"] == 1
    # day 2: L5 is new (champion warm, challenger nurture); L2 rises into challenger warm, L1 moving
    # down from hot to warm is no new work.
    assert row.loc[(d2, "champion", "warm"), "entering"] == 1
    assert row.loc[(d2, "champion", "warm"), "backlog"] == pytest.approx(0.0)
    assert row.loc[(d2, "challenger", "warm"), "entering"] == 1
    assert row.loc[(d2, "challenger", "nurture"), "entering"] == 1
    assert math.isnan(row.loc[(d2, "challenger", "nurture"), "capacity"])
    assert not bool(row.loc[(d2, "challenger", "nurture"), "over_capacity"])


def test_tier_load_without_baseline_reports_from_the_second_day(two_days: pd.DataFrame) -> None:
    load = tier_load(two_days, CAPACITY)
    assert load["day"].unique().tolist() == [pd.Timestamp("2026-11-02")]
    by_tier = tier_load(two_days, {"B": MotionCapacity(1, 5.0)}, by="tier")
    assert by_tier.set_index(["model", "key"]).loc[("challenger", "B"), "entering"] == 1


OUTCOMES = pd.DataFrame({
    "lead_id": ["L1", "L3", "L4", "L2", "L5"],
    "stage": ["accepted", "meeting", "rejected", "won", "accepted"],
    "at": pd.DatetimeIndex([START + pd.Timedelta(hours=12), START + pd.Timedelta(hours=30),
                            START + pd.Timedelta(hours=30), START + pd.Timedelta(days=5),
                            START + pd.Timedelta(days=2, hours=1)]),
})
"""L1 accepted before any snapshot (credited to its first), L3 met after day 1 (credited to day 1), L4
rejected (not converted), L2 and L5 convert after the cut-off (not seen)."""


def test_early_outcomes_credit_the_band_a_lead_was_in_when_it_happened(two_days: pd.DataFrame) -> None:
    early = early_outcomes_by_band(two_days, OUTCOMES).set_index(["model", "band"])
    assert early.loc["champion", ["leads", "converted"]].to_numpy().tolist() == [[2, 1], [0, 0], [3, 1], [0, 0]]
    assert early.loc["challenger", ["leads", "converted"]].to_numpy().tolist() == [[2, 0], [0, 0], [2, 1], [1, 1]]
    low, high = wilson_interval(1, 3)
    assert early.loc[("champion", "50-74"), "rate"] == pytest.approx(1 / 3)
    assert early.loc[("champion", "50-74"), "ci_low"] == pytest.approx(float(low))
    assert early.loc[("champion", "50-74"), "ci_high"] == pytest.approx(float(high))
    assert math.isnan(early.loc[("champion", "25-49"), "rate"])
    cut_early = early_outcomes_by_band(two_days, OUTCOMES, as_of=START + pd.Timedelta(days=1))
    assert cut_early["leads"].sum() == 8  # only day 1's four leads, per model


def test_two_proportion_test_textbook_values() -> None:
    """20/100 against 35/100: pooled 0.275, z = 0.15 / sqrt(0.275 * 0.725 * 0.02) = 2.3754, p = 0.0175."""
    test = two_proportion_test(20, 100, 35, 100)
    assert test.difference == pytest.approx(0.15)
    assert test.z == pytest.approx(2.375423, abs=1e-6)
    assert test.p_value == pytest.approx(0.017529, abs=1e-6)
    assert not test.too_small


def test_two_proportion_test_flags_samples_too_small_to_decide() -> None:
    assert two_proportion_test(1, 10, 3, 10).too_small  # fewer than 30 leads a group
    assert two_proportion_test(2, 100, 3, 100).too_small  # 2.5 expected successes a group
    assert math.isnan(two_proportion_test(0, 50, 0, 50).p_value)
    with pytest.raises(InputDataError):
        two_proportion_test(5, 4, 1, 10)


def test_top_band_test_compares_each_model_s_highest_band(two_days: pd.DataFrame) -> None:
    test = top_band_test(early_outcomes_by_band(two_days, OUTCOMES))
    assert (test.label_a, test.leads_a, test.converted_a) == ("champion 75-100", 0, 0)
    assert (test.label_b, test.leads_b, test.converted_b) == ("challenger 75-100", 1, 1)
    assert test.too_small
    named = top_band_test(early_outcomes_by_band(two_days, OUTCOMES), champion_band="50-74")
    assert (named.leads_a, named.converted_a) == (3, 1)


def test_score_psi_by_day_is_zero_for_unchanged_days_and_psi_otherwise() -> None:
    same = pd.concat([_day(1, *DAY1_TOTALS), _day(2, *DAY1_TOTALS)], ignore_index=True)
    assert score_psi_by_day(same)["psi"].tolist() == [0.0, 0.0]
    moved = pd.concat([_day(1, *DAY1_TOTALS), _day(2, *DAY2_TOTALS)], ignore_index=True)
    table = score_psi_by_day(moved).set_index("model")
    assert table.loc["challenger", "psi"] == pytest.approx(psi(DAY1_TOTALS[1], DAY2_TOTALS[1]))
    assert table.loc["champion", "leads"] == 5


def test_tier_load_counts_a_lead_that_comes_back_as_an_entry_but_not_as_new_work(two_days: pd.DataFrame) -> None:
    """Challenger L1 is A on day 1, B on day 2 and A again on day 3: it re-enters hot, still with its AE."""
    day3 = _day(3, DAY2_TOTALS[0], [80, 60, 55, 10, 20])
    load = tier_load(pd.concat([two_days, day3], ignore_index=True), CAPACITY, baseline=_day(0, *BASELINE_TOTALS))
    hot = load.set_index(["day", "model", "key"]).loc[(pd.Timestamp("2026-11-03"), "challenger", "hot")]
    assert (hot["entering"], hot["new_work"], hot["leads_per_rep"]) == (1, 0, 0.0)
