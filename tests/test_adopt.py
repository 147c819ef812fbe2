"""entraform adopt against a fake LiteLLM over HTTP: import blocks, report, failures."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator import hcl, run
from generator.cli import cli
from generator.live import adopt
from generator.live.holdings import LiveMember, LiveState, LiveTeam
from generator.policy.load import load_policy
from generator.render.terraform import TerraformAddresses
from generator.report.outcome import Report
from generator.sources.snapshot import SnapshotSource
from generator.state import DesiredState, Membership, Organization, Settings, Team
from generator.workspace.labels import Labels
from tests.conftest import EXAMPLES
from tests.example_ids import (
    ADELE,
    ANALYSTS,
    FINANCE,
    GONE,
    ISAIAH,
    NESTOR,
    RESEARCH_ML,
    SANDBOX,
    UNSELECTED,
)
from tests.fakelitellm import API_KEY, INTERNAL_KEY, VIEWER_KEY, FakeLiteLLM

POLICY = EXAMPLES / "entraform.yaml"
TENANT = EXAMPLES / "tenant.json"


def _build(out: Path, output_format: str = "terraform") -> Report:
    policy = load_policy(POLICY)
    directory = SnapshotSource(TENANT).read(policy.needs())
    return run.generate(policy, directory, run.Options(out, output_format))


def _sso_era(fake: FakeLiteLLM) -> None:
    """A LiteLLM that ran SSO group sync: teams keyed by group id, no organizations but one."""
    fake.add_team(
        RESEARCH_ML,
        "Research-ML",
        members=[
            (NESTOR, "user", "NestorW@contoso.com"),
            (ISAIAH, "user", "IsaiahL@contoso.com"),
            (GONE, "user", "former@contoso.com"),
            ("default_user_id", "admin", None),
        ],
    )
    fake.add_team(
        SANDBOX,
        "LLM-Sandbox",
        members=[
            ("0a598352-b0e4-56c9-ac19-ee46fce4a3ce", "user", None),
            ("28cbaf41-0b5c-5400-b9d1-73b5a448f979", "user", None),
            ("2b6bcbf3-2f8a-5750-b2b7-472d97fe61c1", "user", None),
        ],
    )
    fake.add_team(ANALYSTS, "LLM-Team-Finance-Analysts", members=[(ADELE, "user", None)])
    fake.add_team(UNSELECTED, "Engineering-Interns", members=[(GONE, "user", None)])
    fake.add_organization(FINANCE, "Finance", members=[(ADELE, "org_admin", "AdeleV@contoso.com")])


@pytest.fixture
def fake() -> Iterator[FakeLiteLLM]:
    server = FakeLiteLLM()
    _sso_era(server)
    with server.serving():
        yield server


def _adopt(fake: FakeLiteLLM, out: Path, *extra: str, key: str = API_KEY) -> Result:
    args = ["adopt", "-c", str(POLICY), "--snapshot", str(TENANT), "-o", str(out)]
    args += ["--litellm-url", fake.url, *extra]
    env = {"LITELLM_API_KEY": key or None, "LITELLM_API_BASE": None}
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


@pytest.mark.integration
def test_imports_only_the_rendered_objects_litellm_already_has(
    fake: FakeLiteLLM, tmp_path: Path
) -> None:
    result = _adopt(fake, tmp_path)
    assert result.exit_code == 0, result.output
    labels = _build(tmp_path).labels
    text = (tmp_path / "imports.tf").read_text(encoding="utf-8")
    blocks = dict(re.findall(r"to = (\S+)\n  id = \"([^\"]+)\"", text))
    finance, ml = labels.organizations[FINANCE], labels.teams[RESEARCH_ML]
    sandbox, analysts = labels.teams[SANDBOX], labels.teams[ANALYSTS]
    assert blocks == {
        f"litellm_organization.{finance}": FINANCE,
        f'litellm_organization_member.{finance}["{ADELE}"]': f"{FINANCE}:{ADELE}",
        f"litellm_team.{ml}": RESEARCH_ML,
        f'litellm_team_member.{ml}["{NESTOR}"]': f"{RESEARCH_ML}:{NESTOR}",
        f'litellm_team_member.{ml}["{ISAIAH}"]': f"{RESEARCH_ML}:{ISAIAH}",
        f"litellm_team.{sandbox}": SANDBOX,
        **{
            f'litellm_team_member.{sandbox}["{u}"]': f"{SANDBOX}:{u}"
            for u in (
                "0a598352-b0e4-56c9-ac19-ee46fce4a3ce",
                "28cbaf41-0b5c-5400-b9d1-73b5a448f979",
                "2b6bcbf3-2f8a-5750-b2b7-472d97fe61c1",
            )
        },
        f"litellm_team.{analysts}": ANALYSTS,
        f'litellm_team_member.{analysts}["{ADELE}"]': f"{ANALYSTS}:{ADELE}",
    }
    assert text.split("\n", 1)[0] == adopt.HEADER
    assert list(blocks) == sorted(blocks), "blocks are sorted by address"
    assert "wrote 11 import block(s)" in result.output


@pytest.mark.integration
def test_file_is_deterministic_fmt_clean_and_left_alone_by_generate(
    fake: FakeLiteLLM, tmp_path: Path
) -> None:
    assert _adopt(fake, tmp_path).exit_code == 0
    first = (tmp_path / "imports.tf").read_bytes()
    assert _adopt(fake, tmp_path).exit_code == 0
    assert (tmp_path / "imports.tf").read_bytes() == first
    text = first.decode()
    assert text.endswith("}\n") and "\r" not in text and "\n\n\n" not in text
    assert hcl.align(text) == text
    generated = CliRunner().invoke(
        cli, ["generate", "-c", str(POLICY), "--snapshot", str(TENANT), "-o", str(tmp_path)]
    )
    assert generated.exit_code == 0, generated.output
    assert (tmp_path / "imports.tf").read_bytes() == first
    # generate's own re-read of the folder is not confused by the foreign-header file.
    again = CliRunner().invoke(
        cli, ["generate", "-c", str(POLICY), "--snapshot", str(TENANT), "-o", str(tmp_path)]
    )
    assert again.exit_code == 0 and "no file changed" in again.output


@pytest.mark.integration
def test_imports_file_passes_terraform_fmt(
    fake: FakeLiteLLM, tmp_path: Path, terraform: str
) -> None:
    assert _adopt(fake, tmp_path).exit_code == 0
    check = [terraform, "fmt", "-check", "-diff", str(tmp_path / "imports.tf")]
    run = subprocess.run(check, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.integration
def test_imports_parse_as_hcl(fake: FakeLiteLLM, tmp_path: Path) -> None:
    hcl2 = pytest.importorskip("hcl2")
    assert _adopt(fake, tmp_path).exit_code == 0
    parsed = hcl2.loads((tmp_path / "imports.tf").read_text(encoding="utf-8"))
    assert len(parsed["import"]) == 11


@pytest.mark.integration
def test_report_names_what_apply_will_not_change(fake: FakeLiteLLM, tmp_path: Path) -> None:
    result = _adopt(fake, tmp_path)
    out = result.output
    assert "terraform apply will NOT change or remove these" in out
    assert f"team 'Engineering-Interns' ({UNSELECTED}), 1 member(s): not selected" in out
    assert f"team member former@contoso.com ({GONE}, role user) in 'Research-ML'" in out
    assert "default_user_id" not in out, "the proxy admin is not Entra drift"
    assert "created by terraform apply: 3 organizations" in out


@pytest.mark.integration
def test_unmanaged_member_counts_leave_out_the_proxy_admin(
    fake: FakeLiteLLM, tmp_path: Path
) -> None:
    admin = {"user_id": "default_user_id", "user_email": None, "role": "admin"}
    fake.teams[UNSELECTED]["members_with_roles"].append(admin)
    result = _adopt(fake, tmp_path, "--json")
    [unmanaged] = json.loads(result.output)["unmanaged"]
    assert (unmanaged["id"], unmanaged["members"]) == (UNSELECTED, 1)


@pytest.mark.integration
def test_warns_that_unrestricted_sso_teams_cannot_move_into_an_organization_in_one_apply(
    fake: FakeLiteLLM, tmp_path: Path
) -> None:
    out = _adopt(fake, tmp_path).output
    assert (
        "team 'Research-ML' exists in LiteLLM outside organization 'Research' with all models; "
        "moving it there is refused (403) until its models fit" in out
    )


@pytest.mark.integration
def test_warns_that_moving_a_team_adds_its_other_members_to_the_organization(
    fake: FakeLiteLLM, tmp_path: Path
) -> None:
    out = _adopt(fake, tmp_path).output
    assert (
        "LiteLLM adds the team members who are not organization members to 'Research' as "
        "internal_user: former@contoso.com (the policy does not render them there)"
    ) in out


@pytest.mark.integration
def test_without_an_enterprise_licence_teams_are_still_adopted(
    fake: FakeLiteLLM, tmp_path: Path
) -> None:
    fake.licensed = False
    result = _adopt(fake, tmp_path)
    assert result.exit_code == 0, result.output
    text = (tmp_path / "imports.tf").read_text(encoding="utf-8")
    assert "litellm_organization" not in text
    assert text.count("import {") == 9
    assert "organizations need a LiteLLM Enterprise licence (or the key lacks permission)" in (
        result.output
    )
    assert "set LITELLM_LICENSE on the proxy" in result.output
    assert "Teams are adopted all the same" in result.output


@pytest.mark.integration
def test_without_an_enterprise_licence_team_admins_are_called_out(
    fake: FakeLiteLLM, tmp_path: Path
) -> None:
    fake.licensed = False
    out = _adopt(fake, tmp_path).output
    assert "rejects team members with role admin (400 'Assigning team admins is a premium" in out
    assert "give team admins the role user in the policy" in out


@pytest.mark.integration
def test_yaml_format_uses_the_module_addresses(fake: FakeLiteLLM, tmp_path: Path) -> None:
    result = _adopt(fake, tmp_path, "--format", "yaml")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "imports.tf").read_text(encoding="utf-8")
    assert f'to = litellm_organization.this["{FINANCE}"]' in text
    assert f'to = litellm_organization_member.this["{FINANCE}/{ADELE}"]' in text
    assert f'to = litellm_team_member.this["{RESEARCH_ML}/{NESTOR}"]' in text
    assert f'id = "{RESEARCH_ML}:{NESTOR}"' in text


@pytest.mark.integration
def test_pages_through_the_team_list_and_reads_details_only_for_rendered_teams(
    fake: FakeLiteLLM, tmp_path: Path
) -> None:
    for n in range(230):
        fake.add_team(f"sso-{n:04d}", f"Group {n}")
    result = _adopt(fake, tmp_path, "--json")
    assert result.exit_code == 0, result.output
    pages = [t for m, t in fake.requests if t.startswith("/v2/team/list")]
    assert len(pages) == 3 and all("page_size=100" in p for p in pages)
    assert len(json.loads(result.output)["unmanaged"]) == 231
    assert sorted(t for t in fake.paths() if t == "/team/info") == ["/team/info"] * 3


@pytest.mark.integration
def test_old_proxies_without_v2_team_list_are_read_from_team_list(
    fake: FakeLiteLLM, tmp_path: Path
) -> None:
    fake.v2_team_list = False
    result = _adopt(fake, tmp_path, "--json")
    assert result.exit_code == 0, result.output
    assert "/team/list" in fake.paths()
    assert len(json.loads(result.output)["imports"]) == 11


@pytest.mark.integration
def test_only_reads_and_never_prints_the_key(fake: FakeLiteLLM, tmp_path: Path) -> None:
    result = _adopt(fake, tmp_path)
    assert {method for method, _ in fake.requests} == {"GET"}
    assert API_KEY not in result.output
    assert API_KEY not in (tmp_path / "imports.tf").read_text(encoding="utf-8")


@pytest.mark.integration
def test_dry_run_prints_the_blocks_and_writes_nothing(fake: FakeLiteLLM, tmp_path: Path) -> None:
    result = _adopt(fake, tmp_path, "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.startswith(adopt.HEADER)
    assert "would write 11 import block(s)" in result.stderr
    assert not (tmp_path / "imports.tf").exists()


@pytest.mark.integration
def test_refuses_to_replace_an_imports_file_it_did_not_write(
    fake: FakeLiteLLM, tmp_path: Path
) -> None:
    (tmp_path / "imports.tf").write_text("# mine\n", encoding="utf-8")
    result = _adopt(fake, tmp_path)
    assert result.exit_code == 3
    assert "was not written by entraform adopt" in result.output
    assert (tmp_path / "imports.tf").read_text(encoding="utf-8") == "# mine\n"


@pytest.mark.integration
def test_a_rejected_key_is_a_runtime_error_that_says_what_to_check(
    fake: FakeLiteLLM, tmp_path: Path
) -> None:
    result = _adopt(fake, tmp_path, key="sk-test-wrong-key")
    assert result.exit_code == 3
    assert "LiteLLM rejected the key (401)" in result.output
    assert "sk-test-wrong-key" not in result.output
    assert not (tmp_path / "imports.tf").exists()


@pytest.mark.integration
def test_an_unreachable_litellm_is_a_runtime_error(tmp_path: Path) -> None:
    closed = FakeLiteLLM()
    with closed.serving():
        url = closed.url
    result = _adopt(closed, tmp_path, "--litellm-url", url)
    assert result.exit_code == 3
    assert f"cannot reach LiteLLM at {url}" in result.output


@pytest.mark.integration
def test_a_missing_key_is_a_usage_error(fake: FakeLiteLLM, tmp_path: Path) -> None:
    result = _adopt(fake, tmp_path, key="")
    assert result.exit_code == 2
    assert "LITELLM_API_KEY is not set" in result.output
    assert fake.requests == []


def test_import_blocks_escape_ids_for_hcl() -> None:
    team = Team(
        "t-${x}",
        "T",
        "T",
        members=(Membership("k%{y}", 'u"1', "a@b", "user"),),
        settings=Settings(),
    )
    live = LiveState(teams=(LiveTeam("t-${x}", "T", members=(LiveMember('u"1', "user"),)),))
    adoption = adopt.plan(
        DesiredState(teams=(team,)), TerraformAddresses(Labels(teams={"t-${x}": "t"})), live
    )
    assert adopt.imports_tf(adoption.imports) == (
        f"{adopt.HEADER}\n"
        "\n"
        "import {\n"
        "  to = litellm_team.t\n"
        '  id = "t-$${x}"\n'
        "}\n"
        "\n"
        "import {\n"
        '  to = litellm_team_member.t["k%%{y}"]\n'
        '  id = "t-$${x}:u\\"1"\n'
        "}\n"
    )


def test_member_ids_are_matched_in_the_normal_form_terraform_sends() -> None:
    written = "\u212bngstro\u0308m@contoso.com"  # ANGSTROM SIGN, then o + combining diaeresis
    team = Team("t", "T", "T", members=(Membership(written, written, written, "user"),))
    stored = LiveMember("\u00c5ngstr\u00f6m@contoso.com", "user")
    live = LiveState(teams=(LiveTeam("t", "T", members=(stored,)),))
    adoption = adopt.plan(
        DesiredState(teams=(team,)), TerraformAddresses(Labels(teams={"t": "t"})), live
    )
    assert [i.kind for i in adoption.imports] == ["team", "team member"]
    assert adoption.extra_members == ()


def test_organizations_without_licence_get_no_blocks_and_a_warning() -> None:
    org = Organization("o1", "Org", "Org")
    live = LiveState(organizations=None, organizations_note="no licence")
    adoption = adopt.plan(
        DesiredState(organizations=(org,)), TerraformAddresses(Labels({"o1": "o"})), live
    )
    assert adoption.imports == ()
    assert adoption.warnings[0].startswith("no licence. No import blocks were written")
    assert adoption.created == {}


def test_litellm_error_bodies_of_both_shapes_are_read() -> None:
    from generator.live.client import _server_message

    assert _server_message(b'{"error": {"message": "not premium", "code": "403"}}') == "not premium"
    assert _server_message(b'{"detail": {"error": "Organization not found"}}') == (
        "Organization not found"
    )
    assert _server_message(b"<html>bad gateway</html>") == "<html>bad gateway</html>"


@pytest.mark.integration
def test_refuses_a_format_the_folder_does_not_hold(fake: FakeLiteLLM, tmp_path: Path) -> None:
    written = CliRunner().invoke(
        cli, ["generate", "-c", str(POLICY), "--snapshot", str(TENANT), "-o", str(tmp_path)]
    )
    assert written.exit_code == 0, written.output
    result = _adopt(fake, tmp_path, "--format", "yaml")
    assert result.exit_code == 4, result.output
    assert f"{tmp_path} holds the terraform format and this run asks for yaml" in result.output
    assert "Pass --format terraform" in result.output
    assert not (tmp_path / "imports.tf").exists()
    assert _adopt(fake, tmp_path).exit_code == 0


@pytest.mark.integration
def test_a_viewer_key_adopts_exactly_what_the_master_key_adopts(
    fake: FakeLiteLLM, tmp_path: Path
) -> None:
    admin = _adopt(fake, tmp_path / "admin", "--json")
    fake.requests.clear()
    viewer = _adopt(fake, tmp_path / "viewer", "--json", key=VIEWER_KEY)
    same = viewer.stdout.replace(str(tmp_path / "viewer"), str(tmp_path / "admin"))
    assert (viewer.exit_code, same) == (admin.exit_code, admin.stdout)
    assert {method for method, _ in fake.requests} == {"GET"}
    for path in sorted((tmp_path / "admin").iterdir()):
        assert (tmp_path / "viewer" / path.name).read_bytes() == path.read_bytes()


@pytest.mark.integration
def test_a_key_without_the_rights_is_told_its_role_and_the_role_that_suffices(
    fake: FakeLiteLLM, tmp_path: Path
) -> None:
    result = _adopt(fake, tmp_path, key=INTERNAL_KEY)
    assert result.exit_code == 3
    assert "the key is valid but its role (internal_user) may not read GET" in result.stderr
    assert "a key of a proxy_admin_viewer user is enough" in result.stderr
    assert "rejected the key" not in result.stderr
    assert INTERNAL_KEY not in result.output
    assert not any(tmp_path.iterdir())
