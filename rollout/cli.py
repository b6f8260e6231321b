"""The `scorebench` command line: each command parses, calls one function, renders (STYLE rule 16)."""

from __future__ import annotations

from numbers import Integral
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rollout.progress import progress_bar
from scoring.errors import ScorebenchError, SettingsError

__all__ = ["app", "main"]

app = typer.Typer(
    name="scorebench",
    help="Lead scoring for RevOps: score, evaluate, simulate, push scores to a CRM and undo.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)

DEFAULT_DB = Path("scorebench.sqlite")

from rollout.shadow_cli import approve, shadow_app  # noqa: E402  (sub-commands live with the shadow code)

from rollout.calibrate_cli import calibrate as calibrate_command  # noqa: E402

app.add_typer(shadow_app, name="shadow")
app.command("approve")(approve)
app.command("calibrate")(calibrate_command)


def _fail(exc: ScorebenchError) -> None:
    errors.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Directory for the local CRM, report.html and summary.json.")] = Path("demo-out"),
    leads: Annotated[int, typer.Option(min=200, help="Synthetic leads to generate.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic funnel.")] = 7,
    shadow_leads: Annotated[int, typer.Option(min=0, help="Leads in the 14-day shadow cycle (0 skips it).")] = 5_000,
) -> None:
    """Generate a funnel, load it into a local CRM, score it with both shipped models, push the candidate's
    scores, and write the comparison report; then run a simulated 14-day shadow cycle (snapshots, report
    with go/no-go gates, approval, push, undo)."""
    from rollout.demo import run_demo
    from rollout.shadow_cli import print_gate_table
    from rollout.shadow_demo import run_shadow_demo

    try:
        with progress_bar(console) as progress:
            result = run_demo(out, n_leads=leads, seed=seed, progress=progress)
        if shadow_leads:
            with progress_bar(console) as progress:
                shadow = run_shadow_demo(out / "shadow", n_leads=shadow_leads, seed=seed, progress=progress)
    except ScorebenchError as exc:
        _fail(exc)
    _print_band_table(result.summaries)
    console.print(f"pushed candidate scores to the local CRM {result.crm_path}: push {result.push_id}, "
                  f"{result.records_written:,} records written ({result.fields_written:,} field changes)")
    console.print(f"report: {result.report}\nsummary: {result.summary}")
    console.print(f"undo the push with: scorebench undo {result.push_id} --db {result.crm_path}")
    if shadow_leads:
        console.rule(f"14-day shadow cycle on a simulated CRM ({shadow_leads:,} leads): baseline routes, candidate only scores")
        print_gate_table(shadow.gates, console)
        console.print(f"shadow report: {shadow.report.html}")
        console.print(f"approved by {shadow.approval.approved_by}" + (" (override: NO-GO)" if shadow.gates.verdict != "GO" else "")
                      + f"; pushed {shadow.push.push_id}: {shadow.push.applied:,} field changes; "
                      f"undone by {shadow.undo.push_id}: {shadow.undo.applied:,} restored")


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Directory for the funnel (CSV and parquet), funnel.json, arrivals.svg.")],
    scenario: Annotated[Path | None, typer.Option(help="Scenario file (scenarios/*.toml); default: built-in defaults.")] = None,
    leads: Annotated[int | None, typer.Option(min=1, help="Leads to generate (when the scenario sets no daily volume).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 7,
    days: Annotated[int | None, typer.Option(min=60, help="Days of history before as-of (60+).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Moment the funnel is observed (UTC, ISO-8601).")] = None,
) -> None:
    """Write a synthetic funnel as canonical files, with its realised stage rates."""
    from rollout.simulate_run import simulate_to_dir

    try:
        with progress_bar(console) as progress:
            paths = simulate_to_dir(out, scenario, leads, seed, days, as_of, progress=progress)
    except ScorebenchError as exc:
        _fail(exc)
    for path in paths:
        console.print(f"wrote {path}")


@app.command()
def sweep(
    out: Annotated[Path, typer.Option(help="Directory for results.parquet, summary.parquet, sweep.json, plots, report.html.")],
    scenario: Annotated[list[Path], typer.Option(help="Scenario file; repeat for several.")],
    model: Annotated[Path, typer.Option(help="Model whose MQL threshold is swept.")] = Path("models/candidate.toml"),
    thresholds: Annotated[str, typer.Option(help=(
        "MQL thresholds (the model's mql; per-segment thresholds move with it): START:STOP:STEP (stop included) "
        "or a list."))] = "30:90:5",
    reps: Annotated[str, typer.Option(help="SDR head counts, e.g. 4,8,12.")] = "4,8,12",
    replications: Annotated[int, typer.Option(min=1, help="Monte Carlo replications per scenario.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed; the same seed gives the same results, in-process or on Dask.")] = 7,
    scheduler: Annotated[str | None, typer.Option(
        help="'local' for a Dask LocalCluster, a scheduler address (tcp://host:8786), or omit to run in-process.")] = None,
    leads: Annotated[int | None, typer.Option(min=100, help="Leads per funnel (default: the scenario's volume).")] = None,
) -> None:
    """Sweep thresholds x reps x scenarios x replications; recommend the capacity-aware MQL threshold."""
    from rollout.sweep_run import parse_ints, parse_range, sweep_to_dir

    try:
        with progress_bar(console) as progress:
            outcome = sweep_to_dir(scenario, model, parse_range(thresholds), parse_ints(reps), replications, seed,
                                   out, scheduler, progress, n_leads=leads)
    except ScorebenchError as exc:
        _fail(exc)
    table = Table("scenario", "SDRs", "recommended", "EV ($)", "EV-best", "EV ($)",
                  title="capacity-aware MQL threshold (max EV within SLA and capacity)")
    for rec in outcome.recommendations:
        table.add_row(rec.scenario, str(rec.reps), "none" if rec.threshold is None else f"{rec.threshold:g}",
                      "n/a" if rec.expected_value is None else f"{rec.expected_value:,.0f}",
                      f"{rec.unconstrained_threshold:g}", f"{rec.unconstrained_expected_value:,.0f}")
    console.print(table)
    for rec in outcome.recommendations:
        console.print(f"{rec.scenario}, {rec.reps} SDRs: {rec.reason}", highlight=False)
    disagree = outcome.capacity.loc[outcome.capacity["disagrees"]]
    console.print(f"capacity formula vs simulated queue: they disagree in {len(disagree)} of {len(outcome.capacity)} "
                  "cells (table in the report)", highlight=False)
    console.print(f"{outcome.seconds:.1f} s of simulation; report: {outcome.report}; data: {outcome.results}")


@app.command("score")
def score_command(
    model: Annotated[Path, typer.Option(help="Model file (TOML).")],
    data: Annotated[Path, typer.Option(help="Directory with leads.csv and events.csv.")],
    out: Annotated[Path, typer.Option(help="CSV file for the scores frame.")] = Path("scores.csv"),
    as_of: Annotated[str | None, typer.Option("--as-of", help="Score as of (UTC); default: the funnel's as-of, else now.")] = None,
) -> None:
    """Score leads with a model and write the scores frame (with reasons) and a data-quality summary."""
    from rollout.commands import score_files

    try:
        result = score_files(model, data, out, as_of)
    except ScorebenchError as exc:
        _fail(exc)
    counts = result.scores["band"].value_counts(sort=False)
    table = Table("band", "leads", title=f"{result.model_name} {result.model_version} as of {result.as_of}")
    for band, count in counts.items():
        table.add_row(str(band), f"{count:,}")
    console.print(table)
    for row in result.quality.itertuples():
        if row.missing:
            console.print(f"[yellow]data quality:[/] {row.field} missing for {row.missing:,} leads ({row.share:.1%})")
    console.print(f"wrote {out}")


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option(help="Directory with leads.csv, events.csv and outcomes.csv.")],
    model: Annotated[list[Path], typer.Option(help="Model file; repeat: the first is the champion, the last the challenger.")],
    out: Annotated[Path, typer.Option(help="Directory for report.html, summary.json and scores.")] = Path("evaluation"),
    as_of: Annotated[str | None, typer.Option("--as-of", help="Score as of (UTC); default: the funnel's as-of, else now.")] = None,
) -> None:
    """Evaluate models against known outcomes: conversion by band, lift, gap test, EV curve, PSI."""
    from rollout.commands import evaluate_files

    try:
        with progress_bar(console) as progress:
            result = evaluate_files(data, model, out, as_of, progress=progress)
    except ScorebenchError as exc:
        _fail(exc)
    _print_band_table(result.summaries)
    console.print(f"report: {result.report}\nsummary: {result.summary}")


