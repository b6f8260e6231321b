"""The what-if figure: band lift with intervals, volume per motion against capacity, SLA breaches and the EV curve.

Drawn on a bare `matplotlib.figure.Figure` (no pyplot state), so a widget callback can redraw it as often as
it likes in a kernel without leaking figures; `figure_png` turns it into the bytes an ipywidgets Image shows.
"""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simulator.what_if import LIFT_STAGES, WhatIf

__all__ = ["figure_png", "what_if_figure"]

_MODEL_STYLE = {"what-if": ("#1f6feb", "-"), "as in file": ("#6e7781", "--")}
_STAGE_MARKER = {"opportunity": "s", "won": "o"}
_MOTION_COLOUR = {"hot": "#d1242f", "warm": "#bf8700", "nurture": "#6e7781", "all": "#1f6feb"}


def figure_png(figure: Figure, dpi: int = 80) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def what_if_figure(result: WhatIf) -> Figure:
    """Four panels of one what-if: lift by band, volume vs capacity, SLA breaches, EV by MQL threshold."""
    figure = Figure(figsize=(12.0, 7.2), layout="constrained")
    (lift_ax, volume_ax), (sla_ax, ev_ax) = figure.subplots(2, 2)
    _lift_panel(lift_ax, result)
    _volume_panel(volume_ax, result)
    _sla_panel(sla_ax, result)
    _ev_panel(ev_ax, result)
    figure.suptitle(result.readout(), fontsize=9)
    return figure


def _lift_panel(ax: Axes, result: WhatIf) -> None:
    """Conversion by band (% of leads in band) with Wilson 95% intervals, what-if against the file's model."""
    lift = result.lift
    bands = list(dict.fromkeys(lift["band"]))
    x = np.arange(len(bands), dtype=np.float64)
    for i, ((model, stage), rows) in enumerate(lift.groupby(["model", "stage"], sort=False)):
        colour, line = _MODEL_STYLE.get(str(model), ("black", ":"))
        rows = rows.set_index("band").reindex(bands)
        rate = 100 * rows["rate"].to_numpy(dtype=np.float64)
        low = np.nan_to_num(rate - 100 * rows["ci_low"].to_numpy(dtype=np.float64))
        high = np.nan_to_num(100 * rows["ci_high"].to_numpy(dtype=np.float64) - rate)
        shift = (i % 2 - 0.5) * 0.08 + (0.02 if model == "what-if" else -0.02)
        ax.errorbar(x + shift, rate, yerr=[low, high], color=colour, linestyle=line, capsize=3,
                    marker=_STAGE_MARKER.get(str(stage), "o"), markersize=4, label=f"{model}: {stage}")
    ax.set_xticks(x, bands)
    ax.set_xlabel("score band")
    ax.set_ylabel("% of leads in band reaching stage")
    ax.set_title(f"band lift ({' / '.join(LIFT_STAGES)}), 95% intervals", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")


def _volume_panel(ax: Axes, result: WhatIf) -> None:
    """Routed leads per working day of each motion; capacity (first touches a working day) as a black tick."""
    volume = result.volume.loc[result.volume["motion"] != "nurture"]
    x = np.arange(len(volume), dtype=np.float64)
    ax.bar(x, volume["leads_per_day"], color=[_MOTION_COLOUR[m] for m in volume["motion"]], width=0.6)
    capacity = volume["capacity_per_day"].to_numpy(dtype=np.float64)
    ax.hlines(capacity, x - 0.4, x + 0.4, color="black", linewidth=2.5, label="capacity / working day")
    for xi, (leads, cap) in enumerate(zip(volume["leads_per_day"], capacity)):
        ax.annotate(f"{leads:.1f} / {cap:.0f}", (xi, max(leads, cap)), textcoords="offset points",
                    xytext=(0, 4), ha="center", fontsize=8)
    nurture = float(result.volume.set_index("motion").at["nurture", "leads_per_day"])
    s = result.settings
    ax.set_xticks(x, [f"{m}" for m in volume["motion"]])
    ax.set_ylabel("leads per working day")
    ax.set_title(f"volume vs capacity: {s.sdr_reps} SDRs, {s.ae_reps} AEs, factor {s.capacity_factor:g} "
                 f"(nurture {nurture:.0f}/day)", fontsize=10)
    ax.set_ylim(0, max(float(np.nanmax(capacity)), float(volume["leads_per_day"].max())) * 1.25 + 0.5)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="upper right")


def _sla_panel(ax: Axes, result: WhatIf) -> None:
    """Share of routed leads whose first touch missed the SLA (working clock), per motion; the limit dashed."""
    sla = result.sla
    x = np.arange(len(sla), dtype=np.float64)
    rates = 100 * np.nan_to_num(sla["breach_rate"].to_numpy(dtype=np.float64))
    ax.bar(x, rates, color=[_MOTION_COLOUR[m] for m in sla["motion"]], width=0.6)
    for xi, (rate, routed, hours) in enumerate(zip(sla["breach_rate"], sla["routed"], sla["mean_queue_hours"])):
        text = "none routed" if routed == 0 else f"{100 * rate:.1f}% of {routed}"
        if not math.isnan(hours):
            text += f"\n{hours:.1f} h queue"
        ax.annotate(text, (xi, 100 * (0 if math.isnan(rate) else rate)), textcoords="offset points",
                    xytext=(0, 4), ha="center", fontsize=8)
    ax.axhline(100 * result.settings.max_breach_rate, color="#d1242f", linestyle="--", label="limit")
    ax.set_xticks(x, list(sla["motion"]))
    ax.set_ylabel("% of routed leads breaching SLA")
    ax.set_title("SLA breaches (working clock)", fontsize=10)
    ax.set_ylim(0, max(float(rates.max()), 100 * result.settings.max_breach_rate) * 1.35 + 1)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="upper right")


def _ev_panel(ax: Axes, result: WhatIf) -> None:
    """EV ($k) by MQL threshold, routed with this team and with every MQL worked at once; picks marked."""
    curve = result.curve
    ax.plot(curve["threshold"], curve["expected_value"] / 1000, color="#1f6feb", marker=".",
            label="routed (this team, speed to lead)")
    ax.plot(curve["threshold"], curve["static_expected_value"] / 1000, color="#6e7781", linestyle="--",
            label="every MQL worked at once")
    over = curve["sla_breach_rate"].fillna(0.0) > result.settings.max_breach_rate
    ax.scatter(curve.loc[over, "threshold"], curve.loc[over, "expected_value"] / 1000, marker="x",
               color="#d1242f", zorder=3, label="over SLA limit")
    pick = result.recommendation
    if pick.threshold is not None and pick.expected_value is not None:
        ax.scatter([pick.threshold], [pick.expected_value / 1000], marker="*", s=220, color="#2da44e",
                   edgecolor="black", zorder=4, label=f"recommended {pick.threshold:g}")
    ax.axvline(result.settings.mql, color="black", linewidth=1, label=f"MQL now {result.settings.mql:g}")
    ax.set_xlabel("MQL threshold (points)")
    ax.set_ylabel("expected value ($k)")
    ax.set_title("expected value by MQL threshold", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
