"""The shadow report's numbers (scoring.shadow_* over a run's snapshots), its JSON with a hash, and its HTML page."""

from __future__ import annotations

import hashlib
import html
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from rollout.plots import figure_svg
from rollout.report import _CSS, _table
from rollout.shadow_gates import GateEvidence, GateTable, ShadowSettings, evaluate_gates, threshold_text
from rollout.shadow_schema import DayRecord, RunRecord
from scoring._json import json_ready, json_records
from scoring.compiled import CompiledModel
from scoring.conversion import gap_test
from scoring.shadow import MODELS
from scoring.shadow_agreement import band_migration, score_psi_by_day, tier_agreement
from scoring.shadow_load import tier_load
from scoring.shadow_outcomes import early_outcomes_by_band, top_band_test

@dataclass(frozen=True, eq=False)
class BuiltReport:
    """The report's JSON text (with its hash inside), the hash, the HTML and the gate table."""

    json: str
    report_hash: str
    html: str
    gates: GateTable


def _evidence(run: RunRecord, snapshots: pd.DataFrame, baseline: pd.DataFrame, outcomes: pd.DataFrame,
              quality: pd.DataFrame, days: Sequence[DayRecord], settings: ShadowSettings
              ) -> tuple[GateEvidence, dict[str, Any]]:
    """The gate evidence and the comparison tables, from the run's snapshots and the outcomes seen."""
    routing = settings.routing()
    load = tier_load(snapshots, settings.capacity_per_day(), routing, baseline=baseline)
    cut = pd.Timestamp(snapshots["as_of"].max())
    seen = outcomes.loc[(pd.to_datetime(outcomes["at"], utc=True) <= cut).to_numpy()]
    early_band = {s: early_outcomes_by_band(snapshots, seen, stage=s) for s in settings.stages()}
    early_tier = {s: early_outcomes_by_band(snapshots, seen, stage=s, level="tier") for s in settings.stages()}
    last = snapshots[snapshots["day"] == snapshots["day"].max()]
    n = next((g.n for g in settings.gates if g.kind == "gap"), 50)
    gaps = {m: gap_test(pd.DataFrame({"lead_id": last["lead_id"], "total": last[f"{m}_total"]}), seen, n=n)
            for m in MODELS}
    day_of = {d.day_index: d.day for d in days}
    quality = quality[quality["day_index"].isin(list(day_of))].assign(day=lambda q: q["day_index"].map(day_of))
    psi = score_psi_by_day(snapshots)
    evidence = GateEvidence(load=load, early_band=early_band, early_tier=early_tier, gap=gaps,
                            quality=quality.loc[:, ["day", "model", "field", "missing", "share"]], psi=psi)
    tables = {"agreement": tier_agreement(snapshots, routing), "load": load, "psi": psi,
              "migration": band_migration(snapshots), "tier_migration": band_migration(snapshots, level="tier"),
              "top_band": {s: top_band_test(e) for s, e in early_band.items()}, "outcomes_seen": len(seen)}
    return evidence, tables


