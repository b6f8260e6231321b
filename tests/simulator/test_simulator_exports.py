"""simulator.__all__ lists exactly the package's public names, and each exists."""

from __future__ import annotations

import types

import simulator


def test_all_names_exist() -> None:
    for name in simulator.__all__:
        assert hasattr(simulator, name), name


def test_all_is_complete() -> None:
    public = {
        name for name, value in vars(simulator).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert public == set(simulator.__all__)
