"""`entraform explain`: every grant of access traced to its rule and nesting chain, or why none."""

from __future__ import annotations

import itertools
import json
import random
import re
import shlex
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator import mapping
from generator.cli import cli
from generator.directory import Directory, MembershipMode
from generator.errors import ConfigError
from generator.mapping.trace import MAX_CHAINS, Absence, Access, Explanation, explain
from generator.policy import Policy
from generator.policy.load import load_policy, parse_policy
from generator.report.explanation import report, text
from generator.sources import snapshot
from tests import hostile
from tests.conftest import EXAMPLES, ROOT
from tests.example_ids import ANALYSTS, FINANCE, ISAIAH, NESTOR, RESEARCH, RESEARCH_ML, SANDBOX
from tests.fakegraph import FakeGraph, Tenant, serve
from tests.tenants import directory, group, oid, tenant, user, write

POLICY_PATH = EXAMPLES / "entraform.yaml"
TENANT_PATH = EXAMPLES / "tenant.json"
EXAMPLE_ARGS = ("-c", POLICY_PATH, "--snapshot", TENANT_PATH)
ML_CORE = "f59a7886-7c9e-5759-9c2e-9bff208b38b7"
MIRIAM = "MiriamG@contoso.com"
PATTI = "PattiF@contoso.com"


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(cli, [str(a) for a in args], catch_exceptions=False)


def example() -> tuple[Policy, Directory]:
    return load_policy(POLICY_PATH), snapshot.loads(TENANT_PATH.read_text(encoding="utf-8"))


def rule_line(name: str) -> int:
    lines = POLICY_PATH.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if f"rule: {name}" in line)


def policy(body: str) -> Policy:
    return parse_policy("version: 1\n" + textwrap.dedent(body), "p.yaml")


def chains(access: Access | Absence | None, via: str = "member") -> list[list[str]]:
    assert isinstance(access, Access)
    return [[g.id for g in grant.groups] for grant in access.grants if grant.via == via]


def one(accesses: tuple[Access, ...], object_id: str) -> Access:
    return next(a for a in accesses if a.id == object_id)


def ask(who: str, kind: str, query: str) -> Explanation:
    """Explain a person of the bundled tenant, asking about one team or organization."""
    if kind == "team":
        return explain(*example(), who, team=query)
    return explain(*example(), who, organization=query)


def codes(found: Explanation) -> list[str]:
    assert isinstance(found.asked, Absence)
    return [r.code for r in found.asked.reasons]


# The bundled tenant


def test_a_member_through_a_nested_group_is_shown_the_chain_and_the_rule_with_its_line() -> None:
    found = explain(*example(), "NestorW@contoso.com")
    team = one(found.teams, RESEARCH_ML)
    assert chains(team) == [[RESEARCH_ML, ML_CORE]]
    assert (team.role, team.match.rule.name, team.match.rule.line) == (
        "user",
        "research",
        rule_line("research"),
    )
    assert "user  member of 'Research-ML' through 'ML-Core-Engineers'" in text(found)


def test_a_group_owner_is_organization_admin_by_ownership() -> None:
    found = explain(*example(), "IsaiahL@contoso.com")
    organization = one(found.organizations, RESEARCH)
    assert organization.role == "org_admin"
    assert [
        (g.role, [x.id for x in g.groups]) for g in organization.grants if g.via == "owner"
    ] == [("org_admin", [RESEARCH])]


def test_a_member_of_the_admin_group_is_team_admin_and_the_admin_group_is_named() -> None:
    found = explain(*example(), ISAIAH)
    team = one(found.teams, RESEARCH_ML)
    admins_group = "b21569bd-91da-5c9e-af9b-7b38e824a7d0"
    assert team.role == "admin"
    assert chains(team, "admin_group") == [[admins_group]]
    assert "admin  direct member of admin group 'Admins-Research-ML'" in text(found)


def test_being_in_a_team_of_an_organization_is_its_own_grant_of_the_organization() -> None:
    found = explain(*example(), NESTOR)
    organization = one(found.organizations, RESEARCH)
    assert [g.team.id for g in organization.grants if g.team] == [RESEARCH_ML]
    assert chains(organization) == [[RESEARCH, RESEARCH_ML, ML_CORE]]