def shadow_report(run: RunRecord, models: dict[str, CompiledModel], snapshots: pd.DataFrame,
                  baseline: pd.DataFrame, days: Sequence[DayRecord], outcomes: pd.DataFrame,
                  quality: pd.DataFrame, entries: pd.DataFrame, settings: ShadowSettings) -> BuiltReport:
    """The report of a run: gates and comparison as JSON (hashed, deterministic) and as an HTML page."""
    evidence, t = _evidence(run, snapshots, baseline, outcomes, quality, days, settings)
    gates = evaluate_gates(settings, evidence)
    daily = pd.DataFrame([{k: v for k, v in asdict(d).items() if k not in ("shadow_push_id",)} for d in days])
    last_quality = evidence.quality[evidence.quality["day"] == evidence.quality["day"].max()]
    content: dict[str, Any] = {
        "run": {"run_id": run.run_id, "crm": run.crm, "clock": run.clock, "days": run.days,
                "start_day": str(run.start_day.date()), "end_day": str(run.end_day.date()),
                "days_recorded": len(days), "complete": len(days) >= run.days,
                **{m: {"hash": getattr(run, f"{m}_hash"), "path": getattr(run, f"{m}_path"),
                       "name": models[m].name, "version": models[m].version} for m in MODELS}},
        "verdict": gates.verdict, "reasons": list(gates.reasons), "gates": gates.as_records(),
        "days": json_records(daily),
        "agreement": json_records(t["agreement"]),
        "band_migration": {"day": str(t["migration"].day.date()),
                           "counts": json_ready(t["migration"].counts.to_dict("index")),
                           "row_shares": json_ready(t["migration"].row_shares.to_dict("index"))},
        "tier_migration": {"day": str(t["tier_migration"].day.date()),
                           "counts": json_ready(t["tier_migration"].counts.to_dict("index"))},
        "load": json_records(evidence.load),
        "capacity": {m: c.model_dump() for m, c in settings.capacity.items()},
        "early_outcomes": {s: json_records(f) for s, f in evidence.early_band.items()},
        "early_outcomes_by_tier": {s: json_records(f) for s, f in evidence.early_tier.items()},
        "top_band_test": {s: json_ready(asdict(v)) for s, v in t["top_band"].items()},
        "gap_test": {m: json_ready(asdict(g)) for m, g in evidence.gap.items()},
        "outcomes_seen": int(t["outcomes_seen"]),
        "psi": json_records(evidence.psi),
        "data_quality": json_records(last_quality),
        "band_entries": json_records(entries),
        "settings": json.loads(settings.model_dump_json()),
    }
    content = json_ready(content)  # one pass: gate values and settings may hold inf (e.g. a ratio over a zero rate)
    text = json.dumps(content, sort_keys=True, allow_nan=False)
    report_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    document = json.dumps({"report_hash": report_hash, **content}, indent=2, sort_keys=True, allow_nan=False)
    return BuiltReport(document, report_hash, _page(content, gates, evidence, report_hash), gates)


def _pct(v: Any) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}%"


def _n(v: Any, digits: int = 2) -> str:
    return "n/a" if v is None or (isinstance(v, float) and (math.isnan(v))) else f"{v:,.{digits}f}"


def _gate_rows(gates: GateTable) -> list[list[str]]:
    rows = []
    for g in gates.as_records():
        css = {"pass": "ok", "fail": "bad"}.get(str(g["status"]), "note")
        rows.append([html.escape(str(g["gate"])), _n(g["value"]), threshold_text(str(g["kind"]), float(g["threshold"])),
                     f'<span class="{css}">{html.escape(str(g["status"]))}</span>',
                     "yes" if g["required"] else "no", html.escape(str(g["reason"]))])
    return rows


def _load_figure(load: pd.DataFrame) -> str:
    import matplotlib.pyplot as plt

    motions = [k for k in ("hot", "warm") if k in set(load["key"])]
    figure, axes = plt.subplots(1, len(motions), figsize=(6.5 * len(motions), 3.2), squeeze=False)
    for ax, motion in zip(axes[0], motions, strict=True):
        for model, colour in zip(MODELS, ("#1f6feb", "#d1242f"), strict=True):
            rows = load[(load["model"] == model) & (load["key"] == motion)]
            ax.plot(pd.to_datetime(rows["day"]), rows["new_work"], marker="o", color=colour, label=model)
        rows = load[load["key"] == motion]
        ax.plot(pd.to_datetime(rows["day"]), rows["capacity"], color="#59636e", linestyle="--", label="capacity")
        ax.set_title(f"new {motion} leads per day")
        ax.grid(alpha=0.3)
        ax.tick_params(axis="x", rotation=45)
    axes[0][-1].legend(loc="upper right")
    figure.tight_layout()
    return figure_svg(figure)


