"""Band-entry events: which leads entered a band between two scorings, and when (DOMAIN.md section 4)."""

from __future__ import annotations

import pandas as pd

__all__ = ["band_entries"]


def band_entries(previous: pd.DataFrame | None, current: pd.DataFrame) -> pd.DataFrame:
    """Leads whose band in `current` differs from `previous` (or who are new), entering at current.scored_at.

    Later outcomes are credited to the band a lead was in when they happened, so the entry moment is
    recorded, not just the band.

    Returns:
        Columns lead_id, band, previous_band (None for new leads), direction ('up', 'down', 'new'),
        entered_at.
    """
    now = current[["lead_id", "band", "scored_at"]]
    if previous is None or previous.empty:
        before = pd.DataFrame({"lead_id": pd.Series([], dtype=object), "previous_band": pd.Series([], dtype=object)})
    else:
        before = previous[["lead_id", "band"]].rename(columns={"band": "previous_band"})
    merged = now.merge(before, on="lead_id", how="left")
    order = {name: i for i, name in enumerate(_categories(current["band"]))}
    new_rank = merged["band"].astype(object).map(order)
    old_rank = merged["previous_band"].astype(object).map(order)
    changed = old_rank.isna() | (new_rank != old_rank)
    out = merged.loc[changed.to_numpy()]
    direction = pd.Series("new", index=out.index, dtype=object)
    known = old_rank[changed].notna()
    direction[known & (new_rank[changed] > old_rank[changed])] = "up"
    direction[known & (new_rank[changed] < old_rank[changed])] = "down"
    return pd.DataFrame({
        "lead_id": out["lead_id"].to_numpy(),
        "band": out["band"].astype(object).to_numpy(),
        "previous_band": pd.Series(out["previous_band"].to_numpy(dtype=object), dtype=object).where(
            out["previous_band"].notna().to_numpy(), None),
        "direction": direction.to_numpy(),
        "entered_at": out["scored_at"].to_numpy(),
    }).reset_index(drop=True)


def _categories(band: pd.Series) -> list[str]:
    if isinstance(band.dtype, pd.CategoricalDtype):
        return [str(c) for c in band.cat.categories]
    return sorted(band.astype(str).unique())
