"""The fake Graph's throttling, read the way a client reads it: plain HTTP on loopback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.fakegraph import Budget, FakeGraph, serve, synthetic_tenant

pytestmark = pytest.mark.integration  # starts servers, programs or builds

MEMBERS = "/groups/{}/members?$select=id&$top=999"  # 3 RU, less 1 for $select


def get(fake: FakeGraph, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
    """One request with a bearer token; status, headers and JSON body, errors included."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(fake.base_url + path, data=data)
    request.add_header("Authorization", "Bearer fake-token-for-tests")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def throttled_fake(**options: Any) -> Any:
    """Ten groups behind a budget of 10 RU per 100 s: nothing refills during a test."""
    tenant = synthetic_tenant(10, 20, 2)
    return serve(tenant, budget=Budget(limit=10, window=100, **options))


def group_id(fake: FakeGraph, i: int) -> str:
    return sorted(fake.tenant.directory.groups)[i]


def test_every_answer_says_its_cost_and_the_usage_shows_above_80_percent() -> None:
    for fake in throttled_fake():
        answers = [get(fake, MEMBERS.format(group_id(fake, i))) for i in range(5)]
    assert [a[0] for a in answers] == [200] * 5
    assert [a[1]["x-ms-resource-unit"] for a in answers] == ["2"] * 5
    usage = [a[1].get("x-ms-throttle-limit-percentage") for a in answers]
    assert usage == [None, None, None, None, "1.00"]


def test_a_dry_bucket_answers_429_and_charges_the_throttled_request_too() -> None:
    for fake in throttled_fake():
        for i in range(5):
            get(fake, MEMBERS.format(group_id(fake, i)))
        first = get(fake, MEMBERS.format(group_id(fake, 5)))
        second = get(fake, MEMBERS.format(group_id(fake, 6)))
        assert fake.throttled == 2 and fake.throttled_charged == 4
    assert first[0] == 429 and first[2]["error"]["code"] == "TooManyRequests"
    assert first[1]["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"
    # 4 RU short after charging, at 0.1 RU/s; the second asks for longer: the first cost too.
    assert float(first[1]["Retry-After"]) == pytest.approx(40.0, abs=0.1)
    assert float(second[1]["Retry-After"]) == pytest.approx(60.0, abs=0.1)
    assert "." in first[1]["Retry-After"]


def test_retry_after_can_be_whole_seconds() -> None:
    for fake in throttled_fake(fractional=False):
        for i in range(6):
            status, headers, _ = get(fake, MEMBERS.format(group_id(fake, i)))
    assert (status, headers["Retry-After"]) == (429, "40")


def test_each_batch_sub_request_is_charged_and_throttled_on_its_own() -> None:
    for fake in throttled_fake():
        requests = [
            {"id": str(i), "method": "GET", "url": MEMBERS.format(group_id(fake, i))}
            for i in range(7)
        ]
        status, _, body = get(fake, "/$batch", {"requests": requests})
        assert fake.charged == 14
    assert status == 200
    statuses = {r["id"]: r["status"] for r in body["responses"]}
    assert sorted(statuses.values()) == [200] * 5 + [429] * 2
    throttled = [r for r in body["responses"] if r["status"] == 429]
    assert all("Retry-After" in r["headers"] for r in throttled)
