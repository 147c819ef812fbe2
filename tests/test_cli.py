"""The command line: writes, --check, --diff, exit codes, guards, summaries, atomicity."""

from __future__ import annotations

import inspect
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from generator.cli import COMMANDS, cli
from generator.workspace import writes
from tests.conftest import EXAMPLES, ROOT
from tests.rendering import read_tree
from tests.tenants import group, oid, tenant, user, write

POLICY = """\
version: 1
organizations:
  - {rule: orgs, select: {prefix: "Org-"}}
teams:
  - {rule: teams, select: {prefix: "Team-"}, organization: nested}
safety: {max_removed: 2, max_removed_percent: 50, min_existing: 4}
litellm: {enterprise: true}
"""
USERS = [user(n) for n in ("ann", "bob", "cy", "dee", "eve", "fay")]


def groups(
    team_members: tuple[str, ...] = ("ann", "bob", "cy"), org_name: str = "Org-A"
) -> list[dict[str, Any]]:
    return [group(org_name, groups=("Team-X",)), group("Team-X", team_members)]


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "entraform.yaml").write_text(POLICY, encoding="utf-8")
    write(tmp_path / "tenant.json", tenant(groups(), USERS))
    return tmp_path


def generate(work: Path, *extra: str) -> Result:
    return invoke(
        "generate",
        "-c",
        work / "entraform.yaml",
        "--snapshot",
        work / "tenant.json",
        "-o",
        work / "out",
        *extra,
    )


def test_generate_writes_the_files_and_a_second_run_changes_nothing(work: Path) -> None:
    assert generate(work).exit_code == 0
    first = read_tree(work / "out")
    suffix = oid("group/Org-A").replace("-", "")[:8]
    assert sorted(first) == ["entraform-manifest.json", f"org_org_a_{suffix}.tf", "versions.tf"]
    second = generate(work)
    assert second.exit_code == 0
    assert "no file changed" in second.stderr
    assert read_tree(work / "out") == first


def test_check_exits_1_lists_the_files_and_writes_nothing(work: Path) -> None:
    result = generate(work, "--check")
    assert result.exit_code == 1
    assert "would create" in result.stderr and "versions.tf" in result.stderr
    assert not (work / "out").exists()


def test_check_prints_the_command_that_updates_the_files(work: Path) -> None:
    result = generate(work, "--check")
    fix = result.stderr.rsplit("update them with: ", 1)[1].strip()
    assert fix == (
        f"entraform generate --config {work / 'entraform.yaml'} --snapshot {work / 'tenant.json'} "
        f"--out {work / 'out'} --format terraform --layout single"
    )
    assert invoke(*fix.split()[1:]).exit_code == 0
    assert generate(work, "--check").exit_code == 0


def test_the_update_command_carries_the_risks_the_check_accepted(work: Path) -> None:
    generate(work)
    asked = ("--layout", "per-organization", "--migrate-layout", "--allow-removals")
    result = generate(work, "--check", *asked)
    assert result.exit_code == 1
    fix = result.stderr.rsplit("update them with: ", 1)[1].strip()
    assert fix.endswith("--layout per-organization --allow-removals --migrate-layout")
    assert invoke(*fix.split()[1:]).exit_code == 0
    assert generate(work, "--check").exit_code == 0


def test_check_exits_0_when_the_output_is_current(work: Path) -> None:
    generate(work)
    assert generate(work, "--check").exit_code == 0


def test_diff_prints_a_unified_diff_of_one_changed_membership(work: Path) -> None:
    generate(work)
    write(work / "tenant.json", tenant(groups(("ann", "bob", "cy", "dee")), USERS))
    result = generate(work, "--check", "--diff")
    assert result.exit_code == 1
    diffs = {
        part.split("\n", 1)[0]: part for part in result.stdout.split("--- a/")[1:]
    }  # file name → its diff
    assert sorted(diffs) == [
        "entraform-manifest.json",
        next(n for n in diffs if n.startswith("org_")),
    ]
    org_diff = next(text for name, text in diffs.items() if name.startswith("org_"))
    changed = [line for line in org_diff.splitlines()[2:] if line[:1] in "+-"]
    assert len(changed) == 2  # one line in the team, one in the organization
    assert all("dee@contoso.test" in line and line.startswith("+") for line in changed)
    # The manifest records the new digest of that one file and the new member, one line each
    # (in the team, the organization and the table of emails); a comma may move.
    manifest_diff = diffs["entraform-manifest.json"].splitlines()[2:]
    removed = {line[1:].rstrip(",") for line in manifest_diff if line.startswith("-")}
    added = [line[1:] for line in manifest_diff if line.startswith("+")]
    new = [line for line in added if line.rstrip(",") not in removed]
    assert len(new) == 4
    assert sum(oid("user/dee") in line for line in new) == 3


