"""Every adapter passes the conformance suite of connectors.testing; the suite's own helpers behave."""

from __future__ import annotations

import types
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import connectors
import connectors.testing as testing
from connectors.guard import CheckedChanges, checked_changes
from connectors.local import LocalCRM
from connectors.protocol import WriteReport
from connectors.testing import (
    CHECKS,
    SAMPLE_SCORE_FIELDS,
    ConnectorWrapper,
    SeededConnector,
    conformance_params,
    sample_funnel,
)


def local_crm(workdir: Path) -> SeededConnector:
    """A fresh local CRM seeded with the sample funnel."""
    crm = LocalCRM(workdir / "crm.sqlite")
    crm.load_funnel(*sample_funnel())
    return SeededConnector(crm, SAMPLE_SCORE_FIELDS)


ADAPTERS = {
    "local": (local_crm, {}),
}
"""Adapter name -> (factory, expected_failed_checks). Salesforce and HubSpot join here."""


@pytest.mark.parametrize(
    "check", [p for name, (factory, gaps) in ADAPTERS.items() for p in conformance_params(factory, name, gaps)]
)
def test_adapter_conforms(check: Callable[[], None]) -> None:
    check()


class UnguardedCRM(ConnectorWrapper):
    """A deliberately broken adapter: it writes raw frames without the guard, and owns its inner CRM."""

    def write_score_values(self, changes: CheckedChanges) -> WriteReport:
        if isinstance(changes, pd.DataFrame):
            changes = checked_changes(changes, SAMPLE_SCORE_FIELDS)
        return self.inner.write_score_values(changes)

    def close(self) -> None:
        self.inner.close()


def unguarded_crm(workdir: Path) -> SeededConnector:
    inner, fields = local_crm(workdir)
    return SeededConnector(UnguardedCRM(inner), fields)


@pytest.mark.parametrize(
    "check",
    [p for p in conformance_params(unguarded_crm, "unguarded", {
        "check_writes_only_score_fields": "deliberately accepts unchecked frames",
    }) if "check_writes_only_score_fields" in p.id],
)
def test_suite_catches_an_adapter_that_skips_the_guard(check: Callable[[], None]) -> None:
    """The declared gap runs as a strict xfail: it passes only because the check fails."""
    check()


def test_declared_gap_becomes_strict_xfail_with_its_reason() -> None:
    params = conformance_params(local_crm, "local", {"check_unknown_record_is_reported": "remote ids are opaque"})
    marked = {p.id: p.marks for p in params if p.marks}
    assert list(marked) == ["local-check_unknown_record_is_reported"]
    (mark,) = marked["local-check_unknown_record_is_reported"]
    assert mark.name == "xfail" and mark.kwargs == {"strict": True, "reason": "remote ids are opaque"}
    assert len(params) == len(CHECKS)


def test_unknown_gap_name_is_refused_with_the_closest_check() -> None:
    with pytest.raises(ValueError, match="check_undo_restores_exactly"):
        conformance_params(local_crm, "local", {"check_undo_restore_exactly": "typo"})


def test_gap_without_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="give a reason"):
        conformance_params(local_crm, "local", {"check_undo_restores_exactly": " "})


def test_testing_module_does_not_import_pytest_at_import_time() -> None:
    assert "pytest" not in vars(testing)


def test_connectors_all_lists_exactly_the_public_names() -> None:
    public = {
        name for name, value in vars(connectors).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert public == set(connectors.__all__)


def test_testing_all_lists_every_check_and_helper() -> None:
    defined = {
        name for name, value in vars(testing).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == testing.__name__
    }
    assert defined <= set(testing.__all__)
    assert {c.__name__ for c in CHECKS} <= set(testing.__all__)
    for name in testing.__all__:
        assert hasattr(testing, name), name
