"""Running a sweep (in-process or on Dask) and writing its results, summary, recommendations, plots and report.

    outcome = sweep_to_dir([Path("scenarios/default.toml")], Path("models/candidate.toml"),
                           parse_range("50:90:5"), parse_ints("4,8,12"), replications=200, seed=7,
                           out=Path("sweep-out"), scheduler="local", progress=None)

`scheduler`: None runs every task in this process; "local" starts a dask.distributed LocalCluster (two
worker processes, one thread each); anything else is the address of a running scheduler
("tcp://host:8786"). The same seed gives the same frames on every path (see simulator.sweep).
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import matplotlib.pyplot as plt
import pandas as pd

from rollout.progress import Steps, quiet_steps
from rollout.sweep_plots import breach_figure, expected_value_sweep_figure, volume_figure
from scoring.compiled import compile_model
from scoring.errors import SettingsError
from scoring.model_file import load_model, model_hash
from simulator._sweep_team import team_policy
from simulator.scenario import load_scenario
from simulator.sweep_capacity import capacity_check
from simulator.sweep import (
    Recommendation,
    SweepGrid,
    SweepSettings,
    combined_results,
    recommended_thresholds,
    replication_results,
    sweep_results,
    sweep_summary,
)

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["SweepOutcome", "parse_ints", "parse_range", "run_sweep", "sweep_to_dir"]

_MAX_VALUES = 1_000
_V = TypeVar("_V", int, float)
_NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)"


def parse_range(text: str) -> list[float]:
    """Thresholds from "start:stop:step" (stop included), "a,b,c" or one number: "50:90:5" -> [50, 55, ..., 90].

    Raises:
        SettingsError: not numbers, step <= 0, start > stop, or more than 1,000 values.
    """
    raw = text.strip()
    if ":" in raw:
        parts = [p.strip() for p in raw.split(":")]
        if len(parts) != 3 or not all(re.fullmatch(_NUMBER, p) for p in parts):
            raise SettingsError(f"range {text!r}: write start:stop:step with numbers, e.g. 50:90:5")
        start, stop, step = (float(p) for p in parts)
        if step <= 0 or start > stop:
            raise SettingsError(f"range {text!r}: needs step > 0 and start <= stop, e.g. 50:90:5")
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > _MAX_VALUES:
            raise SettingsError(f"range {text!r} gives {count} values; at most {_MAX_VALUES}, use a larger step")
        return [round(start + i * step, 10) for i in range(count)]
    items = [p.strip() for p in raw.split(",")]
    bad = [p for p in items if not re.fullmatch(_NUMBER, p)]
    if bad or not raw:
        raise SettingsError(f"range {text!r}: {bad or 'empty'} not numbers; write 50:90:5 or 50,60,70")
    return _unique([float(p) for p in items], text)


def parse_ints(text: str) -> list[int]:
    """Whole numbers from "4,8,12" -> [4, 8, 12].

    Raises:
        SettingsError: empty, not whole numbers, or repeated values.
    """
    items = [p.strip() for p in text.split(",")]
    bad = [p for p in items if not re.fullmatch(r"[+-]?\d+", p)]
    if bad:
        raise SettingsError(f"list {text!r}: {bad} are not whole numbers; write e.g. 4,8,12")
    return _unique([int(p) for p in items], text)


def _unique(values: list[_V], text: str) -> list[_V]:
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise SettingsError(f"list {text!r} repeats {repeated}; give each value once")
    return values


@contextmanager
def _dask_client(scheduler: str | Client, timeout_s: float) -> Iterator[Client]:
    """A connected client: the one given, a new LocalCluster's ("local") or one at a scheduler address."""
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler == "local":
        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise SettingsError(f"cannot reach the Dask scheduler at {scheduler!r} ({exc}); start one with "
                            "`dask scheduler`, pass its tcp://host:port, or use --scheduler local") from None
    with client:
        yield client


