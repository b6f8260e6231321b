"""The what-if workbench as ipywidgets: sliders in, `WhatIfBench.what_if` called, the four-panel figure redrawn.

    app = what_if_app("../scenarios/default.toml", "../models/candidate.toml")
    app.widget                         # display it in a notebook cell
    app.controls["mql"].value = 70     # what a slider move does: re-simulates and redraws
    app.result.mqls, app.image.value   # the last answer and the PNG on screen

Sliders fire on release (continuous_update=False) or on each arrow key, so a drag costs one recompute.
A setting the model cannot take (e.g. inactivity steps that do not rise) shows its message in the readout
and keeps the last good figure. `SCOREBENCH_NOTEBOOK_LEADS` (leads over the scenario's history) shrinks
the funnel for tests; it is read here, at the edge, never in simulator/.
"""

from __future__ import annotations

import dataclasses
import html
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from rollout.notebook_env import notebook_leads_per_day
from rollout.what_if_plots import figure_png, what_if_figure
from scoring.errors import ScorebenchError, SettingsError
from scoring.model_file import load_model
from simulator.scenario import load_scenario
from simulator.what_if import WhatIf, WhatIfBench, WhatIfSettings

__all__ = ["WhatIfApp", "inactivity_steps", "inactivity_text", "what_if_app"]

_SLIDER = {"continuous_update": False, "style": {"description_width": "130px"},
           "layout": widgets.Layout(width="360px")}


def inactivity_steps(text: str) -> tuple[tuple[float, float], ...]:
    """Parse "30:0.8, 60:0.5, 90:0" (days without events : behaviour multiplier); "" means no steps."""
    steps = []
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        days, sep, multiplier = part.partition(":")
        try:
            if not sep:
                raise ValueError
            steps.append((float(days), float(multiplier)))
        except ValueError:
            raise SettingsError(f"inactivity step {part.strip()!r}: write days:multiplier, e.g. 30:0.8") from None
    return tuple(steps)


def inactivity_text(steps: tuple[tuple[float, float], ...]) -> str:
    """The steps as "30:0.8, 60:0.5, 90:0" (the inverse of `inactivity_steps`)."""
    return ", ".join(f"{days:g}:{multiplier:g}" for days, multiplier in steps)


class WhatIfApp:
    """Controls, a readout and the figure of one WhatIfBench; `refresh` is the callback every control calls."""

    def __init__(self, bench: WhatIfBench, settings: WhatIfSettings) -> None:
        self.bench = bench
        self.controls = _controls(settings)
        self.readout = widgets.HTML(layout=widgets.Layout(width="100%")).add_class("scorebench-readout")
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="960px")).add_class("scorebench-plot")
        self.result: WhatIf | None = None
        self.seconds = float("nan")
        """Wall-clock seconds of the last refresh (compute and draw)."""
        self.error: str | None = None
        self.refreshes = 0
        for control in self.controls.values():
            control.observe(self.refresh, names="value")
        self.widget = _layout(self.controls, self.readout, self.image)
        self.refresh()

    def settings(self) -> WhatIfSettings:
        """The settings the controls show now (raises SettingsError on a value the what-if cannot take)."""
        c = self.controls
        mix = tuple((name, float(c[f"mix_{name}"].value)) for name, _ in self.bench.defaults().segment_mix)
        return WhatIfSettings(
            mql=float(c["mql"].value), sql=float(c["sql"].value), half_life_days=float(c["half_life_days"].value),
            inactivity=inactivity_steps(c["inactivity"].value), sdr_reps=int(c["sdr_reps"].value),
            ae_reps=int(c["ae_reps"].value), capacity_factor=float(c["capacity_factor"].value),
            leads_per_day=float(c["leads_per_day"].value), segment_mix=mix, seed=int(c["seed"].value),
            max_breach_rate=self.bench.sweep.max_breach_rate)

    def refresh(self, change: Any = None) -> WhatIf | None:
        """Re-simulate with the controls' settings and redraw; on a bad setting show why and keep the figure."""
        began = time.perf_counter()
        try:
            result = self.bench.what_if(self.settings())
        except ScorebenchError as exc:
            self.error = str(exc)
            self.readout.value = f'<span style="color:#d1242f">cannot simulate: {html.escape(self.error)}</span>'
            return None
        self.image.value = figure_png(what_if_figure(result))
        self.result, self.error = result, None
        self.seconds = time.perf_counter() - began
        self.refreshes += 1
        self.readout.value = (f'<span>{html.escape(result.readout())}</span>'
                              f'<br><small>{html.escape(result.recommendation.reason)}; '
                              f'answered in {self.seconds:.2f} s</small>')
        return result


