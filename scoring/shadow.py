"""Shadow comparison: champion routes, challenger only scores; how far apart are they? (DOMAIN.md section 7)

Pure functions over *snapshots*, the one contract shared by the simulated replay
(`simulator.shadow_replay`) and the live shadow run (daily scores of both models from a CRM):

    snapshots: one row per (day, lead_id), both models side by side ("wide"), columns SNAPSHOT_COLUMNS:
      day                 datetime64[ns], tz-naive midnight: the UTC calendar day the snapshot closes
      as_of               datetime64[ns, UTC]: the moment both models scored (normally the day's end)
      lead_id, segment    segment may be missing (None)
      champion_total / challenger_total      points 0-100
      champion_band / challenger_band        ordered categoricals, low -> high (as score() returns)
      champion_tier / challenger_tier        ordered categoricals, low -> high
      champion_version / challenger_version  model_version of each scores frame

Build one day with `snapshot(leads, champion_scores, challenger_scores, day)` and `pd.concat` the days.
Tiers are translated to motions ("nurture" < "warm" < "hot"; routed = warm or hot) by a RoutingMap,
because the two models name their tiers differently. Counting is vectorised (groupby, crosstab).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from scoring.band_entries import band_entries
from scoring.columns import FUNNEL_STAGES
from scoring.conversion import wilson_interval
from scoring.drift import psi, psi_by_band
from scoring.errors import InputDataError, SettingsError
from scoring.inputs import as_utc, require_columns

__all__ = [
    "MODELS",
    "MOTIONS",
    "SNAPSHOT_COLUMNS",
    "BandMigration",
    "MotionCapacity",
    "RoutingMap",
    "TwoProportionTest",
    "band_migration",
    "early_outcomes_by_band",
    "score_psi_by_day",
    "snapshot",
    "tier_agreement",
    "tier_load",
    "top_band_test",
    "two_proportion_test",
]

MODELS: tuple[str, ...] = ("champion", "challenger")
MOTIONS: tuple[str, ...] = ("nurture", "warm", "hot")
"""Sales motions, low to high (DOMAIN section 4): hot = first touch within ~2 h, warm = SDR within 24 h."""
SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "day", "as_of", "lead_id", "segment", "champion_total", "champion_band", "champion_tier",
    "challenger_total", "challenger_band", "challenger_tier", "champion_version", "challenger_version",
)


def _champion_default() -> dict[str, str]:
    return {"hot": "warm", "not_hot": "nurture"}


def _challenger_default() -> dict[str, str]:
    return {"A": "hot", "B": "warm", "C": "nurture", "D": "nurture"}


@dataclass(frozen=True)
class RoutingMap:
    """Tier -> motion per model. Defaults follow the SLAs in models/: the baseline's "hot" tier (24 h SLA,
    "send to sales") is a warm motion; the candidate's A (2 h) is hot, B (24 h) warm, C and D nurture.
    Routing decisions agree when both models route a lead (any of warm/hot) or both leave it in nurture."""

    champion: Mapping[str, str] = field(default_factory=_champion_default)
    challenger: Mapping[str, str] = field(default_factory=_challenger_default)

    def __post_init__(self) -> None:
        bad = [f"{m}: {t!r} -> {v!r}" for m in MODELS for t, v in self.of(m).items() if v not in MOTIONS]
        if bad:
            raise SettingsError(f"RoutingMap: motions must be one of {list(MOTIONS)}; got {', '.join(bad)}")

    def of(self, model: str) -> Mapping[str, str]:
        """The tier -> motion map of 'champion' or 'challenger'."""
        return self.champion if model == "champion" else self.challenger


@dataclass(frozen=True)
class MotionCapacity:
    """Who works one motion: reps, leads a rep can take per calendar day, and the DOMAIN load factor."""

    reps: int
    leads_per_rep_per_day: float
    factor: float = 1.0
    """rep_load = leads * factor / reps (DOMAIN section 6: 1.0, 1.2 at peaks)."""

    def __post_init__(self) -> None:
        if self.reps < 1 or not self.leads_per_rep_per_day > 0 or not self.factor > 0:
            raise SettingsError(f"MotionCapacity needs reps >= 1, leads_per_rep_per_day > 0, factor > 0; got "
                                f"{self.reps}, {self.leads_per_rep_per_day}, {self.factor}")


@dataclass(frozen=True)
class BandMigration:
    """Champion band (rows) x challenger band (columns) on one day: lead counts and row shares (0-1)."""

    day: pd.Timestamp
    counts: pd.DataFrame
    row_shares: pd.DataFrame


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


# ---- the contract ----------------------------------------------------------------------------------

def _day(day: str | date | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(day)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.normalize()


def _utc_ns(moments: pd.Series) -> np.ndarray:
    """UTC moments as naive datetime64[ns] (naive input is taken to be UTC)."""
    values = pd.to_datetime(moments, utc=True)
    return values.dt.tz_localize(None).to_numpy("datetime64[ns]")


def snapshot(leads: pd.DataFrame, champion_scores: pd.DataFrame, challenger_scores: pd.DataFrame,
             day: str | date | pd.Timestamp) -> pd.DataFrame:
    """One day of the shadow record: both models' scores of the same leads, side by side.

    Args:
        leads: canonical leads; only lead_id and (optional) segment are read.
        champion_scores, challenger_scores: score() frames of the same leads (any order).
        day: the UTC calendar day the snapshot closes.

    Returns:
        SNAPSHOT_COLUMNS, one row per lead in the champion's order; as_of is the later scored_at of the two.

    Raises:
        InputDataError: a missing column, or the two frames do not hold the same leads.
    """
    needed = ("lead_id", "total", "band", "tier", "model_version", "scored_at")
    require_columns(champion_scores, needed, "champion_scores", "snapshot")
    require_columns(challenger_scores, needed, "challenger_scores", "snapshot")
    require_columns(leads, ("lead_id",), "leads", "snapshot")
    ids = pd.Index(champion_scores["lead_id"])
    if ids.has_duplicates:
        raise InputDataError("champion_scores", "repeated lead_id", "one score row per lead")
    position = pd.Index(challenger_scores["lead_id"]).get_indexer(ids)
    if (position < 0).any() or len(challenger_scores) != len(ids):
        only = ids[position < 0].tolist()[:5] or sorted(set(challenger_scores["lead_id"]) - set(ids))[:5]
        raise InputDataError("snapshot", f"champion and challenger scored different leads, e.g. {only}",
                             "score the same leads with both models")
    other = challenger_scores.iloc[position]
    segment = (leads.set_index("lead_id")["segment"].reindex(ids).to_numpy(dtype=object)
               if "segment" in leads.columns else np.full(len(ids), None, dtype=object))
    scored = np.maximum(_utc_ns(champion_scores["scored_at"]), _utc_ns(other["scored_at"]))
    frame = {
        "day": np.full(len(ids), _day(day).to_datetime64()).astype("datetime64[ns]"),
        "as_of": pd.DatetimeIndex(scored).tz_localize("UTC"),
        "lead_id": ids.to_numpy(dtype=object), "segment": segment,
    }
    for model, scores in (("champion", champion_scores), ("challenger", other)):
        for column in ("total", "band", "tier"):
            values = scores[column]
            frame[f"{model}_{column}"] = values.array if column != "total" else values.to_numpy(np.float64)
    frame["champion_version"] = champion_scores["model_version"].to_numpy(dtype=object)
    frame["challenger_version"] = other["model_version"].to_numpy(dtype=object)
    return pd.DataFrame(frame, columns=list(SNAPSHOT_COLUMNS))


def _checked(snapshots: pd.DataFrame, *columns: str) -> pd.DataFrame:
    require_columns(snapshots, ("day", "lead_id", *columns), "snapshots")
    if len(snapshots) == 0:
        raise InputDataError("snapshots", "no rows", "pass at least one day of snapshot()")
    return snapshots


def _motion_codes(snapshots: pd.DataFrame, model: str, routing: RoutingMap) -> np.ndarray:
    """Index into MOTIONS per row of one model's tier; unknown tiers are an InputDataError."""
    tier = snapshots[f"{model}_tier"].astype("category")
    categories = [str(c) for c in tier.cat.categories]
    mapping = routing.of(model)
    unknown = [c for c in categories if c not in mapping]
    if unknown:
        raise InputDataError(f"{model}_tier", f"tiers {unknown} have no motion in RoutingMap.{model}",
                             f"map every tier to one of {list(MOTIONS)}; mapped: {sorted(mapping)}")
    table = np.array([MOTIONS.index(mapping[c]) for c in categories] + [-1], dtype=np.int64)
    return table[tier.cat.codes.to_numpy()]


