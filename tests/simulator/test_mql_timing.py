"""Running scores are the engine's score at every row, whole accounts included; first crossings are the
brute-force ones."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import compile_model, load_model, parse_model
from scoring.compiled import CompiledModel
from scoring.engine import score
from simulator import FunnelSpec, generate_funnel
from simulator.mql_timing import (
    RunningScores,
    crossing_rows,
    crossing_totals,
    first_crossing,
    mql_arrival_seconds,
    running_scores,
    running_scores_of_arrays,
)
from simulator.lead_columns import DrawnLeadColumns
from simulator.scenario import load_scenario, scenario_funnel
from simulator.vocabulary import EVENT_TYPES as EVENT_TYPES_OF_FUNNELS
from tests.conftest import AS_OF, random_funnel
from tests.reference.running import brute_force_crossing, brute_force_entry, engine_at_events, engine_at_moments

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


def _rows(running: RunningScores) -> pd.DataFrame:
    """The running rows, one per (lead, time): lead, at, own and the points."""
    return pd.DataFrame({"lead": running.lead, "at": running.at, "own": running.own, "total": running.total,
                         "unrounded": running.unrounded, "behaviour": running.behaviour,
                         "account": running.account, "negative": running.negative,
                         "suppressed": running.suppressed}).drop_duplicates(["lead", "at"], keep="last")


def assert_running_matches(running: RunningScores, engine: pd.DataFrame) -> None:
    """Every row is one of the engine's moments with its points to 1e-9 and its total (except on a rounding
    edge, x.x5 within 1e-8); the own rows are exactly the engine's moments at the lead's own events."""
    mine = _rows(running)
    joined = mine.merge(engine, on=["lead", "at"], how="left", suffixes=("", "_engine"), validate="one_to_one")
    assert joined["total_engine"].notna().all(), "a row at a moment the engine has no score for"
    pd.testing.assert_frame_equal(mine.loc[mine["own"], ["lead", "at"]].reset_index(drop=True),
                                  engine.loc[engine["own"], ["lead", "at"]].reset_index(drop=True),
                                  check_dtype=False)
    assert (joined["own"] == joined["own_engine"]).all()
    assert (joined["suppressed"] == joined["suppressed_engine"]).all()
    for column in ("behaviour", "account", "negative"):
        np.testing.assert_allclose(joined[column], joined[f"{column}_engine"], rtol=0, atol=1e-9, err_msg=column)
    differ = joined["total"].to_numpy() != joined["total_engine"].to_numpy()
    tenths = joined["unrounded"].to_numpy() * 10.0
    on_edge = np.abs(tenths - np.floor(tenths) - 0.5) < 1e-8
    assert not (differ & ~on_edge).any(), joined[differ & ~on_edge]


def _no_accounts(seed: int, n_leads: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    leads, events = random_funnel(seed, n_leads=n_leads)
    return leads.assign(account_id=None), events


def _model(name: str) -> CompiledModel:
    return compile_model(load_model(ROOT / "models" / f"{name}.toml"))


@pytest.mark.parametrize("model_name", ["baseline", "candidate"])
def test_running_totals_are_the_engine_score_at_each_event_time(model_name: str) -> None:
    """Leads without an account: score() per lead and per event time t, with as_of = t, on its events up to t;
    one row per event, none more."""
    model = _model(model_name)
    leads, events = _no_accounts(5, 24)
    running = running_scores(leads, events, model, ORIGIN)
    assert running.lead.size == len(events) and running.own.all()
    assert_running_matches(running, engine_at_events(leads, events, model))


@pytest.mark.parametrize("seed", [3, 11])
def test_running_totals_with_accounts_are_the_engine_score_at_every_row(seed: int) -> None:
    """With the candidate's account signals (every kind) on leads sharing accounts: each row's total is score()
    of the whole account at as_of = the row's time; query rows exist and some reach a new high."""
    model = _model("candidate")
    leads, events = random_funnel(seed, n_leads=90)
    running = running_scores(leads, events, model, ORIGIN)
    assert_running_matches(running, engine_at_moments(leads, events, model))
    assert (~running.own).sum() > 10 and (running.account > 0).any()


