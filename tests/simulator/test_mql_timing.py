"""Running scores are the engine's score at every event time; first crossings are the brute-force ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import compile_model, load_model, parse_model
from scoring.compiled import CompiledModel
from scoring.engine import score
from simulator.mql_timing import RunningScores, first_crossing, mql_arrival_seconds, running_scores
from tests.conftest import AS_OF, random_funnel
from tests.reference.running import brute_force_crossing, engine_at_events, engine_at_events_shifted

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = AS_OF - pd.Timedelta(days=400)
HEAD = """\
[model]
name = "t"
version = "1"
[[changelog]]
version = "1"
date = 2026-01-01
change = "test"
"""
EVENT_TYPES = ("demo_request", "pricing_page", "case_study", "blog_read", "email_click", "unsubscribe")


def _at_moments(running: RunningScores) -> pd.DataFrame:
    """Running values at each distinct (lead, time), the last event of each moment."""
    frame = pd.DataFrame({"lead": running.lead, "at": running.at, "total": running.total,
                          "unrounded": running.unrounded, "behaviour": running.behaviour,
                          "negative": running.negative})
    return frame.drop_duplicates(["lead", "at"], keep="last").reset_index(drop=True)


def assert_running_matches(running: RunningScores, engine: pd.DataFrame) -> None:
    """Behaviour and negative points to 1e-9; totals equal, except on a rounding edge (x.x5 within 1e-9)."""
    mine = _at_moments(running)
    pd.testing.assert_frame_equal(mine[["lead", "at"]], engine[["lead", "at"]], check_dtype=False)
    np.testing.assert_allclose(mine["behaviour"], engine["behaviour"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(mine["negative"], engine["negative"], rtol=0, atol=1e-9)
    differ = mine["total"].to_numpy() != engine["total"].to_numpy()
    tenths = mine["unrounded"].to_numpy() * 10.0
    on_edge = np.abs(tenths - np.floor(tenths) - 0.5) < 1e-8
    assert not (differ & ~on_edge).any(), mine[differ & ~on_edge].join(engine["total"], rsuffix="_engine")


def _no_accounts(seed: int, n_leads: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    leads, events = random_funnel(seed, n_leads=n_leads)
    return leads.assign(account_id=None), events


@pytest.mark.parametrize("model_name", ["baseline", "candidate"])
def test_running_totals_are_the_engine_score_at_each_event_time(model_name: str) -> None:
    """score() is called per lead and per event time t, with as_of = t, on the lead's events up to t."""
    model = compile_model(load_model(ROOT / "models" / f"{model_name}.toml"))
    leads, events = _no_accounts(5, 24)
    running = running_scores(leads, events, model, ORIGIN)
    assert running.lead.size == len(events)
    assert_running_matches(running, engine_at_events(leads, events, model))


def test_shifted_brute_force_is_the_per_lead_one() -> None:
    """The one-call brute force used for the model mix gives what per-lead, per-time score() calls give."""
    model = compile_model(load_model(ROOT / "models" / "candidate.toml"))
    leads, events = _no_accounts(8, 12)
    pd.testing.assert_frame_equal(engine_at_events_shifted(leads, events, model),
                                  engine_at_events(leads, events, model), check_dtype=False)


def _decay(kind: str, a: float, b: float) -> str:
    if kind == "exponential":
        return f'{{ kind = "exponential", half_life_days = {a:g} }}'
    if kind == "step":
        return f'{{ kind = "step", step = {b:g}, every_days = {a:g} }}'
    return '{ kind = "none" }'


_DECAYS = st.builds(_decay, st.sampled_from(["exponential", "step", "none"]), st.sampled_from([1, 3.5, 7, 30]),
                    st.sampled_from([0.25, 0.5, 1.0]))
_ACTIONS = st.lists(st.fixed_dictionaries({
    "event": st.sampled_from(EVENT_TYPES[:5]),
    "points": st.sampled_from([50, 30, 12.5, 4, -5]),
    "decay": st.none() | _DECAYS,
    "max_repeats": st.none() | st.integers(1, 4),
    "repeat_factor": st.sampled_from([1.0, 0.5, 0.8]),
    "min_value": st.none() | st.sampled_from([100, 300]),
}), min_size=1, max_size=6)
_STEPS = st.sampled_from([
    "", "steps = [{ after_days = 30, multiplier = 0.8 }]",
    "steps = [{ after_days = 0.5, multiplier = 0.5 }, { after_days = 20, multiplier = 0.0 }]\narchive_after_days = 40",
])


