"""Mapping a directory through the policy: one behaviour per test."""

from __future__ import annotations

import re
import textwrap
from dataclasses import replace
from typing import Any

import pytest

from generator import mapping
from generator.directory import Member
from generator.errors import PolicyError
from generator.policy.load import parse_policy
from generator.state import DesiredState, Membership
from tests.tenants import directory, group, oid, ref, tenant, user

USERS = [user(n) for n in ("ann", "bob", "cy", "dee", "eve")]


def run(
    policy_text: str,
    groups: list[dict[str, Any]],
    users: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> mapping.Outcome:
    enterprise = "\nlitellm: {enterprise: true}\n"
    parsed = parse_policy("version: 1\n" + textwrap.dedent(policy_text) + enterprise, "p.yaml")
    return mapping.apply(
        parsed, directory(tenant(groups, USERS if users is None else users, **extra))
    )


def state_of(policy_text: str, groups: list[dict[str, Any]], **kw: Any) -> DesiredState:
    return run(policy_text, groups, **kw).state


def emails(members: tuple[Membership, ...]) -> dict[str, str]:
    return {m.user_email.split("@")[0]: m.role for m in members}


TEAMS_BY_PREFIX = """
teams:
  - rule: t
    select: {prefix: "LLM-"}
"""


@pytest.mark.parametrize(
    "select",
    [
        '{names: ["LLM-A"]}',
        f'{{ids: ["{oid("group/LLM-A")}"]}}',
        '{prefix: "LLM-A"}',
        "{regex: 'LLM-A'}",
    ],
)
def test_each_selector_kind_picks_the_group(select: str) -> None:
    groups = [group("LLM-A", ("ann",)), group("LLM-AB-not", ("bob",)), group("Other", ("cy",))]
    if "prefix" in select:
        groups.pop(1)
    state = state_of(f"teams:\n  - rule: t\n    select: {select}\n", groups)
    assert [t.alias for t in state.teams] == ["LLM-A"]


def test_a_regex_must_match_the_whole_display_name() -> None:
    state = state_of("teams:\n  - {rule: t, select: {regex: 'LLM-A'}}\n", [group("LLM-AB")])
    assert state.teams == ()


def test_an_organization_takes_the_group_id_and_an_alias_from_captures() -> None:
    state = state_of(
        """
        organizations:
          - rule: o
            select: {regex: '^Org-(?P<unit>.+)$'}
            alias: "Unit {unit}"
        """,
        [group("Org-Finance", ("ann",))],
    )
    (org,) = state.organizations
    assert (org.id, org.alias) == (oid("group/Org-Finance"), "Unit Finance")
    assert emails(org.members) == {"ann": "internal_user"}


ORG = """
organizations:
  - rule: o
    select: {regex: '^Org-(?P<unit>\\w+)$'}
    key: "{unit}"
"""


@pytest.mark.parametrize(
    "placement",
    ["{key: Finance}", '{group: "Org-Finance"}', "{capture: unit}"],
)
def test_a_team_is_placed_by_key_group_or_capture(placement: str) -> None:
    state = state_of(
        ORG
        + f"""
teams:
  - rule: t
    select: {{regex: '^Team-(?P<unit>\\w+)-(?P<name>\\w+)$'}}
    organization: {placement}
""",
        [group("Org-Finance"), group("Org-Legal"), group("Team-Finance-Audit", ("bob",))],
    )
    (team,) = state.teams
    assert team.organization_id == oid("group/Org-Finance")


def test_a_team_is_placed_by_nesting_in_an_organization_group() -> None:
    state = state_of(
        ORG + "teams:\n  - {rule: t, select: {prefix: 'Team-'}, organization: nested}\n",
        [group("Org-Research", groups=("Team-ML",)), group("Team-ML", ("ann",))],
    )
    assert state.teams[0].organization_id == oid("group/Org-Research")


def test_a_nested_team_without_an_organization_group_is_an_error() -> None:
    with pytest.raises(PolicyError, match=r"'Team-ML' .* by nested, but no selected organization"):
        state_of(
            ORG + "teams:\n  - {rule: t, select: {prefix: 'Team-'}, organization: nested}\n",
            [group("Team-ML", ("ann",))],
        )


def test_a_team_nested_in_two_organizations_is_an_error() -> None:
    with pytest.raises(PolicyError, match="nested in several organization groups"):
        state_of(
            ORG + "teams:\n  - {rule: t, select: {prefix: 'Team-'}, organization: nested}\n",
            [
                group("Org-A", groups=("Team-ML",)),
                group("Org-B", groups=("Team-ML",)),
                group("Team-ML"),
            ],
        )


def test_a_team_without_placement_is_standalone() -> None:
    state = state_of(TEAMS_BY_PREFIX, [group("LLM-A", ("ann",))])
    assert state.teams[0].organization_id is None
    assert state.organizations == ()


def test_the_litellm_preset_makes_an_organization_and_a_team_per_group() -> None:
    state = state_of(
        """
        defaults: {models: [gpt-4o], max_budget: 10, budget_duration: 30d}
        preset: {name: entra_groups_also_create_orgs, select: {prefix: "LLM-"}}
        """,
        [group("LLM-Sales", ("ann", "bob"))],
    )
    (org,), (team,) = state.organizations, state.teams
    assert org.id == team.id == team.organization_id == oid("group/LLM-Sales")
    assert org.alias == team.alias == "LLM-Sales"
    assert emails(org.members) == {"ann": "internal_user", "bob": "internal_user"}
    assert emails(team.members) == {"ann": "user", "bob": "user"}
    assert org.settings == team.settings
    assert team.settings.models == ("gpt-4o",)


def test_membership_is_transitive_by_default_and_survives_cycles() -> None:
    groups = [
        group("LLM-A", ("ann",), groups=("Inner",)),
        group("Inner", ("bob",), groups=("Innermost",)),
        group("Innermost", ("cy",), groups=("LLM-A",)),
    ]
    assert emails(state_of(TEAMS_BY_PREFIX, groups).teams[0].members) == {
        "ann": "user",
        "bob": "user",
        "cy": "user",
    }


def test_direct_membership_ignores_nested_groups() -> None:
    groups = [group("LLM-A", ("ann",), groups=("Inner",)), group("Inner", ("bob",))]
    state = state_of("membership: direct\n" + TEAMS_BY_PREFIX, groups)
    assert emails(state.teams[0].members) == {"ann": "user"}


def test_non_user_members_are_ignored_and_counted() -> None:
    members = [
        ref("user", "ann"),
        ref("servicePrincipal", "bot"),
        ref("device", "kiosk"),
        ref("orgContact", "vendor"),
    ]
    outcome = run(TEAMS_BY_PREFIX, [group("LLM-A", members=members)])
    assert emails(outcome.state.teams[0].members) == {"ann": "user"}
    assert outcome.findings.skipped_members == {"device": 1, "orgContact": 1, "servicePrincipal": 1}


def _left_out(outcome: mapping.Outcome) -> dict[str, list[str]]:
    return {k: [u.name for u in v] for k, v in outcome.findings.excluded_users.items()}


def test_disabled_users_are_left_out_by_default() -> None:
    users = [user("ann"), user("bob", accountEnabled=False)]
    outcome = run(TEAMS_BY_PREFIX, [group("LLM-A", ("ann", "bob"))], users)
    assert emails(outcome.state.teams[0].members) == {"ann": "user"}
    assert _left_out(outcome) == {"disabled account": ["bob@contoso.test"]}


def test_disabled_users_are_kept_on_request() -> None:
    users = [user("ann"), user("bob", accountEnabled=False)]
    text = "identity: {include_disabled: true}\n" + TEAMS_BY_PREFIX
    assert len(run(text, [group("LLM-A", ("ann", "bob"))], users).state.teams[0].members) == 2


def test_guests_are_kept_by_default_and_left_out_on_request() -> None:
    users = [user("ann"), user("gus", userType="Guest")]
    groups = [group("LLM-A", ("ann", "gus"))]
    assert len(run(TEAMS_BY_PREFIX, groups, users).state.teams[0].members) == 2
    outcome = run("identity: {include_guests: false}\n" + TEAMS_BY_PREFIX, groups, users)
    assert emails(outcome.state.teams[0].members) == {"ann": "user"}
    assert _left_out(outcome) == {"guest": ["gus@contoso.test"]}


def test_a_user_without_any_email_is_reported_not_rendered() -> None:
    users = [user("ann"), user("bob", userPrincipalName=None, mail=None, displayName="Bob B")]
    outcome = run(TEAMS_BY_PREFIX, [group("LLM-A", ("ann", "bob"))], users)
    assert emails(outcome.state.teams[0].members) == {"ann": "user"}
    assert any("Bob B" in w and "User.Read.All" in w for w in outcome.findings.warnings)


def test_a_member_missing_from_the_users_list_is_counted_as_unknown() -> None:
    # A snapshot refuses such a reference; a directory built by a source may still hold one.
    complete = directory(tenant([group("LLM-A", ("ann",))], USERS))
    (team_group,) = complete.groups.values()
    ghost = Member("user", oid("user/ghost"))
    holed = replace(
        complete, groups={team_group.id: replace(team_group, members=(*team_group.members, ghost))}
    )
    parsed = parse_policy("version: 1\n" + textwrap.dedent(TEAMS_BY_PREFIX), "p.yaml")
    outcome = mapping.apply(parsed, holed)
    assert _left_out(outcome) == {"unknown user (not in the directory)": [oid("user/ghost")]}


def test_identity_attributes_follow_the_deployment_settings() -> None:
    users = [user("ann", userPrincipalName="ann.upn@contoso.test", mail="ann.mail@contoso.test")]
    text = "identity: {user_id: userPrincipalName, user_email: mail}\n" + TEAMS_BY_PREFIX
    (member,) = run(text, [group("LLM-A", ("ann",))], users).state.teams[0].members
    assert (member.key, member.user_id, member.user_email) == (
        oid("user/ann"),
        "ann.upn@contoso.test",
        "ann.mail@contoso.test",
    )


def test_the_email_falls_back_to_the_other_attribute() -> None:
    users = [user("gus", userPrincipalName="gus_x#EXT#@contoso.test", mail=None)]
    text = "identity: {user_email: mail}\n" + TEAMS_BY_PREFIX
    (member,) = run(text, [group("LLM-A", ("gus",))], users).state.teams[0].members
    assert member.user_email == "gus_x#EXT#@contoso.test"


def test_group_owners_become_admins_when_the_rule_says_so() -> None:
    owners = [ref("user", "cy")]
    text = "teams:\n  - {rule: t, select: {prefix: 'LLM-'}, admins: {owners: true}}\n"
    team = state_of(text, [group("LLM-A", ("ann",), owners=owners)]).teams[0]
    assert emails(team.members) == {"ann": "user", "cy": "admin"}


def test_members_of_a_named_admin_group_become_admins() -> None:
    text = (
        "teams:\n  - {rule: t, select: {prefix: 'LLM-'}, admins: {group: 'Admins {displayName}'}}\n"
    )
    groups = [group("LLM-A", ("ann", "bob")), group("Admins LLM-A", ("bob",))]
    assert emails(state_of(text, groups).teams[0].members) == {"ann": "user", "bob": "admin"}


def test_members_and_admins_of_every_scope_come_in_key_order() -> None:
    # The manifest reads members back in key order: two equal states must compare equal.
    text = ORG + (
        "teams:\n  - {rule: t, select: {prefix: 'LLM-'}, organization: nested,\n"
        "     admins: {group: 'Admins {displayName}'}}\n"
    )
    names = ("ann", "bob", "cy", "dee", "eve")
    groups = [
        group("Org-A", ("eve",), groups=("LLM-A",)),
        group("LLM-A", names[::2]),
        group("Admins LLM-A", names[1::2]),
    ]
    state = state_of(text, groups)
    every = [o.members for o in state.organizations] + [t.members for t in state.teams]
    for members in every:
        assert [m.key for m in members] == sorted(oid(f"user/{n}") for n in names)


def test_a_missing_admin_group_is_a_warning() -> None:
    text = "teams:\n  - {rule: t, select: {prefix: 'LLM-'}, admins: {group: 'Nope'}}\n"
    outcome = run(text, [group("LLM-A", ("ann",))])
    a = oid("group/LLM-A")
    assert outcome.findings.warnings == (f"admin group 'Nope' for 'LLM-A' ({a}): no group",)


def test_two_groups_of_one_name_are_told_apart_by_id_rule_and_line_in_errors() -> None:
    text = (
        "organizations:\n  - {rule: orgs, select: {prefix: 'Org-'}, settings: {max_budget: 100}}\n"
        "teams:\n  - {rule: sales, select: {prefix: 'Sales-'}, organization: nested,\n"
        "     settings: {max_budget: 200}}\n"
    )
    first, second = group("Sales-EMEA", ("ann",)), group("Sales-EMEA", ("bob",))
    second["id"] = oid("group/the other Sales-EMEA")
    org = group("Org-Sales", groups=("Sales-EMEA",))
    org["members"].append(ref("group", "the other Sales-EMEA"))
    with pytest.raises(PolicyError) as caught:
        run(text, [org, first, second])
    lines = str(caught.value).splitlines()[1:]
    shown = {
        f"  team 'Sales-EMEA' ({g['id']}), rule 'sales' at p.yaml:5: max_budget 200 exceeds 100 "
        f"of organization 'Org-Sales' ({org['id']})"
        for g in (first, second)
    }
    assert set(lines) == shown


def test_under_prefixed_ids_an_error_still_names_the_rule_and_line() -> None:
    text = (
        "ids: {scheme: prefixed}\n"
        "organizations:\n  - {rule: orgs, select: {prefix: 'Org-'}, settings: {max_budget: 1}}\n"
        "teams:\n  - {rule: sales, select: {prefix: 'Sales-'}, organization: nested}\n"
    )
    groups = [group("Org-A", groups=("Sales-EMEA",)), group("Sales-EMEA", ("ann",))]
    with pytest.raises(PolicyError) as caught:
        run(text, groups)
    assert "), rule 'sales' at p.yaml:6: max_budget unset exceeds 1" in str(caught.value)


def test_organization_members_are_its_own_plus_its_teams_members() -> None:
    state = state_of(
        ORG + "    admins: {owners: true}\n"
        "teams:\n  - {rule: t, select: {prefix: 'Team-'}, organization: nested}\n",
        [
            group("Org-R", ("ann",), groups=("Team-X",), owners=[ref("user", "bob")]),
            group("Team-X", ("bob", "cy")),
        ],
    )
    assert emails(state.organizations[0].members) == {
        "ann": "internal_user",
        "bob": "org_admin",
        "cy": "internal_user",
    }


def test_a_group_selected_by_two_rules_of_one_kind_names_both_rules() -> None:
    text = """\
teams:
  - {rule: first, select: {prefix: 'LLM-'}}
  - {rule: second, select: {names: [LLM-A]}}
"""
    expected = "two teams rules, 'first' (line 3) and 'second' (line 4)"
    with pytest.raises(PolicyError, match=re.escape(expected)):
        state_of(text, [group("LLM-A")])


NESTED_TEAM = """\
teams:
  - rule: t
    select: {{prefix: 'Team-'}}
    organization: nested
    settings: {}
"""


def test_team_models_must_fit_the_organization() -> None:
    text = ORG + "    settings: {models: [a]}\n" + NESTED_TEAM.format("{models: [a, b]}")
    with pytest.raises(PolicyError, match="models b are not allowed by organization"):
        state_of(text, [group("Org-R", groups=("Team-X",)), group("Team-X")])


def test_team_budget_must_not_exceed_the_organization() -> None:
    text = ORG + "    settings: {max_budget: 10}\n" + NESTED_TEAM.format("{max_budget: 11}")
    with pytest.raises(PolicyError, match="max_budget 11 exceeds 10"):
        state_of(text, [group("Org-R", groups=("Team-X",)), group("Team-X")])


def test_only_groups_assigned_to_the_app_are_selected_when_asked() -> None:
    text = "source: {service_principal_id: sp}\n" + TEAMS_BY_PREFIX
    assigned = [{"principalType": "Group", "principalId": oid("group/LLM-A")}]
    state = state_of(text, [group("LLM-A"), group("LLM-B")], appRoleAssignedTo=assigned)
    assert [t.alias for t in state.teams] == ["LLM-A"]


def test_app_selection_without_assignments_in_the_source_is_an_error() -> None:
    with pytest.raises(PolicyError, match="no app role assignments"):
        state_of("source: {service_principal_id: sp}\n" + TEAMS_BY_PREFIX, [group("LLM-A")])


def test_the_state_is_sorted_by_id_whatever_the_input_order() -> None:
    groups = [group(f"LLM-{n}", ("ann", "bob", "cy")) for n in "ABCDE"]
    forward = state_of(TEAMS_BY_PREFIX, groups)
    backward = state_of(TEAMS_BY_PREFIX, groups[::-1])
    assert forward == backward
    assert [t.id for t in forward.teams] == sorted(t.id for t in forward.teams)


PRESET = 'preset: {name: entra_groups_also_create_orgs, select: {prefix: "LLM-"}}\n'


def test_the_preset_keys_by_object_id_so_duplicate_names_never_collide() -> None:
    twins = [
        group("LLM-Sales", ("ann",), id=oid("group/one")),
        group("LLM-Sales", ("bob",), id=oid("group/two")),
    ]
    state = state_of(PRESET, twins)
    assert sorted(o.id for o in state.organizations) == sorted(
        oid(f"group/{n}") for n in ("one", "two")
    )
    assert all(t.organization_id == t.id for t in state.teams)
    assert {t.id: emails(t.members) for t in state.teams} == {
        oid("group/one"): {"ann": "user"},
        oid("group/two"): {"bob": "user"},
    }


def test_a_key_shared_by_two_organization_groups_is_an_error_only_when_a_team_uses_it() -> None:
    twins = [group("Org-Finance", id=oid("group/f1")), group("Org-Finance", id=oid("group/f2"))]
    assert len(state_of(ORG, twins).organizations) == 2
    text = ORG + "teams:\n  - {rule: t, select: {prefix: 'Team-'}, organization: {key: Finance}}\n"
    with pytest.raises(PolicyError) as caught:
        state_of(text, [*twins, group("Team-Audit")])
    message = str(caught.value)
    assert oid("group/f1") in message and oid("group/f2") in message
    assert "{id}" in message and "p.yaml:" in message


def test_placing_a_team_by_a_group_name_two_groups_share_names_both_ids() -> None:
    twins = [group("Org-Finance", id=oid("group/f1")), group("Org-Finance", id=oid("group/f2"))]
    text = (
        ORG
        + "teams:\n  - {rule: t, select: {prefix: 'Team-'}, organization: {group: Org-Finance}}\n"
    )
    with pytest.raises(PolicyError) as caught:
        state_of(text, [*twins, group("Team-Audit")])
    assert oid("group/f1") in str(caught.value) and oid("group/f2") in str(caught.value)


def test_an_admin_group_name_two_groups_share_names_both_ids() -> None:
    text = "teams:\n  - {rule: t, select: {prefix: 'LLM-'}, admins: {group: Admins}}\n"
    groups = [
        group("LLM-A"),
        group("Admins", id=oid("group/a1")),
        group("Admins", id=oid("group/a2")),
    ]
    with pytest.raises(PolicyError, match="unique name") as caught:
        state_of(text, groups)
    assert oid("group/a1") in str(caught.value) and oid("group/a2") in str(caught.value)


def test_a_team_without_its_organization_names_the_key_the_keys_and_the_rule_line() -> None:
    text = (
        ORG
        + "teams:\n  - rule: audit\n    select: {prefix: 'Team-'}\n    organization: {key: Fin}\n"
    )
    with pytest.raises(PolicyError) as caught:
        state_of(text, [group("Org-Finance"), group("Org-Legal"), group("Team-Audit")])
    message = str(caught.value)
    assert message.startswith("p.yaml:8: rule 'audit'")
    assert "the organization key 'Fin'" in message
    assert "(organization keys: 'Finance', 'Legal')" in message


def test_a_member_reached_through_several_groups_is_counted_once() -> None:
    bot = ref("servicePrincipal", "bot")
    groups = [group("LLM-A", members=[bot]), group("LLM-B", members=[bot])]
    assert run(TEAMS_BY_PREFIX, groups).findings.skipped_members == {"servicePrincipal": 1}


def test_left_out_users_are_named_once_whatever_the_number_of_groups() -> None:
    users = [user("ann"), user("bob", accountEnabled=False)]
    outcome = run(
        TEAMS_BY_PREFIX, [group("LLM-A", ("bob",)), group("LLM-B", ("ann", "bob"))], users
    )
    ((reason, (left_out,)),) = outcome.findings.excluded_users.items()
    assert (reason, left_out.name, left_out.id) == (
        "disabled account",
        "bob@contoso.test",
        oid("user/bob"),
    )


def test_a_template_that_uses_an_uncaptured_optional_group_names_the_rule_and_group() -> None:
    text = (
        "teams:\n"
        "  - {rule: t, select: {regex: '^LLM-(?P<org>[^-]+)(-(?P<team>.+))?$'}, alias: '{team}'}\n"
    )
    with pytest.raises(
        PolicyError, match=r"rule 't' \(line 3\): \{team\} was not captured from group 'LLM-A'"
    ):
        state_of(text, [group("LLM-A")])