def test_what_explain_says_each_person_gets_is_what_generate_renders_for_them() -> None:
    config, tenant_directory = example()
    state = mapping.apply(config, tenant_directory).state
    for person in tenant_directory.users.values():
        found = explain(config, tenant_directory, person.id)
        said = {(a.kind, a.id, a.role) for a in found.organizations + found.teams}
        rendered = {
            (kind, o.id, m.role)
            for kind, objects in (("organization", state.organizations), ("team", state.teams))
            for o in objects
            for m in o.members
            if m.key == person.id
        }
        assert said == rendered, person.display_name
        assert all(a.grants for a in found.organizations + found.teams)


def test_a_disabled_account_is_the_reason_it_is_not_in_its_groups_team() -> None:
    found = explain(*example(), MIRIAM, team="Finance Analysts")
    assert codes(found) == ["disabled"]
    assert found.organizations == found.teams == ()


def test_a_group_no_teams_rule_selects_lists_what_every_teams_rule_selects() -> None:
    found = explain(*example(), NESTOR, team="All Company")
    assert isinstance(found.asked, Absence)
    (reason,) = found.asked.reasons
    assert reason.code == "not_selected"
    line = rule_line("research")
    assert (
        f"rule 'research' ({POLICY_PATH}:{line}) selects groups whose name starts "
        "with 'Research-'" in reason.details
    )


def test_an_organization_group_asked_about_as_a_team_says_which_rule_makes_it_one() -> None:
    found = explain(*example(), NESTOR, team="LLM-Org-Research")
    assert codes(found) == ["not_selected", "selected_as_organization"]


def test_a_team_group_asked_about_as_an_organization_says_which_rule_makes_it_a_team() -> None:
    found = explain(*example(), NESTOR, organization=RESEARCH_ML)
    assert codes(found) == ["not_selected", "selected_as_team"]


def test_a_person_in_no_selected_group_is_told_they_get_nothing() -> None:
    lonely = explain(policy(TEAMS), directory(tenant([], [user("ann")])), "ann@contoso.test")
    assert text(lonely).splitlines()[1:] == ["  gets no organization and no team"]


def test_someone_outside_a_team_is_told_they_are_in_neither_its_group_nor_its_admins() -> None:
    found = explain(*example(), NESTOR, organization="Finance")
    assert isinstance(found.asked, Absence)
    (reason,) = found.asked.reasons
    assert reason.code == "not_a_member"
    assert "not an owner of it" in reason.text
    assert "nor in any of its 2 team(s)" in reason.text


def test_asking_about_a_team_the_person_is_in_shows_that_teams_grants() -> None:
    found = explain(*example(), "GradyA@contoso.com", team=SANDBOX)
    assert isinstance(found.asked, Access)
    assert found.asked.id == SANDBOX
    assert chains(found.asked) == [[SANDBOX]]


# Finding the person and the team


@pytest.mark.parametrize(
    "who", ["nestorw@CONTOSO.com", NESTOR, NESTOR.upper()], ids=["upn", "id", "upper-id"]
)
def test_a_person_is_found_by_principal_name_or_object_id_in_any_case(who: str) -> None:
    assert explain(*example(), who).person.id == NESTOR


def test_a_person_is_found_by_mail_too() -> None:
    users = [user("ann", userPrincipalName="ann_ext#EXT#@contoso.test", mail="ann@fabrikam.test")]
    found = explain(policy("teams: []\n"), directory(tenant([], users)), "ANN@fabrikam.test")
    assert found.person.id == oid("user/ann")


def test_an_unknown_person_exits_2_and_suggests_the_closest_name() -> None:
    result = invoke("explain", "nestorw@contoso.co", *EXAMPLE_ARGS)
    assert result.exit_code == 2
    assert "did you mean 'NestorW@contoso.com'?" in result.stderr