@st.composite
def model_mixes(draw: st.DrawFn) -> str:
    """A model file: fit rules, actions of every decay kind / cap / factor / min_value, inactivity steps,
    field and event negative rules, `sum` or weighted pillars (fit weight up to 1, so fit alone can qualify)."""
    lines = [HEAD, "[scoring]"]
    if draw(st.booleans()):
        lines.append('combine = "sum"')
    else:
        fit = draw(st.sampled_from([0.3, 0.5, 1.0]))
        lines += ['combine = "weighted"', f"weights = {{ fit = {fit}, behaviour = {1 - fit:g}, account = 0 }}"]
    lines += ["[fit]", f"max_points = {draw(st.sampled_from([40, 100]))}",
              '[[fit.rules]]\nname = "senior"\nfield = "seniority"\nin = ["c_level", "vp", "director"]\npoints = 30',
              '[[fit.rules]]\nname = "industry"\nfield = "industry"\nin = ["software", "fintech"]\npoints = 25']
    lines += ["[behaviour]", f"max_points = {draw(st.sampled_from([30, 100]))}", f"decay = {draw(_DECAYS)}"]
    for i, action in enumerate(draw(_ACTIONS)):
        lines += ["[[behaviour.actions]]", f'name = "a{i}"', f'event = "{action["event"]}"',
                  f'points = {action["points"]}', f'repeat_factor = {action["repeat_factor"]}']
        lines += [f"{key} = {action[key]}" for key in ("decay", "max_repeats", "min_value") if action[key] is not None]
    lines += ["[behaviour.inactivity]", draw(_STEPS)]
    if draw(st.booleans()):
        lines.append('[[negative.rules]]\nname = "free_mail"\nfield = "email_domain"\nin = ["gmail.com"]\npoints = -20')
    for event in draw(st.lists(st.sampled_from(["unsubscribe", "email_click"]), unique=True, max_size=2)):
        lines.append(f'[[negative.rules]]\nname = "no_{event}"\nevent = "{event}"\npoints = -15')
    return "\n".join(lines) + "\n"


