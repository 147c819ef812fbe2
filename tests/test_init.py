"""entraform init: a starter policy, and a policy drawn from a live LiteLLM that adopts it as is."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from generator import hcl, mapping
from generator.cli import cli
from generator.cli.init import DRAWN, STARTER
from generator.directory import Directory
from generator.live import draft
from generator.live.holdings import LiveMember, LiveOrganization, LiveState, LiveTeam
from generator.policy.load import load_policy, parse_policy
from generator.render.templates import policy as policy_text
from generator.state import Settings
from tests import hclparse, tenants
from tests.conftest import EXAMPLES, ROOT, UPDATE_GOLDEN
from tests.example_ids import ANALYSTS as ANALYSTS_EXAMPLE
from tests.example_ids import FINANCE, RESEARCH_ML, SANDBOX, UNSELECTED
from tests.fakegraph import Tenant, serve
from tests.fakelitellm import API_KEY, VIEWER_KEY, FakeLiteLLM
from tests.hostile import CORPUS, nfc
from tests.rendering import read_tree
from tests.tenants import group, oid, ref, tenant, user

RESEARCH = "LLM-Research"
SALES = "LLM-Sales"
LEGAL = "LLM-Legal"
FINANCE_ORG = "Org-Finance"
ANALYSTS = "LLM-Finance-Analysts"
PLACED_ELSEWHERE = "LLM-Placed-Elsewhere"
DELETED = oid("group/deleted in Entra")
SHARED = Settings(
    models=("gpt-4o",),
    max_budget=100.0,
    budget_duration="30d",
    tpm_limit=1000,
    rpm_limit=10,
    metadata=(("cost-center", "42"),),
)


def _snapshot() -> dict[str, Any]:
    users = [user(n) for n in ("ann", "bob", "cid", "dee", "eve", "fay")]
    users.append(user("gus", userType="Guest"))
    groups = [
        group(RESEARCH, ("ann", "bob"), groups=("Research-Nested",)),
        group("Research-Nested", ("fay",)),
        group(SALES, ("ann", "gus")),
        group(LEGAL, ("cid",)),
        group(FINANCE_ORG, ("eve",)),
        group(ANALYSTS, ("eve", "dee")),
        group(PLACED_ELSEWHERE, ("dee",)),
        group("Not-A-Team", ("fay",)),
    ]
    return tenant(groups, users)


def _uid(nick: str) -> str:
    return oid("user/" + nick)


def _members(*nicks: str) -> list[tuple[str, str, str | None]]:
    # As LiteLLM's login adds them: role user, no email stored; plus the master key's admin.
    members: list[tuple[str, str, str | None]] = [(_uid(n), "user", None) for n in nicks]
    return [*members, ("default_user_id", "admin", None)]


def _sso_era(fake: FakeLiteLLM) -> None:
    """Teams LiteLLM's SSO login made, one organization, and teams entraform cannot manage."""
    gid = tenants.oid
    fake.add_team(
        gid("group/" + RESEARCH), RESEARCH, members=_members("ann", "bob"), settings=SHARED
    )
    fake.add_team(gid("group/" + SALES), SALES, members=_members("ann", "gus"), settings=SHARED)
    fake.add_team(gid("group/" + LEGAL), "Legal {EU} team", members=_members("cid"))
    finance = gid("group/" + FINANCE_ORG)
    fake.add_organization(
        finance,
        "Finance",
        members=[(_uid("eve"), "internal_user", None), (_uid("dee"), "internal_user", None)],
        settings=Settings(models=("gpt-4o", "gpt-4o-mini"), max_budget=1000, tpm_limit=5000),
    )
    fake.add_team(
        gid("group/" + ANALYSTS),
        "Finance Analysts",
        organization_id=finance,
        members=_members("eve", "dee"),
        settings=Settings(models=("gpt-4o-mini",), max_budget=50, tpm_limit=100),
    )
    fake.add_organization("org-by-hand", "Made by hand")
    fake.add_team(
        gid("group/" + PLACED_ELSEWHERE),
        PLACED_ELSEWHERE,
        organization_id="org-by-hand",
        members=_members("dee"),
    )
    fake.add_team("team-by-hand", "Made by hand", members=_members("fay"))
    fake.add_team(DELETED, "Deleted group", members=_members("fay"))


@pytest.fixture
def fake() -> Iterator[FakeLiteLLM]:
    server = FakeLiteLLM()
    _sso_era(server)
    with server.serving():
        yield server


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    return tenants.write(tmp_path / "tenant.json", _snapshot())


