"""Starting a shadow run: both model files stored by hash, the window, the clock and the gate settings; and what
the later steps take from the start (the clocks, the challenger's shadow fields, the run's compiled models)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from connectors.registry import open_connector, require_crm
from rollout.shadow_gates import load_settings
from rollout.shadow_schema import RunRecord
from rollout.shadow_store import ShadowStore, utc_now_text
from scoring.compiled import CompiledModel, compile_model
from scoring.errors import SettingsError
from scoring.fields import ScoreField
from scoring.inputs import as_utc
from scoring.model_file import model_hash, parse_model
from scoring.shadow import MODELS

__all__ = [
    "CLOCKS",
    "SHADOW_PREFIX",
    "SHADOW_COLUMNS",
    "Clock",
    "wall_now",
    "shadow_fields",
    "start_run",
    "run_models",
]

CLOCKS: tuple[str, ...] = ("wall", "simulated")
SHADOW_PREFIX = "shadow_"
"""Shadow fields are the challenger's score-field names with this prefix (same rule for every CRM)."""
SHADOW_COLUMNS: tuple[str, ...] = ("total", "band", "tier", "model_version")
"""Score columns a snapshot mirrors into shadow fields (when the challenger names a field for them); not
scored_at, which would rewrite every lead every day."""
_DAY = pd.Timedelta(days=1)

Clock = Callable[[], pd.Timestamp]


def wall_now() -> pd.Timestamp:
    """Now (UTC): the wall clock a run reads unless a test injects its own."""
    return pd.Timestamp(datetime.now(UTC))


def _file_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read the {what} model file {path}: {exc.strerror}") from None


def shadow_fields(model: CompiledModel, crm: str) -> tuple[ScoreField, ...]:
    """The challenger's shadow fields in `crm`: its total, band, tier and version fields (SHADOW_COLUMNS), renamed.

    Raises:
        SettingsError: the model names no score fields for `crm`.
    """
    live = model.score_fields(crm)
    picked = tuple(ScoreField(f.column, SHADOW_PREFIX + f.name, f.kind, f"shadow {f.label or f.name}")
                   for f in live if f.column in SHADOW_COLUMNS)
    if not picked:
        raise SettingsError(f"model {model.name} names no [fields.{crm}] total/band/tier fields, so it has no "
                            f"shadow fields in {crm}; add them to the model file or start without --shadow-fields")
    return picked


# ---- start -------------------------------------------------------------------------------------------

def _new_run_id(now: pd.Timestamp) -> str:
    return f"s{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


def start_run(store_path: Path, crm: str, champion: Path, challenger: Path, days: int = 14, db: Path | None = None,
              clock: str = "wall", start: str | None = None, write_shadow_fields: bool = False,
              settings: Path | None = None, run_id: str | None = None, now: Clock | None = None) -> RunRecord:
    """Create a shadow run: both model files stored by hash, the window, the clock and the gate settings.

    Args:
        store_path: the state store (created when missing).
        crm: local, salesforce or hubspot.
        champion, challenger: model files (TOML); the champion routes, the challenger only scores.
        days: window length in days (DOMAIN: 14).
        db: the local CRM file (crm "local" only).
        clock: "wall" (one snapshot per complete UTC day) or "simulated" (a day per snapshot).
        start: first day of the window (UTC date); default today for "wall", and for "simulated" the
            `days` days that end with the CRM's latest activity.
        write_shadow_fields: also write the challenger's scores to shadow fields at each snapshot.
        settings: gates / capacity / routing TOML (rollout.shadow_gates); default the DOMAIN gates.
        run_id: id to use; default s<UTC time>-<4 hex>.
        now: the wall clock (injectable for tests).

    Returns:
        The stored RunRecord.
    """
    require_crm(crm)
    if clock not in CLOCKS:
        raise SettingsError(f"--clock {clock!r}: choose one of {', '.join(CLOCKS)}")
    if days < 1:
        raise SettingsError(f"--days must be at least 1, got {days}")
    if crm == "local" and (db is None or not Path(db).is_file()):
        raise SettingsError(f"local CRM {db} does not exist; run `scorebench demo` or pass --db PATH")
    texts = {"champion": _file_text(champion, "champion"), "challenger": _file_text(challenger, "challenger")}
    specs = {m: parse_model(t, str(p)) for (m, t), p in zip(texts.items(), (champion, challenger), strict=True)}
    compiled = {m: compile_model(s) for m, s in specs.items()}
    if write_shadow_fields:
        shadow_fields(compiled["challenger"], crm)
    chosen = load_settings(settings)
    clock_now = (now or wall_now)()
    if start is not None:
        try:
            first = as_utc(start).tz_convert(None).normalize()
        except ValueError as exc:
            raise SettingsError(f"--start {start!r} is not a date ({exc}); use e.g. 2026-10-18") from None
    elif clock == "wall":
        first = clock_now.tz_convert(None).normalize() if clock_now.tzinfo else clock_now.normalize()
    else:
        first = _latest_activity_day(crm, Path(db) if db else Path("unused")) - (days - 1) * _DAY
    categories = {m: {"band": list(c.band_names), "tier": list(c.tier_names)} for m, c in compiled.items()}
    run = RunRecord(
        run_id=run_id or _new_run_id(clock_now), crm=crm, db=str(Path(db).resolve()) if db else None,
        champion_hash=model_hash(texts["champion"]), champion_path=str(champion.resolve()),
        challenger_hash=model_hash(texts["challenger"]), challenger_path=str(challenger.resolve()),
        days=days, clock=clock, start_day=first, shadow_fields=write_shadow_fields,
        settings=chosen.model_dump_json(), categories=categories, created_at=utc_now_text())
    with ShadowStore(store_path, create=True) as store:
        for m in MODELS:
            store.add_model(getattr(run, f"{m}_hash"), compiled[m].name, compiled[m].version, texts[m])
        store.add_run(run)
    return run


def _latest_activity_day(crm: str, db: Path) -> pd.Timestamp:
    """The UTC day holding the CRM's newest lead or event (the simulated clock's last day by default)."""
    connector = open_connector(crm, db)
    try:
        leads, events = connector.read_leads(), connector.read_events()
    finally:
        connector.close()
    stamps = [s.max() for s in (leads["created_at"], events["at"]) if len(s)]
    if not stamps:
        raise SettingsError(f"the {crm} CRM holds no leads or events; give --start for a simulated clock")
    latest = max(stamps)
    return (latest - pd.Timedelta(1, "ns")).tz_convert(None).normalize()


def run_models(store: ShadowStore, run: RunRecord) -> dict[str, CompiledModel]:
    """Both models of a run, compiled from the model files stored (by hash) when it started."""
    return {m: compile_model(parse_model(store.model_text(getattr(run, f"{m}_hash")), f"{m} {run.run_id}"))
            for m in MODELS}