def mix_funnel(seed: int, n_leads: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leads without accounts and events on a day / hour grid (step boundaries hit exactly), with ties,
    repeats of one type and values around the min_value cut-offs."""
    leads, _ = _no_accounts(seed, n_leads)
    rng = np.random.default_rng(seed)
    n = int(rng.integers(n_leads, 12 * n_leads))
    lead = rng.integers(0, n_leads, n)
    hours = rng.choice([0, 6, 12], n) + 24 * rng.integers(0, 120, n)
    events = pd.DataFrame({
        "lead_id": leads["lead_id"].to_numpy()[lead],
        "type": rng.choice(EVENT_TYPES, n, p=[0.1, 0.3, 0.15, 0.25, 0.15, 0.05]),
        "at": AS_OF - pd.to_timedelta(hours, unit="h"),
        "value": np.where(rng.random(n) < 0.6, rng.choice([50, 100, 299, 300, 400], n), np.nan),
    })
    twins = events.sample(frac=0.15, random_state=seed).assign(
        type=lambda f: rng.choice(EVENT_TYPES, len(f)))  # same lead, same moment, another event
    return leads, pd.concat([events, twins], ignore_index=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=model_mixes(), seed=st.integers(0, 10_000))
def test_running_totals_match_the_engine_for_a_mix_of_models(text: str, seed: int) -> None:
    model = compile_model(parse_model(text, source="mix.toml"))
    leads, events = mix_funnel(seed)
    running = running_scores(leads, events, model, ORIGIN)
    assert_running_matches(running, engine_at_events_shifted(leads, events, model))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=model_mixes(), seed=st.integers(0, 10_000))
def test_first_crossing_is_the_brute_force_first_crossing(text: str, seed: int) -> None:
    """Thresholds per lead: some drawn, some equal to a total the lead reaches (the >= edge)."""
    model = compile_model(parse_model(text, source="mix.toml"))
    leads, events = mix_funnel(seed)
    running = running_scores(leads, events, model, ORIGIN)
    rng = np.random.default_rng(seed)
    threshold = rng.choice([0.0, 10.0, 25.0, 50.0, 60.0, 99.9, 100.0, 101.0], len(leads))
    for i in range(len(leads)):
        own = np.flatnonzero(running.lead == i)
        if own.size and rng.random() < 0.5:
            threshold[i] = running.total[rng.choice(own)]
    np.testing.assert_array_equal(first_crossing(running, threshold),
                                  brute_force_crossing(leads, events, model, threshold, ORIGIN))
    for one in (0.0, 35.0, 70.0):
        np.testing.assert_array_equal(first_crossing(running, one),
                                      brute_force_crossing(leads, events, model, np.full(len(leads), one), ORIGIN))


def _sum_model(body: str) -> CompiledModel:
    return compile_model(parse_model(HEAD + '[scoring]\ncombine = "sum"\n' + body))


def _one_lead(rows: list[tuple[str, float]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One lead created 60 days before AS_OF; rows of (type, days before AS_OF)."""
    leads = pd.DataFrame({"lead_id": ["L0"], "created_at": [AS_OF - pd.Timedelta(days=60)]})
    events = pd.DataFrame({"lead_id": "L0", "type": [r[0] for r in rows],
                           "at": [AS_OF - pd.Timedelta(days=r[1]) for r in rows]})
    return leads, events


def test_repeat_cap_counts_the_most_recent_events_up_to_each_moment() -> None:
    model = _sum_model('[[behaviour.actions]]\nevent = "pricing_page"\npoints = 10\nmax_repeats = 2\n'
                       'repeat_factor = 0.5\n')
    leads, events = _one_lead([("pricing_page", 9), ("pricing_page", 8), ("pricing_page", 7), ("blog_read", 6)])
    assert running_scores(leads, events, model, ORIGIN).total.tolist() == [10.0, 15.0, 15.0, 15.0]


def test_step_decay_takes_a_whole_step_on_the_boundary_and_inactivity_never_applies_after_an_event() -> None:
    model = _sum_model('[behaviour]\ndecay = { kind = "step", step = 0.5, every_days = 7 }\n'
                       '[[behaviour.actions]]\nevent = "demo_request"\npoints = 40\n'
                       '[behaviour.inactivity]\nsteps = [{ after_days = 1, multiplier = 0.0 }]\n')
    leads, events = _one_lead([("demo_request", 30), ("blog_read", 23), ("blog_read", 22.5), ("demo_request", 2)])
    running = running_scores(leads, events, model, ORIGIN)
    assert running.total.tolist() == [40.0, 20.0, 20.0, 42.5]  # 40 + 40 / 2**4
    assert score(leads, events, model, AS_OF)["total"].item() == 0.0  # two silent days at as_of


def test_unsubscribe_counts_from_its_own_moment_and_events_at_one_moment_count_together() -> None:
    model = _sum_model('[[behaviour.actions]]\nevent = "demo_request"\npoints = 70\n'
                       '[[negative.rules]]\nname = "unsub"\nevent = "unsubscribe"\npoints = -30\n')
    leads, events = _one_lead([("demo_request", 10), ("unsubscribe", 5), ("demo_request", 5)])
    running = running_scores(leads, events, model, ORIGIN)
    assert running.total.tolist() == [70.0, 100.0, 100.0]  # 140 - 30, clipped to 100, at both events of day 5
    assert running.negative.tolist() == [0.0, -30.0, -30.0]


def test_mql_arrival_is_the_crossing_not_before_creation_else_the_last_event() -> None:
    model = _sum_model('[[behaviour.actions]]\nevent = "demo_request"\npoints = 30\n')
    leads, events = _one_lead([("demo_request", 70), ("demo_request", 40), ("blog_read", 20)])
    running = running_scores(leads, events, model, ORIGIN)
    created = np.array([(AS_OF - pd.Timedelta(days=60) - ORIGIN).total_seconds()])
    day = 86_400.0
    assert first_crossing(running, 30.0)[0] == (400 - 70) * day  # before its creation, 60 days back
    assert mql_arrival_seconds(running, first_crossing(running, 30.0), created)[0] == created[0]
    assert mql_arrival_seconds(running, first_crossing(running, 60.0), created)[0] == (400 - 40) * day
    assert np.isnan(first_crossing(running, 60.1)[0])
    assert mql_arrival_seconds(running, first_crossing(running, 60.1), created)[0] == (400 - 20) * day  # e.g. account points: last event
    assert first_crossing(running, 0.0)[0] == -np.inf