def _run(*args: str, key: str | None = API_KEY) -> Result:
    env = {"LITELLM_API_KEY": key, "LITELLM_API_BASE": None}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _init(fake: FakeLiteLLM, snapshot: Path, policy: Path, *extra: str) -> Result:
    return _run(
        "init", "-o", str(policy), "--snapshot", str(snapshot), "--litellm-url", fake.url, *extra
    )


def _adopt(fake: FakeLiteLLM, snapshot: Path, policy: Path, out: Path) -> dict[str, Any]:
    args = ["adopt", "-c", str(policy), "--snapshot", str(snapshot), "-o", str(out)]
    result = _run(*args, "--litellm-url", fake.url, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _first_run(fake: FakeLiteLLM, snapshot: Path, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    policy, out = tmp_path / "entraform.yaml", tmp_path / "out"
    assert _init(fake, snapshot, policy).exit_code == 0
    generated = _run("generate", "-c", str(policy), "--snapshot", str(snapshot), "-o", str(out))
    assert generated.exit_code == 0, generated.output
    return out, _adopt(fake, snapshot, policy, out)


def _resources(out: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every resource instance the rendered files declare by Terraform address: type, arguments."""
    found = {}
    for name, text in read_tree(out).items():
        if not name.endswith(".tf") or name == "imports.tf":
            continue
        for (kind, label), arguments in hclparse.resources(text).items():
            address = f"{kind}.{label}"
            decoded = hclparse.decoded(arguments)
            keys = decoded.get("for_each")
            if keys is None:
                found[address] = (kind, decoded)
            for key in keys or {}:
                found[f"{address}[{hcl.quote(key)}]"] = (kind, decoded)
    return found


# The starter policy


def test_init_writes_a_starter_policy_that_validates(tmp_path: Path) -> None:
    policy = tmp_path / "entraform.yaml"
    result = _run("init", "-o", str(policy))
    assert result.exit_code == 0, result.output
    assert _run("validate", "-c", str(policy)).exit_code == 0
    text = policy.read_text(encoding="utf-8")
    assert text.startswith("# entraform policy")
    assert text.count("\n#") > 10, "the starter explains itself in comments"


def test_init_refuses_to_overwrite_a_file_without_force(tmp_path: Path) -> None:
    policy = tmp_path / "entraform.yaml"
    policy.write_text("mine\n", encoding="utf-8")
    result = _run("init", "-o", str(policy))
    assert result.exit_code == 2
    assert "--force" in result.output
    assert policy.read_text(encoding="utf-8") == "mine\n"


def test_init_replaces_a_file_with_force(tmp_path: Path) -> None:
    policy = tmp_path / "entraform.yaml"
    policy.write_text("mine\n", encoding="utf-8")
    assert _run("init", "-o", str(policy), "--force").exit_code == 0
    assert load_policy(policy).teams


def test_init_prints_the_starter_on_stdout_with_a_dash() -> None:
    result = _run("init", "-o", "-")
    assert result.exit_code == 0
    assert parse_policy(result.stdout, "<stdout>").teams


def test_the_starters_organization_example_validates_once_uncommented() -> None:
    text = policy_text(STARTER, {}).replace("enterprise: false", "enterprise: true")
    example = text[text.index("# organizations:") : text.index("# and on a teams rule")]
    uncommented = "\n".join(line[2:] for line in example.splitlines())
    assert parse_policy(text + uncommented + "\n", "<edited>").organizations


# Drawn from a live LiteLLM


@pytest.mark.integration
def test_generate_and_adopt_after_init_create_nothing_and_import_every_resource(
    fake: FakeLiteLLM, snapshot: Path, tmp_path: Path
) -> None:
    out, adoption = _first_run(fake, snapshot, tmp_path)
    assert adoption["created"] == {}
    imported = {i["address"] for i in adoption["imports"]}
    assert imported == set(_resources(out))


@pytest.mark.integration
def test_rendered_teams_and_organizations_hold_what_litellm_has(
    fake: FakeLiteLLM, snapshot: Path, tmp_path: Path
) -> None:
    out, _ = _first_run(fake, snapshot, tmp_path)
    assert _teams_equal_live(out, fake) == 4


def _teams_equal_live(out: Path, fake: FakeLiteLLM) -> int:
    """Assert every rendered team and organization holds LiteLLM's values; count the teams."""
    rendered = _resources(out)
    organizations = {
        address: arguments["organization_id"]
        for address, (kind, arguments) in rendered.items()
        if kind == "litellm_organization"
    }
    teams = [arguments for kind, arguments in rendered.values() if kind == "litellm_team"]
    for arguments in teams:
        row = fake.teams[arguments["team_id"]]
        assert arguments["team_alias"] == row["team_alias"]
        org = arguments.get("organization_id")
        org_id = None if org is None else organizations[hclparse.reference(org).rsplit(".", 1)[0]]
        assert org_id == row["organization_id"]
        _assert_settings(arguments, row, row)
    for address, org_id in organizations.items():
        row = fake.organizations[org_id]
        _, arguments = rendered[address]
        assert arguments["organization_alias"] == row["organization_alias"]
        _assert_settings(arguments, row, row["litellm_budget_table"])
    return len(teams)


def _assert_settings(rendered: dict[str, Any], row: dict[str, Any], budget: dict[str, Any]) -> None:
    # What is rendered equals LiteLLM's value; what is left out is unset or empty there.
    for name in Settings.scalars():
        assert rendered.get(name) == budget.get(name), name
    assert rendered.get("models", []) == row["models"]
    assert rendered.get("metadata", {}) == row["metadata"]


@pytest.mark.integration
def test_rendered_memberships_keep_the_roles_litellm_has(
    fake: FakeLiteLLM, snapshot: Path, tmp_path: Path
) -> None:
    out, _ = _first_run(fake, snapshot, tmp_path)
    rendered = _resources(out)
    members = [a for kind, a in rendered.values() if kind == "litellm_team_member"]
    assert members
    for arguments in members:
        label = hclparse.reference(arguments["team_id"]).split(".")[1]
        team_id = rendered[f"litellm_team.{label}"][1]["team_id"]
        for user_id, entry in arguments["for_each"].items():
            assert entry["role"] == fake.member(team_id, user_id)["role"]


@pytest.mark.integration
def test_drift_finds_nothing_after_init(fake: FakeLiteLLM, snapshot: Path, tmp_path: Path) -> None:
    policy = tmp_path / "entraform.yaml"
    assert _init(fake, snapshot, policy).exit_code == 0
    args = ["drift", "-c", str(policy), "--snapshot", str(snapshot), "--litellm-url", fake.url]
    result = _run(*args, "--json")
    data = json.loads(result.stdout)
    assert data["differences"] == []
    assert {u["id"] for u in data["unmanaged"]} == {
        "team-by-hand",
        DELETED,
        oid("group/" + PLACED_ELSEWHERE),
        "org-by-hand",
    }


@pytest.mark.integration
def test_init_selects_exactly_the_groups_of_litellm_teams_by_id_with_comments_naming_them(
    fake: FakeLiteLLM, snapshot: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "entraform.yaml"
    assert _init(fake, snapshot, policy).exit_code == 0
    loaded = load_policy(policy)
    selected = {i for rule in loaded.teams for i in rule.selector.ids}
    assert selected == {oid("group/" + n) for n in (RESEARCH, SALES, LEGAL, ANALYSTS)}
    text = policy.read_text(encoding="utf-8")
    for name in (RESEARCH, SALES, LEGAL, ANALYSTS, FINANCE_ORG):
        assert f'"{oid("group/" + name)}"   # group {name}\n' in text


@pytest.mark.integration
def test_init_from_graph_writes_what_init_from_its_snapshot_writes(
    fake: FakeLiteLLM, snapshot: Path, tmp_path: Path
) -> None:
    offline = tmp_path / "offline.yaml"
    assert _init(fake, snapshot, offline).exit_code == 0
    online = tmp_path / "online.yaml"
    for graph in serve(Tenant(tenants.directory(_snapshot()))):
        env = {
            "LITELLM_API_KEY": API_KEY,
            "ENTRAFORM_GRAPH_URL": graph.base_url,
            "ENTRAFORM_GRAPH_TOKEN": "fake-token-for-tests",
        }
        args = ["init", "-o", str(online), "--litellm-url", fake.url, "-q"]
        result = CliRunner(env=env).invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert online.read_text(encoding="utf-8") == offline.read_text(encoding="utf-8")


@pytest.mark.integration
def test_teams_sharing_settings_share_one_rule(
    fake: FakeLiteLLM, snapshot: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "entraform.yaml"
    assert _init(fake, snapshot, policy).exit_code == 0
    shared = [r for r in load_policy(policy).teams if len(r.selector.ids) > 1]
    assert [set(r.selector.ids) for r in shared] == [
        {oid("group/" + RESEARCH), oid("group/" + SALES)}
    ]
    assert shared[0].settings == SHARED


@pytest.mark.integration
def test_an_alias_that_differs_from_the_group_name_is_kept_literally_braces_included(
    fake: FakeLiteLLM, snapshot: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "entraform.yaml"
    assert _init(fake, snapshot, policy).exit_code == 0
    state = mapping.apply(load_policy(policy), tenants.directory(_snapshot())).state
    assert state.teams_by_id[oid("group/" + LEGAL)].alias == "Legal {EU} team"
    assert state.teams_by_id[oid("group/" + RESEARCH)].alias == RESEARCH


@pytest.mark.integration
def test_an_alias_equal_to_the_group_name_follows_renames_in_entra(
    fake: FakeLiteLLM, snapshot: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "entraform.yaml"
    assert _init(fake, snapshot, policy).exit_code == 0
    renamed = _snapshot()
    renamed["groups"][0]["displayName"] = "LLM-Research-Renamed"
    state = mapping.apply(load_policy(policy), tenants.directory(renamed)).state
    assert state.teams_by_id[oid("group/" + RESEARCH)].alias == "LLM-Research-Renamed"


@pytest.mark.integration
def test_teams_entraform_cannot_manage_are_listed_with_the_reason(
    fake: FakeLiteLLM, snapshot: Path, tmp_path: Path
) -> None:
    result = _init(fake, snapshot, tmp_path / "entraform.yaml")
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert (
        "team 'Made by hand' (team-by-hand): its team_id is not an Entra group object id" in lines
    )
    assert any(DELETED in line and "no Entra group has this object id" in line for line in lines)
    elsewhere = oid("group/" + PLACED_ELSEWHERE)
    assert any(
        elsewhere in line and "org-by-hand, which is not made from" in line for line in lines
    )


@pytest.mark.integration
def test_init_only_reads_litellm(fake: FakeLiteLLM, snapshot: Path, tmp_path: Path) -> None:
    assert _init(fake, snapshot, tmp_path / "entraform.yaml").exit_code == 0
    assert {method for method, _ in fake.requests} == {"GET"}


@pytest.mark.integration
def test_init_warns_about_live_admins_the_policy_would_demote(
    fake: FakeLiteLLM, snapshot: Path, tmp_path: Path
) -> None:
    fake.member(oid("group/" + LEGAL), _uid("cid"))["role"] = "admin"
    result = _init(fake, snapshot, tmp_path / "entraform.yaml")
    assert "'Legal {EU} team'" in result.stderr
    assert "has admin member(s) in LiteLLM: " + _uid("cid") in result.stderr
    assert "default_user_id" not in result.stderr


@pytest.mark.integration
def test_init_draws_user_ids_from_the_attribute_litellm_uses(tmp_path: Path) -> None:
    data = _snapshot()
    server = FakeLiteLLM()
    members = [("ann@contoso.test", "user", None), ("bob@contoso.test", "user", None)]
    server.add_team(oid("group/" + RESEARCH), RESEARCH, members=members)
    snapshot = tenants.write(tmp_path / "tenant.json", data)
    with server.serving():
        assert _init(server, snapshot, tmp_path / "entraform.yaml").exit_code == 0
    assert load_policy(tmp_path / "entraform.yaml").identity.user_id == "userPrincipalName"


@pytest.mark.integration
def test_init_with_no_team_made_from_a_group_writes_nothing(snapshot: Path, tmp_path: Path) -> None:
    server = FakeLiteLLM()
    server.add_team("team-by-hand", "Made by hand")
    with server.serving():
        result = _init(server, snapshot, tmp_path / "entraform.yaml")
    assert result.exit_code == 2
    assert "none of the 1 team(s)" in result.output
    assert not (tmp_path / "entraform.yaml").exists()


@pytest.mark.integration
def test_a_drawn_policy_that_breaks_litellms_rules_is_not_written(
    snapshot: Path, tmp_path: Path
) -> None:
    server = FakeLiteLLM()
    finance = oid("group/" + FINANCE_ORG)
    server.add_organization(finance, "Finance", settings=Settings(max_budget=10))
    over = Settings(max_budget=50)
    server.add_team(oid("group/" + ANALYSTS), "Analysts", organization_id=finance, settings=over)
    with server.serving():
        result = _init(server, snapshot, tmp_path / "entraform.yaml")
    assert result.exit_code == 2
    team = f"team 'Analysts' ({oid('group/' + ANALYSTS)}), rule "
    assert team in result.output and ": max_budget 50 exceeds 10" in result.output
    assert not (tmp_path / "entraform.yaml").exists()


@pytest.mark.integration
def test_init_without_a_key_is_a_usage_error(
    fake: FakeLiteLLM, snapshot: Path, tmp_path: Path
) -> None:
    args = ["init", "-o", str(tmp_path / "p.yaml"), "--snapshot", str(snapshot)]
    result = _run(*args, "--litellm-url", fake.url, key=None)
    assert result.exit_code == 2
    assert "LITELLM_API_KEY" in result.output
    assert fake.requests == []


def test_a_snapshot_without_a_litellm_url_is_a_usage_error(snapshot: Path, tmp_path: Path) -> None:
    result = _run("init", "-o", str(tmp_path / "p.yaml"), "--snapshot", str(snapshot))
    assert result.exit_code == 2
    assert not (tmp_path / "p.yaml").exists()


# The bundled example: the worked example in docs/init.md, kept as golden files

GOLDEN = ROOT / "tests" / "golden" / "init"
EXAMPLE_TENANT = EXAMPLES / "tenant.json"
HOSTILE = "6389b634-72cf-59e4-ad71-723cc101663d"


def _example_litellm(fake: FakeLiteLLM) -> None:
    """What SSO logins left in a LiteLLM beside the bundled tenant, and two teams made by hand."""
    directory = tenants.directory(json.loads(EXAMPLE_TENANT.read_text(encoding="utf-8")))

    def team(group_id: str, alias: str, **options: Any) -> None:
        users = [m.id for m in directory.groups[group_id].members if m.kind == "user"]
        members = [(u, "user", None) for u in users] + [("default_user_id", "admin", None)]
        fake.add_team(group_id, alias, members=members, **options)

    team(RESEARCH_ML, "Research-ML", settings=Settings(models=("gpt-4o",), max_budget=300))
    team(SANDBOX, "Sandbox (old name)")
    team(HOSTILE, directory.groups[HOSTILE].display_name)
    # Its members: the organization group's and its team's, as LiteLLM adds them on a move.
    people = {m.id for g in (FINANCE, ANALYSTS_EXAMPLE) for m in directory.groups[g].members}
    people &= directory.users.keys()
    finance = Settings(models=("gpt-4o", "gpt-4o-mini"), max_budget=5000, budget_duration="30d")
    members = [(u, "internal_user", None) for u in sorted(people)]
    fake.add_organization(FINANCE, "Finance", settings=finance, members=members)
    analysts = Settings(models=("gpt-4o-mini",), max_budget=200, budget_duration="30d")
    team(ANALYSTS_EXAMPLE, "Finance Analysts", organization_id=FINANCE, settings=analysts)
    fake.add_team(UNSELECTED, "Engineering-Interns")
    fake.add_team("team-by-hand", "Made by hand")


def _golden(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `{UPDATE_GOLDEN}`"


def test_the_starter_policy_matches_its_golden_file(update_golden: bool) -> None:
    _golden("starter.yaml", _run("init", "-o", "-").stdout, update_golden)


@pytest.mark.integration
def test_the_policy_drawn_beside_the_example_tenant_matches_its_golden_files(
    tmp_path: Path, update_golden: bool
) -> None:
    server = FakeLiteLLM()
    _example_litellm(server)
    policy = tmp_path / "entraform.yaml"
    with server.serving():
        result = _init(server, EXAMPLE_TENANT, policy)
    assert result.exit_code == 0, result.output
    _golden("drawn.yaml", policy.read_text(encoding="utf-8"), update_golden)
    report = result.stderr.replace(str(policy), "entraform.yaml")
    report = report.replace(str(EXAMPLE_TENANT), "examples/tenant.json")
    _golden("drawn.txt", report.replace(server.url, "https://litellm.example.com"), update_golden)


@pytest.mark.integration
def test_generate_and_adopt_beside_the_example_tenant_create_nothing(tmp_path: Path) -> None:
    server = FakeLiteLLM()
    _example_litellm(server)
    with server.serving():
        out, adoption = _first_run(server, EXAMPLE_TENANT, tmp_path)
        assert _teams_equal_live(out, server) == 4
    assert adoption["created"] == {}
    assert {i["address"] for i in adoption["imports"]} == set(_resources(out))


def test_the_docs_show_the_golden_report_and_policy() -> None:
    page = (ROOT / "docs" / "init.md").read_text(encoding="utf-8")
    assert (GOLDEN / "drawn.txt").read_text(encoding="utf-8") in page
    shown = page.split("The policy it wrote", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    drawn = iter((GOLDEN / "drawn.yaml").read_text(encoding="utf-8").splitlines())
    for line in filter(None, shown.splitlines()):
        assert line in drawn, f"docs/init.md shows {line!r}, which drawn.yaml does not have there"


# Hostile names


def _hostile_case() -> tuple[LiveState, Directory]:
    names = [s for s in CORPUS if len(s) < 1000]
    groups = [
        {**group(f"g{i}"), "displayName": name, "members": [ref("user", "ann")]}
        for i, name in enumerate(names)
    ]
    directory = tenants.directory(tenant(groups, [user("ann")]))
    teams = [
        LiveTeam(
            oid(f"group/g{i}"),
            names[(i + 1) % len(names)],
            settings=Settings(metadata=((names[i], names[-i]),), models=(names[i] or "m",)),
            members=(LiveMember(_uid("ann"), "user"),),
        )
        for i in range(len(names))
    ]
    return LiveState(tuple(teams)), directory


def test_hostile_aliases_names_and_settings_come_back_exactly_from_the_drawn_policy() -> None:
    live, directory = _hostile_case()
    drawn = draft.draw(live, directory)
    text = policy_text(DRAWN, {"draft": drawn})
    state = mapping.apply(parse_policy(text, "<drawn>"), directory).state
    for team in live.teams:
        got = state.teams_by_id[team.id]
        assert nfc(got.alias) == nfc(team.alias or directory.groups[team.id].display_name)
        assert got.settings == team.settings


def test_a_team_outside_the_listed_organizations_is_not_drawn() -> None:
    org = oid("group/" + FINANCE_ORG)
    team = LiveTeam(oid("group/" + ANALYSTS), "Analysts", organization_id=org)
    directory = tenants.directory(_snapshot())
    unlicensed = draft.draw(LiveState((team,), None), directory)
    assert [u.id for u in unlicensed.unmanageable] == [team.id]
    assert "organizations could not be read" in unlicensed.unmanageable[0].reason
    licensed = draft.draw(LiveState((team,), (LiveOrganization(org, "Finance"),)), directory)
    assert licensed.unmanageable == ()
    assert licensed.enterprise


@pytest.mark.integration
def test_a_viewer_key_drafts_the_same_policy_as_the_master_key(
    fake: FakeLiteLLM, snapshot: Path, tmp_path: Path
) -> None:
    args = ["init", "--snapshot", str(snapshot), "--litellm-url", fake.url]
    admin = _run(*args, "-o", str(tmp_path / "admin.yaml"))
    fake.requests.clear()
    viewer = _run(*args, "-o", str(tmp_path / "viewer.yaml"), key=VIEWER_KEY)
    assert (admin.exit_code, viewer.exit_code) == (0, 0), viewer.output
    assert {method for method, _ in fake.requests} == {"GET"}
    policy = (tmp_path / "admin.yaml").read_bytes()
    assert (tmp_path / "viewer.yaml").read_bytes() == policy


@pytest.mark.integration
@pytest.mark.parametrize("to_stdout", [False, True])
def test_the_next_step_init_prints_runs_as_printed(
    fake: FakeLiteLLM,
    snapshot: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    to_stdout: bool,
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["init", "--snapshot", str(snapshot), "--litellm-url", fake.url]
    result = _run(*args, "-o", "-" if to_stdout else "drawn.yaml")
    assert result.exit_code == 0, result.output
    if to_stdout:
        Path("entraform.yaml").write_text(result.stdout, encoding="utf-8")
    line = next(x for x in result.stderr.splitlines() if x.startswith("Next"))
    commands = line.split(": ", 1)[1].split(", then ")
    generate, adopt = (shlex.split(c.replace("DIR", "out")) for c in commands[:2])
    assert generate[:2] == ["entraform", "generate"] and adopt[:2] == ["entraform", "adopt"]
    assert _run(*generate[1:]).exit_code == 0
    assert _run(*adopt[1:]).exit_code == 0, "adopt runs as printed"
    assert Path("out/imports.tf").is_file()


def test_the_starter_says_how_to_check_it(tmp_path: Path) -> None:
    policy = tmp_path / "entraform.yaml"
    result = _run("init", "-o", str(policy))
    words = shlex.split(result.stderr.split("check them with ", 1)[1].split(" (")[0])
    assert words[:2] == ["entraform", "validate"]
    assert _run(*words[1:]).exit_code == 0
