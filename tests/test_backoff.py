"""Retry-After as servers send it, good and bad: every value gives a wait that ends."""

from __future__ import annotations

import math

import pytest

from generator.backoff import retry_after

DEFAULT = retry_after({}, 1)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("2", 2.0), ("2.128", 2.128), ("0", 0.0), ("-3", 0.0), ("inf", math.inf)],
)
def test_a_number_of_seconds_is_taken_as_it_is(value: str, seconds: float) -> None:
    assert retry_after({"Retry-After": value}, 1) == seconds


@pytest.mark.parametrize("value", ["nan", "soon", ""])
def test_a_value_that_is_no_wait_falls_back_to_the_default_delay(value: str) -> None:
    assert retry_after({"Retry-After": value}, 1) == DEFAULT


def test_an_http_date_in_the_past_means_no_wait() -> None:
    assert retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 1) == 0.0


def test_without_the_header_the_delay_grows_with_the_attempt_and_is_capped() -> None:
    delays = [retry_after({}, attempt) for attempt in range(1, 30)]
    assert delays == sorted(delays) and delays[0] > 0 and math.isfinite(delays[-1])
