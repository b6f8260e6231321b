"""Scoring throughput: the vectorised engine on 1,000,000 leads (~11 events each, reasons included)
against a straightforward per-lead Python implementation of the same model (tests/reference/scorer.py)
measured in the same run on a 20,000-lead funnel. Prints leads/s for both and their ratio; the last
line is one JSON object.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_scoring.py [--leads N] [--sample N]`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring.compiled import compile_model  # noqa: E402
from scoring.engine import score  # noqa: E402
from scoring.model_file import load_model  # noqa: E402
from simulator import FunnelSpec, generate_funnel  # noqa: E402
from tests.reference.scorer import reference_score  # noqa: E402


def as_read_from_csv(events: pd.DataFrame) -> pd.DataFrame:
    """Events typed as the CSV reader and the local CRM hand them over (lead_id and type categorical)."""
    return events.astype({"lead_id": "category", "type": "category"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "candidate.toml")
    args = parser.parse_args()

    spec = load_model(args.model)
    compiled = compile_model(spec)
    funnel_spec = FunnelSpec(n_leads=args.leads)
    big = generate_funnel(funnel_spec, np.random.default_rng(1))
    leads, events = big.leads, as_read_from_csv(big.events)
    print(f"funnel: {len(leads):,} leads, {len(events):,} events ({len(events) / len(leads):.1f} per lead)")

    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        scores = score(leads, events, compiled, funnel_spec.as_of)
        times.append(time.perf_counter() - start)
    fast_seconds = statistics.median(times)
    assert len(scores) == len(leads) and scores["reasons"].str.len().gt(0).mean() > 0.5
    fast_rate = len(leads) / fast_seconds
    print(f"vectorised: {fast_seconds:.2f} s for {len(leads):,} leads (median of {args.repeats}: "
          f"{', '.join(f'{t:.2f}' for t in times)}) -> {fast_rate:,.0f} leads/s")

    small = generate_funnel(FunnelSpec(n_leads=args.sample), np.random.default_rng(2))
    start = time.perf_counter()
    slow = reference_score(small.leads, small.events, spec, funnel_spec.as_of)
    slow_seconds = time.perf_counter() - start
    slow_rate = len(small.leads) / slow_seconds
    check = score(small.leads, as_read_from_csv(small.events), compiled, funnel_spec.as_of)
    agree = bool(np.allclose(check["total"].to_numpy(), slow["total"].to_numpy()) and
                 (check["reasons"].to_numpy() == slow["reasons"].to_numpy()).all())
    print(f"baseline (per-lead Python reference): {slow_seconds:.2f} s for {len(small.leads):,} leads "
          f"-> {slow_rate:,.0f} leads/s; identical scores and reasons on the sample: {agree}")
    ratio = fast_rate / slow_rate
    print(f"ratio: {ratio:.0f}x (goal >= 30x); 1M-lead time {fast_seconds:.2f} s (goal <= 5 s)")
    print(json.dumps({
        "metric": "leads_scored_per_second",
        "value": round(fast_rate),
        "unit": "leads/s",
        "baseline": "per-lead Python reference scorer (tests/reference/scorer.py), same model, "
                    f"{len(small.leads):,}-lead funnel, same run",
        "baseline_value": round(slow_rate),
        "ratio": round(ratio, 1),
        "leads": len(leads),
        "events": len(events),
        "seconds": round(fast_seconds, 3),
        "reference_agrees": agree,
    }))


if __name__ == "__main__":
    main()
