"""Member lines as a reviewer scans them: by email, nothing repeated, empty maps on one line."""

from __future__ import annotations

import gc
import re
import subprocess
from pathlib import Path

import pytest

from generator import run
from generator.policy.load import parse_policy
from generator.render import terraform
from generator.report.outcome import Report
from generator.state import DesiredState, Membership, Team
from generator.workspace import writes
from generator.workspace.labels import CHUNK
from tests import hclparse, hostile
from tests.console import evaluate
from tests.rendering import Format, stand_in_state
from tests.standin import planned, stand_in_tree
from tests.tenants import directory, group, oid, tenant, user

USERS = [
    user("zed", userPrincipalName="zed@contoso.test"),
    user("amy", userPrincipalName="Amy@contoso.test"),
    user("bob", userPrincipalName="bob@contoso.test"),
    user("al", userPrincipalName="amy@contoso.test"),  # same email as Amy but for case
]
TEAMS = "version: 1\nteams:\n  - {rule: t, select: {prefix: LLM-}}\n"


def _run(
    policy: str,
    groups: list[dict[str, object]],
    out: Path,
    fmt: Format = "terraform",
    users: list[dict[str, object]] = USERS,
) -> Report:
    parsed = parse_policy(policy + f"output: {{format: {fmt}}}\n", "p.yaml")
    report = run.generate(parsed, directory(tenant(groups, users)), run.Options(out))
    writes.write(out, report.file_changes)
    return report


def _member_lines(text: str) -> list[tuple[str, str]]:
    """(object id, the line's object body) for every member line."""
    return [(m[1], m[2]) for m in re.finditer(r'^    "([^"]+)"\s+= \{ (.*) \}$', text, re.M)]


def test_lines_go_by_email_without_case_then_by_object_id(tmp_path: Path) -> None:
    _run(TEAMS, [group("LLM-A", ("zed", "amy", "bob", "al"))], tmp_path)
    keys = [key for key, _ in _member_lines((tmp_path / "teams.tf").read_text(encoding="utf-8"))]
    twins = sorted([oid("user/amy"), oid("user/al")])  # one email but for case: by object id
    assert keys == [*twins, oid("user/bob"), oid("user/zed")]


def test_a_line_leaves_out_the_user_id_when_it_is_the_key(tmp_path: Path) -> None:
    _run(TEAMS, [group("LLM-A", ("bob",))], tmp_path)
    text = (tmp_path / "teams.tf").read_text(encoding="utf-8")
    assert _member_lines(text) == [
        (oid("user/bob"), 'user_email = "bob@contoso.test", role = "user"')
    ]
    assert re.search(r"^  user_id    = each.key$", text, re.M)


def test_a_line_keeps_a_user_id_that_is_not_the_key(tmp_path: Path) -> None:
    policy = TEAMS + "identity: {user_id: userPrincipalName}\n"
    _run(policy, [group("LLM-A", ("bob",))], tmp_path)
    text = (tmp_path / "teams.tf").read_text(encoding="utf-8")
    (line,) = _member_lines(text)
    assert line[1] == 'user_id = "bob@contoso.test", user_email = "bob@contoso.test", role = "user"'
    assert re.search(r"^  user_id    = each.value.user_id$", text, re.M)


@pytest.mark.integration
def test_an_empty_member_map_is_one_line_that_terraform_fmt_accepts(
    tmp_path: Path, terraform: str
) -> None:
    _run(TEAMS, [group("LLM-A")], tmp_path)
    text = (tmp_path / "teams.tf").read_text(encoding="utf-8")
    assert "  for_each = {}\n" in text
    subprocess.run([terraform, "fmt", "-check", str(tmp_path)], check=True, timeout=60)
    (members,) = [a for (k, _), a in hclparse.resources(text).items() if k.endswith("_member")]
    assert members["for_each"] == {}


@pytest.mark.integration
@pytest.mark.parametrize("user_id", ["id", "userPrincipalName"])
def test_keys_of_different_lengths_are_padded_as_terraform_fmt_pads_them(
    tmp_path: Path, terraform: str, user_id: str
) -> None:
    # Graph's object ids all have one length; a snapshot may hold any id.
    people = [user("ann", id="u-1"), user("bob"), user("cy", id="user-0003")]
    policy = TEAMS + f"identity: {{user_id: {user_id}}}\n"
    team = group("LLM-A", ("bob",))
    team["members"] += [
        {"@odata.type": "#microsoft.graph.user", "id": i} for i in ("u-1", "user-0003")
    ]
    out = tmp_path / "out"
    _run(policy, [team], out, users=people)
    subprocess.run([terraform, "fmt", "-check", "-diff", str(out)], check=True, timeout=60)
    text = (out / "teams.tf").read_text(encoding="utf-8")
    assert [key for key, _ in _member_lines(text)] == ["u-1", oid("user/bob"), "user-0003"]
    # As Terraform reads them: each instance's key, user id and email.
    (root,) = stand_in_tree(out, tmp_path / "stand")
    found = {
        c["index"]: (
            c["change"]["after"]["input"]["user_id"],
            c["change"]["after"]["input"]["user_email"],
        )
        for c in planned(terraform, root)
        if "team_member" in c["address"]
    }
    by_id = user_id == "id"
    assert found == {
        u["id"]: (u["id"] if by_id else u["userPrincipalName"], u["userPrincipalName"])
        for u in people
    }