def test_a_config_error_exits_2_with_file_and_line(work: Path) -> None:
    (work / "entraform.yaml").write_text("version: 1\nteams: 3\n", encoding="utf-8")
    result = generate(work)
    assert result.exit_code == 2
    assert "entraform.yaml:2:1: teams: must be a list, not 3" in result.stderr


def test_a_malformed_snapshot_exits_2(work: Path) -> None:
    (work / "tenant.json").write_text("{not json", encoding="utf-8")
    result = generate(work)
    assert result.exit_code == 2
    assert "tenant.json:1: not valid JSON" in result.stderr


def test_a_missing_snapshot_is_a_usage_error(work: Path) -> None:
    (work / "tenant.json").unlink()
    assert generate(work).exit_code == 2


def test_a_file_without_the_header_is_never_overwritten(work: Path) -> None:
    (work / "out").mkdir()
    (work / "out" / "versions.tf").write_text("# mine\n", encoding="utf-8")
    result = generate(work)
    assert result.exit_code == 3
    assert "was not generated by entraform" in result.stderr
    assert read_tree(work / "out") == {"versions.tf": "# mine\n"}


def test_stale_generated_files_are_deleted_and_foreign_files_kept(work: Path) -> None:
    generate(work)
    (work / "out" / "notes.tf").write_text("# my own file\n", encoding="utf-8")
    write(work / "tenant.json", tenant(groups(org_name="Org-B"), USERS))
    assert generate(work, "--allow-removals").exit_code == 0
    names = sorted(read_tree(work / "out"))
    assert "notes.tf" in names
    assert not any(n.startswith("org_org_a_") for n in names)


def test_removals_over_the_limit_are_refused_with_exit_4_and_nothing_written(work: Path) -> None:
    generate(work)
    before = read_tree(work / "out")
    write(work / "tenant.json", tenant(groups(("ann",)), USERS))
    result = generate(work, "--summary", str(work / "pr.md"))
    assert result.exit_code == 4
    assert "4 member removals of 6" in result.stderr
    assert "--allow-removals" in result.stderr
    assert read_tree(work / "out") == before
    assert "REFUSED" in (work / "pr.md").read_text(encoding="utf-8")


def test_allow_removals_proceeds_and_the_summary_says_so(work: Path) -> None:
    generate(work)
    write(work / "tenant.json", tenant(groups(("ann",)), USERS))
    result = generate(work, "--allow-removals", "--summary", "-")
    assert result.exit_code == 0
    assert "allowed past the guard (--allow-removals)" in result.stdout
    assert "- − `bob@contoso.test` (user)" in result.stdout


def test_a_policy_that_selects_nothing_is_refused(work: Path) -> None:
    write(work / "tenant.json", tenant([group("Unrelated")], USERS))
    result = generate(work)
    assert result.exit_code == 4
    assert "selects no groups" in result.stderr
    assert not (work / "out").exists()


def test_a_team_that_lost_every_member_is_refused(work: Path) -> None:
    (work / "entraform.yaml").write_text(
        POLICY.replace("max_removed: 2", "max_removed: 99").replace(
            "max_removed_percent: 50", "max_removed_percent: 100"
        ),
        encoding="utf-8",
    )
    generate(work)
    write(work / "tenant.json", tenant(groups(()), USERS))
    result = generate(work)
    assert result.exit_code == 4
    assert f"team 'Team-X' ({oid('group/Team-X')}) had 3 members and now has none" in result.stderr


