"""A calibrated ModelSpec written as model-file TOML text that `parse_model` reads back unchanged."""

from __future__ import annotations

import json
import math

from scoring.model import FitRule, ModelSpec

__all__ = ["model_text"]


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _rule(rule: FitRule) -> list[str]:
    lines = ["[[fit.rules]]", f"name = {_value(rule.name)}", f"label = {_value(rule.label)}",
             f"field = {_value(rule.field)}"]
    if rule.in_ is not None:
        lines.append(f"in = {_value(rule.in_)}")
    elif rule.equals is not None:
        lines.append(f"equals = {_value(rule.equals)}")
    elif rule.between is not None:
        lines.append(f"between = {_value(rule.between)}")
    elif rule.missing:
        lines.append("missing = true")
    lines.append(f"points = {_value(rule.points)}")
    return [*lines, ""]


def model_text(spec: ModelSpec, comment: list[str]) -> str:
    """TOML for a fit-only model (model, changelog, scoring, fit rules, thresholds, bands, tiers)."""
    out = [f"# {line}" if line else "#" for line in comment]
    out += ["", "[model]", f"name = {_value(spec.model.name)}", f"version = {_value(spec.model.version)}",
            f"description = {_value(spec.model.description)}", ""]
    for entry in spec.changelog:
        out += ["[[changelog]]", f"version = {_value(entry.version)}", f"date = {entry.date.isoformat()}"]
        if entry.author:
            out.append(f"author = {_value(entry.author)}")
        out += [f"change = {_value(entry.change)}", ""]
    weights = spec.scoring.weights
    out += ["[scoring]", f"combine = {_value(spec.scoring.combine)}",
            f"weights = {{ fit = {_value(weights.fit)}, behaviour = {_value(weights.behaviour)}, "
            f"account = {_value(weights.account)} }}", "",
            "[fit]", f"max_points = {_value(spec.fit.max_points)}", ""]
    for rule in spec.fit.rules:
        out += _rule(rule)
    thresholds = spec.thresholds
    out += ["[thresholds]", f"mql = {_value(thresholds.mql)}"]
    if thresholds.sql is not None:
        out.append(f"sql = {_value(thresholds.sql)}")
    out.append("")
    for band in spec.bands:
        out += ["[[bands]]", f"name = {_value(band.name)}", f"min = {_value(band.min)}", ""]
    for tier in spec.tiers:
        out += ["[[tiers]]", f"name = {_value(tier.name)}", f"label = {_value(tier.label)}",
                f"min_score = {_value(tier.min_score)}"]
        if tier.sla_hours is not None:
            out.append(f"sla_hours = {_value(tier.sla_hours)}")
        if tier.motion:
            out.append(f"motion = {_value(tier.motion)}")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