CrmOption = Annotated[str, typer.Option("--crm", help="local, salesforce or hubspot.")]
DbOption = Annotated[Path, typer.Option(help="Local CRM file (SQLite), for --crm local.")]
JournalOption = Annotated[Path | None, typer.Option(
    help="Push journal (SQLite); default: the local CRM file, else .scorebench/journal.sqlite.")]


@app.command()
def push(
    model: Annotated[Path | None, typer.Option(help="Model file whose score fields are written.")] = None,
    crm: CrmOption = "local",
    db: DbOption = DEFAULT_DB,
    journal: JournalOption = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Score as of (UTC); default now.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the change plan; write nothing.")] = False,
    resume: Annotated[str | None, typer.Option(help="Finish this interrupted push instead of starting one.")] = None,
    run: Annotated[str | None, typer.Option(help="Push the approved challenger of this shadow run (and only if approved).")] = None,
    store: Annotated[Path, typer.Option(help="Shadow state store, for --run.")] = Path(".scorebench/shadow.sqlite"),
) -> None:
    """Score the CRM's leads and write changed score fields (and nothing else), journaled for undo."""
    from rollout.commands import push_to_crm, resume_in_crm
    from rollout.shadow_cli import push_run

    try:
        with progress_bar(console) as progress:
            if run:
                result = push_run(run, store, journal, dry_run=dry_run, progress=progress, as_of=as_of)
            elif resume:
                result = resume_in_crm(resume, crm, db, journal, progress=progress)
            elif model is None:
                raise SettingsError("give --model FILE to push, or --resume PUSH_ID to finish a push")
            else:
                result = push_to_crm(model, crm, db, journal, as_of, dry_run=dry_run, progress=progress)
    except ScorebenchError as exc:
        _fail(exc)
    _print_push(result, dry_run)


