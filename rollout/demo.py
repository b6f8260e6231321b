"""`scorebench demo` and `scorebench simulate`: a synthetic funnel through the local CRM to a report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from connectors.journal import PushJournal
from connectors.local import LocalCRM
from rollout.evaluate import evaluate_models
from rollout.progress import Steps, quiet_steps
from rollout.push import push_scores
from rollout.report import write_report
from scoring.model_file import load_model
from simulator import FunnelSpec, generate_funnel

__all__ = ["DemoResult", "run_demo", "shipped_model_path"]

_MODELS = Path(__file__).resolve().parent.parent / "models"


def shipped_model_path(name: str) -> Path:
    """Path of a model shipped in the repository's models/ directory."""
    return _MODELS / f"{name}.toml"


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote things and what the push did."""

    crm_path: Path
    report: Path
    summary: Path
    push_id: str
    records_written: int
    fields_written: int
    summaries: dict[str, dict[str, Any]]


def run_demo(out_dir: Path, n_leads: int = 20_000, seed: int = 7, progress: Steps | None = None) -> DemoResult:
    """Generate a funnel, load it into a fresh local CRM under out_dir, score it with the baseline and the
    candidate, push the candidate's score fields, and write report.html and summary.json."""
    steps = progress or quiet_steps()
    spec = FunnelSpec(n_leads=n_leads)
    steps.step(f"generating a synthetic funnel of {n_leads:,} leads")
    funnel = generate_funnel(spec, np.random.default_rng(seed))
    models = {"baseline": load_model(shipped_model_path("baseline")),
              "candidate": load_model(shipped_model_path("candidate"))}
    out_dir.mkdir(parents=True, exist_ok=True)
    crm_path = out_dir / "crm.sqlite"
    crm_path.unlink(missing_ok=True)
    with LocalCRM(crm_path) as crm, PushJournal(crm_path) as journal:
        steps.step("loading the funnel into the local CRM")
        crm.load_funnel(funnel.leads, funnel.accounts, funnel.events, funnel.outcomes)
        leads, events, outcomes = crm.read_leads(), crm.read_events(), crm.read_outcomes()
        steps.step("scoring with baseline and candidate; evaluating against outcomes")
        evaluation = evaluate_models(leads, events, outcomes, models, spec.as_of)
        candidate = evaluation.compiled["candidate"]
        pushed = push_scores(crm, journal, evaluation.scores["candidate"], candidate.score_fields("local"),
                             candidate.version, progress=steps.counter("pushing candidate scores to the local CRM"))
        records = int(journal.entries(pushed.push_id or "", status="applied")["record_id"].nunique())
    steps.step("writing report.html and summary.json")
    extra = {
        "funnel": {"leads": n_leads, "seed": seed, "as_of": spec.as_of.isoformat(),
                   "events": int(len(funnel.events)), "outcomes": int(len(funnel.outcomes))},
        "push": {"push_id": pushed.push_id, "crm": str(crm_path), "records": records, "applied": pushed.applied,
                 "failed": pushed.failed, "requests": pushed.requests},
    }
    notes = [f"Synthetic funnel of {n_leads:,} leads (seed {seed}) observed as of {spec.as_of:%Y-%m-%d}; "
             f"outcomes over the following {spec.outcome_days} days. Champion: baseline; challenger: candidate."]
    report, summary = write_report(out_dir, evaluation.summaries, evaluation.comparison, extra,
                                   title="scorebench demo: candidate against baseline", notes=notes)
    return DemoResult(crm_path, report, summary, pushed.push_id or "", records, pushed.applied,
                      evaluation.summaries)
