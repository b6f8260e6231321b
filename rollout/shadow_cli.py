"""`scorebench shadow ...` (start, snapshot, status, report), `scorebench approve` and the gated `push --run`.

Each command parses, calls one function of rollout.shadow_start, shadow_snapshot, shadow_review or
shadow_approval, renders; a ScorebenchError prints one red line and exits 1 (STYLE rule 16).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from rollout.progress import Steps, progress_bar
from rollout.push import PushResult
from rollout.shadow_gates import GateTable, threshold_text
from rollout.shadow_store import DEFAULT_STORE
from scoring.errors import ScorebenchError

__all__ = ["shadow_app", "approve", "push_run", "print_gate_table"]

shadow_app = typer.Typer(help="Shadow runs: score with champion and challenger for N days, compare, approve.",
                         no_args_is_help=True)
console = Console()
errors = Console(stderr=True)

StoreOption = Annotated[Path, typer.Option(help="Shadow state store (SQLite).")]


def _fail(exc: ScorebenchError) -> None:
    errors.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def print_gate_table(gates: GateTable, out: Console | None = None) -> None:
    """The gate table and the verdict, as `shadow report` and `scorebench demo` print them."""
    target = out or console
    table = Table("gate", "value", "threshold", "status", "required", title="go / no-go gates")
    for row in gates.as_records():
        value = row["value"]
        colour = {"pass": "green", "fail": "red"}.get(str(row["status"]), "yellow")
        table.add_row(str(row["gate"]), "n/a" if value is None else f"{value:,.2f}",
                      threshold_text(str(row["kind"]), float(row["threshold"])),
                      f"[{colour}]{row['status']}[/]", "yes" if row["required"] else "no")
    target.print(table)
    colour = "green" if gates.verdict == "GO" else "red"
    target.print(f"verdict: [bold {colour}]{gates.verdict}[/]")
    for reason in gates.reasons:
        target.print(f"  - {escape(reason)}", highlight=False)


@shadow_app.command("start")
def start(
    champion: Annotated[Path, typer.Option(help="The model that routes today (TOML).")],
    challenger: Annotated[Path, typer.Option(help="The model under test; it only scores (TOML).")],
    crm: Annotated[str, typer.Option("--crm", help="local, salesforce or hubspot.")] = "local",
    db: Annotated[Path, typer.Option(help="Local CRM file (SQLite), for --crm local.")] = Path("scorebench.sqlite"),
    days: Annotated[int, typer.Option(min=1, help="Days in shadow (DOMAIN: 14).")] = 14,
    store: StoreOption = DEFAULT_STORE,
    clock: Annotated[str, typer.Option(help="wall: one snapshot per complete UTC day; simulated: a day per snapshot.")] = "wall",
    start_day: Annotated[str | None, typer.Option("--start", help="First day of the window (UTC date).")] = None,
    shadow_fields: Annotated[bool, typer.Option("--shadow-fields/--no-shadow-fields",
                                                help="Also write the challenger's score to separate shadow_ fields.")] = False,
    gates: Annotated[Path | None, typer.Option(help="Gates, capacity and routing (TOML); default the DOMAIN gates.")] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Id of the new run; default s<time>-<hex>.")] = None,
) -> None:
    """Start a shadow run: both model files are stored by hash; nothing is written to the CRM."""
    from rollout.shadow_start import start_run

    try:
        run = start_run(store, crm, champion, challenger, days=days, db=db if crm == "local" else None, clock=clock,
                        start=start_day, write_shadow_fields=shadow_fields, settings=gates, run_id=run_id)
    except ScorebenchError as exc:
        _fail(exc)
    console.print(f"started shadow run {run.run_id}: {run.crm}, {run.days} days {run.start_day.date()} to "
                  f"{run.end_day.date()} ({run.clock} clock); champion {run.champion_hash}, challenger "
                  f"{run.challenger_hash}; store {store}", highlight=False)
    console.print(f"take a snapshot once a day: scorebench shadow snapshot {run.run_id} --store {store}", highlight=False)


@shadow_app.command("snapshot")
def snapshot(
    run: Annotated[str | None, typer.Argument(help="Run id; default the latest run.")] = None,
    store: StoreOption = DEFAULT_STORE,
    backfill: Annotated[bool, typer.Option("--backfill/--no-backfill",
                                           help="Fill missed days from activity history.")] = True,
) -> None:
    """Score every lead with both models for the day(s) due and store them (idempotent per day; cron it)."""
    from rollout.shadow_snapshot import snapshot_run

    try:
        with progress_bar(console) as progress:
            result = snapshot_run(store, run, backfill=backfill, progress=progress)
    except ScorebenchError as exc:
        _fail(exc)
    console.print(f"run {result.run_id}: {result.message}", highlight=False)
    if result.complete:
        console.print(f"the window is complete: scorebench shadow report {result.run_id} --store {store}",
                      highlight=False)


@shadow_app.command("status")
def status(
    run: Annotated[str | None, typer.Argument(help="Run id; default every run.")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Every run with its days recorded, last error, report verdict, approval and pushes."""
    from rollout.shadow_review import run_status

    try:
        rows = run_status(store, run)
    except ScorebenchError as exc:
        _fail(exc)
    table = Table("crm", "days", "last day", "report", "approval", "pushes", title=f"shadow runs in {store}")
    width = max([len(s.run.run_id) for s in rows] or [3])
    table.columns.insert(0, Column("run", no_wrap=True, min_width=width))
    for s in rows:
        report = "-" if s.report is None else f"{s.report['verdict']} ({s.report['report_hash']})"
        approval = "-" if s.approval is None else f"by {s.approval['approved_by']}" + (
            " (override)" if s.approval["override"] else "")
        table.add_row(s.run.run_id, s.run.crm, f"{s.days_recorded}/{s.run.days}",
                      "-" if s.last_day is None else str(s.last_day.date()), report, approval,
                      ", ".join(s.pushes["push_id"]) or "-")
    console.print(table)
    for s in rows:
        if s.last_error:
            errors.print(f"[yellow]{s.run.run_id}: last snapshot failed:[/] {escape(s.last_error)}", highlight=False,
                         soft_wrap=True)


