"""The provider-free stand-in plans with Terraform at the addresses entraform renders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator import render
from generator.sources import snapshot
from tests.conftest import ROOT
from tests.rendering import Format, build
from tests.standin import run_terraform, stand_in, stand_in_address, stand_in_tree

GOLDEN = ROOT / "tests" / "golden"
FORMATS: tuple[Format, ...] = ("terraform", "yaml")


def _rendered_addresses(output_format: Format) -> set[str]:
    directory = snapshot.loads((GOLDEN / "tenant.json").read_text(encoding="utf-8"))
    result = build(GOLDEN / "entraform.yaml", directory, Path("/nonexistent"), output_format)
    at = render.named(output_format).addresses(result.labels)
    return {address for _, address in at.of(result.outcome.state)}


@pytest.mark.integration
def test_the_golden_outputs_plan_at_the_rendered_addresses(tmp_path: Path, terraform: str) -> None:
    # Both formats side by side: one tree, one root module per folder.
    tree = tmp_path / "rendered"
    for output_format in FORMATS:
        shutil.copytree(GOLDEN / output_format, tree / "org" / output_format)
    roots = stand_in_tree(tree, tmp_path / "stand-in")
    assert roots == [tmp_path / "stand-in" / "org" / f for f in FORMATS]
    for output_format, root in zip(FORMATS, roots, strict=True):
        run_terraform(terraform, root, "init", "-input=false")
        run_terraform(terraform, root, "validate")
        run_terraform(terraform, root, "plan", "-refresh=false", "-input=false", "-out", "p.plan")
        plan = json.loads(run_terraform(terraform, root, "show", "-json", "p.plan"))
        changes = plan["resource_changes"]
        assert {tuple(c["change"]["actions"]) for c in changes} == {("create",)}
        planned = {c["address"] for c in changes}
        expected = {stand_in_address(a) for a in _rendered_addresses(output_format)}
        assert planned == expected, output_format
        # Each instance carries its arguments, references resolved to known values.
        members = [c for c in changes if c["type"] == "terraform_data" and "member__" in c["name"]]
        assert members
        for change in members:
            value = change["change"]["after"]["input"]
            assert {"user_id", "user_email", "role"} <= value.keys()
            assert value.get("team_id") or value.get("organization_id")


def test_the_yaml_route_reads_its_data_files_beside_main_tf(tmp_path: Path) -> None:
    roots = stand_in_tree(GOLDEN / "yaml", tmp_path)
    assert roots == [tmp_path]
    names = {p.name for p in tmp_path.iterdir()}
    assert {"main.tf", "teams.yaml", "team_members.yaml", "entraform-manifest.json"} <= names
    main = (tmp_path / "main.tf").read_text(encoding="utf-8")
    assert "litellm" not in main.replace("LITELLM", "")
    assert 'yamldecode(file("${path.module}/teams.yaml"))' in main


def test_a_second_conversion_replaces_the_stand_in_files(tmp_path: Path) -> None:
    rendered = tmp_path / "rendered"
    shutil.copytree(GOLDEN / "terraform", rendered)
    target = tmp_path / "stand-in"
    stand_in_tree(rendered, target)
    (target / ".terraform").mkdir()
    (rendered / "teams.tf").unlink()
    stand_in_tree(rendered, target)
    assert not (target / "teams.tf").exists()
    assert (target / ".terraform").is_dir()


SAMPLE = """\
terraform {
  required_providers {
    litellm = { source = "ncecere/litellm" }
  }
}

# Configured from the environment.
provider "litellm" {}

resource "litellm_team" "a" {
  team_id    = "t-1"
  team_alias = "braces { in # a string $${not} %%{ a template }"
  provider   = litellm
  models     = null
  # a comment with a { brace
  settings {
    level = 1
  }
}

resource "litellm_team_member" "a" {
  for_each = { "u-1" = { role = "user" } }

  team_id = litellm_team.a.team_id
  user_id = each.key
  role    = each.value.role
  marker  = litellm_team.a.id
}

import {
  to = litellm_team.a
  id = "t-1"
}

moved {
  from = litellm_team_member.old["u-1"]
  to   = litellm_team_member.a["u-1"]
}

removed {
  from = litellm_team.gone
  lifecycle {
    destroy = false
  }
}
"""


def test_a_resource_becomes_terraform_data_with_its_arguments_as_input() -> None:
    text = stand_in(SAMPLE)
    assert "provider" not in text
    assert "required_providers" not in text
    assert "to = terraform_data.team__a\n" in text
    assert 'resource "terraform_data" "team__a" {' in text
    assert 'team_alias = "braces { in # a string $${not} %%{ a template }"' in text
    assert "  settings = {\n      level = 1\n    }" in text
    assert "team_id = terraform_data.team__a.input.team_id" in text
    assert "marker  = terraform_data.team__a.id" in text
    assert 'from = terraform_data.team_member__old["u-1"]' in text
    assert "from = terraform_data.team__gone\n" in text
    assert "a comment" not in text


@pytest.mark.integration
def test_the_sample_stand_in_validates(tmp_path: Path, terraform: str) -> None:
    (tmp_path / "main.tf").write_text(stand_in(SAMPLE), encoding="utf-8")
    run_terraform(terraform, tmp_path, "init", "-input=false")
    run_terraform(terraform, tmp_path, "validate")
    run_terraform(terraform, tmp_path, "plan", "-refresh=false", "-input=false", "-out", "p.plan")
    plan = json.loads(run_terraform(terraform, tmp_path, "show", "-json", "p.plan"))
    after = {c["address"]: c["change"]["after"] for c in plan["resource_changes"]}
    # Null arguments are left out, so an absent and a null argument give the same input.
    assert after["terraform_data.team__a"]["input"] == {
        "team_id": "t-1",
        "team_alias": "braces { in # a string ${not} %{ a template }",
        "settings": {"level": 1},
    }
    assert after['terraform_data.team_member__a["u-1"]']["input"]["team_id"] == "t-1"


@pytest.mark.parametrize(
    ("rendered", "expected"),
    [
        ("litellm_team.x", "terraform_data.team__x"),
        ('litellm_team_member.x__0a["k/u"]', 'terraform_data.team_member__x__0a["k/u"]'),
        (
            "litellm_organization.this[each.value.organization_id].organization_id",
            "terraform_data.organization__this[each.value.organization_id].input.organization_id",
        ),
    ],
)
def test_addresses_map_to_the_stand_in(rendered: str, expected: str) -> None:
    assert stand_in_address(rendered) == expected
