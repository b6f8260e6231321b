"""Each package's __all__ is exactly its public names, and each exists (STYLE rule 1)."""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import pytest

PACKAGES = ["scoring", "connectors", "simulator", "rollout"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist(name: str) -> None:
    package = importlib.import_module(name)
    for member in package.__all__:
        assert hasattr(package, member), f"{name}.{member}"


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_complete(name: str) -> None:
    package = importlib.import_module(name)
    public = {
        member for member, value in vars(package).items()
        if not member.startswith("_") and not isinstance(value, types.ModuleType)
        and member != "annotations"
    }
    lazy = set(getattr(package, "_LAZY", {}))
    assert public | lazy == set(package.__all__)


ALLOWED_IMPORTS = {
    "scoring": set(),
    "simulator": {"scoring"},
    "connectors": {"scoring"},
    "rollout": {"scoring", "connectors", "simulator"},
}
TEST_SUPPORT = {"connectors/testing.py", "connectors/_faults.py", "connectors/_samples.py"}
"""The shipped conformance suite drives push/undo through rollout (lazily); nothing else may."""


def _imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_imports_point_one_way(name: str) -> None:
    """rollout -> connectors, simulator, scoring; simulator -> scoring; connectors -> scoring (ARCHITECTURE.md)."""
    root = Path(__file__).resolve().parents[1]
    for path in sorted((root / name).glob("*.py")):
        relative = path.relative_to(root).as_posix()
        extra = _imported_packages(path) - ALLOWED_IMPORTS[name] - {name}
        if relative in TEST_SUPPORT:
            extra -= {"rollout"}
        assert not extra, f"{relative} imports {sorted(extra)}"
