"""DrawnLeadColumns: a funnel's lead columns coded from its draws give every answer the leads frame gives."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from scoring import compile_model, load_model
from scoring.columns import LEAD_COLUMNS
from scoring.compiled import CompiledMatcher
from scoring.engine import mql_thresholds, mql_thresholds_of_codes, score, score_totals
from scoring.matchers import ColumnCodes, matcher_masks, with_email_domain
from simulator import Funnel, FunnelSpec, generate_funnel, load_scenario, scenario_funnel
from simulator.lead_columns import DrawnLeadColumns
from simulator.mql_timing import running_scores_of_arrays
from simulator.vocabulary import EVENT_TYPES
from simulator.vocabulary import TITLES

COLUMNS = (*LEAD_COLUMNS, "email_domain")

TRICKY = dataclasses.replace(
    FunnelSpec(n_leads=3_000),
    titles=(*TITLES, ("VP Sales", "director", "sales", 2.0)),  # a title name shared by two rows
    free_mail_domains=("gmail.com", "GMail.com", "Yahoo.COM"),  # equal once lower-cased, upper case
    competitor_domains=("RivalScore.io", "rival@score.io"),  # an '@' inside: the domain part is after it
    missing_shares={"industry": 0.3, "employees": 0.2, "annual_revenue": 0.1, "title": 0.25},
)


@pytest.fixture(scope="module", params=["default", "tricky", "olist_arrivals"])
def funnel(request: pytest.FixtureRequest) -> Funnel:
    if request.param == "default":
        return generate_funnel(FunnelSpec(n_leads=5_000), np.random.default_rng(7))
    if request.param == "tricky":
        return generate_funnel(TRICKY, np.random.default_rng(8))
    return scenario_funnel(load_scenario("scenarios/olist_arrivals.toml"), np.random.default_rng(9))


def _rules(column: str, uniques: np.ndarray) -> tuple[CompiledMatcher, ...]:
    """Rules of every kind on one column, with values taken from the column itself."""
    text = frozenset(str(u).casefold() for u in uniques[:3]) | {"no such value"}
    numbers = frozenset(float(u) for u in uniques[:2] if isinstance(u, float))
    base = {"name": column, "label": column, "field": column, "points": 1.0}
    return (
        CompiledMatcher(kind="in", text=text, numbers=numbers, **base),  # type: ignore[arg-type]
        CompiledMatcher(kind="in", text=frozenset({str(uniques[-1]).casefold()}), **base),  # type: ignore[arg-type]
        CompiledMatcher(kind="between", low=200.0, high=5e7, **base),  # type: ignore[arg-type]
        CompiledMatcher(kind="regex", pattern=re.compile(r"(?i)^[a-m]|\d\.|gmail"), **base),  # type: ignore[arg-type]
        CompiledMatcher(kind="missing", **base),  # type: ignore[arg-type]
    )


def test_every_column_has_the_frames_codes_distinct_values_and_numbers(funnel: Funnel) -> None:
    """Codes in order of first appearance, -1 for missing, the same distinct values of the same types."""
    drawn, frame = DrawnLeadColumns(funnel), ColumnCodes(with_email_domain(funnel.leads))
    assert len(drawn) == len(frame)
    for column in COLUMNS:
        assert drawn.has(column) and frame.has(column)
        (codes, uniques), (frame_codes, frame_uniques) = drawn.codes(column), frame.codes(column)
        np.testing.assert_array_equal(codes, frame_codes, err_msg=column)
        assert codes.dtype == frame_codes.dtype, column
        assert uniques.tolist() == frame_uniques.tolist(), column
        assert [type(u) for u in uniques] == [type(u) for u in frame_uniques], column
        np.testing.assert_array_equal(drawn.numbers(column), frame.numbers(column), err_msg=column)
    assert not drawn.has("name") and not frame.has("name")


def test_rules_of_every_kind_match_the_same_leads_on_every_column(funnel: Funnel) -> None:
    """equals/in, between, regex and missing rules on every lead column and email_domain, against the frame."""
    drawn, frame = DrawnLeadColumns(funnel), ColumnCodes(with_email_domain(funnel.leads))
    for column in COLUMNS:
        rules = _rules(column, frame.codes(column)[1])
        got, want = matcher_masks(drawn, rules), matcher_masks(frame, rules)
        np.testing.assert_array_equal(got, want, err_msg=column)
    assert matcher_masks(frame, _rules("email_domain", frame.codes("email_domain")[1]))[:, 0].any()


def test_creation_times_and_segment_thresholds_are_the_frames(funnel: Funnel) -> None:
    drawn = DrawnLeadColumns(funnel)
    created = funnel.leads["created_at"].to_numpy("datetime64[ns]").view(np.int64)
    np.testing.assert_array_equal(drawn.created_ns, created)
    model = compile_model(load_model("models/candidate.toml"))
    assert model.segment_mql
    np.testing.assert_array_equal(mql_thresholds_of_codes(drawn, model), mql_thresholds(funnel.leads, model))


@pytest.mark.parametrize("name", ["baseline", "candidate"])
def test_a_chunk_scores_the_shipped_models_without_building_a_frame(name: str) -> None:
    """What `mql_arrivals` reads (totals, thresholds, running scores) builds no leads, events, outcomes or latent
    frame, and its totals are score()'s on the frames."""
    model = compile_model(load_model(f"models/{name}.toml"))
    funnel = generate_funnel(FunnelSpec(n_leads=2_000, history_days=90), np.random.default_rng(4))
    drawn, draw, as_of = DrawnLeadColumns(funnel), funnel.event_draw, funnel.spec.as_of
    totals = score_totals(drawn, draw.arrays(len(drawn)), (as_of.value - drawn.created_ns) / 86_400e9, model)
    threshold = mql_thresholds_of_codes(drawn, model)
    running_scores_of_arrays(drawn, lambda: drawn.created_ns, draw.lead, as_of.value + draw.seconds * 10**9,
                             draw.type_code, list(EVENT_TYPES), draw.value, model, as_of - pd.Timedelta(days=90))
    assert not drawn.built_leads and not {"leads", "events", "outcomes", "latent"} & set(vars(funnel))
    scores = score(funnel.leads, funnel.events, model, as_of)
    np.testing.assert_array_equal(totals.total, scores["total"].to_numpy())
    np.testing.assert_array_equal(threshold, scores["mql_threshold"].to_numpy())


def test_coded_columns_build_no_strings_per_lead() -> None:
    """Reading every coded column leaves the leads frame (and its emails) unbuilt; email builds it."""
    funnel = generate_funnel(FunnelSpec(n_leads=2_000), np.random.default_rng(3))
    drawn = DrawnLeadColumns(funnel)
    for column in COLUMNS:
        if column not in ("email", "campaign", "created_at"):
            drawn.codes(column)
    drawn.numbers("employees")
    assert not drawn.built_leads and "leads" not in vars(funnel)
    drawn.codes("email")
    assert drawn.built_leads and "leads" in vars(funnel)
