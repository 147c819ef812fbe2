"""Back-off shared by every HTTP reader: how long a server asks us to wait, and for how long in all.

Servers that throttle say when to come back with `Retry-After` (seconds, possibly fractional, or
an HTTP date). Readers do not count attempts for such answers: they wait as asked, under one
budget of total time the run may be held back.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

# Used when a throttled or unavailable response carries no usable Retry-After.
DEFAULT_DELAY = 2.0
MAX_DEFAULT_DELAY = 60.0


class WaitExhausted(Exception):
    """Holding the run back any longer would exceed its total wait budget."""


class WaitBudget:
    """The total time a run may be held back; concurrent holds over the same span count once."""

    def __init__(self, max_total_wait: float) -> None:
        self.max_total_wait = max_total_wait
        self.waited = 0.0  # seconds the run was held back so far
        self._held_until = 0.0

    def hold(self, now: float, until: float) -> None:
        """Count holding the run back from `now` until `until`; raise WaitExhausted instead."""
        extension = until - max(self._held_until, now)
        if extension <= 0:
            return
        if self.waited + extension > self.max_total_wait:
            raise WaitExhausted(
                f"waiting {until - now:.1f} s more would exceed the wait budget of "
                f"{self.max_total_wait:g} s (waited {self.waited:.0f} s so far)"
            )
        self.waited += extension
        self._held_until = until


def retry_after(headers: Mapping[str, str], attempt: int) -> float:
    """Seconds to wait per Retry-After (seconds or HTTP date), else exponential from attempt."""
    value = header(headers, "retry-after")
    if value is not None:
        try:
            seconds = float(value)
        except ValueError:
            seconds = math.nan
        # `nan` would compare false with every deadline and retry at once, forever.
        if math.isfinite(seconds) or seconds == math.inf:
            return max(seconds, 0.0)
        try:
            when = parsedate_to_datetime(value).timestamp()
            return max(float(when) - time.time(), 0.0)
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return min(DEFAULT_DELAY * float(2 ** max(attempt - 1, 0)), MAX_DEFAULT_DELAY)


def number(headers: Mapping[str, str], name: str) -> float | None:
    """A numeric header (case-insensitive name), or None when absent or not a number."""
    value = header(headers, name)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value by case-insensitive name."""
    return next((str(v).strip() for k, v in headers.items() if k.lower() == name), None)
