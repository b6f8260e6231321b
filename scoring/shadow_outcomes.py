"""Outcomes seen so far during a shadow run, by the band each model had the lead in, and the two-proportion
tests the gates read (challenger's top band against the champion's)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.columns import FUNNEL_STAGES
from scoring.conversion import wilson_interval
from scoring.errors import InputDataError
from scoring.inputs import as_utc, require_columns
from scoring.shadow import MODELS, checked_snapshots

__all__ = ["TwoProportionTest", "early_outcomes_by_band", "top_band_test", "two_proportion_test"]


@dataclass(frozen=True)
class TwoProportionTest:
    """Rate b - rate a with a pooled two-proportion z-test; too_small when n cannot decide it."""

    label_a: str
    leads_a: int
    converted_a: int
    rate_a: float
    label_b: str
    leads_b: int
    converted_b: int
    rate_b: float
    difference: float
    """rate_b - rate_a (shares)."""
    z: float
    p_value: float
    """Two-sided; nan when the pooled rate is 0 or 1."""
    too_small: bool
    """Fewer than min_leads in a group, or fewer than 5 expected successes or failures in a group."""


def early_outcomes_by_band(snapshots: pd.DataFrame, outcomes: pd.DataFrame,
                           as_of: str | pd.Timestamp | None = None, stage: str = "accepted",
                           level: str = "band") -> pd.DataFrame:
    """Outcomes seen so far, by the band each model had the lead in when it happened, with Wilson CIs.

    A lead counts as converted when it reached `stage` (or a later funnel stage) at or before as_of.
    A converted lead is credited to its band in the latest snapshot at or before the outcome (the
    band it was in when it happened; its first snapshot when it converted before any); a lead that
    has not converted, to its band in the latest snapshot at or before as_of.

    Args:
        snapshots: SNAPSHOT_COLUMNS; the leads are those of snapshots with as_of <= the cut-off.
        outcomes: canonical outcomes (lead_id, stage, at UTC); rows after as_of are ignored.
        as_of: the cut-off; default the latest snapshot's as_of.
        stage: one of FUNNEL_STAGES ("accepted" is the first one a 14-day window sees much of).
        level: "band" or "tier".

    Returns:
        Columns model, band, leads, converted, rate, ci_low, ci_high; per model, bands low to high.
    """
    if stage not in FUNNEL_STAGES:
        raise InputDataError("early_outcomes_by_band", f"stage={stage!r}", f"use one of {list(FUNNEL_STAGES)}")
    checked_snapshots(snapshots, "as_of", f"champion_{level}", f"challenger_{level}")
    require_columns(outcomes, ("lead_id", "stage", "at"), "outcomes", "early_outcomes_by_band")
    cut = pd.Timestamp(snapshots["as_of"].max()) if as_of is None else as_utc(as_of)
    seen = snapshots[snapshots["as_of"] <= cut].sort_values("as_of", kind="stable")
    later = list(FUNNEL_STAGES[FUNNEL_STAGES.index(stage):])
    at = pd.to_datetime(outcomes["at"], utc=True)
    hits = outcomes.loc[outcomes["stage"].isin(later).to_numpy() & (at <= cut).to_numpy(), ["lead_id"]]
    first = hits.assign(at=at[hits.index]).groupby("lead_id")["at"].min()
    leads = pd.Index(pd.unique(seen["lead_id"]))
    reached = first.reindex(leads)
    when = reached.astype("datetime64[ns, UTC]").fillna(cut)
    probe = pd.DataFrame({"lead_id": leads.to_numpy(dtype=object), "converted": reached.notna().to_numpy(),
                          "when": when.to_numpy()})
    probe = probe.sort_values("when", kind="stable")
    cols = ["lead_id", "as_of", *(f"{m}_{level}" for m in MODELS)]
    right = seen[cols].rename(columns={"as_of": "when"})
    right["when"] = right["when"].astype("datetime64[ns, UTC]")
    back = pd.merge_asof(probe, right, on="when", by="lead_id", direction="backward")
    ahead = pd.merge_asof(probe, right, on="when", by="lead_id", direction="forward")
    rows = []
    for model in MODELS:
        column = f"{model}_{level}"
        band = back[column].astype(object).where(back[column].notna(), ahead[column].astype(object))
        categories = [str(c) for c in snapshots[column].astype("category").cat.categories]
        counted = pd.DataFrame({"band": band.astype(str).to_numpy(), "converted": back["converted"].to_numpy()})
        grouped = counted.groupby("band")["converted"].agg(["size", "sum"]).reindex(categories, fill_value=0)
        n, x = grouped["size"].to_numpy(np.int64), grouped["sum"].to_numpy(np.int64)
        low, high = wilson_interval(x, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(n > 0, x / np.maximum(n, 1), np.nan)
        rows.append(pd.DataFrame({"model": model, "band": categories, "leads": n, "converted": x,
                                  "rate": rate, "ci_low": low, "ci_high": high}))
    return pd.concat(rows, ignore_index=True)


def two_proportion_test(converted_a: int, leads_a: int, converted_b: int, leads_b: int, *,
                        min_leads: int = 30, label_a: str = "a", label_b: str = "b") -> TwoProportionTest:
    """Pooled two-proportion z-test of rate b against rate a (two-sided normal p-value).

    too_small is set when either group has fewer than `min_leads` leads or fewer than 5 expected
    successes or failures under the pooled rate (the normal approximation does not hold then).
    """
    if not (0 <= converted_a <= leads_a and 0 <= converted_b <= leads_b):
        raise InputDataError("two_proportion_test", "counts must satisfy 0 <= converted <= leads",
                             f"got {converted_a}/{leads_a} and {converted_b}/{leads_b}")
    rate_a = converted_a / leads_a if leads_a else math.nan
    rate_b = converted_b / leads_b if leads_b else math.nan
    total = leads_a + leads_b
    pooled = (converted_a + converted_b) / total if total else math.nan
    if leads_a and leads_b and 0 < pooled < 1:
        z = (rate_b - rate_a) / math.sqrt(pooled * (1 - pooled) * (1 / leads_a + 1 / leads_b))
        p_value = math.erfc(abs(z) / math.sqrt(2))
    else:
        z, p_value = math.nan, math.nan
    expected = [n * p for n in (leads_a, leads_b) for p in (pooled, 1 - pooled)] if total else [0.0]
    too_small = min(leads_a, leads_b) < min_leads or not min(expected) >= 5
    return TwoProportionTest(label_a, leads_a, converted_a, rate_a, label_b, leads_b, converted_b, rate_b,
                             rate_b - rate_a, z, p_value, bool(too_small))


def top_band_test(early: pd.DataFrame, champion_band: str | None = None, challenger_band: str | None = None,
                  min_leads: int = 30) -> TwoProportionTest:
    """Challenger's top band against the champion's (a = champion, b = challenger) from early_outcomes_by_band.

    The top band is each model's last (highest) band unless named.
    """
    require_columns(early, ("model", "band", "leads", "converted"), "early", "top_band_test")
    picked = []
    for model, band in (("champion", champion_band), ("challenger", challenger_band)):
        rows = early[early["model"] == model]
        if band is not None:
            rows = rows[rows["band"] == band]
        if len(rows) == 0:
            known = early.loc[early["model"] == model, "band"].tolist()
            raise InputDataError("top_band_test", f"no {model} band {band!r}", f"bands: {known}")
        picked.append(rows.iloc[-1])
    a, b = picked
    return two_proportion_test(int(a["converted"]), int(a["leads"]), int(b["converted"]), int(b["leads"]),
                               min_leads=min_leads, label_a=f"champion {a['band']}",
                               label_b=f"challenger {b['band']}")