@app.command()
def undo(
    push_id: Annotated[str, typer.Argument(help="The push to undo (printed by push and demo).")],
    crm: CrmOption = "local",
    db: DbOption = DEFAULT_DB,
    journal: JournalOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be restored; write nothing.")] = False,
) -> None:
    """Restore every field a push changed to its value before the push (itself journaled)."""
    from rollout.commands import undo_in_crm

    try:
        with progress_bar(console) as progress:
            result = undo_in_crm(push_id, crm, db, journal, dry_run=dry_run, progress=progress)
    except ScorebenchError as exc:
        _fail(exc)
    _print_push(result, dry_run)


fields_app = typer.Typer(help="The CRM's score fields.", no_args_is_help=True)
app.add_typer(fields_app, name="fields")


@fields_app.command("ensure")
def fields_ensure(
    model: Annotated[Path, typer.Option(help="Model file naming the score fields per CRM.")],
    crm: CrmOption = "local",
    db: DbOption = DEFAULT_DB,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show which fields would be created.")] = False,
) -> None:
    """Create the model's score fields in the CRM where they are missing (idempotent)."""
    from rollout.commands import ensure_fields

    try:
        plan = ensure_fields(model, crm, db, dry_run=dry_run)
    except ScorebenchError as exc:
        _fail(exc)
    verb = "would create" if dry_run else "created"
    table = Table("field", "kind", "status", title=f"score fields in {crm}")
    for field in plan.to_create:
        table.add_row(field.name, field.kind, verb)
    for field in plan.existing:
        table.add_row(field.name, field.kind, "exists")
    console.print(table)
    for note in getattr(plan, "notes", ()) or ():
        console.print(note)