# ---- agreement and migration -------------------------------------------------------------------

def tier_agreement(snapshots: pd.DataFrame, routing: RoutingMap | None = None,
                   by: str = "champion") -> pd.DataFrame:
    """Share of leads whose routing decision (routed or not) the two models agree on, by tier and day.

    Args:
        snapshots: SNAPSHOT_COLUMNS (at least day, lead_id and both *_tier columns).
        routing: tier -> motion per model; default RoutingMap().
        by: whose tiers the rows are split by, "champion" or "challenger".

    Returns:
        Columns day, tier, leads, agree (leads), agreement (agree / leads), same_motion (share with the
        same motion), champion_routed, challenger_routed (leads). Rows per (day, tier), tiers low to
        high, then tier "all" per day; then the overall rows over every lead-day with day NaT.
    """
    if by not in MODELS:
        raise InputDataError("tier_agreement", f"by={by!r}", f"use one of {list(MODELS)}")
    _checked(snapshots, "champion_tier", "challenger_tier")
    routing = routing or RoutingMap()
    champion, challenger = (_motion_codes(snapshots, m, routing) for m in MODELS)
    tier = snapshots[f"{by}_tier"].astype("category")
    rows = pd.DataFrame({
        "day": snapshots["day"].to_numpy(), "tier": tier.to_numpy(),
        "leads": 1, "agree": (champion > 0) == (challenger > 0), "same_motion": champion == challenger,
        "champion_routed": champion > 0, "challenger_routed": challenger > 0,
    })
    sums = ["leads", "agree", "same_motion", "champion_routed", "challenger_routed"]
    order = {name: i for i, name in enumerate([*map(str, tier.cat.categories), "all"])}
    rows["tier"] = rows["tier"].astype(str)
    per_day = pd.concat([rows, rows.assign(tier="all")], ignore_index=True)
    daily = per_day.groupby(["day", "tier"], sort=False)[sums].sum().reset_index()
    overall = per_day.groupby("tier", sort=False)[sums].sum().reset_index().assign(day=pd.NaT)
    out = pd.concat([daily, overall], ignore_index=True)
    out["rank"] = out["tier"].map(order)
    out = out.sort_values(["day", "rank"], kind="stable", na_position="last").reset_index(drop=True)
    out["tier"] = out["tier"].astype(object)
    out["agreement"] = out["agree"] / out["leads"]
    out["same_motion"] = out["same_motion"] / out["leads"]
    columns = ["day", "tier", "leads", "agree", "agreement", "same_motion", "champion_routed", "challenger_routed"]
    return out[columns].astype({c: np.int64 for c in ("leads", "agree", "champion_routed", "challenger_routed")})