def test_a_mail_that_is_another_users_principal_name_is_refused_as_ambiguous() -> None:
    users = [user("ann"), user("bob", mail="ann@contoso.test")]
    with pytest.raises(ConfigError, match="names 2 users"):
        explain(policy("teams: []\n"), directory(tenant([], users)), "ann@contoso.test")


def test_a_team_name_that_two_groups_share_is_refused_until_the_id_is_given() -> None:
    twins = [group("Team-X", ("ann",)), group("Team-X", ("bob",), id=oid("group/twin"))]
    teams = policy("teams: [{rule: t, select: {prefix: Team-}}]\n")
    tenant_directory = directory(tenant(twins, [user("ann"), user("bob")]))
    with pytest.raises(ConfigError, match="'Team-X' names 2 objects") as refused:
        explain(teams, tenant_directory, "ann@contoso.test", team="Team-X")
    assert oid("group/twin") in str(refused.value)
    assert "give the object id of the team you mean" in str(refused.value)
    found = explain(teams, tenant_directory, "ann@contoso.test", team=oid("group/twin"))
    assert codes(found) == ["not_a_member"]


SALES = [group("Team-A", ("ann",)), group("Team-B", ("bob",)), group("Sales", ("bob",))]
A_BY_TEAM = f"group 'Team-A' ({oid('group/Team-A')}) by its team's alias"
B_BY_TEAM = f"group 'Team-B' ({oid('group/Team-B')}) by its team's alias"
A_BY_ORGANIZATION = f"group 'Team-A' ({oid('group/Team-A')}) by its organization's alias"
SALES_BY_NAME = f"group 'Sales' ({oid('group/Sales')}) by its name"


@pytest.mark.parametrize(
    "body, named",
    [
        # One team's alias is another group's display name.
        ("teams: [{rule: t, select: {names: [Team-A]}, alias: Sales}]", [A_BY_TEAM, SALES_BY_NAME]),
        # Two teams share one alias.
        ("teams: [{rule: t, select: {prefix: Team-}, alias: Sales}]", [A_BY_TEAM, B_BY_TEAM]),
        # An organization's alias is another group's display name.
        (
            "litellm: {enterprise: true}\n"
            "organizations: [{rule: o, select: {names: [Team-A]}, alias: Sales}]",
            [A_BY_ORGANIZATION, SALES_BY_NAME],
        ),
    ],
    ids=["alias-and-group-name", "shared-alias", "organization-alias-and-group-name"],
)
def test_a_name_several_objects_answer_to_is_refused_naming_each_until_the_id_is_given(
    body: str, named: list[str]
) -> None:
    config = policy(body + "\n")
    tenant_directory = directory(tenant(SALES, [user("ann"), user("bob")]))
    with pytest.raises(ConfigError, match="give the object id of the team you mean") as refused:
        explain(config, tenant_directory, "bob@contoso.test", team="Sales")
    assert all(n in str(refused.value) for n in named), str(refused.value)
    found = explain(config, tenant_directory, "bob@contoso.test", team=oid("group/Team-A"))
    assert isinstance(found.asked, Absence)
    assert found.asked.group.id == oid("group/Team-A")


@pytest.mark.parametrize(
    ("asked", "alias", "other", "group", "group_id"),
    [
        ("team", "Finance", "organization", "LLM-Org-Finance", FINANCE),
        ("organization", "Finance Analysts", "team", "LLM-Team-Finance-Analysts", ANALYSTS),
    ],
)
def test_an_alias_asked_as_the_other_kind_says_which_kind_it_is(
    asked: str, alias: str, other: str, group: str, group_id: str
) -> None:
    result = invoke("explain", PATTI, f"--{asked}", alias, *EXAMPLE_ARGS)
    assert result.exit_code == 2
    assert (
        f"no {asked} {alias!r}: {alias!r} is the {other} made from group {group!r} "
        f"({group_id}); ask with --{other} {alias!r}"
    ) in result.stderr


