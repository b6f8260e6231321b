"""Lead arrivals for routing: from a scored funnel, or drawn directly (hours-of-week profile, peak window).

Both return the arrivals frame `route` reads: lead_id, created_at (UTC), segment, tier, propensity.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from simulator._sampling import FloatArray, mix_codes, padded_ids, str_take

__all__ = ["ARRIVAL_COLUMNS", "arrivals_from_scores", "synthetic_arrivals", "arrival_weights"]

ARRIVAL_COLUMNS: tuple[str, ...] = ("lead_id", "created_at", "segment", "tier", "propensity")


def arrivals_from_scores(leads: pd.DataFrame, scores: pd.DataFrame, latent: pd.DataFrame) -> pd.DataFrame:
    """ARRIVAL_COLUMNS from a funnel's leads, its scores (same order) and latent truth (propensity)."""
    return pd.DataFrame({
        "lead_id": leads["lead_id"].to_numpy(),
        "created_at": leads["created_at"].to_numpy(),
        "segment": leads["segment"].to_numpy(),
        "tier": scores["tier"].astype(object).to_numpy(),
        "propensity": latent["propensity"].to_numpy(),
    }, columns=list(ARRIVAL_COLUMNS))


def arrival_weights(days: int, first_weekday: int, business_share: float = 0.7,
                    business_hours: tuple[int, int] = (8, 18), weekend_factor: float = 0.3,
                    peak_days: tuple[float, float] | None = None, peak_factor: float = 1.0) -> FloatArray:
    """Relative arrival intensity per hour of the horizon (sums to 1).

    Args:
        days: horizon in days.
        first_weekday: weekday of day 0 (Monday = 0).
        business_share: share of a weekday's arrivals inside business_hours (UTC).
        business_hours: start and end hour of the daytime bump.
        weekend_factor: weekend days' volume relative to a weekday.
        peak_days: [from, to) days with peak_factor times the volume (a campaign peak); None for none.
        peak_factor: volume multiplier inside the peak.
    """
    hour = np.arange(days * 24)
    hod, day = hour % 24, hour // 24
    inside = (hod >= business_hours[0]) & (hod < business_hours[1])
    width = business_hours[1] - business_hours[0]
    w = np.where(inside, business_share / width, (1 - business_share) / (24 - width))
    w = w * np.where((first_weekday + day) % 7 >= 5, weekend_factor, 1.0)
    if peak_days is not None:
        w = w * np.where((day >= peak_days[0]) & (day < peak_days[1]), peak_factor, 1.0)
    return w / w.sum()


def synthetic_arrivals(n: int, start: pd.Timestamp, days: int, rng: np.random.Generator, *,
                       tier_mix: Mapping[str, float] | None = None,
                       segment_mix: Mapping[str, float] | None = None,
                       tier_propensity: Mapping[str, float] | None = None,
                       weights: FloatArray | None = None) -> pd.DataFrame:
    """n arrivals over `days` from `start` with tiers, segments and a base propensity per lead.

    Args:
        n: leads.
        start: UTC midnight of day 0.
        days: horizon in days.
        rng: random generator.
        tier_mix: share per tier (default A 5%, B 15%, C 30%, D 50%).
        segment_mix: share per segment (default smb 60%, mid_market 30%, enterprise 10%).
        tier_propensity: mean P(won) per tier (Beta with concentration 20; default A 20%, B 8%, C 2%, D 0.5%).
        weights: per-hour intensity (see arrival_weights); default a weekday/business-hours profile.

    Returns:
        ARRIVAL_COLUMNS sorted by created_at, lead ids "S0000001", ...
    """
    tier_mix = tier_mix or {"A": 0.05, "B": 0.15, "C": 0.30, "D": 0.50}
    segment_mix = segment_mix or {"smb": 0.6, "mid_market": 0.3, "enterprise": 0.1}
    tier_propensity = tier_propensity or {"A": 0.20, "B": 0.08, "C": 0.02, "D": 0.005}
    start = pd.Timestamp(start)
    w = arrival_weights(days, start.weekday()) if weights is None else weights
    hours = np.sort(rng.choice(w.size, size=n, p=w))
    seconds = np.round((hours + rng.random(n)) * 3600.0 * 1e6).astype(np.int64)
    seconds.sort()
    tiers = tuple(tier_mix)
    tier = mix_codes(rng, tier_mix, tiers, n)
    segments = tuple(segment_mix)
    segment = mix_codes(rng, segment_mix, segments, n)
    mean = np.array([tier_propensity[t] for t in tiers])[tier]
    propensity = rng.beta(mean * 20.0, (1.0 - mean) * 20.0)
    base = start.tz_convert("UTC").tz_localize(None).as_unit("us").to_datetime64()
    created = pd.DatetimeIndex(base + seconds.astype("timedelta64[us]")).tz_localize("UTC")
    return pd.DataFrame({
        "lead_id": padded_ids("S", 7, n),
        "created_at": created,
        "segment": str_take(segments, segment),
        "tier": str_take(tiers, tier),
        "propensity": propensity,
    }, columns=list(ARRIVAL_COLUMNS))
