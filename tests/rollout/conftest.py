"""Shared fixtures of the rollout tests: the shadow state store's wall clock, set by the test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

import pytest


@dataclass
class WallClock:
    """The moment the state store reads as now; None: the real time."""

    at: datetime | None = None


@pytest.fixture
def store_clock(monkeypatch: pytest.MonkeyPatch) -> WallClock:
    """The wall clock rollout.shadow_store stamps its rows with (pushed_at, ...), set through `.at`."""
    clock = WallClock()

    class _Clock(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:
            return datetime.now(tz) if clock.at is None else clock.at.astimezone(tz)

    monkeypatch.setattr("rollout.shadow_store.datetime", _Clock)
    return clock
