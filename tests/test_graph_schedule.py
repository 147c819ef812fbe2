"""The pacer's schedule against Graph's resource-unit bucket, on simulated time (tests/simgraph).

A large tenant's read: six group pages and 5,000 member pages, 10,006 RU, in $batch envelopes of
20 from 8 workers, as the Graph client sends them. The bound is the least time any client needs:
the RU beyond Graph's full bucket at its refill rate.
"""

from __future__ import annotations

import pytest

from tests.simgraph import Schedule, bound, simulate

S, L = 3500, 8000  # RU per 10 s: Graph's smallest and largest tenant budgets
READ = [1] * 6 + [2] * 5000
RATE = S / 10


def test_told_the_budget_the_pacer_spends_the_whole_bucket_at_once() -> None:
    schedule = simulate(S, S, READ)
    assert schedule.units_by(1.0) >= 0.9 * S  # the burst, not the refill rate, from the start
    assert schedule.throttled == 0


def test_told_the_budget_the_pacer_keeps_the_refill_rate_and_is_never_throttled() -> None:
    schedule = simulate(S, S, READ)
    assert schedule.throttled == 0  # never above the bucket: Graph charges 429s too
    steady = schedule.units_by(15.0) - schedule.units_by(5.0)
    assert steady >= 0.97 * 10 * RATE  # nor below its refill rate once the bucket is spent
    assert schedule.elapsed <= 1.04 * bound(READ, S)


@pytest.mark.parametrize(
    ("latency", "jitter"), [(0.05, 0.0), (0.05, 0.3), (0.02, 1.0)], ids=["steady", "jitter", "slow"]
)
def test_a_smaller_budget_is_learned_from_graphs_answers_without_a_429_storm(
    latency: float, jitter: float
) -> None:
    schedule = simulate(L, S, READ, latency=latency, jitter=jitter)
    assert schedule.throttled <= 0.05 * schedule.requests
    assert schedule.elapsed <= 1.08 * bound(READ, S)


def test_once_learned_the_pacer_keeps_graphs_bucket_full_not_a_margin_below_it() -> None:
    # Graph reports its usage with every answer above 80 %; the pacer must follow it both ways,
    # or every report that ran ahead of it would leave the rest of the read paced below it.
    schedule = simulate(L, S, READ)
    assert schedule.elapsed <= 1.04 * bound(READ, S)
    assert _usage_at_the_end(schedule) >= 0.9


def test_a_budget_that_never_binds_is_not_paced() -> None:
    schedule = simulate(L, L, READ[:2000], latency=0.05)
    assert schedule.throttled == 0
    # 8 workers, 40 RU each per 50 ms round trip: the workers bind, not the budget.
    assert schedule.elapsed <= 1.05 * sum(READ[:2000]) / (8 * 40 / 0.05)


def _usage_at_the_end(schedule: Schedule) -> float:
    """Graph's bucket use when the last request came: RU charged beyond the refill so far."""
    last = max(when for when, _ in schedule.charged)
    return (sum(u for _, u in schedule.charged) - RATE * last) / S
