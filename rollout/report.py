"""The evaluation report: one self-contained HTML page (inline SVG plots) and summary.json."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from rollout.plots import band_lift_figure, expected_value_figure, figure_svg, score_distribution_figure

__all__ = ["report_html", "write_report"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;color:#1f2328}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}
td,th{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:right}th{background:#f6f8fa}
td:first-child,th:first-child{text-align:left}.ok{color:#1a7f37}.bad{color:#cf222e}.note{color:#59636e}
.figs{display:flex;flex-wrap:wrap;gap:1rem}
"""


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _verdict(passed: bool) -> str:
    return '<span class="ok">pass</span>' if passed else '<span class="bad">fail</span>'


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _band_table(summary: dict[str, Any]) -> str:
    stages = ("accepted", "meeting", "opportunity", "won")
    by_band: dict[str, dict[str, dict[str, Any]]] = {}
    for row in summary["band_conversion"]:
        by_band.setdefault(row["band"], {})[row["stage"]] = row
    rows = []
    for band, cells in by_band.items():
        leads = next(iter(cells.values()))["leads"]
        rates = [f"{_pct(cells[s]['rate'])} <span class='note'>({_pct(cells[s]['ci_low'])}-"
                 f"{_pct(cells[s]['ci_high'])})</span>" for s in stages]
        rows.append([html.escape(band), f"{leads:,}", _pct(leads / max(summary["leads"], 1)), *rates])
    return _table(["band", "leads", "share", *stages], rows)


def _checks_table(summaries: dict[str, dict[str, Any]]) -> str:
    rows = []
    for name, s in summaries.items():
        tier, gap, mql = s["tier_ratio"], s["gap_test"], s["at_mql_threshold"]
        ratio = tier["ratio"]
        rows.append([
            html.escape(name),
            f"{_verdict(s['lift_monotone'])}",
            f"{_num(ratio, 2)}x {_verdict(ratio is not None and ratio >= 3)}",
            f"{_num(gap['gap'])} pts {_verdict(bool(gap['passed']))}",
            f"{_num(mql['threshold'], 0)}: {_pct(mql['selected_share'])} selected, precision {_pct(mql['precision'])}, "
            f"recall {_pct(mql['recall'])}, lift {_num(mql['lift'], 2)}",
            f"{_num(s['expected_value']['best_threshold'], 0)} (${_num(s['expected_value']['best_value'], 0)})",
        ])
    header = ["model", f"{next(iter(summaries.values()))['stage']} rate rises band to band",
              "top / low tier ratio (3-5x)", "gap test won - lost (>= 20)", "at the model's MQL threshold",
              "EV-best threshold"]
    return _table(header, rows)


def report_html(summaries: dict[str, dict[str, Any]], comparison: dict[str, Any] | None = None,
                title: str = "scorebench evaluation", notes: list[str] | None = None) -> str:
    """A self-contained HTML page comparing models: checks, band tables, lift, EV and distribution plots."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    for note in notes or []:
        parts.append(f"<p class='note'>{html.escape(note)}</p>")
    parts.append("<h2>Checks</h2>" + _checks_table(summaries))
    parts.append("<h2>Band lift curves (Wilson 95% intervals)</h2>" + figure_svg(band_lift_figure(summaries)))
    parts.append("<h2>Threshold and expected value; score distributions</h2><div class='figs'>"
                 + figure_svg(expected_value_figure(summaries)) + figure_svg(score_distribution_figure(summaries))
                 + "</div>")
    if comparison:
        parts.append("<h2>Challenger against champion</h2>" + _table(
            ["leads compared", "PSI of totals", "leads changing band", "mean change (points)"],
            [[f"{comparison['leads_compared']:,}", _num(comparison["psi_total"], 3),
              _pct(comparison["share_changing_band"]), _num(comparison["mean_total_change"])]]))
    for name, s in summaries.items():
        parts.append(f"<h2>{html.escape(name)} (version {html.escape(s['model']['version'])}): conversion by band</h2>")
        parts.append(_band_table(s))
        quality = [[html.escape(r["field"]), html.escape(r["rules"]), f"{r['missing']:,}", _pct(r["share"])]
                   for r in s["data_quality"]]
        if quality:
            parts.append("<p>Data quality of the fields this model reads:</p>"
                         + _table(["field", "rules", "leads missing", "share"], quality))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(out_dir: Path, summaries: dict[str, dict[str, Any]], comparison: dict[str, Any] | None = None,
                 extra: dict[str, Any] | None = None, title: str = "scorebench evaluation",
                 notes: list[str] | None = None) -> tuple[Path, Path]:
    """Write DIR/report.html and DIR/summary.json (the same numbers); returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / "report.html"
    summary = out_dir / "summary.json"
    report.write_text(report_html(summaries, comparison, title, notes), encoding="utf-8")
    payload = {"models": summaries, "comparison": comparison, **(extra or {})}
    summary.write_text(json.dumps(payload, indent=2, allow_nan=False), encoding="utf-8")
    return report, summary