@app.command()
def pull(
    out: Annotated[Path, typer.Option(help="Directory for leads.csv, accounts.csv, events.csv, outcomes.csv.")],
    crm: CrmOption = "local",
    db: DbOption = DEFAULT_DB,
    full: Annotated[bool, typer.Option("--full", help="Read everything, not only what changed since the last pull.")] = False,
) -> None:
    """Read leads, accounts, activity and outcomes from a CRM into canonical CSVs (incremental by default)."""
    from rollout.commands import pull_from_crm

    try:
        with progress_bar(console) as progress:
            counts = pull_from_crm(crm, db, out, full=full, progress=progress)
    except ScorebenchError as exc:
        _fail(exc)
    since = f" changed since {counts['since']}" if counts["since"] else ""
    console.print(f"pulled from {crm}{since}: {counts['leads']:,} leads, {counts['accounts']:,} accounts, "
                  f"{counts['events']:,} events, {counts['outcomes']:,} outcomes into {out}")


def _print_push(result: object, dry_run: bool) -> None:
    from rollout.push import PushResult

    assert isinstance(result, PushResult)
    verb = "would change" if dry_run else "changed"
    label = f"push {result.push_id}" if result.push_id else "dry run"
    console.print(f"{label}: {verb} {result.planned:,} field values; "
                  f"applied {result.applied:,}, failed {result.failed:,}, conflicts {result.skipped:,}")
    if len(result.field_counts):
        counts = result.field_counts.reset_index()
        table = Table(*[str(c) for c in counts.columns])
        for row in counts.itertuples(index=False):
            table.add_row(*[f"{v:,}" if isinstance(v, Integral) else str(v) for v in row])
        console.print(table)
    if dry_run and len(result.sample):
        console.print("sample of the plan:")
        console.print(result.sample.to_string(index=False, max_colwidth=60), highlight=False)
    if len(result.conflicts):
        errors.print("[yellow]conflicts (changed in the CRM since; left untouched):[/]")
        errors.print(result.conflicts.head(20).to_string(index=False), highlight=False)
    if len(result.failures):
        errors.print("[red]failed changes:[/]")
        errors.print(result.failures.head(20).to_string(index=False), highlight=False)
    if result.failed:
        raise typer.Exit(1)


def _print_band_table(summaries: dict[str, dict[str, Any]]) -> None:
    table = Table(title="won rate by score band (Wilson 95% interval)")
    table.add_column("band")
    rows: dict[str, list[str]] = {}
    for name, summary in summaries.items():
        table.add_column(f"{name} leads", justify="right")
        table.add_column(f"{name} won rate", justify="right")
        for row in summary["lift_curve"]:
            cells = rows.setdefault(str(row["band"]), [])
            rate = row["rate"]
            text = "n/a" if rate is None else f"{rate:.1%} ({row['ci_low']:.1%}-{row['ci_high']:.1%})"
            cells += [f"{row['leads']:,}", text]
    width = 2 * len(summaries)
    for band, cells in rows.items():
        table.add_row(band, *(cells + [""] * (width - len(cells))))
    console.print(table)
    for name, summary in summaries.items():
        monotone = "rises band to band" if summary["lift_monotone"] else "does NOT rise band to band"
        tiers, gap = summary["tier_ratio"], summary["gap_test"]
        ratio = "n/a" if tiers["ratio"] is None else f"{tiers['ratio']:.1f}x"
        gap_text = "n/a" if gap["gap"] is None else f"{gap['gap']:.1f} points"
        verdict = "pass" if gap["passed"] else "fail"
        console.print(f"{name}: won rate {monotone}; tier {tiers['high']} vs {tiers['low']} {ratio}; "
                      f"won-lost gap {gap_text} ({verdict}, needs 20)")


def main() -> None:
    """Entry point for `python -m rollout.cli`."""
    app(prog_name="scorebench")


if __name__ == "__main__":
    main()