def _last_day(snapshots: pd.DataFrame, day: str | date | pd.Timestamp | None) -> tuple[pd.Timestamp, pd.DataFrame]:
    wanted = pd.Timestamp(snapshots["day"].max()) if day is None else _day(day)
    rows = snapshots[snapshots["day"] == wanted]
    if len(rows) == 0:
        days = sorted({str(pd.Timestamp(d).date()) for d in snapshots["day"].unique()})
        raise InputDataError("snapshots", f"no snapshot on {wanted.date()}", f"days held: {days}")
    return wanted, rows


def band_migration(snapshots: pd.DataFrame, day: str | date | pd.Timestamp | None = None,
                   level: str = "band") -> BandMigration:
    """Crosstab of champion band x challenger band on one day (default: the last day).

    Args:
        snapshots: SNAPSHOT_COLUMNS.
        day: the snapshot day; None takes the latest.
        level: "band" or "tier" (crosstab of the two models' tiers).

    Returns:
        BandMigration with counts (every category of both models, low to high) and row shares
        (share of the champion band's leads in each challenger band; nan for an empty row).
    """
    if level not in ("band", "tier"):
        raise InputDataError("band_migration", f"level={level!r}", "use 'band' or 'tier'")
    _checked(snapshots, f"champion_{level}", f"challenger_{level}")
    wanted, rows = _last_day(snapshots, day)
    a, b = (rows[f"{m}_{level}"].astype("category") for m in MODELS)
    codes = a.cat.codes.to_numpy() * len(b.cat.categories) + b.cat.codes.to_numpy()
    grid = np.bincount(codes, minlength=len(a.cat.categories) * len(b.cat.categories))
    counts = pd.DataFrame(grid.reshape(len(a.cat.categories), len(b.cat.categories)),
                          index=pd.Index([str(c) for c in a.cat.categories], name=f"champion_{level}"),
                          columns=pd.Index([str(c) for c in b.cat.categories], name=f"challenger_{level}"))
    totals = counts.sum(axis=1).to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts.to_numpy(dtype=np.float64) / totals[:, None]
    return BandMigration(wanted, counts, pd.DataFrame(shares, index=counts.index, columns=counts.columns))


