"""The fake LiteLLM accepts and refuses what LiteLLM 1.108.7 does, so adopt's warnings are true."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from generator.live.client import Client, LiteLLMError
from generator.state import Settings
from tests.fakelitellm import API_KEY, TEAM_ADMIN_NOT_PREMIUM, FakeLiteLLM

pytestmark = pytest.mark.integration  # starts servers, programs or builds

ORG, TEAM = "org-1", "team-1"


@pytest.fixture
def fake() -> Iterator[FakeLiteLLM]:
    """A licensed proxy with an organization limited to one model and an SSO-created team."""
    server = FakeLiteLLM()
    server.add_organization(
        ORG,
        "Org",
        members=[("in-org", "internal_user", None)],
        settings=Settings(models=("gpt-4o-mini",), max_budget=100),
    )
    server.add_team(
        TEAM,
        "Team",
        members=[
            ("in-org", "user", None),
            ("outsider", "user", "outsider@contoso.com"),
            ("default_user_id", "admin", None),
        ],
    )
    with server.serving():
        yield server


def _org_roles(fake: FakeLiteLLM) -> dict[str, str]:
    return {m["user_id"]: m["user_role"] for m in fake.organizations[ORG]["members"]}


def test_moving_a_team_with_unrestricted_models_into_an_organization_is_refused(
    fake: FakeLiteLLM,
) -> None:
    status, body = fake.post(
        "/team/update", {"team_id": TEAM, "organization_id": ORG, "models": ["gpt-4o-mini"]}
    )
    assert status == 403
    assert "all proxy models" in body["detail"]["error"]
    assert fake.teams[TEAM]["organization_id"] is None


def test_moving_a_team_whose_budget_exceeds_the_organization_is_refused(
    fake: FakeLiteLLM,
) -> None:
    fake.teams[TEAM].update(models=["gpt-4o-mini"], max_budget=500)
    status, _ = fake.post("/team/update", {"team_id": TEAM, "organization_id": ORG})
    assert status == 403


def test_moving_a_narrowed_team_adds_its_outside_members_to_the_organization(
    fake: FakeLiteLLM,
) -> None:
    fake.teams[TEAM]["models"] = ["gpt-4o-mini"]
    status, _ = fake.post("/team/update", {"team_id": TEAM, "organization_id": ORG})
    assert status == 200
    assert fake.teams[TEAM]["organization_id"] == ORG
    assert _org_roles(fake) == {"in-org": "internal_user", "outsider": "internal_user"}


def test_team_member_roles_other_than_admin_and_user_are_422(fake: FakeLiteLLM) -> None:
    member = {"user_id": "new", "role": "internal_user"}
    status, _ = fake.post("/team/member_add", {"team_id": TEAM, "member": member})
    assert status == 422


def test_a_licensed_proxy_accepts_a_team_admin(fake: FakeLiteLLM) -> None:
    member = {"user_id": "new", "user_email": "new@contoso.com", "role": "admin"}
    status, _ = fake.post("/team/member_add", {"team_id": TEAM, "member": member})
    assert status == 200
    assert fake.member(TEAM, "new")["role"] == "admin"


def test_an_oss_proxy_refuses_a_team_admin_with_400(fake: FakeLiteLLM) -> None:
    fake.licensed = False
    member = {"user_id": "new", "role": "admin"}
    status, body = fake.post("/team/member_add", {"team_id": TEAM, "member": member})
    assert (status, body["detail"]["error"]) == (400, TEAM_ADMIN_NOT_PREMIUM)
    assert all(m["user_id"] != "new" for m in fake.teams[TEAM]["members_with_roles"])


def test_an_oss_proxy_accepts_a_team_user(fake: FakeLiteLLM) -> None:
    fake.licensed = False
    member = {"user_id": "new", "role": "user"}
    status, _ = fake.post("/team/member_add", {"team_id": TEAM, "member": member})
    assert status == 200


@pytest.mark.parametrize(
    ("path", "params"),
    [("/organization/list", {}), ("/organization/info", {"organization_id": ORG})],
)
def test_an_oss_proxy_answers_403_on_organization_reads(
    fake: FakeLiteLLM, path: str, params: dict[str, str]
) -> None:
    fake.licensed = False
    with pytest.raises(LiteLLMError, match=r"\(403\)"):
        Client(fake.url, API_KEY).get(path, params)


def test_a_fault_answers_its_statuses_in_turn_with_retry_after_then_the_proxy_recovers(
    fake: FakeLiteLLM,
) -> None:
    fake.fault(429, 503, count=3, after=1, retry_after="1.5")
    headers = {"Authorization": f"Bearer {API_KEY}"}
    answers = [
        httpx.get(f"{fake.url}/team/info", params={"team_id": TEAM}, headers=headers)
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [200, 429, 503, 429, 200]
    assert [a.headers.get("Retry-After") for a in answers[1:4]] == ["1.5"] * 3
    assert [a.status for a in fake.throttled()] == [429, 503, 429]
