"""CSV files of canonical frames on disk: a funnel directory (leads, accounts, events, outcomes, funnel.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from scoring.errors import InputDataError

__all__ = ["FUNNEL_FILES", "write_funnel_files", "read_frame", "read_funnel_meta"]

FUNNEL_FILES = ("leads", "accounts", "events", "outcomes")
_DTYPES: dict[str, dict[str, Any]] = {
    "leads": {"lead_id": str, "account_id": str, "owner_id": str, "campaign": str},
    "accounts": {"account_id": str},
    "events": {"lead_id": "category", "type": "category"},
    "outcomes": {"lead_id": str, "stage": str},
}
_META = "funnel.json"


def write_funnel_files(out_dir: Path, frames: dict[str, pd.DataFrame], meta: dict[str, Any]) -> list[Path]:
    """Write each frame as DIR/<name>.csv (ISO-8601 UTC times) and DIR/funnel.json; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in frames.items():
        path = out_dir / f"{name}.csv"
        frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
        paths.append(path)
    meta_path = out_dir / _META
    meta_path.write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    return [*paths, meta_path]


def read_frame(path: Path, kind: str) -> pd.DataFrame:
    """Read one canonical CSV (`kind` in leads, accounts, events, outcomes); timestamps stay text for checks."""
    if not path.is_file():
        raise InputDataError(str(path), "file not found", f"expected a {kind} CSV; `scorebench simulate` writes one")
    try:
        return pd.read_csv(path, dtype=_DTYPES.get(kind, {}), keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputDataError(str(path), f"not a readable CSV: {exc}", "export it as UTF-8 CSV with a header row") from None


def read_funnel_meta(data_dir: Path) -> dict[str, Any]:
    """The funnel.json next to the CSVs (as_of, seed, sizes), or {} when there is none."""
    path = data_dir / _META
    if not path.is_file():
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputDataError(str(path), f"not valid JSON: {exc}") from None
    return loaded if isinstance(loaded, dict) else {}