def test_without_an_account_or_a_signal_the_rows_are_those_without_the_account_pillar() -> None:
    """No account_id, no account on any lead, or no signal: the same rows, bit for bit, and no query row."""
    model = _model("candidate")
    leads, events = random_funnel(6, n_leads=60)
    reference = running_scores(leads, events, dataclasses.replace(model, signals=()), ORIGIN)
    assert reference.lead.size == len(events)
    for other_leads in (leads.assign(account_id=None), leads.drop(columns=["account_id"])):
        running = running_scores(other_leads, events, model, ORIGIN)
        for name in ("lead", "at", "own", "unrounded", "peak", "base_tenths"):
            np.testing.assert_array_equal(getattr(running, name), getattr(reference, name), err_msg=name)


def test_the_array_entry_point_gives_the_frame_entry_points_rows() -> None:
    """Chunked runs pass a generated funnel's event arrays and drawn lead columns; the rows are its frames'."""
    model = _model("candidate")
    funnel = generate_funnel(FunnelSpec(n_leads=400, history_days=60, as_of=AS_OF), np.random.default_rng(9))
    draw = funnel.event_draw
    columns = DrawnLeadColumns(funnel)
    arrays = running_scores_of_arrays(columns, lambda: columns.created_ns, draw.lead,
                                      AS_OF.value + draw.seconds * 10**9, draw.type_code, list(EVENT_TYPES_OF_FUNNELS),
                                      draw.value, model, ORIGIN)
    frames = running_scores(funnel.leads, funnel.events, model, ORIGIN)
    assert (~frames.own).sum() > 0
    for name in ("lead", "at", "own", "unrounded", "account", "peak"):
        np.testing.assert_array_equal(getattr(arrays, name), getattr(frames, name), err_msg=name)


def test_one_call_brute_force_is_the_per_account_one() -> None:
    """The one-call brute force used for the model mix gives what per-account, per-time score() calls give."""
    model = _model("candidate")
    leads, events = random_funnel(8, n_leads=15)
    leads.loc[leads.index[:6], "account_id"] = "A-shared"
    pd.testing.assert_frame_equal(engine_at_moments(leads, events, model), engine_at_events(leads, events, model),
                                  check_dtype=False)


def _decay(kind: str, a: float, b: float) -> str:
    if kind == "exponential":
        return f'{{ kind = "exponential", half_life_days = {a:g} }}'
    if kind == "step":
        return f'{{ kind = "step", step = {b:g}, every_days = {a:g} }}'
    return '{ kind = "none" }'


_DECAYS = st.builds(_decay, st.sampled_from(["exponential", "step", "none"]), st.sampled_from([1, 3.5, 7, 30]),
                    st.sampled_from([0.25, 0.5, 1.0]))
_STEPS = st.sampled_from([
    "", "steps = [{ after_days = 30, multiplier = 0.8 }]",
    "steps = [{ after_days = 0.5, multiplier = 0.5 }, { after_days = 20, multiplier = 0.0 }]\narchive_after_days = 40",
])
_SIGNALS = st.lists(st.one_of(
    st.builds(lambda e: f'event = "{e}"', st.sampled_from(["pricing_page", "case_study", "demo_request"])),
    st.builds(lambda d: f'department = "{d}"', st.sampled_from(["procurement", "IT", "security"])),
    st.builds(lambda n: f"engaged_people = {n:g}", st.sampled_from([1, 1.5, 2, 2.6])),
    st.builds(lambda n: f"departments_engaged = {n}", st.integers(1, 3)),
), min_size=1, max_size=5)


