"""entraform drift against a fake LiteLLM over HTTP: every kind of drift, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from generator import config, drift, policy
from generator.cli import cli
from generator.litellm import LiveMember, LiveOrganization, LiveState, LiveTeam
from generator.snapshot import SnapshotSource
from generator.state import DesiredState, Membership, Organization, Settings, Team
from tests.conftest import EXAMPLES
from tests.example_ids import (
    ANALYSTS,
    FINANCE,
    ISAIAH,
    MARKETING,
    NESTOR,
    RESEARCH,
    RESEARCH_ML,
    SANDBOX,
    STRANGER,
)
from tests.fakelitellm import API_KEY, FakeLiteLLM

POLICY = EXAMPLES / "entraform.yaml"
TENANT = EXAMPLES / "tenant.json"


def _desired() -> DesiredState:
    loaded = config.load(POLICY)
    return policy.apply(loaded, SnapshotSource(TENANT).read(loaded.needs())).state


@pytest.fixture
def fake() -> Iterator[FakeLiteLLM]:
    server = FakeLiteLLM()
    server.mirror(_desired())
    with server.serving():
        yield server


def _drift(fake: FakeLiteLLM, *extra: str) -> Result:
    args = ["drift", "-c", str(POLICY), "--snapshot", str(TENANT), "--litellm-url", fake.url]
    env = {"LITELLM_API_KEY": API_KEY, "LITELLM_API_BASE": None}
    return CliRunner().invoke(cli, [*args, *extra], env=env, catch_exceptions=False)


def test_no_drift_when_litellm_holds_the_desired_state(fake: FakeLiteLLM) -> None:
    result = _drift(fake)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "no drift" in result.stderr
    assert {method for method, _ in fake.requests} == {"GET"}


def test_every_kind_of_drift_is_reported_sorted_and_exits_1(fake: FakeLiteLLM) -> None:
    ml = fake.teams[RESEARCH_ML]
    ml["members_with_roles"].append({"user_id": STRANGER, "user_email": "x@y.z", "role": "user"})
    ml["members_with_roles"].remove(fake.member(RESEARCH_ML, NESTOR))
    fake.member(RESEARCH_ML, ISAIAH)["role"] = "user"
    ml["team_alias"] = "Research-ML (renamed in UI)"
    fake.teams[SANDBOX]["max_budget"] = 999.5
    fake.teams[SANDBOX]["models"] = []
    fake.teams[SANDBOX]["metadata"] = {"managed-by": "someone", "extra": {"kept": 1}}
    fake.teams[ANALYSTS]["organization_id"] = None
    del fake.teams[MARKETING]
    fake.organizations[FINANCE]["litellm_budget_table"]["tpm_limit"] = 5
    fake.organizations[FINANCE]["members"][0]["user_role"] = "internal_user_viewer"
    del fake.organizations[RESEARCH]

    result = _drift(fake)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    expected = [
        f"organization 'Research' ({RESEARCH}): not in LiteLLM (terraform apply creates it)",
        f"organization 'Finance' ({FINANCE}): tpm_limit is 5, desired 1000000",
        "role internal_user_viewer",
        f"team 'Research-ML' ({RESEARCH_ML}): alias is Research-ML (renamed in UI), desired "
        "Research-ML",
        f"team 'Research-ML' ({RESEARCH_ML}): member NestorW@contoso.com ({NESTOR}) is not in "
        "LiteLLM",
        f"member IsaiahL@contoso.com ({ISAIAH}) has role user, desired admin",
        f"member x@y.z ({STRANGER}) is in LiteLLM but not desired",
        f"team 'Finance Analysts' ({ANALYSTS}): organization_id is unset, desired {FINANCE}",
        f"team 'LLM-App-Marketing' ({MARKETING}): not in LiteLLM",
        f"team 'LLM-Sandbox' ({SANDBOX}): max_budget is 999.5, desired 20",
        f"team 'LLM-Sandbox' ({SANDBOX}): models is all models, desired gpt-4o-mini",
        f"team 'LLM-Sandbox' ({SANDBOX}): metadata.managed-by is someone, desired entraform",
    ]
    for want in expected:
        assert any(want in line for line in lines), (want, lines)
    assert len(lines) == len(expected)
    assert "extra" not in result.stdout, "keys LiteLLM keeps itself are not drift"
    assert "default_user_id" not in result.stdout
    orgs = [i for i, line in enumerate(lines) if line.startswith("organization")]
    assert orgs == [0, 1, 2], "organizations first, then teams, each sorted by id"


def test_the_proxy_admin_counts_when_nobody_is_ignored(fake: FakeLiteLLM) -> None:
    result = _drift(fake, "--ignore-user", "")
    assert result.exit_code == 1
    assert "member default_user_id (default_user_id) is in LiteLLM but not desired" in (
        result.stdout
    )


def test_without_an_enterprise_licence_only_teams_are_compared(fake: FakeLiteLLM) -> None:
    fake.licensed = False
    del fake.organizations[RESEARCH]
    assert _drift(fake).exit_code == 0
    fake.member(RESEARCH_ML, ISAIAH)["role"] = "user"
    result = _drift(fake)
    assert result.exit_code == 1
    assert "organizations need a LiteLLM Enterprise licence" in result.stderr
    assert "only teams were compared" in result.stderr
    assert result.stdout.startswith("team 'Research-ML'")


def test_json_output_lists_differences_with_messages(fake: FakeLiteLLM) -> None:
    fake.member(RESEARCH_ML, ISAIAH)["role"] = "user"
    result = _drift(fake, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["organizations_note"] is None
    [difference] = data["differences"]
    assert difference["what"] == "role"
    assert difference["subject"] == ISAIAH
    assert (difference["desired"], difference["live"]) == ("admin", "user")
    assert difference["message"].startswith("team 'Research-ML'")


def test_a_failing_litellm_is_a_runtime_error(fake: FakeLiteLLM) -> None:
    args = ["drift", "-c", str(POLICY), "--snapshot", str(TENANT), "--litellm-url", fake.url]
    env = {"LITELLM_API_KEY": "sk-test-wrong-key", "LITELLM_API_BASE": None}
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 3
    assert "LiteLLM rejected the key (401)" in result.output


def test_compare_only_checks_what_entraform_sets() -> None:
    team = Team("t", "T", "T", settings=Settings(max_budget=10))
    live = LiveTeam("t", "T", settings=Settings(max_budget=10.0, tpm_limit=7, models=("a",)))
    assert drift.compare(DesiredState(teams=(team,)), LiveState(teams=(live,))) == ()


def test_compare_matches_members_by_user_id_not_by_key() -> None:
    member = Membership("object-id", "alice@contoso.com", "alice@contoso.com", "org_admin")
    org = Organization("o", "O", "O", members=(member,))
    live = LiveOrganization("o", "O", members=(LiveMember("alice@contoso.com", "org_admin"),))
    state = DesiredState(organizations=(org,))
    assert drift.compare(state, LiveState(organizations=(live,))) == ()
