"""Client-side rate limiting: wait before a request so that a CRM's rolling request window is never exceeded."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

__all__ = ["RequestPacer"]


class RequestPacer:
    """Waits before a request so that at most `limit` go out per rolling `window_seconds` (None: no limit).

    `clock` and `sleep` are injectable (seconds) so tests can run the pacer on a fake clock.
    """

    def __init__(
        self,
        limit: int | None,
        window_seconds: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._limit = limit
        self._window = window_seconds or 0.0
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()

    def wait(self) -> None:
        """Sleep until one more request fits in the current window."""
        if self._limit is None:
            return
        now = self._clock()
        while self._sent and self._sent[0] <= now - self._window:
            self._sent.popleft()
        if len(self._sent) >= self._limit:
            self._sleep(self._sent[len(self._sent) - self._limit] + self._window - now)

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` seconds (a retry backoff), on the pacer's clock."""
        self._sleep(seconds)

    def count(self, requests: int) -> None:
        """Record `requests` requests sent just now."""
        if self._limit is not None:
            now = self._clock()
            self._sent.extend([now] * requests)
