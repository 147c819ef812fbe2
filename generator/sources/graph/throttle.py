"""One pace for every request of a run: Graph's resource-unit budget, mirrored and learned.

Graph meters reads per app and tenant with a token bucket of resource units (RU) and charges
throttled requests too, so retrying into the limit only digs deeper. The pacer keeps a bucket
of its own, shared by every worker, charges each request its documented cost before it goes out,
and corrects the bucket from what Graph says: `x-ms-throttle-limit-percentage` (how full Graph's
bucket is), `x-ms-resource-unit` (what a request really cost) and `Retry-After` on a 429.
The only bound is the total time the run is held back (generator.backoff, shared with LiteLLM).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

from generator.backoff import WaitBudget, WaitExhausted, number, retry_after

# Graph's reader imports the shared back-off through this module.
__all__ = ["Clock", "Pacer", "RealClock", "Ticket", "WaitExhausted", "number", "retry_after"]
HEADROOM = 0.05  # share of the budget kept unspent, so requests in flight do not overdraw it
DECREASE = 0.75  # a 429 that Graph did not explain with its usage shrinks the pace by this
RECOVERY = 0.1  # share of its pace the pacer regains per window, up to the budget
FLOOR = 0.001  # the pace never drops below this share of the budget
SATURATED = 1.8  # the highest usage share Graph reports
MIN_SPAN = 0.5  # windows between two usage reports before they are trusted for an estimate


class Clock(Protocol):
    """Time as the pacer sees it; tests inject one that does not really sleep."""

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


@dataclass(frozen=True)
class Ticket:
    """A reservation of budget: its cost and the pacer's bucket when it went out."""

    cost: float
    sent: float  # when the request was let go
    due: float  # the pacer's "bucket full again" instant, this request included
    shift: float  # the corrections made to the bucket before this request
    number: int  # reservations are numbered in the order they were made
    unanswered: float  # RU reserved before it and still unanswered when it went out


