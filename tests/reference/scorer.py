"""A straightforward per-lead Python scorer of the same model: the reference the vectorised engine must
match, and the baseline the scoring benchmark measures against. Clarity over speed, on purpose."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import Any

import pandas as pd

from scoring.model import Decay, ExponentialDecay, ModelSpec, StepDecay

__all__ = ["reference_score"]


def _decay(decay: Decay, days: float) -> float:
    if isinstance(decay, ExponentialDecay):
        return 0.5 ** (days / decay.half_life_days)
    if isinstance(decay, StepDecay):
        return (1 - decay.step) ** math.floor(days / decay.every_days)
    return 1.0


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def _matches(rule: Any, value: Any) -> bool:
    if rule.missing:
        return _missing(value)
    if _missing(value):
        return False
    if rule.between is not None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        return rule.between[0] <= number <= rule.between[1]
    if rule.regex is not None:
        return re.search(rule.regex, str(value)) is not None
    options = [rule.equals] if rule.equals is not None else list(rule.in_)
    for option in options:
        if isinstance(option, str | bool) and str(option).casefold() == str(value).casefold():
            return True
        if isinstance(option, int | float) and not isinstance(option, bool):
            try:
                if float(value) == float(option):
                    return True
            except (TypeError, ValueError):
                pass
    return False


def _email_domain(lead: dict[str, Any]) -> Any:
    email = lead.get("email")
    return None if _missing(email) else str(email).rpartition("@")[2].casefold()


def reference_score(leads: pd.DataFrame, events: pd.DataFrame, spec: ModelSpec, as_of: pd.Timestamp) -> pd.DataFrame:
    """Score lead by lead, event by event; returns lead_id, fit, behaviour, negative, account, total, band, tier, reasons."""
    as_of = pd.Timestamp(as_of)
    by_lead: dict[Any, list[tuple[float, str, float]]] = defaultdict(list)
    for row in events.itertuples(index=False):
        days = (as_of - pd.Timestamp(row.at)).total_seconds() / 86400
        by_lead[row.lead_id].append((days, row.type, getattr(row, "value", float("nan"))))
    records = leads.to_dict("records")
    for lead in records:
        lead.setdefault("email_domain", _email_domain(lead))
    account_points = _account_points(records, by_lead, spec)
    out = []
    for lead in records:
        contributions: list[tuple[str, float]] = []
        for rule in spec.fit.rules:
            contributions.append((rule.label or rule.name, rule.points if _matches(rule, lead.get(rule.field)) else 0.0))
        fit_raw = sum(p for _, p in contributions)
        lead_events = by_lead.get(lead["lead_id"], [])
        behaviour_raw = 0.0
        for action in spec.behaviour.actions:
            hits = sorted((e for e in lead_events if e[1] == action.event
                           and (action.min_value is None or (not math.isnan(e[2]) and e[2] >= action.min_value))),
                          key=lambda e: e[0])
            total = 0.0
            for rank, (days, _, _) in enumerate(hits):
                if action.max_repeats is not None and rank >= action.max_repeats:
                    break
                total += action.points * _decay(action.decay or spec.behaviour.decay, days) * action.repeat_factor ** rank
            contributions.append((action.label or action.name or action.event, total))
            behaviour_raw += total
        created_days = max((as_of - pd.Timestamp(lead["created_at"])).total_seconds() / 86400, 0.0)
        silent = min([created_days] + [e[0] for e in lead_events])
        multiplier = 1.0
        for step in spec.behaviour.inactivity.steps:
            label = f"inactive {step.after_days:g}+ days"
            applies = silent >= step.after_days and not any(
                silent >= later.after_days for later in spec.behaviour.inactivity.steps if later.after_days > step.after_days)
            contributions.append((label, behaviour_raw * (step.multiplier - 1) if applies else 0.0))
            if applies:
                multiplier = step.multiplier
        behaviour_raw *= multiplier
        negative = 0.0
        field_rules = [r for r in spec.negative.rules if r.event is None]
        event_rules = [r for r in spec.negative.rules if r.event is not None]
        for rule in field_rules + event_rules:
            if rule.event is None:
                hit = _matches(rule, lead.get(rule.field))
            else:
                hit = any(e[1] == rule.event for e in lead_events)
            contributions.append((rule.label or rule.name, rule.points if hit else 0.0))
            negative += rule.points if hit else 0.0
        account_raw = 0.0
        for signal in spec.account.signals:
            points = account_points.get((lead.get("account_id"), signal.name), 0.0) if not _missing(lead.get("account_id")) else 0.0
            contributions.append((signal.label or signal.name, points))
            account_raw += points
        pillars = (
            min(max(fit_raw / spec.fit.max_points, 0), 1) * 100,
            min(max(behaviour_raw / spec.behaviour.max_points, 0), 1) * 100,
            min(max(account_raw / spec.account.max_points, 0), 1) * 100,
        )
        if spec.scoring.combine == "sum":
            blended = fit_raw + behaviour_raw + account_raw
        else:
            w = spec.scoring.weights
            blended = w.fit * pillars[0] + w.behaviour * pillars[1] + w.account * pillars[2]
        total = round(min(max(blended + negative, 0.0), 100.0), 1)
        band = [b.name for b in spec.bands if total >= b.min][-1]
        tier = [t.name for t in sorted(spec.tiers, key=lambda t: t.min_score) if total >= t.min_score][-1]
        ranked = sorted(((abs(round(p)), -i, label, round(p)) for i, (label, p) in enumerate(contributions)), reverse=True)
        reasons = ", ".join(f"{label} {p:+d}" for size, _, label, p in ranked[:3] if size > 0)
        out.append({"lead_id": lead["lead_id"], "fit": round(pillars[0], 1), "behaviour": round(pillars[1], 1),
                    "negative": round(negative, 1), "account": round(pillars[2], 1), "total": total,
                    "band": band, "tier": tier, "reasons": reasons})
    return pd.DataFrame(out)


def _account_points(records: list[dict[str, Any]], by_lead: dict[Any, list[tuple[float, str, float]]],
                    spec: ModelSpec) -> dict[tuple[Any, str], float]:
    """Points per (account, signal), from every contact's events inside the account window."""
    section = spec.account
    weights = {k.casefold(): v for k, v in section.seniority_weights.items()}
    contacts: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for lead in records:
        if not _missing(lead.get("account_id")):
            contacts[lead["account_id"]].append(lead)
    out: dict[tuple[Any, str], float] = {}
    for account, people in contacts.items():
        for signal in section.signals:
            best = 0.0
            engaged_weight = 0.0
            departments = set()
            for person in people:
                seniority = person.get("seniority")
                weight = section.default_seniority_weight if _missing(seniority) else weights.get(
                    str(seniority).casefold(), section.default_seniority_weight)
                recent = [e for e in by_lead.get(person["lead_id"], []) if e[0] <= section.window_days]
                if recent:
                    engaged_weight += weight
                    if not _missing(person.get("department")):
                        departments.add(str(person["department"]).casefold())
                for days, kind, _ in recent:
                    if signal.event is not None and kind == signal.event or (
                        signal.department is not None and not _missing(person.get("department"))
                        and str(person["department"]).casefold() == signal.department.casefold()
                    ):
                        best = max(best, weight * _decay(section.decay, days))
            if signal.engaged_people is not None:
                best = 1.0 if engaged_weight >= signal.engaged_people - 1e-9 else 0.0
            elif signal.departments_engaged is not None:
                best = 1.0 if len(departments) >= signal.departments_engaged else 0.0
            out[(account, signal.name)] = signal.points * best
    return out
