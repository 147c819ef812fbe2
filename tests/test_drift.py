"""entraform drift against a fake LiteLLM over HTTP: every kind of drift, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator import mapping
from generator.cli import cli
from generator.live import drift
from generator.live.holdings import LiveMember, LiveOrganization, LiveState, LiveTeam
from generator.policy.load import load_policy
from generator.sources.snapshot import SnapshotSource
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
    UNSELECTED,
)
from tests.fakelitellm import API_KEY, FakeLiteLLM

POLICY = EXAMPLES / "entraform.yaml"
TENANT = EXAMPLES / "tenant.json"


def _desired(tenant: Path = TENANT) -> DesiredState:
    loaded = load_policy(POLICY)
    return mapping.apply(loaded, SnapshotSource(tenant).read(loaded.needs())).state


@pytest.fixture
def fake() -> Iterator[FakeLiteLLM]:
    server = FakeLiteLLM()
    server.mirror(_desired())
    with server.serving():
        yield server


def _drift(fake: FakeLiteLLM, *extra: str, tenant: Path = TENANT) -> Result:
    args = ["drift", "-c", str(POLICY), "--snapshot", str(tenant), "--litellm-url", fake.url]
    env = {"LITELLM_API_KEY": API_KEY, "LITELLM_API_BASE": None}
    return CliRunner().invoke(cli, [*args, *extra], env=env, catch_exceptions=False)


@pytest.mark.integration
def test_no_drift_when_litellm_holds_the_desired_state(fake: FakeLiteLLM) -> None:
    result = _drift(fake)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "no drift" in result.stderr
    assert {method for method, _ in fake.requests} == {"GET"}


@pytest.mark.integration
def test_every_kind_of_drift_is_reported_sorted_and_exits_1(fake: FakeLiteLLM) -> None:
    ml = fake.teams[RESEARCH_ML]
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


@pytest.mark.integration
def test_the_proxy_admin_counts_when_nobody_is_ignored(fake: FakeLiteLLM) -> None:
    result = _drift(fake, "--ignore-user", "")
    assert result.exit_code == 5
    assert "default_user_id is a member in LiteLLM but the policy leaves them out" in (
        result.stdout
    )


@pytest.mark.integration
def test_without_an_enterprise_licence_only_teams_are_compared(fake: FakeLiteLLM) -> None:
    fake.licensed = False
    del fake.organizations[RESEARCH]
    assert _drift(fake).exit_code == 0
    fake.member(RESEARCH_ML, ISAIAH)["role"] = "user"
    result = _drift(fake)
    assert result.exit_code == 1
    assert "organizations need a LiteLLM Enterprise licence" in result.stderr
    assert "only teams were compared" in result.stderr
    assert "set LITELLM_LICENSE on the proxy (a proxy_admin_viewer key is enough)" in result.stderr
    assert result.stdout.startswith("team 'Research-ML'")


@pytest.mark.integration
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


@pytest.mark.integration
def test_a_failing_litellm_is_a_runtime_error(fake: FakeLiteLLM) -> None:
    args = ["drift", "-c", str(POLICY), "--snapshot", str(TENANT), "--litellm-url", fake.url]
    env = {"LITELLM_API_KEY": "sk-test-wrong-key", "LITELLM_API_BASE": None}
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 3
    assert "LiteLLM rejected the key (401)" in result.output


@pytest.mark.integration
def test_a_burst_of_429_and_503_gives_the_same_result_as_none(fake: FakeLiteLLM) -> None:
    fake.teams[RESEARCH_ML]["members_with_roles"].pop(0)
    expected = _drift(fake, "--json")
    assert expected.exit_code == 1
    fake.fault(429, 503, count=8, retry_after="0.05")
    result = _drift(fake, "--json")
    assert (result.exit_code, result.stdout) == (expected.exit_code, expected.stdout)
    assert len(fake.throttled()) == 8


@pytest.mark.integration
def test_one_request_at_a_time_gives_the_same_result(fake: FakeLiteLLM) -> None:
    fake.teams[RESEARCH_ML]["members_with_roles"].pop(0)
    expected = _drift(fake, "--json")
    fake.most_in_flight = 0
    result = _drift(fake, "--json", "--litellm-concurrency", "1")
    assert (result.exit_code, result.stdout) == (expected.exit_code, expected.stdout)
    assert fake.most_in_flight == 1


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


def _sso_team(fake: FakeLiteLLM) -> None:
    """A team created at login for a group the policy does not select, with the proxy admin."""
    people = [(STRANGER, "user", None), ("default_user_id", "admin", None)]
    fake.add_team(UNSELECTED, "Engineering-Interns", members=people)


@pytest.mark.integration
def test_teams_the_policy_does_not_render_are_listed_but_are_not_drift(fake: FakeLiteLLM) -> None:
    _sso_team(fake)
    result = _drift(fake)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Not managed by the policy: 1 team (reported, not drift without --strict):",
        f"  team 'Engineering-Interns' ({UNSELECTED}), 1 member(s): not selected by the policy "
        "(created at SSO login, or by hand)",
    ]


@pytest.mark.integration
def test_strict_counts_teams_the_policy_does_not_render_as_drift(fake: FakeLiteLLM) -> None:
    _sso_team(fake)
    result = _drift(fake, "--strict")
    assert result.exit_code == 1
    assert "1 team (counted as drift (--strict))" in result.stdout
    assert (
        "select the unmanaged teams in the policy, or delete them in LiteLLM"
        in (result.stderr.splitlines()[-1])
    )


@pytest.mark.integration
def test_json_output_carries_the_unmanaged_section(fake: FakeLiteLLM) -> None:
    _sso_team(fake)
    result = _drift(fake, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["differences"] == []
    [team] = data["unmanaged"]
    assert (team["kind"], team["id"], team["alias"]) == ("team", UNSELECTED, "Engineering-Interns")
    assert team["message"].startswith("team 'Engineering-Interns'")


@pytest.mark.integration
def test_unmanaged_member_counts_leave_out_the_proxy_admin(fake: FakeLiteLLM) -> None:
    _sso_team(fake)
    [team] = json.loads(_drift(fake, "--json").stdout)["unmanaged"]
    assert team["members"] == 1


@pytest.mark.integration
def test_the_last_line_points_missing_objects_to_terraform_apply(fake: FakeLiteLLM) -> None:
    del fake.teams[MARKETING]
    last = _drift(fake).stderr.splitlines()[-1]
    assert last.startswith("entraform: drift found (1): run terraform plan and apply")
    assert "remove members" not in last


@pytest.mark.integration
def test_the_last_line_says_to_remove_members_the_policy_leaves_out(fake: FakeLiteLLM) -> None:
    added = {"user_id": STRANGER, "user_email": "x@y.z", "role": "user"}
    fake.teams[RESEARCH_ML]["members_with_roles"].append(added)
    last = _drift(fake).stderr.splitlines()[-1]
    assert last.startswith("entraform: security: 1 member(s) in LiteLLM whom the policy leaves")
    assert "remove them in LiteLLM" in last
    assert "terraform plan" not in last
    assert last.endswith("(see docs/sso.md)")


@pytest.mark.integration
def test_a_display_name_in_another_normal_form_is_not_drift(tmp_path: Path) -> None:
    name = "Research-\u212bngstro\u0308m"  # ANGSTROM SIGN, then o + combining diaeresis
    tenant = json.loads(TENANT.read_text(encoding="utf-8"))
    for group in tenant["groups"]:
        if group["id"] == RESEARCH_ML:
            group["displayName"] = name
    renamed = tmp_path / "tenant.json"
    renamed.write_text(json.dumps(tenant), encoding="utf-8")
    state = _desired(renamed)
    assert state.teams_by_id[RESEARCH_ML].alias == name
    server = FakeLiteLLM()
    server.mirror(state)
    server.teams[RESEARCH_ML]["team_alias"] = "Research-\u00c5ngstr\u00f6m"  # as Terraform sends it
    with server.serving():
        result = _drift(server, tenant=renamed)
    assert result.exit_code == 0, result.output


def test_models_and_metadata_values_are_compared_in_nfc() -> None:
    written = Settings(models=("mod\u0065\u0301l",), metadata=(("unit", "\u212b"),))
    stored = Settings(models=("mod\u00e9l",), metadata=(("unit", "\u00c5"),))
    team = Team("t", "T", "T", settings=written)
    live = LiveState(teams=(LiveTeam("t", "T", settings=stored),))
    assert drift.compare(DesiredState(teams=(team,)), live) == ()


@pytest.mark.integration
def test_without_an_enterprise_licence_team_admins_are_called_out(fake: FakeLiteLLM) -> None:
    fake.licensed = False
    result = _drift(fake)
    assert "Assigning team admins is a premium feature" in result.stderr
    assert "Set LITELLM_LICENSE on the proxy, or give team admins the role user" in result.stderr


@pytest.mark.integration
def test_json_output_carries_the_licence_notes(fake: FakeLiteLLM) -> None:
    fake.licensed = False
    data = json.loads(_drift(fake, "--json").stdout)
    assert data["organizations_note"].startswith("LiteLLM refused /organization/list (403)")
    [warning] = data["warnings"]
    assert warning.startswith("the team admin role is an Enterprise feature too")
