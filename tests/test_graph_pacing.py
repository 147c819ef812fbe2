"""Pacing to Graph's resource-unit budget, against the fake Graph's token bucket on loopback."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest

import generator.sources.graph.client  # noqa: F401  (so no timed read pays for the SDK's import)
from generator.directory import Directory
from generator.sources import GroupSelector, Needs, snapshot
from generator.sources.graph import GraphSettings, GraphSource, Progress
from tests.fakegraph import Budget, FakeGraph, Tenant, serve, synthetic_tenant
from tests.test_graph_source import FakeClock

pytestmark = pytest.mark.integration  # starts servers, programs or builds

ALL = Needs(selectors=(GroupSelector(regex=".*"),))
# Graph's 10 s window and its budget scaled down together, so that a throttled read takes about
# half a second; the tenant is small enough that reading it unthrottled takes a fraction of that,
# so the time measured is the pacing's.
WINDOW = 0.25
TOKEN = "fake-token-for-tests"
GROUPS = 200
LIMIT = 120  # RU per window: the read costs 3.3 times that
BATCH = 4


def tenant() -> Tenant:
    """200 groups of 6 users: 1 RU for the group list and 2 RU per member list, 401 RU."""
    return synthetic_tenant(GROUPS, 2 * GROUPS, 6)


@pytest.fixture
def unthrottled() -> Iterator[FakeGraph]:
    """The tenant without a budget."""
    yield from serve(tenant())


@pytest.fixture
def throttled() -> Iterator[FakeGraph]:
    """The tenant with a budget of 120 RU per window: the read needs 0.59 s at 480 RU/s."""
    yield from serve(tenant(), budget=Budget(limit=LIMIT, window=WINDOW))


def read(fake: FakeGraph, stream: io.StringIO | None = None, **settings: Any) -> Directory:
    """Read every group at the scaled window, in real time (the fake's bucket runs on it).

    Two workers keep the RU in flight (two $batch of 8 RU) as small a share of this budget as
    eight workers with $batch of 20 are of Graph's smallest (3,500 RU).
    """
    options: dict[str, Any] = {
        "base_url": fake.base_url,
        "token": TOKEN,
        "window": WINDOW,
        "concurrency": 2,
        "batch_size": BATCH,
    }
    progress = Progress(stream or io.StringIO(), verbosity=2, live=False)
    return GraphSource(GraphSettings(**(options | settings)), progress).read(ALL)


def test_a_read_far_above_the_budget_completes_with_the_whole_tenant(
    unthrottled: FakeGraph, throttled: FakeGraph
) -> None:
    started = time.monotonic()
    read(unthrottled)
    floor = time.monotonic() - started  # fixed costs, at the machine's load right now
    started = time.monotonic()
    directory = read(throttled)  # assumes the L budget; learns 120 RU from Graph's headers
    elapsed = time.monotonic() - started
    assert snapshot.dumps(directory) == snapshot.dumps(tenant().directory)
    bound = (throttled.charged - LIMIT) / (LIMIT / WINDOW)  # RU beyond a full bucket, at the refill
    assert bound <= elapsed <= 2 * bound + floor


def test_a_read_told_the_budget_is_never_throttled(throttled: FakeGraph) -> None:
    read(throttled, budget=LIMIT)
    assert throttled.throttled == 0


def test_throttling_inside_a_batch_is_paced_not_hammered(throttled: FakeGraph) -> None:
    stream = io.StringIO()
    read(throttled, stream)  # assumes the L budget: Graph's answers must slow it down
    assert throttled.http_requests == 51  # the group list, then 50 $batch of 4, none again
    assert throttled.throttled <= 0.05 * len(throttled.requests)
    assert throttled.count("/members") <= GROUPS * 1.05  # each list read once, few sent again


def test_a_fractional_retry_after_is_honoured(unthrottled: FakeGraph) -> None:
    unthrottled.fault("/groups?", 429, retry_after="2.128", times=1)
    clock = FakeClock()
    progress = Progress(io.StringIO(), verbosity=0, live=False)
    settings = GraphSettings(base_url=unthrottled.base_url, token=TOKEN, page_size=100)
    GraphSource(settings, progress, clock=clock).read(ALL)
    assert clock.slept[0] == pytest.approx(2.128, abs=0.005)  # not 2, not 3
    assert unthrottled.count("/groups?") == 3  # page one twice, then page two
