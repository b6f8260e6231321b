"""The shadow state store (rollout.shadow_store) keeps the order things were added in, whatever the clock says."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from rollout.shadow_store import ShadowStore
from tests.rollout.conftest import WallClock

FIRST = datetime(2026, 11, 23, 14, 45, 1, 100_000, tzinfo=UTC)


@pytest.mark.parametrize("second", [
    datetime(2026, 11, 23, 14, 45, 1, 700_000, tzinfo=UTC),
    datetime(2026, 11, 23, 14, 45, 0, 900_000, tzinfo=UTC),
], ids=["same-second", "clock-stepped-back-0.2s"])
def test_pushes_added_within_one_second_come_back_in_the_order_they_were_added(
        tmp_path: Path, store_clock: WallClock, second: datetime) -> None:
    """pushed_at has one-second resolution and follows the wall clock (which may step back); it only labels."""
    with ShadowStore(tmp_path / "shadow.sqlite", create=True) as store:
        for push_id, at in (("p-b", FIRST), ("p-a", second)):
            store_clock.at = at
            store.add_push("s-1", push_id, 1, "local", tmp_path / "journal.sqlite")
        store.add_push("s-2", "p-c", 2, "local", tmp_path / "journal.sqlite")
        pushes = store.pushes("s-1")
    assert pushes["push_id"].tolist() == ["p-b", "p-a"]
    assert pushes["pushed_at"].tolist() == [f"{FIRST:%Y-%m-%dT%H:%M:%SZ}", f"{second:%Y-%m-%dT%H:%M:%SZ}"]