@st.composite
def model_mixes(draw: st.DrawFn, negative_points: bool = True) -> str:
    """A model file: fit rules, actions of every decay kind / cap / factor / min_value, inactivity steps,
    field and event negative rules, account signals of every kind (window, seniority weights, account decay),
    `sum` or weighted pillars (fit weight up to 1, so fit alone can qualify). Actions and, in `sum` mode,
    signals get negative points only when `negative_points`."""
    points = [50, 30, 12.5, 4, -5] if negative_points else [50, 30, 12.5, 4]
    lines = [HEAD, "[scoring]"]
    combine_sum = draw(st.booleans())
    if combine_sum:
        lines.append('combine = "sum"')
    else:
        fit, account = draw(st.sampled_from([(0.3, 0.3), (0.5, 0.2), (1.0, 0.0), (0.2, 0.6)]))
        lines += ['combine = "weighted"',
                  f"weights = {{ fit = {fit}, behaviour = {1 - fit - account:g}, account = {account} }}"]
    lines += ["[fit]", f"max_points = {draw(st.sampled_from([40, 100]))}",
              '[[fit.rules]]\nname = "senior"\nfield = "seniority"\nin = ["c_level", "vp", "director"]\npoints = 30',
              '[[fit.rules]]\nname = "industry"\nfield = "industry"\nin = ["software", "fintech"]\npoints = 25']
    lines += ["[behaviour]", f"max_points = {draw(st.sampled_from([30, 100]))}", f"decay = {draw(_DECAYS)}"]
    actions = draw(st.lists(st.fixed_dictionaries({
        "event": st.sampled_from(EVENT_TYPES[:5]),
        "points": st.sampled_from(points),
        "decay": st.none() | _DECAYS,
        "max_repeats": st.none() | st.integers(1, 4),
        "repeat_factor": st.sampled_from([1.0, 0.5, 0.8]),
        "min_value": st.none() | st.sampled_from([100, 300]),
    }), min_size=1, max_size=6))
    for i, action in enumerate(actions):
        lines += ["[[behaviour.actions]]", f'name = "a{i}"', f'event = "{action["event"]}"',
                  f'points = {action["points"]}', f'repeat_factor = {action["repeat_factor"]}']
        lines += [f"{key} = {action[key]}" for key in ("decay", "max_repeats", "min_value") if action[key] is not None]
    lines += ["[behaviour.inactivity]", draw(_STEPS)]
    if draw(st.booleans()):
        lines.append('[[negative.rules]]\nname = "free_mail"\nfield = "email_domain"\nin = ["gmail.com"]\npoints = -20')
    for event in draw(st.lists(st.sampled_from(["unsubscribe", "email_click"]), unique=True, max_size=2)):
        lines.append(f'[[negative.rules]]\nname = "no_{event}"\nevent = "{event}"\npoints = -15')
    lines += ["[account]", f"max_points = {draw(st.sampled_from([30, 100]))}",
              f"window_days = {draw(st.sampled_from([0.5, 2, 7, 90]))}", f"decay = {draw(_DECAYS)}",
              draw(st.sampled_from(['seniority_weights = { c_level = 1.0, vp = 0.9, manager = 0.7, student = 0.1 }',
                                    "seniority_weights = {}"])),
              f"default_seniority_weight = {draw(st.sampled_from([0.5, 1.0]))}"]
    signal_points = [10, 20, 7.5, -10] if negative_points and combine_sum else [10, 20, 7.5]
    for i, trigger in enumerate(draw(_SIGNALS)):
        lines += ["[[account.signals]]", f'name = "s{i}"', trigger, f"points = {draw(st.sampled_from(signal_points))}"]
    return "\n".join(lines) + "\n"


