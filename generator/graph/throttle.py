"""One shared back-off for every request of a run, bounded in total."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Protocol

# Used when a throttled or unavailable response carries no usable Retry-After.
DEFAULT_DELAY = 2.0
MAX_DEFAULT_DELAY = 60.0


class Clock(Protocol):
    """Time as the back-off sees it; tests inject one that does not really sleep."""

    def now(self) -> float:
        """Monotonic seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait for `seconds`."""
        ...


class RealClock:
    """The monotonic clock and asyncio.sleep."""

    def now(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait for `seconds`."""
        await asyncio.sleep(seconds)


class BackoffExhausted(Exception):
    """The summed back-off of the run would exceed its bound."""


class Backoff:
    """A shared "not before" instant: a throttled response pauses all work, not one task."""

    def __init__(self, max_total_wait: float, clock: Clock | None = None) -> None:
        self.max_total_wait = max_total_wait
        self.clock = clock or RealClock()
        self.not_before = 0.0
        self.total = 0.0  # seconds the shared horizon was pushed out, i.e. time the run paused

    async def wait(self) -> None:
        """Sleep until the shared horizon has passed."""
        delay = self.not_before - self.clock.now()
        if delay > 0:
            await self.clock.sleep(delay)

    def push(self, delay: float) -> None:
        """Pause everyone for `delay` seconds from now; raise when the bound would be exceeded."""
        now = self.clock.now()
        until = now + max(delay, 0.0)
        if until <= self.not_before:
            return  # concurrent 429s for the same throttling window count once
        extension = until - max(self.not_before, now)
        if self.total + extension > self.max_total_wait:
            raise BackoffExhausted(
                f"waiting {delay:g} s more would exceed the {self.max_total_wait:g} s bound"
            )
        self.total += extension
        self.not_before = until


def retry_after(headers: Mapping[str, str], attempt: int) -> float:
    """Seconds to wait per Retry-After (seconds or HTTP date), else exponential from attempt."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is not None:
        value = str(value).strip()
        try:
            return max(float(value), 0.0)
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value).timestamp()
            return max(float(when) - time.time(), 0.0)
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return min(DEFAULT_DELAY * float(2 ** max(attempt - 1, 0)), MAX_DEFAULT_DELAY)
