"""The policy's checks: a tenant that breaks one stops every run with exit 6, one that keeps it
passes; checks that cannot hold with the policy's own settings are configuration errors."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli
from generator.errors import ConfigError
from generator.policy.load import parse_policy
from tests.tenants import group, oid, tenant, user, write

FORMATS = ["terraform", "yaml"]
PEOPLE = [
    user("ann"),
    user("bob"),
    user("cy"),
    user("gus", userType="Guest", userPrincipalName="gus_fabrikam.test#EXT#@contoso.test"),
    user("ola", userPrincipalName="ola@partner.example", mail="ola@partner.example"),
    user("dee", userPrincipalName="Dee@EU.Contoso.test"),
]
POLICY = """\
version: 1
litellm: {enterprise: true}
organizations:
  - {rule: orgs, select: {prefix: "Org-"}, admins: {group: "Admins-{displayName}"}}
teams:
  - {rule: teams, select: {prefix: "Team-"}, organization: nested, admins: {owners: true}}
checks:
"""


def _run(tmp_path: Path, checks: str, groups: list[dict[str, Any]], *extra: str) -> Result:
    tmp_path.mkdir(parents=True, exist_ok=True)
    policy = tmp_path / "entraform.yaml"
    policy.write_text(POLICY + textwrap.indent(checks, "  "), encoding="utf-8")
    snapshot = write(tmp_path / "tenant.json", tenant(groups, PEOPLE))
    args = ["generate", "-c", str(policy), "--snapshot", str(snapshot), "-o", str(tmp_path / "o")]
    return CliRunner().invoke(cli, [*args, *extra])


def _owned(name: str, members: tuple[str, ...], owners: tuple[str, ...]) -> dict[str, Any]:
    found = group(name, members)
    found["owners"] = [
        {"@odata.type": "#microsoft.graph.user", "id": oid("user/" + o)} for o in owners
    ]
    return found


def _tenant(
    team_owners: tuple[str, ...] = ("ann",), team: tuple[str, ...] = ("ann", "bob")
) -> list[dict[str, Any]]:
    return [
        group("Org-A", ("cy",), groups=("Team-X",)),
        group("Admins-Org-A", ("cy",)),
        _owned("Team-X", team, team_owners),
    ]


KEPT_AND_BROKEN = {
    "min_admins: 1": (_tenant(), _tenant(team_owners=())),
    "no_guest_admins: true": (_tenant(), _tenant(team_owners=("gus",), team=("gus", "bob"))),
    "max_members: 3": (_tenant(), _tenant(team=("ann", "bob", "cy", "gus"))),
    "member_domains: [contoso.test]": (_tenant(), _tenant(team=("ann", "ola"))),
}


@pytest.mark.parametrize("output_format", FORMATS)
@pytest.mark.parametrize("check", sorted(KEPT_AND_BROKEN))
def test_a_tenant_that_keeps_the_check_passes_and_one_that_breaks_it_stops_the_run(
    tmp_path: Path, check: str, output_format: str
) -> None:
    kept, broken = KEPT_AND_BROKEN[check]
    passed = _run(tmp_path / "kept", check, kept, "--format", output_format)
    assert passed.exit_code == 0, passed.output
    stopped = _run(tmp_path / "broken", check, broken, "--format", output_format)
    assert stopped.exit_code == 6, stopped.output
    name = check.split(":", maxsplit=1)[0]
    assert f"entraform.yaml:8: checks.{name}: " in stopped.stderr
    assert f"team 'Team-X' ({oid('group/Team-X')})" in stopped.stderr
    assert "nothing was written" in stopped.stderr
    assert not (tmp_path / "broken" / "o").exists()


def test_each_violation_names_the_person_at_fault(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "no_guest_admins: true\nmember_domains: [contoso.test]\n",
        _tenant(team_owners=("gus",), team=("gus", "ola")),
    )
    assert result.exit_code == 6
    lines = result.stderr.splitlines()
    gus = f"gus_fabrikam.test#EXT#@contoso.test ({oid('user/gus')})"
    assert any(f"checks.no_guest_admins: guest {gus} is admin of team 'Team-X'" in x for x in lines)
    ola = f"ola@partner.example ({oid('user/ola')}) in team 'Team-X'"
    assert any(f"entraform.yaml:9: checks.member_domains: {ola}" in x for x in lines)
    assert any("is in none of contoso.test" in x for x in lines)


def test_a_subdomain_is_within_its_domain_and_case_does_not_matter(tmp_path: Path) -> None:
    people = _tenant(team=("ann", "dee"))
    assert _run(tmp_path, "member_domains: [CONTOSO.test]\n", people).exit_code == 0
    assert _run(tmp_path / "eu", "member_domains: [eu.contoso.test]\n", people).exit_code == 6


def test_check_and_validate_prove_the_checks_too(tmp_path: Path) -> None:
    checked = _run(tmp_path, "max_members: 1\n", _tenant(), "--check")
    assert checked.exit_code == 6
    args = [
        "validate",
        "-c",
        str(tmp_path / "entraform.yaml"),
        "--snapshot",
        str(tmp_path / "tenant.json"),
    ]
    validated = CliRunner().invoke(cli, args)
    assert validated.exit_code == 6
    assert "checks.max_members" in validated.stderr


def test_a_failed_check_wins_over_a_removal_guard(tmp_path: Path) -> None:
    assert _run(tmp_path, "max_members: 9\n", _tenant()).exit_code == 0
    emptied = _tenant(team=(), team_owners=())
    result = _run(tmp_path, "max_members: 9\nmin_admins: 1\n", emptied)
    assert result.exit_code == 6, result.output
    lines = result.stderr.splitlines()
    assert "had 2 members and now has none" in lines[0], "the guard refused too"
    assert any(
        line.startswith(f"{tmp_path / 'entraform.yaml'}:9: checks.min_admins") for line in lines
    )
    assert lines[-1].startswith("The policy's checks do not hold; nothing was written.")


@pytest.mark.parametrize(
    ("policy", "words"),
    [
        (
            "teams:\n  - {rule: t, select: {prefix: T}}\nchecks: {min_admins: 1}\n",
            "an open-source LiteLLM has no team admins",
        ),
        (
            "litellm: {enterprise: true}\nteams:\n  - {rule: t, select: {prefix: T}}\n"
            "checks: {min_admins: 1}\n",
            "the rules 't' (line 4) name no admins",
        ),
        ("checks: {member_domains: ['@contoso.com']}\n", "checks.member_domains[0]"),
        ("checks: {max_members: 0}\n", "checks.max_members"),
        ("checks: {min_admin: 1}\n", "did you mean 'min_admins'"),
    ],
)
def test_a_check_that_cannot_hold_or_is_mistyped_is_a_configuration_error(
    policy: str, words: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(words)) as caught:
        parse_policy("version: 1\n" + policy, "p.yaml")
    assert caught.value.exit_code == 2


def test_the_summary_and_report_say_which_checks_ran(tmp_path: Path) -> None:
    result = _run(tmp_path, "max_members: 9\nno_guest_admins: true\n", _tenant(), "--summary", "-")
    assert result.exit_code == 0
    assert "Checks passed: `no_guest_admins`, `max_members`." in result.stdout


def test_the_report_lists_the_checks_that_passed(tmp_path: Path) -> None:
    result = _run(tmp_path, "max_members: 9\nno_guest_admins: true\n", _tenant(), "--report", "-")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["checks_passed"] == ["no_guest_admins", "max_members"]


def test_a_run_that_breaks_a_check_does_not_say_its_checks_passed(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    result = _run(
        tmp_path, "max_members: 1\n", _tenant(), "--summary", "-", "--report", str(report)
    )
    assert result.exit_code == 6
    assert "Checks passed" not in result.stdout
    assert "REFUSED: " in result.stdout and "checks.max_members" in result.stdout
    assert json.loads(report.read_text(encoding="utf-8"))["checks_passed"] == []