def run_sweep(grid: SweepGrid, scheduler: str | Client | None = None,
              progress: Callable[[int, int], None] | None = None, connect_timeout_s: float = 10.0,
              ) -> pd.DataFrame:
    """The results frame of `grid` (one row per scenario x threshold x reps x replication).

    Args:
        grid: the sweep.
        scheduler: None (in this process), "local" (a new LocalCluster), a scheduler address, or a
            distributed.Client to reuse.
        progress: called with (tasks done, tasks in all).
        connect_timeout_s: seconds to wait for a scheduler address to answer.

    Raises:
        SettingsError: the scheduler cannot be reached.
    """
    if scheduler is None:
        return sweep_results(grid, progress)
    from distributed import as_completed

    tasks = grid.tasks
    with _dask_client(scheduler, connect_timeout_s) as client:
        shared = client.scatter(grid, broadcast=True, hash=False)
        token = uuid.uuid4().hex[:8]
        futures = [client.submit(replication_results, shared, s, r, key=f"sweep-{token}-{s}-{r}", pure=False)
                   for s, r in tasks]
        for done, _ in enumerate(as_completed(futures), start=1):
            if progress is not None:
                progress(done, len(tasks))
        frames = client.gather(futures)
    return combined_results(frames)


@dataclass(frozen=True)
class SweepOutcome:
    """What `sweep_to_dir` wrote and recommends."""

    results: Path
    """DIR/results.parquet: one row per scenario x threshold x reps x replication."""
    summary: Path
    """DIR/summary.parquet: mean, sd, 95% CI per scenario x threshold x reps x metric."""
    sweep_json: Path
    report: Path
    figures: tuple[Path, ...]
    recommendations: tuple[Recommendation, ...]
    seconds: float
    """Wall time of the simulation (not the writing)."""
    capacity: pd.DataFrame
    """`capacity_check`: the capacity formula and Erlang C against the simulated queue, per sweep cell."""


def sweep_to_dir(scenarios: Sequence[Path], model: Path, thresholds: Sequence[float], reps: Sequence[int],
                 replications: int, seed: int, out: Path, scheduler: str | None, progress: Steps | None,
                 n_leads: int | None = None, settings: SweepSettings | None = None) -> SweepOutcome:
    """Run the sweep and write results.parquet, summary.parquet, sweep.json, plots (SVG + PNG), report.html.

    Args:
        scenarios: scenario TOML files (names must differ).
        model: the model TOML that scores every funnel.
        thresholds: MQL thresholds in points (see parse_range).
        reps: SDR head counts (see parse_ints).
        replications: funnels per scenario.
        seed: the base seed.
        out: output directory (created).
        scheduler: None in-process, "local" for a LocalCluster, or a scheduler address.
        progress: steps to report to (None: silent).
        n_leads: about this many leads per funnel (sets leads_per_day = n_leads / history_days for
            daily arrivals, else n_leads); None keeps each scenario's volume.
        settings: costs, routing, speed to lead and the recommendation's limits (default SweepSettings()).

    Raises:
        ScenarioFileError, ModelFileError, SettingsError: bad files or grid.
    """
    steps = progress or quiet_steps()
    steps.step("loading scenarios and model")
    loaded = tuple(load_scenario(path) for path in scenarios)
    spec = load_model(model)
    overrides: dict[str, Any] = {}
    if n_leads is not None:
        overrides = _volume_overrides(loaded, n_leads)
    grid = SweepGrid(loaded, compile_model(spec), tuple(float(t) for t in thresholds), tuple(int(r) for r in reps),
                     replications, seed, settings or SweepSettings(), overrides)
    advance = steps.counter(f"simulating {len(grid.tasks)} funnels")
    began = time.perf_counter()
    results = run_sweep(grid, scheduler, advance)
    seconds = time.perf_counter() - began
    steps.step("writing results, plots and report")
    summary = sweep_summary(results)
    picks = recommended_thresholds(summary, grid.settings)
    out.mkdir(parents=True, exist_ok=True)
    results.to_parquet(out / "results.parquet", index=False)
    summary.to_parquet(out / "summary.parquet", index=False)
    figures = _write_figures(out, summary, picks, grid.settings)
    capacity = capacity_check(summary, grid.scenarios, grid.settings.breach_column, grid.settings.max_breach_rate)
    payload = _sweep_payload(grid, scenarios, model, model_hash(model.read_text(encoding="utf-8")), picks,
                             seconds, scheduler)
    payload["capacity_check"] = json.loads(capacity.to_json(orient="records"))
    sweep_json = out / "sweep.json"
    sweep_json.write_text(json.dumps(payload, indent=2, allow_nan=False), encoding="utf-8")
    report = out / "report.html"
    report.write_text(_report_html(grid, summary, picks, figures, capacity), encoding="utf-8")
    steps.close()
    return SweepOutcome(out / "results.parquet", out / "summary.parquet", sweep_json, report,
                        tuple(path for pair in figures.values() for path in pair), tuple(picks), seconds, capacity)