def mix_funnel(seed: int, n_leads: int = 10, accounts: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leads (in 3 accounts, a few without one; or none with one) and events on a day / hour grid, some a second
    off it (step and window boundaries hit exactly and just missed), with ties, repeats of one type and values
    around the min_value cut-offs."""
    leads, _ = random_funnel(seed, n_leads)
    rng = np.random.default_rng(seed)
    if accounts:
        account = rng.choice(np.array(["A1", "A2", "A3", None], dtype=object), n_leads, p=[0.4, 0.3, 0.2, 0.1])
        department = rng.choice(np.array(["procurement", "it", "IT", "security", None], dtype=object), n_leads)
        leads = leads.assign(account_id=account, department=department)
    else:
        leads = leads.assign(account_id=None)
    n = int(rng.integers(n_leads, 12 * n_leads))
    lead = rng.integers(0, n_leads, n)
    seconds = 3600 * (rng.choice([0, 6, 12], n) + 24 * rng.integers(0, 120, n)) + rng.choice([0, 0, 0, 1, -1], n)
    events = pd.DataFrame({
        "lead_id": leads["lead_id"].to_numpy()[lead],
        "type": rng.choice(EVENT_TYPES, n, p=[0.1, 0.3, 0.15, 0.25, 0.15, 0.05]),
        "at": AS_OF - pd.to_timedelta(np.maximum(seconds, 0), unit="s"),
        "value": np.where(rng.random(n) < 0.6, rng.choice([50, 100, 299, 300, 400], n), np.nan),
    })
    twins = events.sample(frac=0.15, random_state=seed).assign(
        type=lambda f: rng.choice(EVENT_TYPES, len(f)))  # same lead, same moment, another event
    return leads, pd.concat([events, twins], ignore_index=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=model_mixes(), seed=st.integers(0, 10_000))
def test_running_totals_match_the_engine_for_a_mix_of_models(text: str, seed: int) -> None:
    """Negative points included: every row stays the engine's total even where totals rise between rows."""
    model = compile_model(parse_model(text, source="mix.toml"))
    leads, events = mix_funnel(seed)
    assert_running_matches(running_scores(leads, events, model, ORIGIN), engine_at_moments(leads, events, model))


def _assert_crossings_are_the_brute_force_ones(model: CompiledModel, leads: pd.DataFrame, events: pd.DataFrame,
                                               seed: int) -> None:
    """Thresholds per lead: some drawn, some equal to a total the lead reaches (the >= edge); and one for all."""
    running = running_scores(leads, events, model, ORIGIN)
    rng = np.random.default_rng(seed)
    threshold = rng.choice([0.0, 10.0, 25.0, 50.0, 60.0, 99.9, 100.0, 101.0], len(leads))
    for i in range(len(leads)):
        mine = np.flatnonzero(running.lead == i)
        if mine.size and rng.random() < 0.5:
            threshold[i] = running.total[rng.choice(mine)]
    seconds, total = brute_force_entry(leads, events, model, threshold, ORIGIN)
    np.testing.assert_array_equal(first_crossing(running, threshold), seconds)
    np.testing.assert_array_equal(crossing_totals(running, crossing_rows(running, threshold)), total)
    for one in (0.0, 35.0, 70.0):
        np.testing.assert_array_equal(first_crossing(running, one),
                                      brute_force_crossing(leads, events, model, np.full(len(leads), one), ORIGIN))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=model_mixes(negative_points=False), seed=st.integers(0, 10_000))
def test_first_crossing_is_the_brute_force_first_crossing(text: str, seed: int) -> None:
    """The brute force tries every moment of every contact of the account; points >= 0, so totals only fall
    between them and its first crossing is the true one."""
    model = compile_model(parse_model(text, source="mix.toml"))
    leads, events = mix_funnel(seed)
    _assert_crossings_are_the_brute_force_ones(model, leads, events, seed)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=model_mixes(), seed=st.integers(0, 10_000))
def test_first_crossing_without_accounts_is_the_first_event_reaching_it(text: str, seed: int) -> None:
    """Leads without an account, negative action points allowed: the first of the lead's own event times."""
    model = compile_model(parse_model(text, source="mix.toml"))
    leads, events = mix_funnel(seed, accounts=False)
    _assert_crossings_are_the_brute_force_ones(model, leads, events, seed)


