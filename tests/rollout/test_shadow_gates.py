"""Go / no-go gates on constructed evidence: each kind passes, fails or is undecided for the right reason."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from rollout.shadow_gates import (
    GateEvidence, GateSpec, ShadowSettings, SettingsFileError, default_settings, evaluate_gates, load_settings,
    parse_settings,
)
from scoring.conversion import GapTest


def load_frame(utilisation: list[float], motion: str = "hot") -> pd.DataFrame:
    days = pd.date_range("2026-10-01", periods=len(utilisation))
    return pd.DataFrame({"day": days, "model": "challenger", "key": motion, "new_work": [15 * u for u in utilisation],
                         "capacity": 15.0, "utilisation": utilisation})


def early(champion: list[tuple[int, int]], challenger: list[tuple[int, int]], names: list[str]) -> pd.DataFrame:
    rows = []
    for model, counts in (("champion", champion), ("challenger", challenger)):
        for name, (leads, converted) in zip(names, counts, strict=False):
            rows.append({"model": model, "band": name, "leads": leads, "converted": converted,
                         "rate": converted / leads if leads else math.nan})
    return pd.DataFrame(rows)


def tiers(counts: list[tuple[int, int]]) -> pd.DataFrame:
    """The challenger's tiers D, C, B, A with (leads, converted) each."""
    return early([], counts, ["D", "C", "B", "A"]).query("model == 'challenger'")


def evidence(**changes: object) -> GateEvidence:
    bands = ["0-24", "25-49", "50-74", "75-100"]
    base = {
        "load": load_frame([0.5, 0.9, 1.0]),
        "early_band": {"accepted": early([(400, 40), (300, 45), (200, 40), (100, 25)],
                                         [(400, 20), (300, 45), (200, 60), (100, 50)], bands)},
        "early_tier": {"accepted": tiers([(400, 20), (300, 30), (200, 60), (100, 40)])},
        "gap": {"challenger": GapTest(70.0, 40.0, 30.0, 50, 50, True), "champion": GapTest(60.0, 50.0, 10.0, 50, 50, False)},
        "quality": pd.DataFrame({"day": pd.to_datetime(["2026-10-01", "2026-10-03"]), "model": "challenger",
                                 "field": "industry", "missing": [10, 12], "share": [0.10, 0.12]}),
        "psi": pd.DataFrame({"day": pd.to_datetime(["2026-10-02"]), "model": ["challenger"], "leads": [1000],
                             "psi": [0.01], "band_psi": [0.0]}),
    }
    base.update(changes)
    return GateEvidence(**base)  # type: ignore[arg-type]


def row(table, kind: str) -> pd.Series:  # noqa: ANN001
    return table.rows.set_index("kind").loc[kind]


def test_every_default_gate_passes_on_a_good_challenger() -> None:
    table = evaluate_gates(default_settings(), evidence())
    assert table.verdict == "GO", table.reasons
    assert list(table.rows["status"]) == ["pass"] * 6
    assert row(table, "tier_ratio")["value"] == pytest.approx(0.4 / 0.1)
    assert row(table, "gap")["value"] == 30.0


def test_one_day_over_capacity_fails_the_max_gate_but_not_the_mean_gate() -> None:
    ev = evidence(load=load_frame([0.5, 1.4, 0.6]))
    strict = evaluate_gates(default_settings(), ev)
    assert strict.verdict == "NO-GO" and row(strict, "capacity")["status"] == "fail"
    assert "1 of 3 days over" in row(strict, "capacity")["reason"]
    mean = ShadowSettings(gates=(GateSpec(name="hot fits on average", kind="capacity", statistic="mean", threshold=1.0),))
    assert evaluate_gates(mean, ev).verdict == "GO"


def test_a_small_top_band_is_insufficient_not_a_pass() -> None:
    bands = ["0-24", "75-100"]
    ev = evidence(early_band={"accepted": early([(500, 50), (100, 30)], [(590, 60), (10, 9)], bands)})
    table = evaluate_gates(default_settings(), ev)
    top = row(table, "top_band_lift")
    assert top["status"] == "insufficient" and not top["passed"] and "too small" in top["reason"]
    assert table.verdict == "NO-GO"


