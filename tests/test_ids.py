"""The id scheme: prefixed ids in both formats, read back by Terraform; a switch needs a flag."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli
from tests.conftest import EXAMPLES, ROOT
from tests.console import evaluate, string_list
from tests.example_ids import ANALYSTS, FINANCE, SANDBOX
from tests.rendering import read_tree

PREFIXED = ROOT / "tests" / "golden" / "prefixed"
TENANT = EXAMPLES / "tenant.json"
ID_LITERAL = re.compile(r'^  (?:team|organization)_id +=  ?("[^"\n]*")$', re.MULTILINE)


def _generate(policy: Path, out: Path, *extra: str) -> Result:
    args = ["generate", "-c", str(policy), "--snapshot", str(TENANT), "-o", str(out), *extra]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.mark.integration
def test_prefixed_terraform_ids_read_back_by_terraform_are_prefix_and_group_id(
    terraform: str, tmp_path: Path
) -> None:
    text = "".join(read_tree(PREFIXED / "terraform").values())
    literals = ID_LITERAL.findall(text)
    assert len(literals) == 12, "4 organizations and 8 teams, each with its id written once"
    (tmp_path / "ids.tf").write_text(
        "locals {\n  ids = [" + ", ".join(literals) + "]\n}\n", encoding="utf-8"
    )
    ids = string_list(terraform, tmp_path, "local.ids")
    assert all(re.fullmatch(r"entraform-[0-9a-f-]{36}", i) for i in ids), ids
    assert f"entraform-{ANALYSTS}" in ids
    assert f"entraform-{FINANCE}" in ids


@pytest.mark.integration
def test_prefixed_yaml_keys_and_placements_read_back_by_terraform(
    terraform: str, tmp_path: Path
) -> None:
    for name in ("teams.yaml", "organizations.yaml"):
        (tmp_path / name).write_text((PREFIXED / "yaml" / name).read_text("utf-8"), "utf-8")
    (tmp_path / "main.tf").write_text(
        "locals {\n"
        '  teams = yamldecode(file("${path.module}/teams.yaml")).teams\n'
        '  orgs  = yamldecode(file("${path.module}/organizations.yaml")).organizations\n'
        "}\n",
        encoding="utf-8",
    )
    teams = evaluate(
        terraform, tmp_path, "{ for k, t in local.teams : k => try(t.organization_id, null) }"
    )
    assert teams[f"entraform-{ANALYSTS}"] == f"entraform-{FINANCE}"
    assert teams[f"entraform-{SANDBOX}"] is None
    assert len(teams) == 8
    orgs = evaluate(terraform, tmp_path, "keys(local.orgs)")
    assert f"entraform-{FINANCE}" in orgs and len(orgs) == 4


def test_labels_and_file_names_do_not_depend_on_the_scheme() -> None:
    assert sorted(read_tree(PREFIXED / "terraform")) == sorted(read_tree(EXAMPLES / "terraform"))
    plain = (EXAMPLES / "terraform" / "teams.tf").read_text("utf-8")
    prefixed = (PREFIXED / "terraform" / "teams.tf").read_text("utf-8")
    labels = re.compile(r'^resource "\w+" "([\w-]+)"', re.MULTILINE)
    assert labels.findall(plain) == labels.findall(prefixed)


def test_switching_the_scheme_on_existing_output_is_refused_and_writes_nothing(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    assert _generate(EXAMPLES / "entraform.yaml", out).exit_code == 0
    before = read_tree(out)
    result = _generate(PREFIXED / "entraform.yaml", out)
    assert result.exit_code == 4
    assert "written with the id scheme group_id" in result.stderr
    assert "now asks for prefixed:entraform-" in result.stderr
    assert "force replacement" in result.stderr
    assert "--migrate-ids" in result.stderr
    assert read_tree(out) == before


def test_switching_back_from_prefixed_is_refused_too(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _generate(PREFIXED / "entraform.yaml", out).exit_code == 0
    result = _generate(EXAMPLES / "entraform.yaml", out)
    assert result.exit_code == 4
    assert "written with the id scheme prefixed:entraform-" in result.stderr


def test_migrate_ids_keeps_every_address_and_says_what_apply_will_do(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _generate(EXAMPLES / "entraform.yaml", out).exit_code == 0
    before = read_tree(out)
    summary = tmp_path / "summary.md"
    report = tmp_path / "report.json"
    result = _generate(
        PREFIXED / "entraform.yaml",
        out,
        "--migrate-ids",
        "--summary",
        str(summary),
        "--report",
        str(report),
    )
    assert result.exit_code == 0, result.output
    assert "ids migrate from group_id to prefixed:entraform-" in result.stderr
    after = read_tree(out)
    assert sorted(after) == sorted(before)
    labels = re.compile(r'^resource "\w+" "([\w-]+)"', re.MULTILINE)
    for name in before:
        assert labels.findall(after[name]) == labels.findall(before[name]), name
    assert f'team_id         = "entraform-{ANALYSTS}"' in after["org_llm_org_finance_792af983.tf"]
    text = summary.read_text("utf-8")
    assert "### Ids migrated" in text
    assert "terraform apply **deletes** 8 team(s) and 4 organization(s)" in text
    assert "No change to organizations, teams or memberships." in text
    assert json.loads(report.read_text("utf-8"))["ids_migrated"] == [
        "group_id",
        "prefixed:entraform-",
    ]
    again = _generate(PREFIXED / "entraform.yaml", out, "--check")
    assert again.exit_code == 0, again.output


def test_a_prefix_without_the_prefixed_scheme_is_a_config_error(tmp_path: Path) -> None:
    policy = tmp_path / "entraform.yaml"
    policy.write_text("version: 1\nids: {prefix: llm-}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "-c", str(policy)])
    assert result.exit_code == 2
    assert "ids.prefix: a prefix applies only to `scheme: prefixed`" in result.stderr


def test_a_prefix_with_a_colon_is_refused_since_import_ids_split_on_it(tmp_path: Path) -> None:
    policy = tmp_path / "entraform.yaml"
    policy.write_text("version: 1\nids: {scheme: prefixed, prefix: 'a:b'}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "-c", str(policy)])
    assert result.exit_code == 2
    assert "ids.prefix: must be a prefix of 1 to 40 letters" in result.stderr