def test_generated_funnel_crossings_are_the_brute_force_ones() -> None:
    """A generated funnel with buying committees (a few hundred leads) under the candidate model."""
    model = _model("candidate")
    funnel = generate_funnel(FunnelSpec(n_leads=240, history_days=60, as_of=AS_OF), np.random.default_rng(4))
    leads, events = funnel.leads, funnel.events
    running = running_scores(leads, events, model, ORIGIN)
    assert_running_matches(running, engine_at_moments(leads, events, model))
    for threshold in (40.0, 55.0, 70.0):
        seconds, total = brute_force_entry(leads, events, model, np.full(len(leads), threshold), ORIGIN)
        np.testing.assert_array_equal(first_crossing(running, threshold), seconds)
        np.testing.assert_array_equal(crossing_totals(running, crossing_rows(running, threshold)), total)


DefaultScenario = tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp, pd.Timestamp]


@pytest.fixture(scope="module")
def default_scenario() -> DefaultScenario:
    """The default scenario's funnel (seed 7): leads, events, as_of, the start of its history."""
    funnel = scenario_funnel(load_scenario(ROOT / "scenarios" / "default.toml"), np.random.default_rng(7))
    start = (funnel.spec.as_of - pd.Timedelta(days=funnel.spec.history_days)).floor("D")
    return funnel.leads, funnel.events, funnel.spec.as_of, start


def test_every_as_of_mql_of_the_default_scenario_has_a_first_crossing(default_scenario: DefaultScenario) -> None:
    """No fallback: every lead that is an MQL at as_of (total >= T, not suppressed) crossed T at some row, at a
    time no later than as_of, for T from 50 to 80; and some crossed only at query rows (account points)."""
    leads, events, as_of, start = default_scenario
    model = _model("candidate")
    running = running_scores(leads, events, model, start)
    scores = score(leads, events, model, as_of)
    as_of_seconds = (as_of - start) / pd.Timedelta(seconds=1)
    crossed_at_query_rows = 0
    for threshold in range(50, 81, 5):
        crossing = first_crossing(running, float(threshold))
        mql = (scores["total"].to_numpy() >= threshold) & ~scores["suppressed"].to_numpy()
        assert mql.sum() > 20
        assert not np.isnan(crossing[mql]).any(), np.flatnonzero(mql & np.isnan(crossing))
        assert (crossing[~np.isnan(crossing)] <= as_of_seconds).all()
        at_own = first_crossing(_own_rows_only(running), float(threshold))
        crossed_at_query_rows += int((np.isnan(at_own) & ~np.isnan(crossing)).sum())
    assert crossed_at_query_rows > 100


def _own_rows_only(running: RunningScores) -> RunningScores:
    """The same leads' running scores on their own events only (the peaks recomputed)."""
    own = running.own
    slot = np.where(running.suppressed[own], 0, np.rint(running.unrounded[own] * 10.0).astype(np.int64) + 1)
    peak = np.maximum.accumulate(slot + running.lead[own] * 1002)
    return RunningScores(lead=running.lead[own], at=running.at[own], own=own[own], origin=running.origin,
                         peak=peak, base_tenths=running.base_tenths, parts=running.parts)


def test_default_scenario_first_crossings_are_the_brute_force_ones_on_a_sample(
        default_scenario: DefaultScenario) -> None:
    """Whole accounts drawn at random (their account points need only their own contacts): the first
    crossing from running scores of the whole funnel is the brute force's, for T from 50 to 80."""
    leads, events, _, start = default_scenario
    model = _model("candidate")
    running = running_scores(leads, events, model, start)
    rng = np.random.default_rng(1)
    sizes = leads["account_id"].value_counts()
    accounts = rng.choice(sizes.index[(sizes >= 2) & (sizes <= 12)].to_numpy(), 12, replace=False)
    sample = np.flatnonzero(leads["account_id"].isin(accounts).to_numpy())
    mine, theirs = leads.iloc[sample], events[events["lead_id"].isin(leads["lead_id"].iloc[sample])]
    for threshold in (50.0, 60.0, 70.0, 80.0):
        np.testing.assert_array_equal(first_crossing(running, threshold)[sample], brute_force_crossing(
            mine, theirs, model, np.full(sample.size, threshold), start))


