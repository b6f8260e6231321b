"""Monte Carlo funnels: seeded synthetic accounts, leads, behaviour events and stage outcomes.

`generate_funnel(FunnelSpec(...), numpy.random.default_rng(seed))` returns a `Funnel` whose
conversion depends on latent fit, current intent and account heat, so a scoring model that reads
the right signals shows a lift curve and one that reads vanity signals does not.
"""

from __future__ import annotations

from simulator.arrivals import ARRIVAL_COLUMNS, arrival_weights, arrivals_from_scores, synthetic_arrivals
from simulator.capacity import FORMULA_VS_QUEUE_COLUMNS, ErlangC, erlang_c, formula_vs_queue, rep_load
from simulator.chunked import ChunkedResult, simulate_in_chunks
from simulator.funnel import LATENT_COLUMNS, Funnel, generate_funnel
from simulator.mql_timing import RunningScores, first_crossing, mql_arrival_seconds, running_scores
from simulator.reps import Rep, RoutingPolicy, rep_team
from simulator.routing import (
    ROUTING_COLUMNS,
    RoutedArrays,
    RoutingPlan,
    RoutingSummary,
    compile_routing,
    route,
    route_arrays,
    routing_summary,
    vocabulary_codes,
)
from simulator.scenario import (
    LeadArrivals,
    Scenario,
    ScenarioFileError,
    TeamSpec,
    load_scenario,
    parse_scenario,
    read_lead_arrivals,
    scenario_funnel,
    scenario_funnel_spec,
)
from simulator.shadow_replay import ShadowReplay, replay_funnel, replay_shadow, team_capacity
from simulator.spec import FunnelSpec
from simulator.sweep import (
    Recommendation,
    SweepGrid,
    SweepSettings,
    combined_results,
    recommended_thresholds,
    replication_results,
    sweep_results,
    sweep_summary,
    task_seed,
)
from simulator.speed_to_lead import (
    WON_COLUMNS,
    SpeedToLead,
    speed_adjusted_propensity,
    speed_odds_multiplier,
    won_after_routing,
)
from simulator.vocabulary import (
    ACCOUNT_FIT_TERMS,
    DEPARTMENTS,
    EVENT_TYPES,
    INDUSTRIES,
    INTENT_KINDS,
    SEGMENTS,
    SENIORITIES,
    SOURCES,
    TITLES,
)
from simulator.what_if import LIFT_STAGES, WhatIf, WhatIfBench, WhatIfSettings, what_if_model

__all__ = [
    "ChunkedResult",
    "simulate_in_chunks",
    "RunningScores",
    "first_crossing",
    "mql_arrival_seconds",
    "running_scores",
    "LIFT_STAGES",
    "WhatIf",
    "WhatIfBench",
    "WhatIfSettings",
    "what_if_model",
    "Recommendation",
    "SweepGrid",
    "SweepSettings",
    "combined_results",
    "recommended_thresholds",
    "replication_results",
    "sweep_results",
    "sweep_summary",
    "task_seed",
    "ShadowReplay",
    "replay_funnel",
    "replay_shadow",
    "team_capacity",
    "LeadArrivals",
    "Scenario",
    "ScenarioFileError",
    "TeamSpec",
    "load_scenario",
    "parse_scenario",
    "read_lead_arrivals",
    "scenario_funnel",
    "scenario_funnel_spec",
    "ACCOUNT_FIT_TERMS",
    "ARRIVAL_COLUMNS",
    "DEPARTMENTS",
    "EVENT_TYPES",
    "FORMULA_VS_QUEUE_COLUMNS",
    "INDUSTRIES",
    "INTENT_KINDS",
    "LATENT_COLUMNS",
    "ROUTING_COLUMNS",
    "SEGMENTS",
    "SENIORITIES",
    "SOURCES",
    "TITLES",
    "WON_COLUMNS",
    "ErlangC",
    "Funnel",
    "FunnelSpec",
    "Rep",
    "RoutedArrays",
    "RoutingPlan",
    "RoutingPolicy",
    "RoutingSummary",
    "SpeedToLead",
    "arrival_weights",
    "arrivals_from_scores",
    "compile_routing",
    "erlang_c",
    "formula_vs_queue",
    "generate_funnel",
    "rep_load",
    "rep_team",
    "route",
    "route_arrays",
    "routing_summary",
    "speed_adjusted_propensity",
    "speed_odds_multiplier",
    "synthetic_arrivals",
    "vocabulary_codes",
    "won_after_routing",
]
