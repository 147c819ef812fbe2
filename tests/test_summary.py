"""The change summary and the JSON report, as a reviewer and a policy tool read them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tenants import group, oid, tenant, user, write
from tests.test_cli import POLICY, USERS, generate, groups


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "entraform.yaml").write_text(POLICY, encoding="utf-8")
    write(tmp_path / "tenant.json", tenant(groups(), USERS))
    assert generate(tmp_path).exit_code == 0
    return tmp_path


def _policy(work: Path, text: str) -> None:
    (work / "entraform.yaml").write_text(text, encoding="utf-8")


def test_a_changed_setting_shows_old_and_new_values(work: Path) -> None:
    _policy(work, POLICY + "defaults: {max_budget: 20, models: [gpt-4o]}\n")
    assert generate(work).exit_code == 0
    _policy(work, POLICY + "defaults: {max_budget: 25.5, models: [gpt-4o, o3]}\n")
    summary = generate(work, "--summary", "-").stdout
    assert "max_budget: 20 → 25.5" in summary
    # Brackets are escaped outside code: a name in the words could otherwise start a link.
    assert "models: \\[gpt-4o\\] → \\[gpt-4o, o3\\]" in summary


def test_a_team_moved_between_organizations_names_both(work: Path) -> None:
    moved = [
        group("Org-A"),
        group("Org-B", groups=("Team-X",)),
        group("Team-X", ("ann", "bob", "cy")),
    ]
    write(work / "tenant.json", tenant(moved, USERS))
    summary = generate(work, "--summary", "-").stdout
    assert f"team `Team-X` ({oid('group/Team-X')}): organization: 'Org-A' → 'Org-B'" in summary


def test_a_forgotten_organization_does_not_read_as_deleted(work: Path) -> None:
    write(work / "tenant.json", tenant(groups(org_name="Org-B"), USERS))
    summary = generate(work, "--allow-removals", "--summary", "-").stdout
    assert "Terraform forgets it and LiteLLM keeps it" in summary
    assert "forgotten by Terraform" in summary
    assert "deletes its teams" not in summary


def test_a_deleted_organization_warns_of_the_cascade(work: Path) -> None:
    _policy(work, POLICY.replace("safety: {", "safety: {organizations_removed: delete, "))
    write(work / "tenant.json", tenant(groups(org_name="Org-B"), USERS))
    summary = generate(work, "--allow-removals", "--summary", "-").stdout
    assert "apply deletes it, and LiteLLM deletes its teams and keys with it" in summary


def test_left_out_users_are_named_and_folded_when_many(work: Path) -> None:
    disabled = [user(f"old{n}", accountEnabled=False) for n in range(12)]
    members = ("ann", "bob", "cy", *(f"old{n}" for n in range(12)))
    write(work / "tenant.json", tenant(groups(members), [*USERS, *disabled]))
    summary = generate(work, "--summary", "-").stdout
    assert "<details>\n<summary>12 users the policy selects are left out</summary>" in summary
    assert f"- `old3@contoso.test` ({oid('user/old3')}): disabled account" in summary


def test_a_few_left_out_users_are_listed_without_folding(work: Path) -> None:
    write(
        work / "tenant.json",
        tenant(groups(("ann", "bob", "cy", "gus")), [*USERS, user("gus", accountEnabled=False)]),
    )
    summary = generate(work, "--summary", "-").stdout
    assert "### Left out\n\n- `gus@contoso.test`" in summary
    assert "<details>" not in summary


def test_report_entries_carry_the_user_id_and_the_left_out_users(work: Path) -> None:
    write(
        work / "tenant.json",
        tenant(groups(("ann", "bob", "dee")), [*USERS[:3], user("dee", accountEnabled=False)]),
    )
    report = json.loads(generate(work, "--report", "-", "--allow-removals").stdout)
    removed = [m for m in report["members"] if m["action"] == "removed"]
    assert {m["user_id"] for m in removed} == {oid("user/cy")}
    assert report["excluded_users"] == {
        "disabled account": [{"name": "dee@contoso.test", "id": oid("user/dee")}]
    }


def test_two_teams_with_one_display_name_are_told_apart_by_id(tmp_path: Path) -> None:
    twins = [
        group("Team-X", ("ann",), id=oid("group/x1")),
        group("Team-X", ("bob",), id=oid("group/x2")),
    ]
    (tmp_path / "entraform.yaml").write_text(
        "version: 1\nteams:\n  - {rule: t, select: {prefix: Team-}}\n", encoding="utf-8"
    )
    write(tmp_path / "tenant.json", tenant(twins, USERS))
    summary = generate(tmp_path, "--summary", "-").stdout
    assert f"**team `Team-X`** ({oid('group/x1')}): +1 −0" in summary
    assert f"**team `Team-X`** ({oid('group/x2')}): +1 −0" in summary


def test_two_removed_teams_with_one_display_name_are_told_apart_in_the_warnings(
    tmp_path: Path,
) -> None:
    twins = [
        group("Team-X", ("ann",), id=oid("group/x1")),
        group("Team-X", ("bob",), id=oid("group/x2")),
        group("Team-Y", ("ann", "bob", "cy")),
    ]
    (tmp_path / "entraform.yaml").write_text(
        "version: 1\nteams:\n  - {rule: t, select: {prefix: Team-}}\n", encoding="utf-8"
    )
    write(tmp_path / "tenant.json", tenant(twins, USERS))
    assert generate(tmp_path).exit_code == 0
    write(tmp_path / "tenant.json", tenant(twins[2:], USERS))
    summary = generate(tmp_path, "--allow-removals", "--summary", "-").stdout
    for twin in ("x1", "x2"):
        warning = f"- team `Team-X` (`{oid('group/' + twin)}`) is no longer selected: apply deletes"
        assert warning in summary
    # The diagram draws two boxes for them, each with the start of its id.
    assert summary.count("<br/>id ") == 2


def test_names_from_entra_cannot_become_links_html_or_mentions_in_the_pr(work: Path) -> None:
    hostile = user(
        "eve", userPrincipalName="[click](https://evil.test) <b>@org/team", accountEnabled=False
    )
    write(work / "tenant.json", tenant(groups(("ann", "bob", "cy", "eve")), [*USERS[:3], hostile]))
    summary = generate(work, "--summary", "-").stdout
    line = next(line for line in summary.splitlines() if "evil.test" in line)
    # In a code span, which GitHub never makes a link, mention or HTML of: nothing added to it.
    assert line.startswith("- `[click](https://evil.test) <b>@org/team` (")
    assert "\u200b" not in summary
