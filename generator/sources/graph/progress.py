"""What the Graph read is doing: a live status line on a terminal, plain log lines otherwise."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TextIO

QUIET, NORMAL, VERBOSE = 0, 1, 2
REFRESH = 0.1  # seconds between redraws of the live line; redrawing per page would cost CPU


@dataclass
class Counts:
    """Running totals of one read."""

    groups: int = 0
    member_lists: int = 0
    member_lists_expected: int = 0
    memberships: int = 0
    users: int = 0
    requests: int = 0
    round_trips: int = 0
    retries: int = 0
    resource_units: int = 0  # RU Graph charged, throttled requests included
    throttled: int = 0  # 429 responses
    pauses: int = 0  # shared pauses Graph asked for with Retry-After
    paused: float = 0.0  # seconds of those pauses


class Progress:
    """Reports a Graph read; verbosity 0 quiet, 1 normal, 2 verbose."""

    def __init__(
        self, stream: TextIO, *, verbosity: int = NORMAL, live: bool | None = None
    ) -> None:
        self.stream = stream
        self.verbosity = verbosity
        self.live = _isatty(stream) if live is None else live
        self.counts = Counts()
        self._drawn = False
        self._last_draw = 0.0
        self._started = time.monotonic()

    def info(self, message: str) -> None:
        """A line at normal verbosity."""
        if self.verbosity >= NORMAL:
            self._line(message)

    def warn(self, message: str) -> None:
        """A warning; shown unless quiet."""
        if self.verbosity >= NORMAL:
            self._line(f"warning: {message}")

    def debug(self, message: str) -> None:
        """A line at verbose verbosity."""
        if self.verbosity >= VERBOSE:
            self._line(message)

    def retry(self) -> None:
        """A request will be sent again after a shared pause."""
        self.counts.retries += 1
        self.update()

    def pause(self, delay: float, reason: str, requests: int) -> None:
        """Everything waits `delay` s because Graph said so; logged once per pause."""
        self.counts.pauses += 1
        self.counts.paused += delay
        self.debug(f"graph: pausing {delay:.3g} s ({reason}); {requests} requests to send again")
        self.update()

    def add(self, **deltas: float) -> None:
        """Add to the running totals (field names of Counts)."""
        for name, delta in deltas.items():
            setattr(self.counts, name, getattr(self.counts, name) + delta)
        self.update()

    def update(self, *, force: bool = False) -> None:
        """Redraw the live line, at most every REFRESH seconds."""
        if not self.live or self.verbosity < NORMAL:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < REFRESH:
            return
        self._last_draw = now
        self.stream.write("\r\x1b[K" + self.status())
        self.stream.flush()
        self._drawn = True

    def status(self) -> str:
        """The one-line summary of the totals so far."""
        c = self.counts
        lists = f"{c.member_lists}/{c.member_lists_expected}" if c.member_lists_expected else "0"
        elapsed = time.monotonic() - self._started
        text = (
            f"graph: {c.groups} groups, {lists} member lists, {c.memberships} memberships, "
            f"{c.users} users, {c.requests} requests, {self.pace(elapsed)}"
        )
        if c.retries:
            text += f", {c.retries} retries"
        return f"{text} ({elapsed:.1f} s)"

    def pace(self, elapsed: float | None = None) -> str:
        """RU per second so far, and the throttled waits when there were any."""
        c = self.counts
        seconds = time.monotonic() - self._started if elapsed is None else elapsed
        text = f"{c.resource_units / max(seconds, 1e-3):.0f} RU/s"
        if c.pauses:
            text += f", {c.pauses} throttled waits ({c.paused:.1f} s)"
        return text

    def close(self) -> None:
        """Finish the live line so later output starts on a fresh line."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False

    def _line(self, message: str) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False
        self.stream.write(message + "\n")
        self.stream.flush()
        self.update(force=True)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
