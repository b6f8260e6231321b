"""The what-if widgets: every control calls the callback, which re-simulates, redraws and reports."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rollout.notebook_env import LEADS_ENV, notebook_leads_per_day
from rollout.what_if_widgets import WhatIfApp, inactivity_steps, inactivity_text, what_if_app
from scoring import SettingsError

ROOT = Path(__file__).resolve().parents[2]
SCENARIO, MODEL = ROOT / "scenarios" / "default.toml", ROOT / "models" / "candidate.toml"


@pytest.fixture()
def small_app() -> WhatIfApp:
    return what_if_app(SCENARIO, MODEL, leads=2_500)


def test_moving_the_mql_slider_recomputes_and_redraws(small_app: WhatIfApp) -> None:
    before, image, readout = small_app.result, small_app.image.value, small_app.readout.value
    assert before is not None and image[:4] == b"\x89PNG"
    small_app.controls["mql"].value = 75
    after = small_app.result
    assert after is not None and after.settings.mql == 75
    assert after.mqls < before.mqls
    assert small_app.image.value != image
    assert "MQL 75" in small_app.readout.value and small_app.readout.value != readout
    assert small_app.refreshes == 2


def test_every_control_reaches_the_settings(small_app: WhatIfApp) -> None:
    changes = {"sql": 80.0, "half_life_days": 30.0, "inactivity": "45:0.5", "sdr_reps": 7, "ae_reps": 3,
               "capacity_factor": 1.2, "leads_per_day": 20.0, "seed": 11, "mix_enterprise": 0.5}
    for name, value in changes.items():
        small_app.controls[name].value = value
    s = small_app.settings()
    assert (s.sql, s.half_life_days, s.inactivity, s.sdr_reps, s.ae_reps) == (80.0, 30.0, ((45.0, 0.5),), 7, 3)
    assert (s.capacity_factor, s.leads_per_day, s.seed, dict(s.segment_mix)["enterprise"]) == (1.2, 20.0, 11, 0.5)
    assert small_app.result is not None and small_app.result.settings == s
    assert small_app.refreshes == 1 + len(changes)


def test_a_bad_setting_is_reported_and_the_figure_kept(small_app: WhatIfApp) -> None:
    image = small_app.image.value
    small_app.controls["inactivity"].value = "60:0.5, 30:0.8"
    assert small_app.error is not None and "rising" in small_app.error
    assert "cannot simulate" in small_app.readout.value
    assert small_app.image.value == image
    small_app.controls["inactivity"].value = "30:0.8"
    assert small_app.error is None


def test_inactivity_text_round_trips() -> None:
    steps = ((30.0, 0.8), (60.0, 0.5), (90.0, 0.0))
    assert inactivity_steps(inactivity_text(steps)) == steps
    assert inactivity_steps("  ") == ()
    with pytest.raises(SettingsError, match="days:multiplier"):
        inactivity_steps("30")


def test_notebook_leads_come_from_the_environment() -> None:
    assert notebook_leads_per_day(100, {}) is None
    assert notebook_leads_per_day(100, {LEADS_ENV: "1500"}) == 15.0
    with pytest.raises(SettingsError, match=LEADS_ENV):
        notebook_leads_per_day(100, {LEADS_ENV: "many"})


def test_a_change_redraws_within_two_seconds_at_default_size() -> None:
    """The notebook's promise, figure included, at the scenario's own volume (~12,000 leads)."""
    app = what_if_app(SCENARIO, MODEL)
    assert app.result is not None and app.result.leads > 10_000
    began = time.perf_counter()
    app.controls["mql"].value = 66
    seconds = time.perf_counter() - began
    assert app.result.settings.mql == 66
    assert seconds < 2.0 and app.seconds < 2.0, f"a slider change took {seconds:.2f} s"
