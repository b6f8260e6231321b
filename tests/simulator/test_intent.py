"""Buying committees: 1 to max_committee_size engaged contacts per committee account."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.errors import SettingsError
from simulator import FunnelSpec
from simulator._sampling import group_ranks
from simulator.intent import draw_account_windows, draw_lead_windows
from simulator.population import draw_accounts, draw_contacts
from simulator.scenario import load_scenario

SEED = 20261101


def _committee_sizes(spec: FunnelSpec) -> tuple[np.ndarray, np.ndarray]:
    """(engaged contacts per committee account, engaged flag per lead) of one seeded draw."""
    rng = np.random.default_rng(SEED)
    accounts = draw_accounts(spec, rng)
    windows = draw_account_windows(spec, accounts.fit, rng)
    contacts = draw_contacts(spec, accounts, windows.active, rng)
    leads = draw_lead_windows(spec, contacts, windows, rng)
    size = np.bincount(contacts.account[leads.engaged], minlength=windows.active.size)
    assert not leads.engaged[~windows.active[contacts.account]].any()  # only committee accounts engage
    return size[windows.active], leads.engaged


@pytest.mark.parametrize("spec", [
    FunnelSpec(n_leads=20_000),
    load_scenario("scenarios/enterprise_heavy.toml").funnel,
], ids=["default", "enterprise_heavy"])
def test_committees_have_at_most_ten_people_and_the_cap_binds(spec: FunnelSpec) -> None:
    capped, _ = _committee_sizes(spec)
    uncapped, _ = _committee_sizes(dataclasses.replace(spec, max_committee_size=10**6))
    assert capped.max() == 10 < uncapped.max()
    assert 4.0 <= capped.mean() <= 8.0
    assert (capped == np.minimum(capped, uncapped)).all()  # capping only removes people


def test_a_smaller_cap_gives_smaller_committees() -> None:
    sizes, engaged = _committee_sizes(FunnelSpec(n_leads=5_000, max_committee_size=3))
    assert sizes.max() == 3 and (sizes == 3).mean() > 0.3
    assert engaged.any()


def test_a_committee_needs_at_least_one_person() -> None:
    with pytest.raises(SettingsError, match="max_committee_size: a buying committee needs at least 1 person"):
        FunnelSpec(max_committee_size=0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=60))
def test_group_ranks_number_each_group_in_array_order(groups: list[int]) -> None:
    ranks = group_ranks(np.array(groups, dtype=np.int64))
    seen: dict[int, int] = {}
    for group, rank in zip(groups, ranks.tolist(), strict=True):
        assert rank == seen.get(group, 0)
        seen[group] = rank + 1
