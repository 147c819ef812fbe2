"""The LiteLLM client against the fake over HTTP: concurrency, retries, redirects, failures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from generator.errors import EXIT_RUNTIME
from generator.live.client import Client, LiteLLMError
from generator.live.holdings import LiveState
from generator.live.reading import read_live
from generator.state import Settings
from tests.fakelitellm import API_KEY, FakeLiteLLM

pytestmark = pytest.mark.integration  # starts servers, programs or builds

TEAMS = [f"team-{n:04d}" for n in range(250)]  # three pages of the team list
WANTED = TEAMS[::2]  # the other half is read from the list only
ORGANIZATIONS = ["org-a", "org-b"]


@pytest.fixture
def fake() -> Iterator[FakeLiteLLM]:
    """A proxy with 250 teams of three members and two organizations."""
    server = FakeLiteLLM()
    for org in ORGANIZATIONS:
        server.add_organization(org, org.upper(), members=[("u-1", "org_admin", None)])
    for n, team in enumerate(TEAMS):
        people = [(f"u-{(n + k) % 40}", "user", f"u{(n + k) % 40}@contoso.test") for k in range(3)]
        server.add_team(
            team,
            f"Team {n}",
            organization_id=ORGANIZATIONS[n % 2],
            members=people,
            settings=Settings(max_budget=n),
        )
    with server.serving():
        yield server


def _read(fake: FakeLiteLLM, concurrency: int = 8, max_total_wait: float = 30.0) -> LiveState:
    with Client(
        fake.url, API_KEY, concurrency=concurrency, max_total_wait=max_total_wait
    ) as client:
        return read_live(client, WANTED, ORGANIZATIONS)


def test_concurrent_reads_give_what_one_request_at_a_time_gives(fake: FakeLiteLLM) -> None:
    serial = _read(fake, concurrency=1)
    assert _read(fake, concurrency=16) == serial
    assert [t.id for t in serial.teams] == TEAMS


def test_no_more_requests_are_out_at_once_than_the_concurrency(fake: FakeLiteLLM) -> None:
    fake.latency = 0.01
    _read(fake, concurrency=4)
    assert fake.most_in_flight == 4


def test_one_at_a_time_means_one_request_in_flight(fake: FakeLiteLLM) -> None:
    fake.latency = 0.005
    _read(fake, concurrency=1)
    assert fake.most_in_flight == 1


def test_a_burst_of_429_and_503_with_retry_after_is_survived_with_the_same_result(
    fake: FakeLiteLLM,
) -> None:
    expected = _read(fake)
    fake.fault(429, 503, count=30, after=10, retry_after="0.05")
    assert _read(fake) == expected
    assert len(fake.throttled()) == 30


def test_a_retry_after_pauses_every_worker_not_only_the_one_answered(fake: FakeLiteLLM) -> None:
    fake.latency = 0.02
    fake.fault(429, after=40, retry_after="0.6")
    _read(fake)
    (throttled,) = fake.throttled()
    # Requests already on their way when the 429 came back arrive just after it (a loaded
    # machine may delay them a little); no other may arrive until its Retry-After has passed.
    in_flight_until, paused_until = throttled.answered + 0.2, throttled.answered + 0.6
    early = [a for a in fake.answers if in_flight_until < a.arrived < paused_until - 0.01]
    assert early == []
    assert any(a.arrived >= paused_until - 0.01 for a in fake.answers)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_client_errors_are_not_retried(fake: FakeLiteLLM, status: int) -> None:
    fake.fault(status)
    with pytest.raises(LiteLLMError, match=rf"\({status}\)"):
        Client(fake.url, API_KEY).get("/team/info", {"team_id": TEAMS[0]})
    assert len(fake.requests) == 1


def test_a_failure_mid_read_stops_the_read_with_its_error(fake: FakeLiteLLM) -> None:
    fake.fault(400, after=20)
    with pytest.raises(LiteLLMError, match=r"LiteLLM failed on GET /team/info \(400\)"):
        _read(fake)
    assert len(fake.requests) < 3 + len(WANTED) // 2  # the reads still queued never went out


def test_waiting_longer_than_the_wait_budget_is_a_runtime_error_that_says_what_to_do(
    fake: FakeLiteLLM,
) -> None:
    fake.fault(503, count=None, retry_after="0.2")
    with pytest.raises(LiteLLMError) as raised:
        _read(fake, max_total_wait=0.5)
    message = str(raised.value)
    assert raised.value.exit_code == EXIT_RUNTIME
    assert "LiteLLM kept answering GET /v2/team/list with 503" in message
    assert "wait budget of 0.5 s" in message
    assert "try again when the proxy is less busy" in message
    assert API_KEY not in message


@pytest.mark.parametrize("at", [0, 265, 274, 400])
def test_a_key_the_server_echoes_is_hidden_even_where_the_message_is_cut(
    fake: FakeLiteLLM, at: int
) -> None:
    fake.fault(401, message="x" * at + f" Received API Key = {API_KEY}, Key Hash = 0")
    with pytest.raises(LiteLLMError) as raised:
        Client(fake.url, API_KEY).get("/team/info", {"team_id": TEAMS[0]})
    message = str(raised.value)
    assert "LiteLLM rejected the key (401)" in message
    assert not any(API_KEY[:n] in message for n in range(4, len(API_KEY) + 1)), message


def test_a_redirect_to_another_host_is_refused_and_the_key_not_sent_there(
    fake: FakeLiteLLM,
) -> None:
    elsewhere = FakeLiteLLM()
    with elsewhere.serving():
        fake.fault(302, location=f"{elsewhere.url}/team/info?team_id={TEAMS[0]}")
        with pytest.raises(LiteLLMError, match=r"redirect \(302\) to http://127\.0\.0\.1:"):
            Client(fake.url, API_KEY).get("/team/info", {"team_id": TEAMS[0]})
    assert elsewhere.requests == []


def test_a_redirect_error_says_to_give_the_final_url(fake: FakeLiteLLM) -> None:
    fake.fault(307, location=f"{fake.url}/proxy/team/info")
    with pytest.raises(LiteLLMError, match="give the final URL as --litellm-url"):
        Client(fake.url, API_KEY).get("/team/info", {"team_id": TEAMS[0]})
    assert len(fake.requests) == 1


def test_only_get_requests_are_sent(fake: FakeLiteLLM) -> None:
    fake.fault(429, 503, count=4, retry_after="0.01")
    _read(fake)
    assert {method for method, _ in fake.requests} == {"GET"}


def test_an_answer_of_an_unknown_shape_is_a_runtime_error_not_a_traceback() -> None:
    server = FakeLiteLLM()
    row = server.add_organization("o-x", "X")
    del row["organization_id"]
    unknown = pytest.raises(LiteLLMError, match="shape entraform does not understand")
    with server.serving(), Client(server.url, API_KEY) as client, unknown:
        read_live(client, [], ["o-x"])


def _first(rows: dict[str, Any], by: str) -> str:
    return min(rows, key=lambda k: rows[k][by])


CHURNS = {
    "a team deleted": ("/v2/team/list", lambda f: f.teams.pop(_first(f.teams, "team_id"))),
    "a user deleted": ("/user/list", lambda f: f.users.pop(_first(f.users, "user_id"))),
    "a user signing in": ("/user/list", lambda f: f.add_user("a-newcomer", None, sso=True)),
    "a key deleted": ("/key/list", lambda f: f.keys.pop(_first(f.keys, "token"))),
}


@pytest.mark.parametrize("churn", sorted(CHURNS))
def test_a_list_that_changes_between_its_pages_stops_the_read_rather_than_miss_a_row(
    fake: FakeLiteLLM, churn: str
) -> None:
    for n in range(150):  # two pages of users and of keys
        fake.add_user(f"u-{n:03d}", f"u{n}@contoso.test")
        fake.add_key(user_id=f"u-{n:03d}")
    path, change = CHURNS[churn]
    with Client(fake.url, API_KEY) as client:
        whole = read_live(client, WANTED, ORGANIZATIONS, users=True, keys=True)
        fake.churn[path] = change
        with pytest.raises(LiteLLMError, match=r"list ended early .* changed while reading, run"):
            read_live(client, WANTED, ORGANIZATIONS, users=True, keys=True)
    assert not fake.churn  # the change was made, between the pages
    assert (len(whole.teams), len(whole.users or ()), len(whole.keys or ())) == (250, 150, 150)