@pytest.mark.parametrize(
    "kind, group_name, hint",
    [
        ("team", "LLM-Org-Finance", "organization 'Finance': ask with --organization 'Finance'"),
        ("organization", "LLM-Team-Finance-Analysts",
         "team 'Finance Analysts': ask with --team 'Finance Analysts'"),
    ],
)  # fmt: skip
def test_a_group_asked_as_the_other_kind_names_that_object_and_the_option_for_it(
    kind: str, group_name: str, hint: str
) -> None:
    found = ask(NESTOR, kind, group_name)
    assert isinstance(found.asked, Absence)
    assert found.asked.reasons[-1].text.endswith(f"selects it as {hint}")


@pytest.mark.parametrize(
    "kind, alias, object_id, group_name",
    [
        ("team", "Finance Analysts", ANALYSTS, "LLM-Team-Finance-Analysts"),
        ("organization", "Finance", FINANCE, "LLM-Org-Finance"),
    ],
)
def test_an_object_asked_by_its_alias_is_answered_under_that_alias_with_its_group_beside(
    kind: str, alias: str, object_id: str, group_name: str
) -> None:
    found = ask(NESTOR, kind, alias)
    heading = f"not in {kind} {alias!r} ({object_id}), group {group_name!r}:"
    assert text(found).splitlines()[2] == heading
    asked = report(found)["asked"]
    assert (asked["alias"], asked["id"], asked["group"]["display_name"]) == (
        alias,
        object_id,
        group_name,
    )


@pytest.mark.parametrize(
    "kind, alias", [("team", "Finance Controlling"), ("organization", "Finance")]
)
def test_an_object_the_person_is_in_is_found_by_its_alias_for_either_kind(
    kind: str, alias: str
) -> None:
    found = ask(PATTI, kind, alias)
    assert isinstance(found.asked, Access)
    assert (found.asked.kind, found.asked.alias) == (kind, alias)


def test_under_prefixed_ids_the_litellm_id_is_accepted_and_every_grant_still_traced() -> None:
    config = policy(
        """\
        litellm: {enterprise: true}
        ids: {scheme: prefixed, prefix: ef-}
        organizations: [{rule: o, select: {names: [Unit]}}]
        teams: [{rule: t, select: {prefix: Team-}, organization: nested}]
        """
    )
    groups = [
        group("Unit", groups=("Team-A", "Team-B")),
        group("Team-A", ("ann",)),
        group("Team-B", ("bob",)),
        group("Other", ("cy",)),
    ]
    tenant_directory = directory(tenant(groups, [user("ann"), user("bob"), user("cy")]))
    found = explain(
        config, tenant_directory, "ann@contoso.test", organization="ef-" + oid("group/Unit")
    )
    assert isinstance(found.asked, Access)
    assert [g.team.alias for g in found.asked.grants if g.team] == ["Team-A"]
    assert [a.id for a in found.teams] == ["ef-" + oid("group/Team-A")]
    found = explain(config, tenant_directory, "ann@contoso.test", team="Team-B")
    assert isinstance(found.asked, Absence)
    assert (found.asked.id, codes(found)) == ("ef-" + oid("group/Team-B"), ["not_a_member"])
    found = explain(config, tenant_directory, "cy@contoso.test", organization="Unit")
    assert isinstance(found.asked, Absence)
    assert found.asked.reasons[0].text.endswith("nor in any of its 2 team(s)")


def test_an_unknown_team_exits_2_and_suggests_the_closest_name() -> None:
    result = invoke("explain", "NestorW@contoso.com", "--team", "Sandbox", *EXAMPLE_ARGS)
    assert result.exit_code == 2
    assert "did you mean 'LLM-Sandbox'?" in result.stderr


def test_team_and_organization_together_are_a_usage_error() -> None:
    args = ("explain", NESTOR, "--team", "x", "--organization", "y", *EXAMPLE_ARGS)
    assert invoke(*args).exit_code == 2


# Policy reasons on small tenants


def not_selected(body: str) -> list[str]:
    """What each rule selects, as explain lists it for a group no rule selects."""
    tenant_directory = directory(tenant([group("Other")], [user("ann")]))
    found = explain(policy(body), tenant_directory, "ann@contoso.test", team="Other")
    assert isinstance(found.asked, Absence)
    return list(found.asked.reasons[0].details)


