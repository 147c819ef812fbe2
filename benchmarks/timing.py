"""What every benchmark here measures the same way: medians of repeated runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def median_seconds(step: Callable[[], object], runs: int) -> float:
    """Median wall seconds of `runs` calls of `step`."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def medians(runs: Iterable[Mapping[str, Any]], keys: Iterable[str]) -> dict[str, float]:
    """The median of each named figure over several runs' results."""
    results = list(runs)
    return {key: statistics.median(r[key] for r in results) for key in keys}
