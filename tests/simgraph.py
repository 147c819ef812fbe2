"""Graph's resource-unit bucket on simulated time: the pacer's schedule, without a network.

Workers take batches of requests off one queue, reserve their RU from the pacer, reach Graph
after half the latency, where the fake Graph's bucket charges each request, and bring the
answers back after the other half. The pacer learns from them as the Graph client does (RU
charged, RU accepted, the usage share Graph reports above 80 %); throttled requests wait out
the Retry-After and go again. Time moves only when every worker waits, to the earliest wake-up,
so a schedule is exact and the same on every machine.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from generator.sources.graph.throttle import Pacer
from tests.fakegraph import Bucket, Budget, reported_usage

T = TypeVar("T")
SETTLE = 8  # loop turns that take every woken worker to its next wait
STORM = 3  # a simulation stops once Graph has seen this many times the requests of the read


class EventClock:
    """Simulated time for the pacer: sleepers wake in the order of their wake-up times."""

    def __init__(self) -> None:
        self.t = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        """Simulated seconds."""
        return self.t

    async def sleep(self, seconds: float) -> None:
        """Wait until the simulation reaches now + `seconds`."""
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.t + max(seconds, 0.0), next(self._order), future))
        await future

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        """Run `main` to its end, moving time whenever nothing else can run."""

        async def drive() -> T:
            task = asyncio.ensure_future(main)
            while True:
                for _ in range(SETTLE):
                    await asyncio.sleep(0)
                if task.done():
                    return task.result()
                if not self._sleepers:
                    raise RuntimeError("every worker waits for something other than time")
                until, _, future = heapq.heappop(self._sleepers)
                self.t = max(self.t, until)
                future.set_result(None)

        return asyncio.run(drive())


@dataclass
class Schedule:
    """What one simulated read did."""

    elapsed: float = 0.0  # when the last answer came back
    requests: int = 0  # requests Graph saw, 429s included
    throttled: int = 0  # of those, answered 429
    charged: list[tuple[float, float]] = field(default_factory=list)  # (when, RU) per request

    def units_by(self, t: float) -> float:
        """RU Graph had charged by simulated time t."""
        return sum(units for when, units in self.charged if when <= t)


def simulate(
    pacer_budget: float,
    graph_limit: float,
    costs: list[int],
    *,
    batch: int = 20,
    workers: int = 8,
    latency: float = 0.05,
    jitter: float = 0.0,
    window: float = 10.0,
) -> Schedule:
    """Send requests of these RU costs through a pacer told `pacer_budget`, to a bucket of
    `graph_limit` RU per window that starts full; how long it took and what was throttled.

    Each way takes half the latency plus up to half the jitter, drawn from a seeded generator.
    """
    clock = EventClock()
    draw = random.Random(len(costs)).random
    pacer = Pacer(pacer_budget, window, max_total_wait=1e9, clock=clock)
    bucket = Bucket(Budget(limit=graph_limit, window=window), graph_limit, 0.0)
    queue = deque(costs)
    schedule = Schedule()

    async def worker() -> None:
        while queue and schedule.requests < STORM * len(costs):
            taken = [queue.popleft() for _ in range(min(batch, len(queue)))]
            ticket = await pacer.reserve(sum(taken))
            await clock.sleep((latency + jitter * draw()) / 2)
            answers = [bucket.charge(units, clock.now()) for units in taken]
            schedule.charged += [(clock.now(), units) for units in taken]
            await clock.sleep((latency + jitter * draw()) / 2)
            schedule.elapsed = clock.now()
            reports = [r for _, usage in answers if (r := reported_usage(usage)) is not None]
            usage = round(max(reports), 2) if reports else None  # Graph sends two decimals
            throttled = [
                (u, wait) for u, (wait, _) in zip(taken, answers, strict=True) if wait is not None
            ]
            schedule.requests += len(taken)
            schedule.throttled += len(throttled)
            refused = sum(units for units, _ in throttled)
            pacer.observe(ticket, sum(taken), sum(taken) - refused, usage)
            if throttled:
                pacer.pause(max(round(wait, 3) for _, wait in throttled), explained=bool(reports))
                queue.extend(units for units, _ in throttled)

    async def main() -> None:
        await asyncio.gather(*(worker() for _ in range(workers)))

    clock.run(main())
    return schedule


def bound(costs: list[int], graph_limit: float, window: float = 10.0) -> float:
    """The least time any client needs: RU beyond the full bucket, at the refill rate."""
    return max(sum(costs) - graph_limit, 0.0) / (graph_limit / window)
