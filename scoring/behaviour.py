"""Behaviour and event-based negative points per lead: decay, repeat caps, inactivity steps."""

from __future__ import annotations

import numpy as np

from scoring.compiled import CompiledAction, CompiledModel
from scoring.event_arrays import EventArrays

__all__ = ["action_points", "inactivity_points", "negative_event_points"]


def _rank_from_latest(lead: np.ndarray) -> np.ndarray:
    """For events sorted by (lead, time): 0 for each lead's latest event, 1 for the one before, ..."""
    n = len(lead)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    last = np.r_[lead[1:] != lead[:-1], True]
    end_pos = np.flatnonzero(last)
    group_end = np.repeat(end_pos, np.diff(np.r_[-1, end_pos]))
    return group_end - np.arange(n)


def _one_action(events: EventArrays, action: CompiledAction) -> np.ndarray:
    mask = events.type_code == events.code_of(action.event)
    if action.min_value is not None:
        mask &= events.value >= action.min_value
    idx = np.flatnonzero(mask)
    lead, days = events.lead[idx], events.days[idx]
    rank = _rank_from_latest(lead)
    points = action.points * action.decay(days)
    if action.repeat_factor != 1.0:
        points = points * action.repeat_factor ** rank
    points = np.where(rank < action.max_repeats, points, 0.0)
    return np.bincount(lead, weights=points, minlength=events.n_leads)


def action_points(events: EventArrays, model: CompiledModel, out: np.ndarray | None = None) -> np.ndarray:
    """Decayed, repeat-capped points per lead and action: float array (n_leads, n_actions)."""
    out = np.zeros((events.n_leads, len(model.actions))) if out is None else out
    for j, action in enumerate(model.actions):
        out[:, j] = _one_action(events, action)
    return out


def inactivity_points(behaviour_raw: np.ndarray, silent_days: np.ndarray, model: CompiledModel,
                      out: np.ndarray | None = None) -> np.ndarray:
    """Points taken off the behaviour track by inactivity, one column per step (n_leads, n_steps), <= 0."""
    steps = len(model.inactivity_days)
    out = np.zeros((len(behaviour_raw), steps)) if out is None else out
    if steps:
        step = np.searchsorted(model.inactivity_days, silent_days, side="right") - 1
        has = step >= 0
        rows = np.flatnonzero(has)
        out[rows, step[has]] = behaviour_raw[has] * (model.inactivity_multipliers[step[has]] - 1.0)
    return out


def negative_event_points(events: EventArrays, model: CompiledModel, out: np.ndarray | None = None) -> np.ndarray:
    """Points (<= 0) per lead and event-based negative rule, counted once per lead (n_leads, n_rules)."""
    out = np.zeros((events.n_leads, len(model.negative_events))) if out is None else out
    for j, (_label, event, points) in enumerate(model.negative_events):
        seen = np.bincount(events.lead[events.type_code == events.code_of(event)], minlength=events.n_leads)
        out[:, j] = np.where(seen > 0, points, 0.0)
    return out