def _volume_overrides(scenarios: tuple[Any, ...], n_leads: int) -> dict[str, Any]:
    """FunnelSpec overrides that give about n_leads leads per funnel in every scenario."""
    if n_leads < 1:
        raise SettingsError(f"n_leads must be >= 1, got {n_leads}")
    given = [s.name for s in scenarios if s.arrivals is not None]
    if given:
        raise SettingsError(f"n_leads cannot change scenarios {given}: their arrivals come from a CSV")
    daily = {s.funnel.leads_per_day is not None for s in scenarios}
    if daily == {True} and len({s.funnel.history_days for s in scenarios}) == 1:
        return {"leads_per_day": n_leads / scenarios[0].funnel.history_days}
    if daily == {False}:
        return {"n_leads": n_leads}
    raise SettingsError("n_leads needs scenarios that all draw daily arrivals over the same history_days, "
                        "or none that do; run them separately")


_FIGURES = ("volume_vs_capacity", "expected_value", "sla_breach")


def _write_figures(out: Path, summary: pd.DataFrame, picks: list[Recommendation],
                   settings: SweepSettings) -> dict[str, tuple[Path, Path]]:
    """Each figure as DIR/<name>.svg and DIR/<name>.png."""
    paths = {}
    for name in _FIGURES:
        figure = _figure(name, summary, picks, settings)
        for suffix in ("svg", "png"):
            figure.savefig(out / f"{name}.{suffix}", format=suffix, bbox_inches="tight", dpi=110)
        plt.close(figure)
        paths[name] = (out / f"{name}.svg", out / f"{name}.png")
    return paths


def _figure(name: str, summary: pd.DataFrame, picks: list[Recommendation], settings: SweepSettings) -> Any:
    if name == "volume_vs_capacity":
        return volume_figure(summary)
    if name == "expected_value":
        return expected_value_sweep_figure(summary, picks)
    return breach_figure(summary, settings.breach_column, settings.max_breach_rate)


def _sweep_payload(grid: SweepGrid, scenarios: Sequence[Path], model: Path, digest: str,
                   picks: list[Recommendation], seconds: float, scheduler: str | None) -> dict[str, Any]:
    settings = grid.settings
    return {
        "grid": {
            "scenarios": [{"name": s.name, "path": str(p)} for s, p in zip(grid.scenarios, scenarios)],
            "model": {"path": str(model), "version": grid.model.version, "hash": digest},
            "thresholds": list(grid.thresholds), "reps": list(grid.reps), "replications": grid.replications,
            "seed": grid.seed, "funnel_overrides": dict(grid.funnel_overrides),
        },
        "settings": {
            "costs": dataclasses.asdict(settings.costs), "max_breach_rate": settings.max_breach_rate,
            "sla_clock": settings.sla_clock, "breach_column": settings.breach_column,
            "sla_hours": {s.name: dict(team_policy(s.team, settings.policy).sla_hours) for s in grid.scenarios},
            "tier_roles": {k: list(v) for k, v in settings.policy.tier_roles.items()},
            "tail_days": settings.tail_days,
        },
        "recommendations": [dataclasses.asdict(p) for p in picks],
        "seconds": round(seconds, 3),
        "scheduler": scheduler or "in-process",
    }


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.0f}"