def test_a_regex_is_printed_as_the_policy_writes_it_in_text_and_in_json(tmp_path: Path) -> None:
    regex = r"^Team-(?P<name>\w+)\s\d$"
    config = tmp_path / "p.yaml"
    config.write_text(f"version: 1\nteams: [{{rule: t, select: {{regex: '{regex}'}}}}]\n")
    snap = write(tmp_path / "t.json", tenant([group("Other")], [user("ann")]))
    args = ("explain", "ann@contoso.test", "--team", "Other", "-c", config, "--snapshot", snap)
    said = f"rule 't' ({config}:2) selects groups whose whole name matches '{regex}'"
    assert f"    {said}" in invoke(*args).stdout.splitlines()
    data = invoke(*args, "--json").stdout
    # JSON escapes each backslash once, and only once.
    assert r"matches '^Team-(?P<name>\\w+)\\s\\d$'" in data
    assert json.loads(data)["asked"]["reasons"][0]["details"] == [said]


@pytest.mark.parametrize(
    "select, shown",
    [
        (r"""{regex: '^Q-[^''"]+\d$'}""", r'''whole name matches "^Q-[^'\"]+\\d$"'''),
        (r'{prefix: "\e[31m\\"}', r'name starts with "\x1b[31m\\"'),
        (r"""{names: ["O'Brien", 'a\b']}""", r"""named "O'Brien", 'a\b'"""),
    ],
    ids=["quotes", "control", "names"],
)
def test_policy_text_that_plain_quotes_would_make_ambiguous_is_shown_escaped(
    select: str, shown: str
) -> None:
    (line,) = not_selected(f"teams: [{{rule: t, select: {select}}}]\n")
    assert line.endswith(shown), line
    assert line.isprintable()


TEAMS = "teams: [{rule: t, select: {prefix: Team-}}]\n"


def test_a_guest_left_out_by_the_policy_is_told_so() -> None:
    guest = user("gus", userType="Guest")
    config = policy(TEAMS + "identity: {include_guests: false}\n")
    found = explain(
        config,
        directory(tenant([group("Team-X", ("gus",))], [guest])),
        "gus@contoso.test",
        team="Team-X",
    )
    assert codes(found) == ["guest_excluded"]


def test_a_person_without_a_usable_email_is_told_so() -> None:
    nameless = user("nia", userPrincipalName=None, mail=None)
    tenant_directory = directory(tenant([group("Team-X", ("nia",))], [nameless]))
    found = explain(policy(TEAMS), tenant_directory, oid("user/nia"), team="Team-X")
    assert codes(found) == ["no_usable_identity"]


def test_a_group_a_rule_would_select_but_not_assigned_to_the_app_says_so() -> None:
    config = policy(
        TEAMS + "source: {service_principal_id: 11111111-2222-4333-8444-555555555555}\n"
    )
    groups = [group("Team-A", ("ann",)), group("Team-B", ("ann",))]
    assigned = [{"principalType": "Group", "principalId": oid("group/Team-A")}]
    tenant_directory = directory(tenant(groups, [user("ann")], appRoleAssignedTo=assigned))
    found = explain(config, tenant_directory, "ann@contoso.test", team="Team-B")
    assert codes(found) == ["not_assigned"]
    assert [a.id for a in found.teams] == [oid("group/Team-A")]


def test_under_direct_membership_a_nested_member_is_told_nesting_is_not_followed() -> None:
    groups = [group("Team-X", groups=("Inner",)), group("Inner", ("ann",))]
    config = policy(TEAMS + "membership: direct\n")
    found = explain(
        config, directory(tenant(groups, [user("ann")])), "ann@contoso.test", team="Team-X"
    )
    assert isinstance(found.asked, Absence)
    (reason,) = found.asked.reasons
    assert reason.code == "not_a_member"
    assert "only through nested groups" in reason.text


# Hostile nesting


def test_a_nesting_cycle_ends_and_each_chain_passes_a_group_once() -> None:
    groups = [group("Team-A", groups=("B",)), group("B", ("ann",), groups=("Team-A",))]
    found = explain(policy(TEAMS), directory(tenant(groups, [user("ann")])), "ann@contoso.test")
    assert chains(one(found.teams, oid("group/Team-A"))) == [[oid("group/Team-A"), oid("group/B")]]