# ---- load against capacity -----------------------------------------------------------------------

def tier_load(snapshots: pd.DataFrame, capacity_per_day: Mapping[str, MotionCapacity],
              routing: RoutingMap | None = None, baseline: pd.DataFrame | None = None,
              by: str = "motion") -> pd.DataFrame:
    """Leads entering each motion (or tier) per day and model, against the team's daily capacity.

    A lead *enters* a motion on a day when it is new or moved up into it since the previous snapshot
    (scoring.band_entries on the motions; moving down is no entry). It is *new work* when the motion is
    higher than any it had on an earlier snapshot (baseline included): a lead that dips out of a motion
    and comes back stays with its rep. Load per rep is the DOMAIN section 6 formula
    `new_work * factor / reps` (simulator.capacity.rep_load).

    Args:
        snapshots: SNAPSHOT_COLUMNS, one or more days.
        capacity_per_day: motion (or tier, with by="tier") -> MotionCapacity; others get no capacity.
        routing: tier -> motion per model; default RoutingMap().
        baseline: the snapshot before the first day (e.g. the shadow run's start); without it the
            first day is only the reference and is not reported.
        by: "motion" (both models on the same motions) or "tier" (each model's own tiers).

    Returns:
        Columns day, model, key (motion or tier), entering, new_work, reps, leads_per_rep, rep_capacity
        (leads per rep per day), capacity (leads per day at the factor), utilisation (new_work /
        capacity), backlog (leads still waiting at the day's end: a fluid queue carried over days),
        over_capacity (leads_per_rep > rep_capacity). Rows per day, model, key low to high.
    """
    if by not in ("motion", "tier"):
        raise InputDataError("tier_load", f"by={by!r}", "use 'motion' or 'tier'")
    _checked(snapshots, "as_of", "champion_tier", "challenger_tier")
    routing = routing or RoutingMap()
    frames = snapshots if baseline is None else pd.concat([baseline, snapshots], ignore_index=True)
    days = sorted(pd.unique(frames["day"]))
    reported = days[1:]
    if not reported:
        raise InputDataError("tier_load", "one day and no baseline", "pass a baseline snapshot or two days")
    rows = []
    for model in MODELS:
        if by == "motion":
            keys = list(MOTIONS)
            key = pd.Categorical.from_codes(_motion_codes(frames, model, routing), categories=keys, ordered=True)
        else:
            tiers = frames[f"{model}_tier"].astype("category")
            keys = [str(c) for c in tiers.cat.categories]
            key = pd.Categorical.from_codes(tiers.cat.codes.to_numpy(), categories=keys, ordered=True)
        state = pd.DataFrame({"day": frames["day"].to_numpy(), "lead_id": frames["lead_id"].to_numpy(),
                              "band": key, "scored_at": frames["as_of"].array})
        by_day = dict(tuple(state.groupby("day", sort=True)))
        highest = _codes_by_lead(by_day[days[0]])
        for before, today in zip(days[:-1], days[1:], strict=True):
            entries = band_entries(by_day[before], by_day[today])
            entering = entries.loc[entries["direction"] != "down", "band"].value_counts()
            now = _codes_by_lead(by_day[today])
            previous = highest.reindex(now.index, fill_value=-1)
            first = now[now.to_numpy() > previous.to_numpy()]
            new_work = np.bincount(first.to_numpy(), minlength=len(keys))
            highest = pd.concat([highest, now], axis=1).max(axis=1)
            rows += [(today, model, k, int(entering.get(k, 0)), int(new_work[i])) for i, k in enumerate(keys)]
    out = pd.DataFrame(rows, columns=["day", "model", "key", "entering", "new_work"])
    cap = {k: capacity_per_day.get(k) for k in out["key"].unique()}
    out["reps"] = out["key"].map({k: c.reps if c else np.nan for k, c in cap.items()}).astype(np.float64)
    factor = out["key"].map({k: c.factor if c else np.nan for k, c in cap.items()}).astype(np.float64)
    out["leads_per_rep"] = out["new_work"] * factor / out["reps"]
    out["rep_capacity"] = out["key"].map(
        {k: c.leads_per_rep_per_day if c else np.nan for k, c in cap.items()}).astype(np.float64)
    out["capacity"] = out["reps"] * out["rep_capacity"] / factor
    out["utilisation"] = out["new_work"] / out["capacity"]
    out["backlog"] = _backlog(out)
    out["over_capacity"] = (out["leads_per_rep"] > out["rep_capacity"]).to_numpy()
    return out


