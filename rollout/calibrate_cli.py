"""The `scorebench calibrate` command: parse, call rollout.calibrate_run, render (STYLE rule 16).

Exit codes: 0 a model was written; 1 an error (one red line); 3 the history cannot support weights
(too small, or no variable beats chance): calibration.json says why and no model.toml is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from scoring.errors import ScorebenchError

__all__ = ["calibrate", "NOT_SUPPORTED_EXIT"]

NOT_SUPPORTED_EXIT = 3
console = Console()
errors = Console(stderr=True)


def _fail(exc: ScorebenchError) -> None:
    errors.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def calibrate(
    history: Annotated[Path, typer.Option(help="CSV export (one row per lead) or a pull directory (leads.csv, outcomes.csv).")],
    target: Annotated[str, typer.Option(help="Outcome column (0/1, yes/no); for a pull directory a funnel stage such as won.")],
    out: Annotated[Path, typer.Option(help="Directory for model.toml, calibration.json and calibration.html.")],
    model: Annotated[Path | None, typer.Option(help="Current model, compared on the same holdout when its fields exist.")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="Column to leave out (e.g. one filled in after contact); repeat.")] = None,
    max_variables: Annotated[int, typer.Option(min=1, max=20, help="Most variables the points model may use.")] = 8,
    holdout: Annotated[float, typer.Option(min=0.05, max=0.5, help="Share of each class held out for the checks.")] = 0.25,
    seed: Annotated[int, typer.Option(help="Seed of the holdout, folds and permutations; same seed, same files.")] = 0,
    min_leads: Annotated[int, typer.Option(min=1, help="Fewest leads with an outcome to suggest weights from.")] = 1000,
    min_positives: Annotated[int, typer.Option(min=1, help="Fewest leads of each outcome to suggest weights from.")] = 200,
    name: Annotated[str, typer.Option(help="Name of the written model.")] = "calibrated",
    version: Annotated[str, typer.Option(help="Version of the written model (and its changelog entry).")] = "1.0.0",
) -> None:
    """Suggest whole fit points from history, check them on a holdout, and write a model file."""
    from rollout.calibrate_run import calibrate_to_dir
    from scoring.calibration import CalibrationSettings

    try:
        settings = CalibrationSettings(holdout_share=holdout, max_variables=max_variables, min_leads=min_leads,
                                       min_positives=min_positives, exclude=tuple(exclude or ()))
        run = calibrate_to_dir(history, target, out, model=model, seed=seed, settings=settings, name=name,
                               version=version)
    except ScorebenchError as exc:
        _fail(exc)
    summary = run.result.summary
    for column in summary["leaky_columns"]:
        errors.print(f"[yellow]leak:[/] {escape(column)} alone separates the outcome; left out of the weights",
                     highlight=False)
    for column in summary["suspect_columns"]:
        errors.print(f"[yellow]suspect:[/] {escape(column)} is strong on its own; check it is known before "
                     "first contact, else --exclude it", highlight=False)
    if run.model_path is None:
        errors.print(f"[yellow]no model written:[/] {escape(run.result.reason)}", highlight=False, soft_wrap=True)
        console.print(f"wrote {run.summary_path}")
        raise typer.Exit(NOT_SUPPORTED_EXIT)
    table = Table("variable", "group", "points", title=f"suggested fit points ({summary['n_variables']} variables)")
    weights = run.result.weights
    for row in weights.loc[weights["points"] > 0].itertuples():
        table.add_row(str(row.variable), str(row.group), f"{row.points:+d}")
    console.print(table)
    ci_low, ci_high = summary["holdout_roc_auc_ci95"]
    console.print(f"holdout ROC-AUC {summary['holdout_roc_auc']:.3f} (95% CI {ci_low:.3f}-{ci_high:.3f}), "
                  f"Brier {summary['brier']:.3f} (base rate alone {summary['brier_reference']:.3f}); "
                  f"suggested MQL {summary['thresholds']['suggested_mql']:g} points", highlight=False)
    current = summary["current_model"]
    if current["compared"]:
        console.print(f"current model {current['model']} {current['version']}: holdout ROC-AUC "
                      f"{current['holdout_roc_auc']:.3f}", highlight=False)
    elif model is not None:
        console.print(f"current model not compared: {current['reason']}", highlight=False)
    console.print(f"wrote {run.model_path}, {run.summary_path}, {run.plot_path} in {run.seconds:.1f} s")