def test_a_person_reached_several_ways_sees_every_chain_shortest_first() -> None:
    groups = [
        group("Team-A", ("ann",), groups=("B", "C")),
        group("B", groups=("D",)),
        group("C", groups=("D",)),
        group("D", ("ann",), groups=("Team-A",)),
    ]
    found = explain(policy(TEAMS), directory(tenant(groups, [user("ann")])), "ann@contoso.test")
    a, b, c, d = (oid(f"group/{n}") for n in ("Team-A", "B", "C", "D"))
    got = chains(one(found.teams, a))
    assert got[0] == [a]
    assert sorted(got[1:]) == sorted([[a, b, d], [a, c, d]])


def test_every_chain_is_real_nesting_ending_in_a_group_the_person_is_directly_in() -> None:
    names = [f"G{i}" for i in range(12)]
    # Each group holds the next three (wrapping round), so there are cycles and many routes.
    groups = [
        group(
            n, ("ann",) if i % 4 == 3 else (), groups=tuple(names[(i + k) % 12] for k in (1, 2, 3))
        )
        for i, n in enumerate(names)
    ]
    config = policy("teams: [{rule: t, select: {prefix: G}}]\n")
    tenant_directory = directory(tenant(groups, [user("ann")]))
    found = explain(config, tenant_directory, "ann@contoso.test")
    assert len(found.teams) == 12
    for access in found.teams:
        for chain in chains(access):
            assert len(set(chain)) == len(chain)
            for outer, inner in itertools.pairwise(chain):
                assert inner in {m.id for m in tenant_directory.groups[outer].members}
            assert oid("user/ann") in {m.id for m in tenant_directory.groups[chain[-1]].members}


def test_more_chains_than_shown_are_cut_shortest_first_and_the_cut_is_said() -> None:
    middles = [f"M{i:02}" for i in range(MAX_CHAINS + 5)]
    groups = [group("Team-A", groups=tuple(middles)), *(group(m, ("ann",)) for m in middles)]
    found = explain(policy(TEAMS), directory(tenant(groups, [user("ann")])), "ann@contoso.test")
    team = one(found.teams, oid("group/Team-A"))
    assert len(chains(team)) == MAX_CHAINS
    assert not team.complete
    assert report(found)["teams"][0]["complete"] is False
    assert "(more nesting chains grant this than are shown)" in text(found)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("mode", ["transitive", "direct"])
def test_a_chain_is_found_exactly_when_membership_resolution_finds_the_user(
    seed: int, mode: MembershipMode
) -> None:
    rng = random.Random(seed)
    names = [f"G{i}" for i in range(15)]
    nicks = ["ann", "bob", "cy", "dee"]
    groups = [
        group(
            n,
            tuple(u for u in nicks if rng.random() < 0.15),
            groups=tuple(g for g in names if rng.random() < 0.12),
        )
        for n in names
    ]
    tenant_directory = directory(tenant(groups, [user(n) for n in nicks]))
    for group_id in tenant_directory.groups:
        resolved = tenant_directory.user_members(group_id, mode).users
        for nick in nicks:
            found = tenant_directory.chains(group_id, oid("user/" + nick), mode, 1000)
            assert bool(found.found) == (oid("user/" + nick) in resolved)
            assert found.complete


def test_a_group_that_is_an_organization_and_a_team_keeps_each_rules_admin_group() -> None:
    config = policy(
        """\
        litellm: {enterprise: true}
        organizations: [{rule: o, select: {names: [Unit]}, admins: {group: Org-Admins}}]
        teams:
          - {rule: t, select: {names: [Unit]}, organization: same_group,
             admins: {group: Team-Admins}}
        """
    )
    groups = [
        group("Unit", ("ann", "bob")),
        group("Org-Admins", ("ann",)),
        group("Team-Admins", ("bob",)),
    ]
    tenant_directory = directory(tenant(groups, [user("ann"), user("bob")]))
    ann = explain(config, tenant_directory, "ann@contoso.test")
    bob = explain(config, tenant_directory, "bob@contoso.test")
    unit = oid("group/Unit")
    assert (one(ann.organizations, unit).role, one(ann.teams, unit).role) == ("org_admin", "user")
    assert (one(bob.organizations, unit).role, one(bob.teams, unit).role) == (
        "internal_user",
        "admin",
    )
    assert chains(one(bob.teams, unit), "admin_group") == [[oid("group/Team-Admins")]]