def _capacity_table(capacity: pd.DataFrame) -> str:
    """The capacity check as an HTML table, disagreeing cells marked."""
    def cell(row: Any) -> str:
        mark = "<b>yes</b>" if row.disagrees else "no"
        wait = "unstable" if row.erlang_utilisation >= 1 else f"{row.erlang_wait_probability:.0%}"
        return (f"<tr><td>{html.escape(row.scenario)}</td><td>{row.reps}</td><td>{row.threshold:g}</td>"
                f"<td>{row.mqls_per_sdr_month:.0f} / {row.sdr_capacity_month:.0f}</td>"
                f"<td>{'fine' if row.formula_ok else 'over'}</td><td>{row.erlang_utilisation:.0%}</td><td>{wait}</td>"
                f"<td>{row.sim_breach_rate:.1%}</td><td>{row.sim_mean_queue_hours:.1f}</td>"
                f"<td>{'fine' if row.queue_ok else 'breaches'}</td><td>{mark}</td></tr>")
    head = ("<tr><th>scenario</th><th>SDRs</th><th>threshold</th><th>MQLs a month per SDR / capacity</th>"
            "<th>formula</th><th>Erlang C utilisation</th><th>P(wait)</th><th>simulated SLA breaches</th>"
            "<th>mean queue h</th><th>simulated queue</th><th>disagree</th></tr>")
    return f"<table>{head}{''.join(cell(r) for r in capacity.itertuples())}</table>"


def _report_html(grid: SweepGrid, summary: pd.DataFrame, picks: list[Recommendation],
                 figures: dict[str, tuple[Path, Path]], capacity: pd.DataFrame) -> str:
    """One self-contained page: grid, recommendations with reasons, the three figures inline, the capacity check."""
    settings = grid.settings
    css = ("body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#1f2328}"
           "table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #d0d7de;padding:.25rem .5rem}"
           "th{background:#f6f8fa}.note{color:#59636e}")
    rows = "".join(
        f"<tr><td>{html.escape(p.scenario)}</td><td>{p.reps}</td>"
        f"<td>{'none' if p.threshold is None else f'{p.threshold:g}'}</td><td>{_money(p.expected_value)}</td>"
        f"<td>{p.unconstrained_threshold:g}</td><td>{_money(p.unconstrained_expected_value)}</td>"
        f"<td>{html.escape(p.reason)}</td></tr>" for p in picks)
    names = ", ".join(s.name for s in grid.scenarios)
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>scorebench sweep</title><style>{css}</style>"
        f"</head><body><h1>Threshold x reps sweep</h1><p class='note'>Scenarios {html.escape(names)}; model "
        f"{html.escape(grid.model.version)}; thresholds {', '.join(f'{t:g}' for t in grid.thresholds)}; SDRs "
        f"{', '.join(map(str, grid.reps))}; {grid.replications} replications, seed {grid.seed}. EV = wins worked x "
        f"{_money(settings.costs.deal_value)} - leads worked without a win x {_money(settings.costs.fp_cost)} - "
        f"leads not worked that would have won x {_money(settings.costs.fn_cost)}; a lead's chance to win is its "
        "chance when it became an MQL, raised or lowered by how soon a rep touched it. EV is negative while many "
        "would-be wins go unworked (nurture included): compare thresholds by their differences. Constraint: mean "
        f"SLA breach rate ({settings.sla_clock} clock) &le; {settings.max_breach_rate:.0%} and MQLs per working day "
        "&le; usable capacity (SDR first touches a day + AE touches up to the hot MQLs a day).</p>",
        "<h2>Recommended thresholds</h2><table><tr><th>scenario</th><th>SDRs</th><th>capacity-aware threshold</th>"
        f"<th>mean EV</th><th>EV-best threshold</th><th>mean EV</th><th>why</th></tr>{rows}</table>",
    ]
    titles = {"volume_vs_capacity": "Volume vs capacity", "expected_value": "Expected value by threshold",
              "sla_breach": "SLA breach rate by head count"}
    for name, (svg, _) in figures.items():
        text = svg.read_text(encoding="utf-8")
        parts.append(f"<h2>{titles[name]}</h2>" + text[text.index("<svg"):])
    disagree = int(capacity["disagrees"].sum())
    parts.append(
        "<h2>Capacity formula vs simulated queue</h2><p class='note'>The DOMAIN formula (MQLs a month x capacity "
        "factor / SDRs, against an SDR's month of first touches) and Erlang C (M/M/c on working hours, SDRs only) "
        f"judge a head count from averages; the simulated queue sees nights, weekends, peaks and tiers. They "
        f"disagree in {disagree} of {len(capacity)} cells.</p>" + _capacity_table(capacity))
    parts.append("</body></html>")
    return "\n".join(parts)