@pytest.mark.integration
def test_yaml_members_go_by_email_and_main_tf_restores_the_user_id(
    tmp_path: Path, terraform: str
) -> None:
    _run(TEAMS, [group("LLM-A", ("zed", "bob"))], tmp_path / "out", "yaml")
    data = (tmp_path / "out" / "team_members.yaml").read_text(encoding="utf-8")
    assert data.index("bob@contoso.test") < data.index("zed@contoso.test")
    assert "user_id" not in data
    main = (tmp_path / "out" / "main.tf").read_text(encoding="utf-8")
    locals_block = main[main.index("locals {") : main.index("\n}\n", main.index("locals {")) + 3]
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "main.tf").write_text(locals_block, encoding="utf-8")
    (tmp_path / "root" / "team_members.yaml").write_text(data, encoding="utf-8")
    for name in ("organizations", "teams", "organization_members"):
        (tmp_path / "root" / f"{name}.yaml").write_text(
            (tmp_path / "out" / f"{name}.yaml").read_text(encoding="utf-8"), encoding="utf-8"
        )
    members = evaluate(terraform, tmp_path / "root", "local.team_members")
    assert {m["user_id"] for m in members.values()} == {oid("user/bob"), oid("user/zed")}


def test_the_lines_of_a_root_are_freed_when_it_is_rendered(tmp_path: Path) -> None:
    # Runs leave the collector off, and a template's context lives on in reference cycles:
    # what the templates reach of the member lines must not keep them for the whole run.
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        _run(TEAMS, [group("LLM-A", ("zed", "amy", "bob"))], tmp_path)
        left = [o for o in gc.get_objects() if type(o) is terraform._MemberChunks]
    finally:
        if was:
            gc.enable()
    assert left == []


def test_lines_go_by_email_in_every_chunk_of_a_split_map(tmp_path: Path) -> None:
    nicks = [f"u{n:03d}" for n in range(CHUNK + 1)]  # one past a single map: it splits in 16
    # Emails in another order than the object ids the members arrive in.
    people = [user(n, userPrincipalName=f"{n[::-1]}@Contoso.test") for n in nicks]
    _run(TEAMS, [group("LLM-A", tuple(nicks))], tmp_path, users=people)
    text = (tmp_path / "teams.tf").read_text(encoding="utf-8")
    chunks = text.split('resource "litellm_team_member"')[1:]
    email = {oid(f"user/{n}"): f"{n[::-1]}@contoso.test" for n in nicks}
    assert len(chunks) == 16
    for chunk in chunks:
        keys = [key for key, _ in _member_lines(chunk)]
        assert keys == sorted(keys, key=lambda k: (email[k], k))


@pytest.mark.integration
def test_hostile_emails_in_a_split_map_reach_terraform_exactly(
    tmp_path: Path, terraform: str
) -> None:
    # Keys of one length, as Graph's object ids are: every line is written whole and spliced
    # into its chunk after the rest of the file is aligned.
    emails = [*hostile.TEMPLATE, *hostile.random_strings(CHUNK, seed=5)]
    members = tuple(
        Membership(f"u-{n:04d}", f"u-{n:04d}", email, "admin" if n % 3 else "user")
        for n, email in enumerate(emails)
    )
    state = DesiredState(teams=(Team("t-1", "T", "T", members=members),))
    changes = [
        c
        for c in planned(terraform, stand_in_state(state, "terraform", tmp_path))
        if "team_member" in c["address"]
    ]
    assert len({c["address"].partition("[")[0] for c in changes}) > 1  # several spliced bodies
    found = {
        c["index"]: (
            c["change"]["after"]["input"]["user_id"],
            c["change"]["after"]["input"]["user_email"],
            c["change"]["after"]["input"]["role"],
        )
        for c in changes
    }
    assert found == {m.key: (m.key, hostile.nfc(m.user_email), m.role) for m in members}