def _controls(s: WhatIfSettings) -> dict[str, widgets.ValueWidget]:
    """One widget per setting, named like the WhatIfSettings field (segment weights as mix_<segment>)."""
    controls: dict[str, widgets.ValueWidget] = {
        "mql": widgets.FloatSlider(value=s.mql, min=0, max=100, step=1, description="MQL threshold", **_SLIDER),
        "sql": widgets.FloatSlider(value=s.sql, min=0, max=100, step=1, description="SQL threshold", **_SLIDER),
        "half_life_days": widgets.FloatSlider(value=s.half_life_days or 21.0, min=1, max=120, step=1,
                                              description="decay half-life (d)", **_SLIDER),
        "inactivity": widgets.Text(value=inactivity_text(s.inactivity), description="inactivity d:x",
                                   continuous_update=False, style=_SLIDER["style"],
                                   layout=widgets.Layout(width="360px")),
        "sdr_reps": widgets.IntSlider(value=s.sdr_reps, min=1, max=30, description="SDRs", **_SLIDER),
        "ae_reps": widgets.IntSlider(value=s.ae_reps, min=1, max=30, description="AEs", **_SLIDER),
        "capacity_factor": widgets.FloatSlider(value=s.capacity_factor, min=0.5, max=2.0, step=0.05,
                                               description="capacity factor", **_SLIDER),
        "leads_per_day": widgets.FloatSlider(value=round(s.leads_per_day, 1), min=1,
                                             max=max(300.0, s.leads_per_day), step=1,
                                             description="leads / day", **_SLIDER),
        "seed": widgets.BoundedIntText(value=s.seed, min=0, max=2**31 - 1, description="seed",
                                       style=_SLIDER["style"], layout=widgets.Layout(width="360px")),
    }
    for name, weight in s.segment_mix:
        controls[f"mix_{name}"] = widgets.FloatSlider(value=weight, min=0, max=1, step=0.05,
                                                      description=f"mix: {name}", **_SLIDER)
    return controls


def _layout(controls: Mapping[str, widgets.Widget], readout: widgets.HTML, image: widgets.Image) -> widgets.VBox:
    names = list(controls)
    scoring_names = ["mql", "sql", "half_life_days", "inactivity"]
    team_names = ["sdr_reps", "ae_reps", "capacity_factor"]
    funnel_names = [n for n in names if n not in scoring_names + team_names]
    columns = [widgets.VBox([widgets.HTML(f"<b>{title}</b>"), *(controls[n] for n in group)])
               for title, group in (("model", scoring_names), ("team", team_names), ("funnel", funnel_names))]
    return widgets.VBox([widgets.HBox(columns, layout=widgets.Layout(flex_flow="row wrap")), readout, image])


def what_if_app(scenario: str | Path = "scenarios/default.toml", model: str | Path = "models/candidate.toml",
                leads: float | None = None, seed: int | None = None) -> WhatIfApp:
    """The what-if workbench on a scenario file and a model file, drawn once with the files' own settings.

    Args:
        scenario: scenario TOML (team, volume, segment mix).
        model: model TOML (thresholds, decay, inactivity).
        leads: leads over the scenario's history; default SCOREBENCH_NOTEBOOK_LEADS, else the scenario's volume.
        seed: funnel seed; default WhatIfSettings' seed.
    """
    loaded = load_scenario(scenario)
    bench = WhatIfBench(loaded, load_model(model))
    settings = bench.defaults()
    history = loaded.funnel.history_days
    per_day = leads / history if leads is not None else notebook_leads_per_day(history)
    if per_day is not None:
        settings = dataclasses.replace(settings, leads_per_day=per_day)
    if seed is not None:
        settings = dataclasses.replace(settings, seed=seed)
    return WhatIfApp(bench, settings)
