"""The engine's rules evaluated per row of running scores (simulator.mql_timing): behaviour points of each
action at any moment from the qualifying events up to an event, fit and field rules per lead, inactivity, and
the pillars combined as score_totals() combines them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.compiled import CompiledAction, CompiledModel
from scoring.matchers import ColumnCodes, matcher_masks
from simulator._sampling import BoolArray, FloatArray, IntArray

__all__ = ["DAY_NS", "Qualifying", "account_contribution", "after_inactivity", "combined", "per_lead_rules",
           "pillar", "segment_starts"]

DAY_NS = 86_400 * 10**9


def segment_starts(lead: IntArray) -> tuple[IntArray, IntArray]:
    """(index of each run's first element, run lengths) of a sorted key array."""
    starts = np.flatnonzero(np.r_[True, lead[1:] != lead[:-1]]) if lead.size else np.zeros(0, np.int64)
    return starts, np.diff(np.r_[starts, lead.size])


def _multiplicative_points(action: CompiledAction, q_at: IntArray, q_lead: IntArray) -> FloatArray:
    """Points of one action at each of its qualifying events (sorted by lead, time), evaluated at that event.

    V_n = p + f * d(t_n - t_(n-1)) * V_(n-1) - [n >= m] p * f**m * d(t_n - t_(n-m)), rank by rank (the n-th
    qualifying event of every lead at once), for a multiplicative decay curve d.
    """
    p, f, m = action.points, action.repeat_factor, action.max_repeats
    starts, counts = segment_starts(q_lead)
    value = np.full(q_lead.size, p, dtype=np.float64)
    order = np.argsort(-counts, kind="stable")
    first, longest = starts[order], counts[order]
    for r in range(1, int(counts.max(initial=0))):
        idx = first[: np.searchsorted(-longest, -r, side="left")] + r
        carried = f * action.decay((q_at[idx] - q_at[idx - 1]) / DAY_NS)
        value[idx] = p + carried * value[idx - 1]
        if r >= m:
            value[idx] -= p * f**m * action.decay((q_at[idx] - q_at[idx - m]) / DAY_NS)
    return value


@dataclass(frozen=True, eq=False)
class Qualifying:
    """One action's qualifying events (sorted by lead, time) and how many of them each event has behind it."""

    action: CompiledAction
    behind: IntArray
    """Per event: qualifying events of all leads up to it, itself included; the lead's latest is `behind - 1`."""
    lead: IntArray
    """Per event: its lead (sorted)."""
    before_lead: IntArray
    """Per lead: qualifying events of the leads before it (a lead's count at an event is `behind - before_lead`)."""
    at: IntArray
    """Per qualifying event: time, ns."""
    value: FloatArray | None
    """Per qualifying event: the action's points there, carried from event to event (multiplicative decays
    with a repeat factor or a curve; None for a plain count or step decay)."""

    @classmethod
    def of(cls, action: CompiledAction, lead: IntArray, at: IntArray, starts: IntArray, lead_start: IntArray,
           qualifies: BoolArray, n_leads: int) -> tuple[Qualifying, FloatArray]:
        """(the state, the action's points at every event) from events sorted by (lead, time); `starts` = each
        lead's first event, `lead_start` = each event's lead's first event."""
        behind: IntArray = np.cumsum(qualifies, dtype=np.int64)  # up to each event, all leads
        before: IntArray = (behind - qualifies)[lead_start]
        count = behind - before  # ... of the event's own lead
        before_lead = np.zeros(n_leads, dtype=behind.dtype)
        before_lead[lead[starts]] = before[starts]
        q_idx = np.flatnonzero(qualifies)
        carried = action.decay_kind == "exponential" or (action.decay_kind == "none" and action.repeat_factor != 1.0)
        value = _multiplicative_points(action, at[q_idx], lead_start[q_idx]) if carried else None
        state = cls(action, behind, lead, before_lead, at[q_idx], value)
        return state, state._points(at, count, behind)

    def points(self, when: IntArray, rows: IntArray) -> FloatArray:
        """Points at times `when` of the lead of each event `rows`, counting its qualifying events up to that
        event: exact when none of the lead's events lies between it and `when`."""
        behind = self.behind[rows]
        return self._points(when, behind - self.before_lead[self.lead[rows]], behind)

    def _points(self, when: IntArray, count: IntArray, behind: IntArray) -> FloatArray:
        """Points at times `when` with `count` of the lead's qualifying events behind, the latest `behind - 1`."""
        action = self.action
        p, f = action.points, action.repeat_factor
        if self.value is None and action.decay_kind == "none":
            return p * np.minimum(count, action.max_repeats)
        out = np.zeros(when.size)
        has = np.flatnonzero(count)
        q_pos = behind[has] - 1  # the lead's latest so far
        if self.value is not None:
            out[has] = self.value[q_pos]
            if action.decay_kind == "exponential":
                out[has] *= action.decay((when[has] - self.at[q_pos]) / DAY_NS)
            return out
        count = count[has]
        for r in range(int(min(action.max_repeats, count.max(initial=0)))):
            weight = f**r
            if weight == 0.0:
                break
            term = p * action.decay((when[has] - self.at[q_pos - r]) / DAY_NS)
            if f != 1.0:
                term = term * weight
            out[has] += term
            keep = (count > r + 1) & (term != 0.0)
            has, q_pos, count = has[keep], q_pos[keep], count[keep]
        return out


def per_lead_rules(columns: ColumnCodes, model: CompiledModel) -> tuple[FloatArray, FloatArray]:
    """(raw fit points, negative field-rule points) per lead, with the engine's matchers (`columns` of the
    leads with their email_domain)."""
    fit = np.zeros(len(columns))
    negative = np.zeros(len(columns))
    if model.fit_rules:
        fit = (matcher_masks(columns, model.fit_rules) * [r.points for r in model.fit_rules]).sum(axis=1)
    if model.negative_rules:
        negative = (matcher_masks(columns, model.negative_rules)
                    * [r.points for r in model.negative_rules]).sum(axis=1)
    return fit, negative


def pillar(raw: FloatArray, max_points: float) -> FloatArray:
    return np.clip(raw / max_points, 0.0, 1.0) * 100.0


def combined(model: CompiledModel, fit_raw: FloatArray, behaviour: FloatArray, account: FloatArray,
              negative: FloatArray) -> FloatArray:
    """clip(blended + negative, 0, 100) as score_totals() combines pillars (raw points in)."""
    if model.combine == "sum":
        blended = fit_raw + behaviour + account
    else:
        w_fit, w_behaviour, w_account = model.weights
        blended = w_fit * pillar(fit_raw, model.fit_max) + w_behaviour * pillar(behaviour, model.behaviour_max) \
            + w_account * pillar(account, model.account_max)
    return np.clip(blended + negative, 0.0, 100.0)


def account_contribution(model: CompiledModel, account: FloatArray) -> FloatArray:
    """What raw account points add to the blended score: themselves (sum) or the weighted 0-100 pillar."""
    if model.combine == "sum":
        return account
    return model.weights[2] * pillar(account, model.account_max)


def after_inactivity(model: CompiledModel, behaviour: FloatArray, silent: FloatArray) -> FloatArray:
    """Behaviour points after the inactivity step `silent` days reach, as score_totals() adds it."""
    step = np.searchsorted(model.inactivity_days, silent, side="right") - 1
    has = step >= 0
    out = behaviour.copy()
    out[has] += behaviour[has] * (model.inactivity_multipliers[step[has]] - 1.0)
    return out