def _page(c: dict[str, Any], gates: GateTable, ev: GateEvidence, report_hash: str) -> str:
    run = c["run"]
    title = f"shadow run {run['run_id']}: {run['challenger']['name']} against {run['champion']['name']}"
    verdict_css = "ok" if gates.verdict == "GO" else "bad"
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p>{run['crm']} CRM, {run['clock']} clock, days {run['start_day']} to {run['end_day']}: "
             f"{run['days_recorded']} of {run['days']} recorded. Champion {html.escape(run['champion']['version'])} "
             f"(<code>{run['champion']['hash']}</code>), challenger {html.escape(run['challenger']['version'])} "
             f"(<code>{run['challenger']['hash']}</code>). Report hash <code>{report_hash}</code>.</p>"]
    if not run["complete"]:
        parts.append("<p class='bad'>The window is not complete: this is an interim report.</p>")
    parts.append(f"<h2>Go / no-go: <span class='{verdict_css}'>{gates.verdict}</span></h2>")
    parts.append(_table(["gate", "value", "threshold", "status", "required", "reason"], _gate_rows(gates)))
    if gates.reasons:
        parts.append("<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in gates.reasons) + "</ul>")
    overall = [r for r in c["agreement"] if r["day"] is None]
    parts.append("<h2>Agreement by champion tier (all days)</h2>" + _table(
        ["tier", "lead-days", "same routing decision", "same motion", "champion routed", "challenger routed"],
        [[html.escape(str(r["tier"])), f"{r['leads']:,}", _pct(r["agreement"]), _pct(r["same_motion"]),
          f"{r['champion_routed']:,}", f"{r['challenger_routed']:,}"] for r in overall]))
    mig = c["band_migration"]
    columns = list(next(iter(mig["counts"].values())).keys()) if mig["counts"] else []
    parts.append(f"<h2>Band migration on {mig['day']} (champion rows, challenger columns)</h2>" + _table(
        ["champion \\ challenger", *columns],
        [[html.escape(b), *(f"{row[k]:,}" for k in columns)] for b, row in mig["counts"].items()]))
    parts.append("<h2>Volume per day against rep capacity</h2><p class='note'>rep_load = new work x factor / reps "
                 "(DOMAIN section 6); capacity in leads per day.</p>")
    parts.append(f"<div class='figs'>{_load_figure(ev.load)}</div>")
    parts.append(_table(["day", "model", "motion", "entering", "new work", "per rep", "capacity", "utilisation",
                         "backlog"],
                        [[str(r["day"])[:10], r["model"], r["key"], f"{r['entering']:,}", f"{r['new_work']:,}",
                          _n(r["leads_per_rep"], 1), _n(r["capacity"], 1), _pct(r["utilisation"]),
                          _n(r["backlog"], 0)] for r in c["load"] if r["key"] != "nurture"]))
    parts.append("<h2>Borderline and MQL counts per day</h2>" + _table(
        ["day", "leads", "champion MQL", "challenger MQL", "champion borderline", "challenger borderline",
         "band entries", "back-filled"],
        [[str(d["day"])[:10], f"{d['leads']:,}", f"{d['champion_mql']:,}", f"{d['challenger_mql']:,}",
          f"{d['champion_borderline']:,}", f"{d['challenger_borderline']:,}", f"{d['band_entries']:,}",
          "yes" if d["backfilled"] else ""] for d in c["days"]]))
    parts.append(f"<h2>Outcomes seen so far ({c['outcomes_seen']:,})</h2>")
    for stage, rows in c["early_outcomes"].items():
        test = c["top_band_test"][stage]
        small = " <span class='bad'>Sample too small to decide.</span>" if test["too_small"] else ""
        parts.append(f"<h3>reached {stage}, by the band a lead was in</h3>" + _table(
            ["model", "band", "leads", "converted", "rate", "95% interval"],
            [[r["model"], html.escape(str(r["band"])), f"{r['leads']:,}", f"{r['converted']:,}", _pct(r["rate"]),
              f"{_pct(r['ci_low'])}-{_pct(r['ci_high'])}"] for r in rows]))
        parts.append(f"<p>Top band: {html.escape(test['label_b'])} {_pct(test['rate_b'])} vs "
                     f"{html.escape(test['label_a'])} {_pct(test['rate_a'])}; difference {_pct(test['difference'])}, "
                     f"z = {_n(test['z'])}, p = {_n(test['p_value'], 4)} (two-proportion test).{small}</p>")
    gap = c["gap_test"]
    parts.append("<h3>Won / lost gap</h3>" + _table(
        ["model", "won", "mean won", "lost", "mean lost", "gap (points)"],
        [[m, str(g["n_won"]), _n(g["mean_won"], 1), str(g["n_lost"]), _n(g["mean_lost"], 1), _n(g["gap"], 1)]
         for m, g in gap.items()]))
    parts.append("<h2>PSI day over day</h2>" + _table(
        ["day", "model", "leads", "PSI (totals)", "PSI (bands)"],
        [[str(r["day"])[:10], r["model"], f"{r['leads']:,}", _n(r["psi"], 4), _n(r["band_psi"], 4)]
         for r in c["psi"]]))
    parts.append("<h2>Data quality on the last day</h2>" + _table(
        ["model", "field", "leads missing", "share"],
        [[r["model"], html.escape(str(r["field"])), f"{r['missing']:,}", _pct(r["share"])]
         for r in c["data_quality"]]))
    parts.append("</body></html>")
    return "\n".join(parts)
