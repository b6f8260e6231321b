"""Scenario files: shipped scenarios load and generate; every problem names the file, key and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.errors import ScorebenchError, SettingsError
from simulator import FunnelSpec
from simulator.scenario import (
    Scenario,
    ScenarioFileError,
    TeamSpec,
    load_scenario,
    parse_scenario,
    scenario_funnel,
    scenario_funnel_spec,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHIPPED = sorted(p.name for p in SCENARIOS.glob("*.toml"))

MINIMAL = '[scenario]\nname = "t"\n'


def _problems(text: str, tmp_path: Path) -> tuple[str, list[tuple[str, int | None, str]]]:
    """Load `text` as a scenario file; return the error message and (key, line, problem) per problem."""
    file = tmp_path / "broken.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioFileError) as caught:
        load_scenario(file)
    assert str(file) in str(caught.value)
    return str(caught.value), [(p.key, p.line, p.problem) for p in caught.value.problems]


def test_the_five_scenarios_are_shipped() -> None:
    assert SHIPPED == ["capacity_crunch.toml", "default.toml", "drifting_market.toml",
                       "enterprise_heavy.toml", "olist_arrivals.toml"]


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_scenario_loads_and_generates(name: str) -> None:
    scenario = load_scenario(SCENARIOS / name)
    assert scenario.name == name.removesuffix(".toml") and scenario.description
    assert isinstance(scenario.funnel, FunnelSpec) and isinstance(scenario.team, TeamSpec)
    assert scenario.path == (SCENARIOS / name).resolve()
    small = {} if scenario.arrivals is not None else {"leads_per_day": 4.0}
    funnel = scenario_funnel(scenario, np.random.default_rng(5), **small)
    assert len(funnel.leads) == funnel.spec.n_leads > 100
    assert (funnel.outcomes["stage"] == "won").any()
    history_start = funnel.spec.as_of - pd.Timedelta(days=funnel.spec.history_days)
    assert funnel.leads["created_at"].between(history_start, funnel.spec.as_of).all()


def test_default_scenario_keeps_domain_defaults_for_what_it_does_not_set() -> None:
    scenario = load_scenario(SCENARIOS / "default.toml")
    spec = scenario.funnel
    assert spec.leads_per_day == 66.0 and spec.history_days == 180
    assert spec.peak_season == ("10-01", "10-31") and spec.peak_event_multiplier == 1.15
    assert spec.free_mail_share == FunnelSpec().free_mail_share
    assert scenario.arrivals_process == "poisson" and scenario.arrivals is None
    team = scenario.team
    assert (team.sdr_reps, team.ae_reps, team.capacity_factor, team.peak_capacity_factor) == (4, 6, 1.0, 1.2)
    assert dict(team.sla_hours) == {"hot": 2.0, "warm": 24.0, "cold": 24.0}


def test_scenario_funnel_spec_applies_overrides_and_revalidates() -> None:
    spec = scenario_funnel_spec(SCENARIOS / "default.toml", leads_per_day=3.0)
    assert spec.leads_per_day == 3.0 and spec.history_days == 180
    with pytest.raises(SettingsError, match="leads_per_day"):
        scenario_funnel_spec(SCENARIOS / "default.toml", leads_per_day=-1.0)


def test_same_seed_gives_identical_scenario_funnels() -> None:
    scenario = load_scenario(SCENARIOS / "default.toml")
    first = scenario_funnel(scenario, np.random.default_rng(11), leads_per_day=8.0)
    second = scenario_funnel(scenario, np.random.default_rng(11), leads_per_day=8.0)
    for name in ("accounts", "leads", "events", "outcomes", "latent"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))
    third = scenario_funnel(scenario, np.random.default_rng(12), leads_per_day=8.0)
    assert not first.leads["created_at"].equals(third.leads["created_at"])


def test_parse_scenario_without_a_file_uses_defaults_everywhere() -> None:
    scenario = parse_scenario(MINIMAL)
    assert isinstance(scenario, Scenario) and scenario.path is None
    assert scenario.arrivals_process == "uniform"
    assert scenario.funnel == FunnelSpec() and scenario.team == TeamSpec()


# ---- every kind of problem names the file, the key and the line -------------------------------------

def test_unknown_section_is_named_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    _, problems = _problems(MINIMAL + "\n[teams]\nsdr_reps = 3\n", tmp_path)
    assert problems == [("teams", 4, problems[0][2])]
    assert "did you mean 'team'" in problems[0][2]


def test_unknown_funnel_key_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    _, problems = _problems(MINIMAL + "[funnel]\nhistory_day = 90\n", tmp_path)
    (key, line, problem), = problems
    assert (key, line) == ("funnel.history_day", 4)
    assert "unknown key" in problem and "history_days" in problem


def test_a_funnel_key_with_its_own_section_points_there(tmp_path: Path) -> None:
    _, problems = _problems(MINIMAL + "[funnel]\nleads_per_day = 9\n", tmp_path)
    assert problems == [("funnel.leads_per_day", 4, "'leads_per_day' is set in [arrivals], not in [funnel]")]


def test_wrong_types_name_the_nested_key(tmp_path: Path) -> None:
    text = MINIMAL + '[funnel]\nhistory_days = "long"\n\n[funnel.segment_mix]\nsmb = "many"\n'
    _, problems = _problems(text, tmp_path)
    assert [(k, line) for k, line, _ in problems] == [("funnel.history_days", 4), ("funnel.segment_mix.smb", 7)]
    assert "'long'" in problems[0][2]


def test_missing_required_keys_are_named(tmp_path: Path) -> None:
    _, problems = _problems('[seasonality]\npeak_start = "10-01"\n', tmp_path)
    keys = {k for k, _, _ in problems}
    assert keys == {"scenario", "seasonality.peak_end"}
    assert dict((k, line) for k, line, _ in problems)["seasonality.peak_end"] == 1


def test_funnel_spec_rules_point_at_the_offending_line(tmp_path: Path) -> None:
    text = MINIMAL + "[funnel]\nhistory_days = 120\nfree_mail_share = 1.5\n"
    _, problems = _problems(text, tmp_path)
    assert problems == [("funnel.free_mail_share", 5, "must be a share in [0, 1], got 1.5")]


def test_season_and_drift_rules_point_into_their_sections(tmp_path: Path) -> None:
    text = (MINIMAL + '[seasonality]\npeak_start = "13-40"\npeak_end = "10-31"\nvolume_multiplier = -2\n'
            "[drift]\nstep_days = -1\n")
    _, problems = _problems(text, tmp_path)
    assert [(k, line) for k, line, _ in problems] == [
        ("seasonality.peak_start", 4), ("seasonality.volume_multiplier", 6), ("drift.step_days", 8)]


def test_arrival_keys_must_fit_the_process(tmp_path: Path) -> None:
    text = (MINIMAL + '[arrivals]\nprocess = "poisson"\nn_leads = 500\n'
            '[arrivals.source_map]\nsocial = "tiktok"\n')
    _, problems = _problems(text, tmp_path)
    found = {(k, line) for k, line, _ in problems}
    assert ("arrivals.n_leads", 5) in found
    assert ("arrivals.source_map", 6) in found
    assert ("arrivals.process", 4) in found
    assert ("arrivals.source_map.social", 7) in found
    assert any("tiktok" in p and "paid_social" in p for _, _, p in problems)


def test_team_rules_are_checked(tmp_path: Path) -> None:
    text = MINIMAL + '[team]\nsdr_reps = 0\nworking_hours = [18, 9]\ntimezone = "Mars/Olympus"\n'
    _, problems = _problems(text, tmp_path)
    assert [(k, line) for k, line, _ in problems] == [
        ("team.sdr_reps", 4), ("team.working_hours", 5), ("team.timezone", 6)]


def test_team_sla_needs_the_hot_and_warm_tiers(tmp_path: Path) -> None:
    _, problems = _problems(MINIMAL + "[team]\nsla_hours = { hot = 2.0 }\n", tmp_path)
    assert [(k, line) for k, line, _ in problems] == [("team.sla_hours", 4)]
    assert "warm" in problems[0][2]


def test_as_of_needs_a_utc_offset(tmp_path: Path) -> None:
    _, problems = _problems(MINIMAL + "[funnel]\nas_of = 2026-11-01T00:00:00\n", tmp_path)
    assert [(k, line) for k, line, _ in problems] == [("funnel.as_of", 4)]


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    _, problems = _problems(MINIMAL + "[funnel\n", tmp_path)
    (key, line, problem), = problems
    assert key == "(syntax)" and line == 3 and "not valid TOML" in problem


def test_a_missing_scenario_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioFileError, match="no such file") as caught:
        load_scenario(tmp_path / "nope.toml")
    assert isinstance(caught.value, ScorebenchError) and isinstance(caught.value, ValueError)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = ('[scenario]\nname = ""\n[arrivals]\nprocess = "weekly"\n[funnel]\nfree_mail_share = 2\n'
            "[team]\nae_reps = 0\n[extra]\n")
    message, problems = _problems(text, tmp_path)
    keys = [k for k, _, _ in problems]
    for key in ("scenario.name", "arrivals.process", "team.ae_reps", "extra"):
        assert key in keys
    assert f"has {len(problems)} problems" in message


def test_csv_arrivals_that_are_missing_name_the_resolved_file(tmp_path: Path) -> None:
    """A clone without ../shared gets an error naming the file that is missing, not a skipped test."""
    copy = tmp_path / "olist_arrivals.toml"
    shutil.copy(SCENARIOS / "olist_arrivals.toml", copy)
    with pytest.raises(ScenarioFileError) as caught:
        load_scenario(copy)
    (problem,) = caught.value.problems
    expected = (tmp_path / "../../shared/data/olist-marketing-funnel/"
                "olist_marketing_qualified_leads_dataset.csv").resolve()
    assert problem.key == "arrivals.path" and problem.line == 12
    assert "no such file" in problem.problem and str(expected) in problem.problem


def test_csv_problems_name_the_column_or_the_history(tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text("day,channel\n2026-10-30,web\n2025-01-02,web\n", encoding="utf-8")
    base = (MINIMAL + '[arrivals]\nprocess = "csv"\npath = "leads.csv"\ndate_column = "{column}"\n'
            "[funnel]\nas_of = 2026-11-01\n")
    _, problems = _problems(base.format(column="date"), tmp_path)
    assert problems[0][:2] == ("arrivals.path", 5) and "no column ['date']" in problems[0][2]
    _, problems = _problems(base.format(column="day"), tmp_path)
    assert problems[0][:2] == ("funnel.history_days", 7)
    assert "2025-01-02" in problems[0][2] and "at least 668" in problems[0][2]
