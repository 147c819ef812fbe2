"""Offboarding: users.manage renders a LiteLLM user per member; leavers lose it in the plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator import run
from generator.cli import cli
from generator.directory import Directory
from generator.errors import ConfigError
from generator.live.client import Client
from generator.live.reading import read_live
from generator.policy.load import load_policy, parse_policy
from generator.render import legacy
from generator.render.yaml import user_chunks
from generator.report import summary
from generator.report.outcome import Report
from generator.sources import snapshot
from generator.state import DesiredState, LiteLLMUser, Membership, Team
from generator.workspace import writes
from generator.workspace.folder import read
from tests import hostile
from tests.conftest import EXAMPLES, ROOT
from tests.example_ids import ADELE, NESTOR
from tests.fakelitellm import API_KEY, FakeLiteLLM
from tests.rendering import Format as OutputFormat
from tests.rendering import stand_in_state
from tests.standin import planned, stand_in_tree

POLICY = ROOT / "tests" / "golden" / "users" / "entraform.yaml"
TENANT = EXAMPLES / "tenant.json"
Format = OutputFormat
LIDIA = "80725ade-4f78-59c7-b0c8-d568d49e9e97"  # named in users.admins as proxy_admin


def _policy(tmp_path: Path, **users: object) -> Path:
    """The users golden policy with some users settings replaced."""
    text = POLICY.read_text(encoding="utf-8")
    for key, value in users.items():
        start = text.index(f"  {key}:")
        end = text.index("\n", start)
        text = text[:start] + f"  {key}: {value}" + text[end:]
    path = tmp_path / "entraform.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _tenant(without: str = "") -> Directory:
    """The example tenant, with one person taken out of every group."""
    data = json.loads(TENANT.read_text(encoding="utf-8"))
    for group in data["groups"]:
        for key in ("members", "owners"):
            if group.get(key):
                group[key] = [m for m in group[key] if m["id"] != without]
    return snapshot.loads(json.dumps(data))


def _build(
    policy: Path, directory: Directory, out: Path, output_format: Format = "terraform"
) -> Report:
    return run.generate(load_policy(policy), directory, run.Options(out, output_format))


def _generate(
    policy: Path, directory: Directory, out: Path, output_format: Format = "terraform"
) -> Report:
    result = _build(policy, directory, out, output_format)
    writes.write(out, result.file_changes)
    return result


def test_every_member_of_anything_rendered_becomes_one_user_in_the_policy_role(
    tmp_path: Path,
) -> None:
    state = _build(POLICY, _tenant(), tmp_path).outcome.state
    members = {m.key for o in state.organizations for m in o.members}
    members |= {m.key for t in state.teams for m in t.members}
    assert {u.key for u in state.users} == members
    roles = {u.key: u.role for u in state.users}
    assert roles.pop(LIDIA) == "proxy_admin"
    assert set(roles.values()) == {"internal_user"}


def test_without_users_manage_no_user_and_no_users_file_is_rendered(tmp_path: Path) -> None:
    result = _build(EXAMPLES / "entraform.yaml", _tenant(), tmp_path)
    assert result.outcome.state.users == ()
    assert "users.tf" not in result.files


@pytest.mark.parametrize("role", ["internal_user_viewer", "internal_user"])
def test_the_role_written_on_users_comes_from_the_policy(tmp_path: Path, role: str) -> None:
    state = _build(_policy(tmp_path, role=role), _tenant(), tmp_path / "out").outcome.state
    assert {u.role for u in state.users if u.key != LIDIA} == {role}


def test_every_terraform_membership_map_waits_for_the_users_map_and_names_no_user(
    tmp_path: Path,
) -> None:
    result = _build(POLICY, _tenant(), tmp_path)
    text = "\n".join(result.files.values())
    resources = text.count('resource "litellm_team_member"')
    resources += text.count('resource "litellm_organization_member"')
    # The example's users fit one map, which every membership map waits for (see test_user_maps).
    assert text.count("depends_on = [\n    litellm_user.users,\n  ]") == resources
    assert "litellm_user.users." not in text and "litellm_user.users[" not in text
    users_tf = result.files["users.tf"]
    assert users_tf.count('resource "litellm_user"') == 1
    for user in result.outcome.state.users:
        assert f'"{user.key}" = {{ user_email = {json.dumps(user.user_email)}, ' in users_tf


def test_each_yaml_membership_chunk_waits_for_its_team_and_its_users_chunk(
    tmp_path: Path,
) -> None:
    main = _build(POLICY, _tenant(), tmp_path, "yaml").files["main.tf"]
    blocks = {r.split('"')[1]: r for r in main.split("\nresource ")[1:]}
    team_deps = "depends_on = [litellm_team.this, litellm_user.this]"
    assert team_deps in blocks["litellm_team_member"]
    org_deps = "depends_on = [litellm_organization.this, litellm_user.this]"
    assert org_deps in blocks["litellm_organization_member"]
    # No instance looks into a resource of every user, team or organization.
    assert "this[each" not in main
    assert "auto_create_key = false" in blocks["litellm_user"]


def test_a_split_yaml_membership_chunk_waits_for_the_users_chunk_of_the_same_prefix() -> None:
    assert user_chunks("3f", 2, 1) == ["this__3"]
    assert user_chunks("3", 1, 2) == [f"this__3{n:x}" for n in range(16)]
    assert user_chunks("", 0, 0) == ["this"]
    assert user_chunks("3f", 2, None) == []


@pytest.mark.parametrize("output_format", ["terraform", "yaml"])
def test_the_next_run_reads_the_users_back_and_changes_nothing(
    tmp_path: Path, output_format: Format
) -> None:
    _generate(POLICY, _tenant(), tmp_path, output_format)
    again = _build(POLICY, _tenant(), tmp_path, output_format)
    assert not again.changed
    assert read(tmp_path, legacy.read).state.users == again.outcome.state.users


@pytest.mark.parametrize("output_format", ["terraform", "yaml"])
def test_someone_who_leaves_every_selected_group_loses_their_user_named_in_the_summary(
    tmp_path: Path, output_format: Format
) -> None:
    _generate(POLICY, _tenant(), tmp_path, output_format)
    result = _build(POLICY, _tenant(without=NESTOR), tmp_path, output_format)
    removed = [o for o in result.changes.objects if o.kind == "user"]
    assert [(o.id, o.action, o.detail) for o in removed] == [(NESTOR, "removed", "deleted")]
    text = summary.markdown(result)
    assert "| Users | 0 | 1 | 0 | 0 |" in text
    assert f"- user `NestorW@contoso.com` ({NESTOR}): deleted from LiteLLM" in text
    assert "apply deletes the LiteLLM user with all their keys" in text


def test_user_removals_count_against_the_removal_guard(tmp_path: Path) -> None:
    policy = POLICY.read_text(encoding="utf-8").replace("max_removed: 10", "max_removed: 0")
    (tmp_path / "p.yaml").write_text(policy, encoding="utf-8")
    _generate(tmp_path / "p.yaml", _tenant(), tmp_path / "out")
    result = _build(tmp_path / "p.yaml", _tenant(without=NESTOR), tmp_path / "out")
    assert any(r.reason.startswith("1 user removals of 13") for r in result.refusals)


def test_a_forgotten_user_gets_a_removed_block_and_later_runs_keep_it(tmp_path: Path) -> None:
    policy = _policy(tmp_path, removed="forget")
    out = tmp_path / "out"
    _generate(policy, _tenant(), out)
    label = read(out, legacy.read).labels.users[NESTOR]
    _generate(policy, _tenant(without=NESTOR), out)
    assert f"from = litellm_user.{label}\n" in (out / "removed.tf").read_text(encoding="utf-8")
    assert "litellm_user_member" not in (out / "removed.tf").read_text(encoding="utf-8")
    result = _build(policy, _tenant(without=NESTOR), out)
    assert not result.changed
    assert "Terraform forgets the user" not in summary.markdown(result)


def test_a_forgotten_user_in_the_yaml_route_is_forgotten_as_in_terraform(tmp_path: Path) -> None:
    policy = _policy(tmp_path, removed="forget")
    _generate(policy, _tenant(), tmp_path / "out", "yaml")
    result = _build(policy, _tenant(without=NESTOR), tmp_path / "out", "yaml")
    # A guard should removed.tf be deleted before apply; see test_user_maps for the plan.
    assert "prevent_destroy = true" in result.files["main.tf"]
    assert f'from = litellm_user.this["{NESTOR}"]' in result.files["removed.tf"]
    text = summary.markdown(result)
    assert "state rm" not in text
    assert "Terraform forgets the user" in text


@pytest.mark.integration
@pytest.mark.parametrize("output_format", ["terraform", "yaml"])
def test_hostile_emails_reach_terraform_exactly_from_the_rendered_users(
    tmp_path: Path, terraform: str, output_format: Format
) -> None:
    emails = [*hostile.TEMPLATE, *hostile.random_strings(20, seed=11)]
    users = tuple(
        LiteLLMUser(f"u-{n}", f"u-{n}", email, "internal_user") for n, email in enumerate(emails)
    )
    members = tuple(Membership(u.key, u.user_id, u.user_email, "user") for u in users)
    state = DesiredState(teams=(Team("t-1", "T", "T", members=members),), users=users)
    root = stand_in_state(state, output_format, tmp_path)
    found = {
        c["change"]["after"]["input"]["user_id"]: c["change"]["after"]["input"]["user_email"]
        for c in planned(terraform, root)
        if c["name"].startswith("user__")
    }
    assert found == {u.user_id: hostile.nfc(u.user_email) for u in users}


def test_a_named_admin_is_matched_by_upn_mail_or_object_id_without_case() -> None:
    text = "version: 1\nusers:\n  manage: true\n  admins: {Ann@Contoso.TEST: proxy_admin_viewer}\n"
    users = parse_policy(text, "p.yaml").users
    assert users.admin_role("x", "ann@contoso.test") == "proxy_admin_viewer"
    assert users.admin_role("ann@contoso.test2") is None


def _admins_policy(tmp_path: Path, entries: str) -> Path:
    """The users golden policy with other `users.admins` entries, one per line."""
    text = POLICY.read_text(encoding="utf-8").replace(
        "    LidiaH@contoso.com: proxy_admin", entries
    )
    path = tmp_path / "entraform.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["generate", "validate"])
def test_a_named_admin_who_is_no_user_of_the_tenant_stops_the_run_at_its_line(
    tmp_path: Path, command: str
) -> None:
    entries = "    LidiaH@contoso.com: proxy_admin\n    LidiaH@contoso.co: proxy_admin_viewer"
    policy = _admins_policy(tmp_path, entries)
    line = (
        policy.read_text(encoding="utf-8")
        .splitlines()
        .index("    LidiaH@contoso.co: proxy_admin_viewer")
        + 1
    )
    out = tmp_path / "out"
    args = [command, "-c", str(policy), "--snapshot", str(TENANT)]
    result = CliRunner().invoke(cli, [*args, "-o", str(out)] if command == "generate" else args)
    assert result.exit_code == 2, result.output
    assert f"{policy}:{line}: users.admins: no user 'LidiaH@contoso.co'" in result.stderr
    assert "did you mean 'LidiaH@contoso.com'?" in result.stderr
    assert not out.exists()


def test_a_named_admin_in_no_selected_group_stops_the_run(tmp_path: Path) -> None:
    data = json.loads(TENANT.read_text(encoding="utf-8"))
    for group in data["groups"]:
        for key in ("members", "owners"):
            group[key] = [m for m in group.get(key) or [] if m["id"] != LIDIA]
    tenant = tmp_path / "tenant.json"
    tenant.write_text(json.dumps(data), encoding="utf-8")
    policy = _admins_policy(tmp_path, "    lidiah@CONTOSO.com: proxy_admin")
    args = ["generate", "-c", str(policy), "--snapshot", str(tenant), "-o", str(tmp_path / "o")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "users.admins: 'lidiah@CONTOSO.com' (Lidia Holloway) is in no group" in result.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ("{manage: true, role: proxy_admin}", "users.role"),
        ("{manage: true, removed: keep}", "users.removed"),
        ("{manage: true, admins: {ann@contoso.test: internal_user}}", "users.admins"),
        ("{role: internal_user}", "manage"),
        ("{manage: false, admins: {ann@contoso.test: proxy_admin}}", "users.admins: named admins"),
    ],
)
def test_a_bad_users_section_is_a_config_error_naming_the_key(section: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        parse_policy(f"version: 1\nusers: {section}\n", "p.yaml")
    assert caught.value.exit_code == 2


@pytest.fixture
def fake() -> Iterator[FakeLiteLLM]:
    server = FakeLiteLLM()
    with server.serving():
        yield server


def _live(fake: FakeLiteLLM, command: str, out: Path, *extra: str) -> Result:
    args = [command, "-c", str(POLICY), "--snapshot", str(TENANT), "--litellm-url", fake.url]
    args += ["-o", str(out), *extra] if command == "adopt" else list(extra)
    env = {"LITELLM_API_KEY": API_KEY, "LITELLM_API_BASE": None}
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


@pytest.mark.integration
def test_adopt_imports_the_users_litellm_has_and_leaves_an_unnamed_proxy_admin_alone(
    fake: FakeLiteLLM, tmp_path: Path
) -> None:
    fake.add_user(ADELE, "AdeleV@contoso.com")  # an SSO login
    fake.add_user(LIDIA, "LidiaH@contoso.com", "proxy_admin")  # named in users.admins
    fake.add_user(NESTOR, "NestorW@contoso.com", "proxy_admin")  # not named
    result = _live(fake, "adopt", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    users = {i["id"]: i["address"] for i in report["imports"] if i["kind"] == "user"}
    assert users == {
        ADELE: f'litellm_user.users["{ADELE}"]',
        LIDIA: f'litellm_user.users["{LIDIA}"]',
    }
    assert report["created"]["user"] == 13 - 3
    [admin] = report["admins_left_alone"]
    assert (admin["user_id"], admin["live_role"], admin["desired_role"]) == (
        NESTOR,
        "proxy_admin",
        "internal_user",
    )
    assert "users.admins" in admin["message"]
    assert {p for m, p in zip(fake.requests, fake.paths(), strict=True) if m[0] != "GET"} == set()


@pytest.mark.integration
def test_drift_reports_a_proxy_admin_the_plan_would_demote(
    fake: FakeLiteLLM, tmp_path: Path
) -> None:
    state = _build(POLICY, _tenant(), tmp_path).outcome.state
    fake.mirror(state)
    fake.users[NESTOR]["user_role"] = "proxy_admin"
    result = _live(fake, "drift", tmp_path, "--json")
    assert result.exit_code == 1
    [difference] = json.loads(result.stdout)["differences"]
    assert (difference["kind"], difference["what"], difference["live"]) == (
        "user",
        "user_role",
        "proxy_admin",
    )
    assert "would demote this proxy admin" in difference["message"]
    assert "users.admins" in result.stderr


@pytest.mark.integration
def test_drift_reports_a_user_litellm_lost(fake: FakeLiteLLM, tmp_path: Path) -> None:
    state = _build(POLICY, _tenant(), tmp_path).outcome.state
    fake.mirror(state)
    del fake.users[ADELE]
    result = _live(fake, "drift", tmp_path, "--json")
    assert result.exit_code == 1
    [difference] = json.loads(result.stdout)["differences"]
    assert (difference["kind"], difference["object_id"], difference["what"]) == (
        "user",
        ADELE,
        "missing",
    )


@pytest.mark.integration
def test_every_user_is_read_across_pages_of_the_user_list(fake: FakeLiteLLM) -> None:
    for n in range(250):
        fake.add_user(f"user-{n:04d}", f"u{n}@contoso.test")
    with Client(fake.url, API_KEY) as client:
        live = read_live(client, (), (), users=True)
    assert [u.user_id for u in live.users or ()] == [f"user-{n:04d}" for n in range(250)]
    assert fake.paths().count("/user/list") == 3


@pytest.mark.integration
def test_the_fake_refuses_a_second_user_with_an_existing_id_or_email(fake: FakeLiteLLM) -> None:
    fake.add_user(ADELE, "AdeleV@contoso.com")
    assert fake.post("/user/new", {"user_id": ADELE, "auto_create_key": False})[0] == 409
    same_email = {"user_id": "other", "user_email": "adelev@CONTOSO.com"}
    assert fake.post("/user/new", same_email)[0] == 409


@pytest.mark.integration
def test_the_fake_creates_a_missing_user_when_it_is_added_to_a_team(fake: FakeLiteLLM) -> None:
    fake.add_team("t-1", "T")
    member = {"user_id": NESTOR, "user_email": "NestorW@contoso.com", "role": "user"}
    assert fake.post("/team/member_add", {"team_id": "t-1", "member": member})[0] == 200
    assert (fake.users[NESTOR]["user_role"], fake.users[NESTOR]["user_email"]) == (
        "internal_user",
        None,
    )
    assert fake.post("/user/new", {"user_id": NESTOR})[0] == 409


def test_a_format_switch_moves_every_user_to_its_address_in_the_other_format(
    tmp_path: Path,
) -> None:
    _generate(POLICY, _tenant(), tmp_path)
    result = _build(POLICY, _tenant(), tmp_path, "yaml")
    moved = {m.source: m.target for m in result.moves if m.kind == "user"}
    assert moved == {
        f'litellm_user.users["{u.key}"]': f'litellm_user.this["{u.key}"]'
        for u in result.outcome.state.users
    }


@pytest.mark.integration
@pytest.mark.parametrize("output_format", ["terraform", "yaml"])
def test_terraform_plans_every_membership_with_its_users_id(
    tmp_path: Path, terraform: str, output_format: Format
) -> None:
    result = _generate(POLICY, _tenant(), tmp_path / "out", output_format)
    (root,) = stand_in_tree(tmp_path / "out", tmp_path / "stand")
    changes = planned(terraform, root)
    found = {
        c["change"]["after"]["input"]["user_id"]
        for c in changes
        if "member__" in c["name"] and c["change"]["after"]["input"].get("user_id")
    }
    state = result.outcome.state
    expected = {m.user_id for t in state.teams for m in t.members}
    expected |= {m.user_id for o in state.organizations for m in o.members}
    assert found == expected
    users = [c for c in changes if c["name"].startswith("user__")]
    assert len(users) == len(state.users)


def test_a_named_admin_who_only_owns_a_selected_group_is_rendered_with_the_named_role(
    tmp_path: Path,
) -> None:
    data = json.loads(TENANT.read_text(encoding="utf-8"))
    for group in data["groups"]:
        group["members"] = [m for m in group.get("members") or [] if m["id"] != LIDIA]
        if group["displayName"] == "LLM-Org-Finance":  # its rule makes owners org_admin
            group["owners"] = [{"@odata.type": "#microsoft.graph.user", "id": LIDIA}]
    tenant = tmp_path / "tenant.json"
    tenant.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "o"
    args = ["generate", "-c", str(POLICY), "--snapshot", str(tenant), "-o", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    users = (out / "users.tf").read_text(encoding="utf-8")
    assert f'"{LIDIA}" = {{ user_email = "LidiaH@contoso.com", role = "proxy_admin" }}' in users


def test_a_named_admin_is_checked_when_the_policy_selects_no_group_at_all(tmp_path: Path) -> None:
    tenant = tmp_path / "tenant.json"
    tenant.write_text(json.dumps({"version": 1, "groups": [], "users": []}), encoding="utf-8")
    policy = _admins_policy(tmp_path, "    nobody@typo.test: proxy_admin")
    result = CliRunner().invoke(cli, ["validate", "-c", str(policy), "--snapshot", str(tenant)])
    assert result.exit_code == 2
    assert "users.admins: no user 'nobody@typo.test'" in result.stderr