def test_a_challenger_whose_top_band_lifts_less_fails() -> None:
    bands = ["low", "high"]
    ev = evidence(early_band={"accepted": early([(500, 50), (500, 250)], [(500, 100), (500, 200)], bands)})
    top = row(evaluate_gates(default_settings(), ev), "top_band_lift")
    assert top["status"] == "fail" and top["value"] < 1.0


def test_a_tiers_below_3x_fails_and_names_both_rates() -> None:
    ev = evidence(early_tier={"accepted": tiers([(400, 20), (300, 30), (200, 60), (100, 20)])})
    ratio = row(evaluate_gates(default_settings(), ev), "tier_ratio")
    assert ratio["status"] == "fail" and ratio["value"] == pytest.approx(2.0)
    assert "A 20.0%" in ratio["reason"] and "C 10.0%" in ratio["reason"] and ">= 3" in ratio["reason"]


def test_too_few_closed_deals_leave_the_gap_gate_undecided() -> None:
    ev = evidence(gap={"challenger": GapTest(80.0, 20.0, 60.0, 4, 3, True)})
    gap = row(evaluate_gates(default_settings(), ev), "gap")
    assert gap["status"] == "insufficient" and "needs 10+" in gap["reason"]


def test_missing_fields_rising_is_a_data_quality_regression() -> None:
    quality = pd.DataFrame({"day": pd.to_datetime(["2026-10-01", "2026-10-01", "2026-10-03", "2026-10-03"]),
                            "model": "challenger", "field": ["industry", "title", "industry", "title"],
                            "missing": [10, 5, 11, 40], "share": [0.10, 0.05, 0.11, 0.40]})
    dq = row(evaluate_gates(default_settings(), evidence(quality=quality)), "data_quality")
    assert dq["status"] == "fail" and dq["value"] == pytest.approx(0.35) and "title" in dq["reason"]


def test_a_failing_gate_that_is_not_required_warns_without_blocking() -> None:
    psi = pd.DataFrame({"day": pd.to_datetime(["2026-10-02"]), "model": ["challenger"], "leads": [10], "psi": [0.9],
                        "band_psi": [0.5]})
    table = evaluate_gates(default_settings(), evidence(psi=psi))
    assert table.verdict == "GO" and row(table, "drift")["status"] == "fail"
    assert any("not required" in r for r in table.reasons)


def test_settings_file_changes_thresholds_capacity_and_routing(tmp_path: Path) -> None:
    path = tmp_path / "gates.toml"
    path.write_text("""
[[gates]]
name = "A converts 2x C"
kind = "tier_ratio"
threshold = 2.0

[capacity.hot]
reps = 2
leads_per_rep_per_day = 3

[routing.champion]
hot = "hot"
not_hot = "nurture"
""", encoding="utf-8")
    settings = load_settings(path)
    assert [g.name for g in settings.gates] == ["A converts 2x C"]
    assert settings.capacity_per_day()["hot"].reps == 2 and "warm" not in settings.capacity
    assert settings.routing().champion == {"hot": "hot", "not_hot": "nurture"}
    ev = evidence(early_tier={"accepted": tiers([(400, 20), (300, 30), (200, 60), (100, 20)])})
    assert evaluate_gates(settings, ev).verdict == "GO"


def test_a_bad_settings_file_names_every_problem() -> None:
    text = '[[gates]]\nname = "x"\nkind = "vibes"\nthreshold = 1\n\n[capacity.hot]\nreps = 0\nleads_per_rep_per_day = 1\n'
    with pytest.raises(SettingsFileError) as caught:
        parse_settings(text, "gates.toml")
    message = str(caught.value)
    assert "gates.toml" in message and "kind" in message and "reps" in message


def test_a_nan_threshold_is_refused_when_the_settings_file_is_read() -> None:
    """A nan threshold fails every comparison, and the gate table could not print it; the file is refused."""
    with pytest.raises(SettingsFileError) as caught:
        parse_settings('[[gates]]\nname = "x"\nkind = "drift"\nthreshold = nan\n', "gates.toml")
    assert "gates.0.threshold" in str(caught.value)