class Pacer:
    """A token bucket of RU shared by every worker, learned from Graph's answers.

    The bucket is kept as the instant it would be full again (`_full_at`): the usage share now
    is (full_at - now) / window, a request of cost c moves it c / rate later, and it may go once
    the usage share after it is at most 1 - HEADROOM.
    """

    def __init__(
        self, budget: float, window: float, max_total_wait: float, clock: Clock | None = None
    ) -> None:
        self.clock = clock or RealClock()
        self.window = window
        self.ceiling = float(budget)  # RU per window the settings allow
        self.capacity = self.ceiling  # the pace now, RU per window
        self.not_before = 0.0  # no request goes before this (a Retry-After)
        self._budget = WaitBudget(max_total_wait)  # pacing and Retry-After alike
        self.accepted = 0.0  # RU of requests Graph answered without throttling
        self._full_at = 0.0
        self._shift = 0.0  # seconds the bucket was moved by what Graph said
        self._started: float | None = None  # when the bucket was last full by our count
        self._accepted_before = 0.0  # RU accepted until then
        self._open: dict[int, float] = {}  # RU of each ticket not yet observed, by number
        self._numbers = 0
        self._changed = 0.0
        self._reference: tuple[float, float, float] | None = None  # (sent, accepted, usage)

    @property
    def rate(self) -> float:
        """RU per second the pacer lets through."""
        return self.capacity / self.window

    async def reserve(self, cost: float) -> Ticket:
        """Wait until `cost` RU fit in the budget and take them; raise WaitExhausted instead."""
        now = self.clock.now()
        if self._started is None:
            self._changed = now
        if not self._open and self._full_at <= now:
            # Idle and full by our count: only what Graph accepts from now on tells its budget.
            self._started, self._accepted_before = now, self.accepted
        self._recover(now)
        full_at = max(self._full_at, now) + cost / self.rate
        go = max(self.not_before, full_at - self.window * (1 - HEADROOM))
        self._hold(now, go)
        self._full_at = full_at
        number, shift = self._numbers, self._shift
        self._numbers += 1
        self._open[number] = cost
        if go > now:
            try:
                await self.clock.sleep(go - now)
            except BaseException:  # cancelled: it will never be answered
                del self._open[number]
                raise
        unanswered = sum(c for n, c in self._open.items() if n < number)
        return Ticket(cost, max(go, now), full_at, shift, number, unanswered)

    def observe(self, ticket: Ticket, charged: float, accepted: float, usage: float | None) -> None:
        """Learn from the answers to a ticket: RU charged, RU of those not throttled, usage."""
        self._open.pop(ticket.number, None)
        self._full_at += (charged - ticket.cost) / self.rate
        self.accepted += accepted
        if usage is None:
            return
        # Graph's bucket when the request went out, against ours then (with the corrections
        # made since). Fuller: catch up. Emptier by more than the requests reserved before it
        # that Graph may not have seen yet: let the difference go, or our bucket would keep
        # every overestimate and the run would never again use the whole budget.
        behind = ticket.sent + self.window * usage - ticket.due - (self._shift - ticket.shift)
        unseen = ticket.unanswered / self.rate
        if behind > 0:
            self._correct(behind)
        elif behind < -unseen:
            self._correct(behind + unseen)
        self._estimate(ticket.sent, usage)

    def pause(self, delay: float, *, explained: bool) -> bool:
        """Hold everyone for `delay` s (a Retry-After); False when an earlier pause covers it.

        Graph's Retry-After promises room for one request, so its bucket is taken as empty when
        the pause ends. A 429 that Graph did not explain with its usage share (throttling under
        service load) also slows the pace down; the pace regains it gradually.
        """
        now = self.clock.now()
        until = now + max(delay, 0.0)
        if until <= self.not_before:
            return False  # concurrent 429s for the same throttling window count once
        self._hold(now, until)
        self.not_before = until
        if not explained:
            self._set(self.capacity * DECREASE, now)
        self._correct(until + self.window * (1 - HEADROOM) - self._full_at, only_up=True)
        return True

    def _correct(self, seconds: float, *, only_up: bool = False) -> None:
        """Move the bucket by what Graph said; `only_up`: never towards emptier."""
        if only_up:
            seconds = max(seconds, 0.0)
        self._shift += seconds
        self._full_at += seconds

    def _estimate(self, sent: float, usage: float) -> None:
        """Learn the budget from Graph's usage share; every estimate errs low, never high.

        Graph accepts at most a full bucket plus its refill, so RU accepted since the bucket was
        last full over (usage + windows elapsed) bounds the budget from below. Between two
        unsaturated reports, RU accepted = budget * (usage change + windows elapsed) sharpens
        that while the run is paced at the limit; refill lost while the bucket sat full only
        lowers both.
        """
        if self._reference is None and self._started is not None:
            span = (sent - self._started) / self.window
            accepted = self.accepted - self._accepted_before
            self._set(min(self.capacity, accepted / (min(usage, 1.0) + span)), sent)
        if usage >= SATURATED:  # Graph may stop counting there: a floor, not a value
            self._reference = None
            return
        if self._reference is None:
            self._reference = (sent, self.accepted, usage)
            return
        then, accepted, before = self._reference
        span = (sent - then) / self.window
        if span < MIN_SPAN or usage - before + span <= 0:
            return
        self._set((self.accepted - accepted) / (usage - before + span), sent)
        if span >= 2 * MIN_SPAN:
            self._reference = (sent, self.accepted, usage)

    def _set(self, capacity: float, now: float) -> None:
        self.capacity = min(self.ceiling, max(capacity, self.ceiling * FLOOR))
        self._changed = now

    def _recover(self, now: float) -> None:
        """Regain pace gradually, so a budget learned too low is probed upwards again."""
        if self.capacity < self.ceiling:
            regained = self.capacity * RECOVERY * (now - self._changed) / self.window
            self._set(self.capacity + regained, now)

    @property
    def max_total_wait(self) -> float:
        """Seconds the run may be held back in all."""
        return self._budget.max_total_wait

    @property
    def waited(self) -> float:
        """Seconds the run was held back so far, pacing and Retry-After alike."""
        return self._budget.waited

    def _hold(self, now: float, until: float) -> None:
        """Count the time the run is held back until `until`, once for concurrent holds."""
        self._budget.hold(now, until)
