"""The shadow-report notebook opens a stored run (the demo's) when there is one, else simulates one."""

from __future__ import annotations

from pathlib import Path

from rollout.shadow_demo import run_shadow_demo
from rollout.shadow_plots import agreement_figure, early_outcomes_figure, load_figure, migration_figure, notebook_shadow_run
from rollout.shadow_review import StoredShadow
from scoring import band_migration, early_outcomes_by_band, tier_agreement

ROOT = Path(__file__).resolve().parents[2]


def test_notebook_opens_the_demo_store_and_draws_every_figure(tmp_path: Path) -> None:
    demo = run_shadow_demo(tmp_path / "shadow", n_leads=500, seed=3)
    run = notebook_shadow_run(demo.store_path)
    assert isinstance(run, StoredShadow) and run.run_id == demo.run_id
    assert run.snapshots["day"].nunique() == 14 and len(run.load)
    for figure in (agreement_figure(tier_agreement(run.snapshots, run.routing)),
                   migration_figure(band_migration(run.snapshots)), load_figure(run.load),
                   early_outcomes_figure(early_outcomes_by_band(run.snapshots, run.outcomes))):
        assert figure._repr_png_().startswith(b"\x89PNG")


def test_without_a_store_the_notebook_simulates_a_run(tmp_path: Path) -> None:
    run = notebook_shadow_run(tmp_path / "missing.sqlite", scenario=ROOT / "scenarios" / "default.toml",
                              champion=ROOT / "models" / "baseline.toml", challenger=ROOT / "models" / "candidate.toml",
                              leads=800)
    assert not isinstance(run, StoredShadow) and run.snapshots["day"].nunique() == 14