def _codes_by_lead(state: pd.DataFrame) -> pd.Series:
    """Key code (motion or tier, low to high) per lead_id of one day's state."""
    return pd.Series(state["band"].cat.codes.to_numpy(np.int64), index=pd.Index(state["lead_id"].to_numpy(object)))


def _backlog(load: pd.DataFrame) -> np.ndarray:
    """Leads waiting at each day's end per (model, key): max(0, yesterday's + entering - capacity)."""
    backlog = np.full(len(load), np.nan)
    for _, group in load.groupby(["model", "key"], sort=False):
        carried = 0.0
        for row, work, capacity in zip(group.index, group["new_work"], group["capacity"], strict=True):
            if not math.isnan(capacity):
                carried = max(0.0, carried + work - capacity)
                backlog[row] = carried
    return backlog


# ---- early outcomes ----------------------------------------------------------------------------

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
    _checked(snapshots, "as_of", f"champion_{level}", f"challenger_{level}")
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


# ---- drift -------------------------------------------------------------------------------------

def score_psi_by_day(snapshots: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """PSI of each model's totals (quantile bins of the day before) and bands, day over day.

    Returns:
        Columns day, model, leads, psi, band_psi; one row per model and day after the first.
    """
    _checked(snapshots, *(f"{m}_{c}" for m in MODELS for c in ("total", "band")))
    groups = dict(tuple(snapshots.groupby("day", sort=True)))
    days = sorted(groups)
    rows = []
    for before, today in zip(days[:-1], days[1:], strict=True):
        for model in MODELS:
            old, new = groups[before], groups[today]
            rows.append((today, model, len(new),
                         psi(old[f"{model}_total"].to_numpy(), new[f"{model}_total"].to_numpy(), bins=bins),
                         psi_by_band(old[f"{model}_band"], new[f"{model}_band"])))
    return pd.DataFrame(rows, columns=["day", "model", "leads", "psi", "band_psi"])