def test_a_vanished_organization_is_forgotten_not_destroyed(work: Path) -> None:
    generate(work)
    (org_file,) = [n for n in read_tree(work / "out") if n.startswith("org_")]
    label = org_file.removeprefix("org_").removesuffix(".tf")
    write(
        work / "tenant.json",
        tenant([group("Org-B", groups=("Team-X",)), group("Team-X", ("ann", "bob", "cy"))], USERS),
    )
    assert generate(work, "--allow-removals").exit_code == 0
    removed = (work / "out" / "removed.tf").read_text(encoding="utf-8")
    assert f"from = litellm_organization.{label}\n" in removed
    assert f"from = litellm_organization_member.{label}\n" in removed
    assert "destroy = false" in removed
    # The removed blocks stay until someone deletes them after apply.
    assert generate(work, "--check").exit_code == 0


def test_organizations_can_be_deleted_instead_when_configured(work: Path) -> None:
    (work / "entraform.yaml").write_text(
        POLICY.replace("safety: {", "safety: {organizations_removed: delete, "), encoding="utf-8"
    )
    generate(work)
    write(work / "tenant.json", tenant(groups(org_name="Org-B"), USERS))
    assert generate(work, "--allow-removals").exit_code == 0
    assert not (work / "out" / "removed.tf").exists()


def test_a_renamed_group_changes_the_alias_in_place(work: Path) -> None:
    generate(work)
    before = read_tree(work / "out")
    renamed = groups()
    renamed[1]["displayName"] = "Team-Renamed"
    write(work / "tenant.json", tenant(renamed, USERS))
    result = generate(work, "--summary", "-")
    assert result.exit_code == 0
    after = read_tree(work / "out")
    assert sorted(after) == sorted(before)
    assert _addresses(after) == _addresses(before)
    assert f"- team `Team-Renamed` ({renamed[1]['id']}), was `Team-X`" in result.stdout


def _addresses(tree: dict[str, str]) -> list[str]:
    lines = (line for text in tree.values() for line in text.splitlines())
    return sorted(line for line in lines if line.startswith("resource "))


def test_the_report_is_json_for_policy_tools(work: Path) -> None:
    result = generate(work, "--report", "-")
    report = json.loads(result.stdout)
    assert {o["action"] for o in report["objects"]} == {"added"}
    assert len(report["members"]) == 6
    assert report["refusals"] == []


