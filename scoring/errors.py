"""The error tree of scorebench, shared by every package.

    ScorebenchError (Exception)
    ├── ConfigFileError (ValueError)     a user's TOML file is missing or malformed: file, key, line, problem
    │   ├── ModelFileError               a model file
    │   └── ScenarioFileError            a scenario file (simulator.scenario)
    ├── InputDataError (ValueError)      a leads/events/outcomes frame breaks the canonical contract
    ├── SettingsError (ValueError)       a setting or credential is missing or wrong
    └── CRMError                         defined in connectors.errors: RetriableCRMError, FatalCRMError,
                                         PushInterruptedError, RecordWriteError, JournalError,
                                         ScoreFieldViolation

The CLI catches ScorebenchError once, prints its message and exits 1. Each error says what is wrong,
where, and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ScorebenchError",
    "ConfigFileError",
    "ModelFileError",
    "ModelProblem",
    "InputDataError",
    "SettingsError",
]


class ScorebenchError(Exception):
    """Base of every error scorebench raises on purpose."""


@dataclass(frozen=True)
class ModelProblem:
    """One problem in a model file: the dotted key, its line (when known) and what is wrong."""

    key: str
    problem: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line else ""
        return f"{where}{self.key}: {self.problem}"


class ConfigFileError(ScorebenchError, ValueError):
    """A TOML file a user wrote cannot be used; carries every problem found, not just the first."""

    kind = "file"
    """What the file is, as the message names it ("model file", "scenario file")."""

    def __init__(self, path: str, problems: list[ModelProblem]) -> None:
        self.path = path
        self.problems = list(problems)
        lines = "\n".join(f"  {path}: {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{self.kind} {path} has {count} problem{'s' * (count != 1)}:\n{lines}")


class ModelFileError(ConfigFileError):
    """A model file cannot be used; carries every problem found, not just the first."""

    kind = "model file"


class InputDataError(ScorebenchError, ValueError):
    """Input data (leads, events, outcomes) breaks the canonical contract; says what, where, what to do."""

    def __init__(self, source: str, problem: str, hint: str = "") -> None:
        self.source = source
        self.problem = problem
        self.hint = hint
        text = f"{source}: {problem}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class SettingsError(ScorebenchError, ValueError):
    """A setting or credential is missing or invalid."""
