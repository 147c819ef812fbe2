"""Pacing to Graph's resource-unit budget, against the fake Graph's token bucket on loopback."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest

from generator.directory import Directory
from generator.sources import GroupSelector, Needs, snapshot
from generator.sources.graph import GraphSettings, GraphSource, Progress
from tests.fakegraph import Budget, FakeGraph, Tenant, serve, synthetic_tenant
from tests.test_graph_source import FakeClock

ALL = Needs(selectors=(GroupSelector(regex=".*"),))
WINDOW = 0.5  # Graph's 10 s window, scaled down so that throttled reads take about a second
TOKEN = "fake-token-for-tests"
LIMIT = 600


def tenant() -> Tenant:
    """1,000 groups of 6 users: 2 RU for the group list and 2 RU per member list, 2,002 RU."""
    return synthetic_tenant(1000, 2000, 6)


@pytest.fixture
def unthrottled() -> Iterator[FakeGraph]:
    """The tenant without a budget."""
    yield from serve(tenant())


@pytest.fixture
def throttled() -> Iterator[FakeGraph]:
    """The tenant with a budget of 600 RU per window: the read needs 1.2 s at 1,200 RU/s."""
    yield from serve(tenant(), budget=Budget(limit=LIMIT, window=WINDOW))


def read(fake: FakeGraph, stream: io.StringIO | None = None, **settings: Any) -> Directory:
    """Read every group at the scaled window, in real time (the fake's bucket runs on it).

    Two workers keep the RU in flight (two $batch of 40 RU) as small a share of this budget as
    eight workers are of Graph's smallest (3,500 RU).
    """
    options: dict[str, Any] = {
        "base_url": fake.base_url,
        "token": TOKEN,
        "window": WINDOW,
        "concurrency": 2,
    }
    progress = Progress(stream or io.StringIO(), verbosity=2, live=False)
    return GraphSource(GraphSettings(**(options | settings)), progress).read(ALL)


def test_a_read_far_above_the_budget_completes_with_the_unthrottled_bytes(
    unthrottled: FakeGraph, throttled: FakeGraph
) -> None:
    expected = snapshot.dumps(read(unthrottled))
    started = time.monotonic()
    directory = read(throttled)  # assumes the L budget; learns 40 RU from Graph's headers
    elapsed = time.monotonic() - started
    assert snapshot.dumps(directory) == expected
    bound = (throttled.charged - LIMIT) / (LIMIT / WINDOW)  # RU beyond a full bucket, at the refill
    assert bound <= elapsed <= 2 * bound + 0.5


def test_a_read_told_the_budget_is_never_throttled(throttled: FakeGraph) -> None:
    read(throttled, budget=LIMIT)
    assert throttled.throttled == 0


def test_throttling_inside_a_batch_is_paced_not_hammered(throttled: FakeGraph) -> None:
    stream = io.StringIO()
    read(throttled, stream)  # assumes the L budget: Graph's answers must slow it down
    assert throttled.http_requests == 52  # the group list, then 50 $batch of 20, none again
    assert throttled.throttled <= 0.05 * len(throttled.requests)
    assert throttled.count("/members") <= 1000 * 1.05  # each list read once, few sent again


def test_a_fractional_retry_after_is_honoured(unthrottled: FakeGraph) -> None:
    unthrottled.fault("/groups?", 429, retry_after="2.128", times=1)
    clock = FakeClock()
    progress = Progress(io.StringIO(), verbosity=0, live=False)
    settings = GraphSettings(base_url=unthrottled.base_url, token=TOKEN)
    GraphSource(settings, progress, clock=clock).read(ALL)
    assert clock.slept[0] == pytest.approx(2.128, abs=0.005)  # not 2, not 3
    assert unthrottled.count("/groups?") == 3  # page one twice, then page two