def test_a_failed_write_leaves_the_folder_untouched(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate(work)
    before = read_tree(work / "out")
    write(work / "tenant.json", tenant(groups(("ann", "bob", "cy", "dee")), USERS))
    real_stage = writes._stage
    calls = []

    def failing(folder: Path, text: str) -> Path:
        calls.append(folder)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_stage(folder, text)

    monkeypatch.setattr(writes, "_stage", failing)
    result = generate(work)
    assert result.exit_code == 3
    assert "nothing was changed" in result.stderr
    assert read_tree(work / "out") == before
    assert not list((work / "out").glob(".entraform-*"))


def test_validate_reports_rules_and_what_a_snapshot_yields() -> None:
    result = invoke(
        "validate", "-c", EXAMPLES / "entraform.yaml", "--snapshot", EXAMPLES / "tenant.json"
    )
    assert result.exit_code == 0
    assert (
        "ok (2 organization rule(s), 5 team rule(s)); 4 organization(s), 8 team(s)" in result.stdout
    )


def test_validate_refuses_organizations_for_a_proxy_without_a_licence(work: Path) -> None:
    (work / "entraform.yaml").write_text(
        POLICY.replace("litellm: {enterprise: true}", "litellm: {enterprise: false}"),
        encoding="utf-8",
    )
    result = invoke("validate", "-c", work / "entraform.yaml")
    assert result.exit_code == 2
    assert "LITELLM_LICENSE" in result.stderr
    assert "enterprise: true" in result.stderr


COMMAND_NAMES = ("generate", "validate", "snapshot", "adopt", "drift", "schema", "init", "explain")


@pytest.mark.parametrize("command", COMMAND_NAMES)
def test_each_command_help_shows_only_its_own_examples(command: str) -> None:
    result = invoke(command, "--help")
    examples = result.stdout.split("Examples:", 1)[1]
    used = set(re.findall(r"^ +(?:\S+=\S+ )*entraform (\w+)", examples, re.M))
    assert used == {command}


def test_every_environment_variable_hint_has_one_style() -> None:
    helps = "".join(invoke(c, "--help").stdout for c in COMMAND_NAMES)
    assert "[env:" not in helps
    assert "[env var:" in helps


def test_check_with_nothing_to_change_says_so_in_one_line(work: Path) -> None:
    generate(work)
    result = generate(work, "--check")
    assert (result.exit_code, result.stderr) == (
        0,
        "entraform: 3 file(s) would be left unchanged\n",
    )


def test_diff_without_check_prints_writes_nothing_and_exits_0(work: Path) -> None:
    result = generate(work, "--diff")
    assert result.exit_code == 0
    assert "+++ b/versions.tf" in result.stdout
    assert not (work / "out").exists()


def test_python_dash_m_generator_is_the_same_cli() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "generator", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert run.stdout.startswith("Usage: entraform [OPTIONS] COMMAND [ARGS]...")


def _loaded(args: list[str], prefixes: tuple[str, ...]) -> list[str]:
    """The modules of the given packages a command line has loaded once it is done."""
    script = (
        "import sys; from generator.cli import cli\n"
        "try:\n    cli(sys.argv[2:], standalone_mode=False)\nfinally:\n"
        "    print(sorted(m for m in sys.modules if m.startswith(tuple(sys.argv[1].split(',')))))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, ",".join(prefixes), *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    found: list[str] = json.loads(run.stdout.strip().splitlines()[-1].replace("'", '"'))
    return sorted({m.split(".")[0] for m in found} if prefixes == HEAVY else found)


HEAVY = ("msgraph", "azure", "kiota", "httpx", "jsonschema", "jinja2", "yaml")  # by prefix


def test_help_loads_no_command_and_none_of_their_dependencies() -> None:
    assert _loaded(["--help"], HEAVY) == []
    assert _loaded(["--help"], ("generator.cli.",)) == ["generator.cli.options"]


def test_validate_and_snapshot_runs_load_neither_graph_nor_http(work: Path) -> None:
    policy, tenant = str(work / "entraform.yaml"), str(work / "tenant.json")
    network = {"msgraph", "azure", "kiota_http", "httpx"}
    assert not network & set(_loaded(["validate", "-c", policy], HEAVY))
    out = str(work / "out")
    generate_args = ["generate", "-c", policy, "--snapshot", tenant, "-o", out]
    assert not network & set(_loaded(generate_args, HEAVY))


def test_adding_an_unrelated_group_changes_no_existing_address(work: Path) -> None:
    generate(work)
    before = read_tree(work / "out")
    grown = [*groups(), group("Team-Data Team", ("dee",)), group("Team-data-team", ("eve",))]
    grown[0]["members"] += [
        {"@odata.type": "#microsoft.graph.group", "id": g["id"]} for g in grown[2:]
    ]
    write(work / "tenant.json", tenant(grown, USERS))
    assert generate(work).exit_code == 0
    after = read_tree(work / "out")
    assert set(_addresses(before)) < set(_addresses(after))
    new = sorted(set(_addresses(after)) - set(_addresses(before)))
    assert len(new) == 4
    assert len({line.split('"')[3] for line in new}) == 2  # same slug, distinct labels


def test_quiet_prints_nothing_but_errors_even_past_the_guard(work: Path) -> None:
    generate(work)
    write(work / "tenant.json", tenant(groups(("ann",)), USERS))
    result = generate(work, "--allow-removals", "-q")
    assert (result.exit_code, result.stderr, result.stdout) == (0, "", "")


def test_a_refusal_names_every_reason_in_one_error(work: Path) -> None:
    generate(work)
    write(work / "tenant.json", tenant(groups(("ann",)), USERS))
    result = generate(work, "-q")
    (line,) = result.stderr.splitlines()
    assert line.startswith("entraform: error: refused: 4 member removals of 6")
    assert line.endswith("run again with --allow-removals.")


def test_the_version_comes_from_the_package_metadata() -> None:
    from importlib.metadata import version

    assert invoke("--version").stdout.strip() == f"entraform, version {version('entraform')}"


def test_the_header_command_fills_in_the_format_and_the_output_folder(work: Path) -> None:
    (work / "entraform.yaml").write_text(
        POLICY + 'output: {regenerate: "make litellm FORMAT={format} OUT={out}"}\n',
        encoding="utf-8",
    )
    generate(work)
    header = (work / "out" / "versions.tf").read_text(encoding="utf-8").splitlines()[1]
    assert header == f"# Regenerate with: make litellm FORMAT=terraform OUT={work / 'out'}"


def test_a_write_that_fails_while_swapping_keeps_the_old_manifest_and_no_temp_file(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate(work)
    manifest_before = (work / "out" / "entraform-manifest.json").read_text(encoding="utf-8")
    write(work / "tenant.json", tenant(groups(("ann", "bob", "cy", "dee")), USERS))
    real_replace = Path.replace

    def failing(self: Path, target: Path) -> Path:
        if Path(target).name.startswith("org_"):
            raise OSError(5, "Input/output error")
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", failing)
    result = generate(work)
    assert result.exit_code == 3
    assert (work / "out" / "entraform-manifest.json").read_text(encoding="utf-8") == manifest_before
    assert not list((work / "out").glob(".entraform-*"))


def test_an_organization_that_lost_every_member_is_refused(work: Path) -> None:
    (work / "entraform.yaml").write_text(
        POLICY.replace("organization: nested}", "}")
        .replace("max_removed: 2", "max_removed: 99")
        .replace("max_removed_percent: 50", "max_removed_percent: 100"),
        encoding="utf-8",
    )
    write(
        work / "tenant.json",
        tenant([group("Org-A", ("ann", "bob")), group("Team-X", ("cy",))], USERS),
    )
    generate(work)
    write(work / "tenant.json", tenant([group("Org-A"), group("Team-X", ("cy",))], USERS))
    result = generate(work)
    assert result.exit_code == 4
    emptied = f"organization 'Org-A' ({oid('group/Org-A')}) had 2 members and now has none"
    assert emptied in result.stderr


def test_a_first_run_that_selects_nothing_says_to_check_the_selectors(work: Path) -> None:
    write(work / "tenant.json", tenant([group("Unrelated")], USERS))
    result = generate(work)
    assert "check its selectors" in result.stderr and "remove everything" not in result.stderr


def test_each_summary_the_help_lists_is_its_commands_own_first_paragraph() -> None:
    context = click.Context(cli)
    for name, listed in COMMANDS.items():
        command = cli.get_command(context, name)
        assert command is not None and command.name == name
        paragraph = inspect.cleandoc(command.help or "").split("\n\n")[0]
        assert listed.summary == " ".join(paragraph.split()), name


@pytest.mark.parametrize("command", ["generate", "validate", "explain"])
def test_a_missing_policy_file_points_at_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    extra = {"generate": ["-o", "out"], "validate": [], "explain": ["someone", "--team", "x"]}
    result = CliRunner().invoke(cli, [command, *extra[command]])
    assert result.exit_code == 2
    assert "no policy file entraform.yaml: write a first one with entraform init" in result.stderr
    printed = result.stderr.split("write a first one with ", 1)[1].split(",")[0]
    assert CliRunner().invoke(cli, shlex.split(printed)[1:]).exit_code == 0
    assert Path("entraform.yaml").is_file()


def test_only_the_first_run_into_a_folder_says_what_comes_next(tmp_path: Path) -> None:
    args = ["generate", "-c", str(EXAMPLES / "entraform.yaml")]
    args += ["--snapshot", str(EXAMPLES / "tenant.json"), "-o", str(tmp_path / "out")]
    first, again = CliRunner().invoke(cli, args), CliRunner().invoke(cli, args)
    assert (first.exit_code, again.exit_code) == (0, 0)
    assert f"terraform -chdir={tmp_path / 'out'} plan" in first.stderr
    assert "run entraform adopt first" in first.stderr
    assert "next:" not in again.stderr