HOSTILE_NAMES = [
    n
    for n in (
        *hostile.CONTROLS,
        *hostile.SEPARATORS,
        *hostile.INVISIBLE,
        *hostile.TEMPLATE,
        *hostile.INDICATORS,
        "\x1b[31mred\x1b[0m",
        "'\"",
    )
    if n
]


def test_hostile_group_names_print_as_quoted_lines_and_read_back_exactly_from_json() -> None:
    groups = [
        group(name, ("ann",), id=oid(f"group/h{i}"), description=None)
        for i, name in enumerate(HOSTILE_NAMES)
    ]
    ids = ", ".join(g["id"] for g in groups)
    config = policy(f"teams: [{{rule: h, select: {{ids: [{ids}]}}}}]\n")
    found = explain(config, directory(tenant(groups, [user("ann")])), "ann@contoso.test")
    lines = text(found).splitlines()
    assert len(lines) == 1 + 4 * len(HOSTILE_NAMES)
    assert all(c.isprintable() for line in lines for c in line)
    data = json.loads(json.dumps(report(found)))
    assert sorted(t["group"]["display_name"] for t in data["teams"]) == sorted(HOSTILE_NAMES)


# The command line


def test_json_has_the_documented_shape() -> None:
    result = invoke(
        "explain", "NestorW@contoso.com", "--json", "--team", "Research-ML", *EXAMPLE_ARGS
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"version", "person", "excluded", "organizations", "teams", "asked"}
    assert data["asked"] == data["teams"][0]
    assert set(data["asked"]) == {
        "kind", "member", "id", "alias", "role", "organization", "group", "rule", "grants",
        "complete",
    }  # fmt: skip
    assert data["asked"]["rule"] == {
        "name": "research",
        "file": str(POLICY_PATH),
        "line": rule_line("research"),
    }
    assert data["asked"]["grants"][0] == {
        "role": "user",
        "via": "member",
        "groups": [
            {"id": RESEARCH_ML, "display_name": "Research-ML"},
            {"id": ML_CORE, "display_name": "ML-Core-Engineers"},
        ],
        "team": None,
    }


def test_json_for_a_team_the_person_is_not_in_gives_reason_codes() -> None:
    result = invoke("explain", MIRIAM, "--json", "--team", "Finance Analysts", *EXAMPLE_ARGS)
    asked = json.loads(result.stdout)["asked"]
    assert (asked["member"], [r["code"] for r in asked["reasons"]]) == (False, ["disabled"])


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    """A fake Graph serving the bundled example tenant."""
    yield from serve(Tenant(example()[1]))


@pytest.mark.integration
def test_explaining_from_graph_says_what_explaining_from_the_snapshot_says(fake: FakeGraph) -> None:
    env = {"ENTRAFORM_GRAPH_URL": fake.base_url, "ENTRAFORM_GRAPH_TOKEN": "fake-token-for-tests"}
    live = invoke("explain", "IsaiahL@contoso.com", "-c", POLICY_PATH, "--json", "-q", env=env)
    offline = invoke("explain", "IsaiahL@contoso.com", *EXAMPLE_ARGS, "--json")
    assert live.exit_code == 0, live.stderr
    assert json.loads(live.stdout) == json.loads(offline.stdout)


def test_the_docs_examples_are_what_the_command_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    page = (ROOT / "docs" / "explain.md").read_text(encoding="utf-8")
    shown = re.findall(r"```console\n\$ (entraform explain [^\n]*)\n(.*?)```", page, re.S)
    assert len(shown) >= 2
    for command, output in shown:
        result = invoke(*shlex.split(command)[1:])
        assert result.stdout == output, command