@shadow_app.command("report")
def report(
    run: Annotated[str | None, typer.Argument(help="Run id; default the latest run.")] = None,
    store: StoreOption = DEFAULT_STORE,
    out: Annotated[Path, typer.Option(help="Directory for report.html and report.json.")] = Path("shadow-report"),
) -> None:
    """Compare the models (agreement, migration, load vs capacity, outcomes, PSI, data quality) and apply the gates."""
    from rollout.shadow_review import report_run

    try:
        with progress_bar(console) as progress:
            result = report_run(store, run, out, progress=progress)
    except ScorebenchError as exc:
        _fail(exc)
    print_gate_table(result.gates)
    if not result.complete:
        console.print(f"[yellow]interim report:[/] {result.days_recorded} days recorded so far")
    console.print(f"report {result.report_hash}: {result.html}\njson: {result.json}", highlight=False)
    console.print(f"approve with: scorebench approve {result.run_id} --by NAME --store {store}", highlight=False)


def approve(
    run: Annotated[str, typer.Argument(help="The shadow run whose challenger is approved.")],
    by: Annotated[str, typer.Option("--by", help="Who approves (recorded).")],
    note: Annotated[str | None, typer.Option(help="Why; required with --override.")] = None,
    store: StoreOption = DEFAULT_STORE,
    override: Annotated[bool, typer.Option("--override", help="Approve although the report says NO-GO.")] = False,
) -> None:
    """Record who approved which challenger (by hash) on which report (by hash)."""
    from rollout.shadow_approval import approve_run

    try:
        result = approve_run(store, run, by, note, override=override)
    except ScorebenchError as exc:
        _fail(exc)
    console.print(f"approval {result.approval_id}: {result.approved_by} approved challenger {result.challenger_hash} "
                  f"of run {result.run_id} on report {result.report_hash} ({result.verdict}"
                  + (", override" if result.override else "") + ")", highlight=False)
    console.print(f"push with: scorebench push --run {result.run_id} --store {store}", highlight=False)


shadow_app.command("approve")(approve)


def push_run(run: str, store: Path = DEFAULT_STORE, journal: Path | None = None, dry_run: bool = False,
             progress: Steps | None = None, as_of: str | None = None) -> PushResult:
    """The approved challenger's scores of `run`, pushed (or planned, dry run); for `scorebench push --run RUN`.

    Re-run after an interrupted push, it resumes that push (each pending change written exactly once).
    Raises ScorebenchError (ApprovalError when not approved or the model file changed since approval).
    """
    from rollout.shadow_approval import push_run as push_approved

    return push_approved(store, run, journal=journal, dry_run=dry_run, progress=progress, as_of=as_of)
