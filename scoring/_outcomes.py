"""Private helpers shared by the evaluation modules: input checks, funnel reach, band codes.

Everything here is vectorised: outcomes are reduced to one funnel rank per lead with a groupby,
then aligned to the scored leads with a reindex; no per-lead Python loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from scoring.columns import FUNNEL_STAGES, STAGES
from scoring.errors import InputDataError
from scoring.inputs import require_columns

__all__ = [
    "require_columns",
    "check_funnel_stages",
    "check_outcome_stages",
    "funnel_rank",
    "reached_matrix",
    "scored_lead_ids",
    "score_totals",
    "category_codes",
]

_NOT_REACHED = -1
_SHOWN = 5  # how many offending values an error message lists


def _sample(values: Iterable[object]) -> str:
    """A short, comma-separated sample of offending values for an error message."""
    listed = [str(v) for v in list(values)[:_SHOWN]]
    return ", ".join(listed)


def check_funnel_stages(stages: str | Sequence[str]) -> tuple[str, ...]:
    """Return the requested stages as a tuple; raise InputDataError for a stage outside the funnel."""
    wanted = (stages,) if isinstance(stages, str) else tuple(stages)
    bad = [s for s in wanted if s not in FUNNEL_STAGES]
    if bad:
        raise InputDataError(
            "stages",
            f"not funnel stage(s): {', '.join(map(repr, bad))}",
            f"use one of {', '.join(FUNNEL_STAGES)}",
        )
    if not wanted:
        raise InputDataError("stages", "no stage given", f"use one or more of {', '.join(FUNNEL_STAGES)}")
    return wanted


def check_outcome_stages(outcomes: pd.DataFrame) -> None:
    """Raise InputDataError when outcomes lack lead_id/stage or hold a stage outside STAGES."""
    require_columns(outcomes, ("lead_id", "stage"), "outcomes")
    stage = outcomes["stage"]
    unknown = ~stage.isin(STAGES)
    if unknown.any():
        raise InputDataError(
            "outcomes",
            f"{int(unknown.sum())} row(s) with unknown stage, e.g. {_sample(stage[unknown].unique())}",
            f"stage must be one of {', '.join(STAGES)}",
        )


def funnel_rank(outcomes: pd.DataFrame) -> pd.Series:
    """Deepest funnel stage each lead reached, as an index into FUNNEL_STAGES (-1: none).

    Columns in: lead_id, stage. Returns a Series indexed by unique lead_id; lost/rejected rows rank -1.
    """
    check_outcome_stages(outcomes)
    stage = outcomes["stage"]
    rank = pd.Index(FUNNEL_STAGES).get_indexer(pd.Index(stage.to_numpy(dtype=object)))
    frame = pd.DataFrame({"lead_id": outcomes["lead_id"].to_numpy(dtype=object), "rank": rank})
    return frame.groupby("lead_id", sort=False)["rank"].max()


def reached_matrix(
    outcomes: pd.DataFrame,
    lead_ids: Sequence[object] | pd.Series | npt.NDArray[np.object_],
    stages: Sequence[str],
) -> npt.NDArray[np.bool_]:
    """Whether each lead reached each stage, of shape (len(lead_ids), len(stages)).

    A lead reached stage S if it has an outcome at S or at a later funnel stage; leads without outcomes
    reached nothing.
    """
    wanted = check_funnel_stages(stages)
    rank = funnel_rank(outcomes)
    ids = pd.Index(np.asarray(lead_ids, dtype=object))
    deepest = rank.reindex(ids).fillna(_NOT_REACHED).to_numpy(dtype=np.int64)
    needed = np.array([FUNNEL_STAGES.index(s) for s in wanted], dtype=np.int64)
    return np.asarray(deepest[:, None] >= needed[None, :], dtype=np.bool_)


def scored_lead_ids(scores: pd.DataFrame) -> npt.NDArray[np.object_]:
    """The scores' lead_id column as an object array; raise InputDataError on missing or repeated ids."""
    require_columns(scores, ("lead_id",), "scores")
    ids = scores["lead_id"]
    if ids.isna().any():
        raise InputDataError("scores", f"{int(ids.isna().sum())} row(s) without lead_id", "drop or fix them")
    repeated = ids[ids.duplicated()]
    if len(repeated):
        raise InputDataError(
            "scores",
            f"{len(repeated)} repeated lead_id(s), e.g. {_sample(repeated.unique())}",
            "keep one score row per lead (the latest)",
        )
    return np.asarray(ids.to_numpy(dtype=object))


def score_totals(scores: pd.DataFrame) -> npt.NDArray[np.float64]:
    """The scores' total column (points, 0-100) as floats; raise InputDataError on missing totals."""
    require_columns(scores, ("lead_id", "total"), "scores")
    total = pd.to_numeric(scores["total"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(total)
    if missing.any():
        raise InputDataError(
            "scores",
            f"{int(missing.sum())} lead(s) without a numeric total, e.g. "
            f"{_sample(scores['lead_id'].to_numpy(dtype=object)[missing])}",
            "score every lead before evaluating",
        )
    return total


def category_codes(
    scores: pd.DataFrame, column: str
) -> tuple[npt.NDArray[np.int64], pd.CategoricalDtype]:
    """Codes (0..k-1, low to high) and dtype of a categorical score column such as band or tier.

    Raises InputDataError when the column is missing, not categorical, or has missing values.
    """
    require_columns(scores, ("lead_id", column), "scores")
    values = scores[column]
    if not isinstance(values.dtype, pd.CategoricalDtype):
        raise InputDataError(
            "scores",
            f"column {column!r} has dtype {values.dtype}, not an ordered categorical",
            "make it pd.Categorical(values, categories=[low, ..., high], ordered=True)",
        )
    codes = np.asarray(values.cat.codes.to_numpy(), dtype=np.int64)
    empty = codes < 0
    if empty.any():
        raise InputDataError(
            "scores",
            f"{int(empty.sum())} lead(s) without a {column}, e.g. "
            f"{_sample(scores['lead_id'].to_numpy(dtype=object)[empty])}",
            f"every lead belongs to exactly one {column}; check the banding covers all totals",
        )
    return codes, values.dtype