def _sum_model(body: str) -> CompiledModel:
    return compile_model(parse_model(HEAD + '[scoring]\ncombine = "sum"\n' + body))


def _one_lead(rows: list[tuple[str, float]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One lead created 60 days before AS_OF; rows of (type, days before AS_OF)."""
    leads = pd.DataFrame({"lead_id": ["L0"], "created_at": [AS_OF - pd.Timedelta(days=60)]})
    events = pd.DataFrame({"lead_id": "L0", "type": [r[0] for r in rows],
                           "at": [AS_OF - pd.Timedelta(days=r[1]) for r in rows]})
    return leads, events


def _one_account(rows: list[tuple[str, str, float]], created_days: float = 300.0,
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two contacts of one account, A (a VP) and B (a manager), created `created_days` before AS_OF; rows of
    (lead, type, days before AS_OF)."""
    leads = pd.DataFrame({"lead_id": ["A", "B"], "account_id": "ACME", "seniority": ["vp", "manager"],
                          "department": ["it", "procurement"],
                          "created_at": AS_OF - pd.Timedelta(days=created_days)})
    events = pd.DataFrame({"lead_id": [r[0] for r in rows], "type": [r[1] for r in rows],
                           "at": [AS_OF - pd.Timedelta(days=r[2]) for r in rows]})
    return leads, events


_ACCOUNT = """[[behaviour.actions]]
event = "demo_request"
points = 40
[behaviour.inactivity]
steps = [{ after_days = 30, multiplier = 0.5 }]
archive_after_days = 100
[account]
window_days = 30
seniority_weights = { vp = 1.0, manager = 0.5 }
[[account.signals]]
name = "pricing"
event = "pricing_page"
points = 20
"""


def test_another_contacts_event_lifts_the_lead_at_that_moment() -> None:
    """B's pricing visit gives the account 20 x 0.5 (B is a manager) points at once: A gets a query row there
    and first reaches 45 points then, not at its own event; without the account it never does."""
    model = _sum_model(_ACCOUNT)
    leads, events = _one_account([("A", "demo_request", 50.0), ("B", "pricing_page", 40.0)])
    running = running_scores(leads, events, model, ORIGIN)
    a = _rows(running).query("lead == 0")
    assert a["own"].tolist() == [True, False] and a["total"].tolist() == [40.0, 50.0]
    assert first_crossing(running, 45.0)[0] == (400 - 40) * 86_400.0
    assert np.isnan(first_crossing(running_scores(leads.assign(account_id=None), events, model, ORIGIN), 45.0)[0])


def test_a_query_row_takes_the_inactivity_step_of_the_leads_silent_days() -> None:
    """At B's visit A has been silent 40 days: its demo request counts half (the 30-day step), as score()
    counts it then; its total there (30) stays below its own 40, so it crosses nothing new."""
    model = _sum_model(_ACCOUNT)
    leads, events = _one_account([("A", "demo_request", 50.0), ("B", "pricing_page", 10.0)])
    running = running_scores(leads, events, model, ORIGIN)
    a = _rows(running).query("lead == 0")
    assert a["own"].tolist() == [True, False]
    assert a["behaviour"].tolist() == [40.0, 20.0] and a["account"].tolist() == [0.0, 10.0]
    assert a["total"].tolist() == [40.0, 30.0]
    assert score(leads, events, model, AS_OF - pd.Timedelta(days=10))["total"].tolist() == [30.0, 10.0]
    assert first_crossing(running, 30.0)[0] == (400 - 50) * 86_400.0


def test_a_contact_suppressed_at_an_account_moment_is_no_mql_there() -> None:
    """A, silent for 120 days (archive after 100), has the account points at B's visit but is no MQL then,
    as score() says; with a later event of its own it crosses at that event."""
    model = _sum_model(_ACCOUNT)
    leads, events = _one_account([("A", "email_click", 130.0), ("B", "pricing_page", 10.0)])
    running = running_scores(leads, events, model, ORIGIN)
    at_b = score(leads, events, model, AS_OF - pd.Timedelta(days=10))
    assert at_b["total"].tolist() == [10.0, 10.0] and at_b["suppressed"].tolist() == [True, False]
    assert np.isnan(first_crossing(running, 10.0)[0])
    later = pd.concat([events, pd.DataFrame({"lead_id": ["A"], "type": ["email_click"],
                                             "at": [AS_OF - pd.Timedelta(days=5)]})], ignore_index=True)
    assert first_crossing(running_scores(leads, later, model, ORIGIN), 10.0)[0] == (400 - 5) * 86_400.0


def test_a_contact_before_its_first_event_crosses_through_account_points() -> None:
    """A has no event at all: B's first visit gives the account 10 points, so A reaches 10 then, before its own
    creation (it arrives when created); B's second visit adds nothing new (a query row only at a new high)."""
    model = _sum_model(_ACCOUNT)
    leads, events = _one_account([("B", "pricing_page", 20.0), ("B", "pricing_page", 5.0)], created_days=15.0)
    running = running_scores(leads, events, model, ORIGIN)
    assert _rows(running).query("lead == 0")["at"].tolist() == [(AS_OF - pd.Timedelta(days=20)).value]
    assert first_crossing(running, 10.0)[0] == (400 - 20) * 86_400.0
    created = np.full(2, (400 - 15) * 86_400.0)
    assert mql_arrival_seconds(running, first_crossing(running, 10.0), created)[0] == created[0]


def test_account_window_keeps_an_event_exactly_window_days_old_and_not_a_second_older() -> None:
    """B visited pricing 30 days before A's demo request: counted there (days <= window_days, as score() counts);
    a second earlier, not."""
    model = _sum_model(_ACCOUNT)
    for seconds, account in ((0, 10.0), (1, 0.0)):
        leads, events = _one_account([("B", "pricing_page", 40.0), ("A", "demo_request", 10.0)])
        events.loc[0, "at"] -= pd.Timedelta(seconds=seconds)
        running = running_scores(leads, events, model, ORIGIN)
        assert _rows(running).query("lead == 0 and own")["account"].tolist() == [account]
        at_a = score(leads, events, model, AS_OF - pd.Timedelta(days=10))["account"].tolist()
        assert at_a == [account, account]  # the 0-100 pillar, max_points 100


def test_decaying_negative_points_can_make_an_as_of_mql_without_a_crossing() -> None:
    """The one case the arrival fallback is for: a negative action decays, so the total rises between rows
    and is an MQL at as_of though no row reaches the threshold; the lead arrives at its last event."""
    model = _sum_model('[[behaviour.actions]]\nevent = "demo_request"\npoints = 60\n'
                       '[[behaviour.actions]]\nevent = "email_click"\npoints = -20\n'
                       'decay = { kind = "exponential", half_life_days = 7 }\n')
    leads, events = _one_lead([("demo_request", 30), ("email_click", 30)])
    running = running_scores(leads, events, model, ORIGIN)
    assert running.total.tolist() == [40.0, 40.0]
    assert score(leads, events, model, AS_OF)["total"].item() == 59.0  # 60 - 20 / 2 ** (30 / 7)
    assert np.isnan(first_crossing(running, 55.0)[0])
    created = np.array([(400 - 60) * 86_400.0])
    assert mql_arrival_seconds(running, first_crossing(running, 55.0), created)[0] == (400 - 30) * 86_400.0


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
    assert mql_arrival_seconds(running, first_crossing(running, 60.1), created)[0] == (400 - 20) * day  # last event
    assert first_crossing(running, 0.0)[0] == -np.inf
