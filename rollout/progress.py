"""Rich progress bars behind a tiny interface, so orchestration code stays free of terminal details."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

__all__ = ["Steps", "progress_bar", "quiet_steps"]

Advance = Callable[[int, int], None]
"""Called with (done, total) as work proceeds."""


class Steps:
    """Named steps of a long job: `step(name)` starts one; `counter(name)` returns a (done, total) callback."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._current: object | None = None

    def step(self, description: str) -> None:
        """Finish the previous step and start an indeterminate one."""
        self._finish()
        if self._progress is not None:
            self._current = self._progress.add_task(description, total=None)

    def counter(self, description: str) -> Advance:
        """Finish the previous step and start a counted one; returns its (done, total) callback."""
        self._finish()
        if self._progress is None:
            return lambda done, total: None
        task = self._progress.add_task(description, total=None)
        self._current = task
        progress = self._progress

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return advance

    def _finish(self) -> None:
        if self._progress is not None and self._current is not None:
            task = next(t for t in self._progress.tasks if t.id == self._current)
            total = task.total or 1
            self._progress.update(task.id, total=total, completed=total)
        self._current = None

    def close(self) -> None:
        """Mark the last step done."""
        self._finish()


@contextmanager
def progress_bar(console: Console) -> Iterator[Steps]:
    """Steps shown as Rich progress bars on `console` (transient output is kept, so logs read well)."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        steps = Steps(progress)
        try:
            yield steps
        finally:
            steps.close()


def quiet_steps() -> Steps:
    """Steps that show nothing (library use, tests)."""
    return Steps(None)
