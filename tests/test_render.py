"""Rendering: escaping round-trips through real parsers, determinism, labels, templates."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from generator.render import legacy, templates
from generator.render import yaml as yaml_format
from generator.render.templates import RenderOptions
from generator.state import DesiredState, Membership, Organization, Settings, Team
from generator.workspace import labels as addresses
from generator.workspace import manifest
from generator.workspace.folder import read
from generator.workspace.labels import Labels
from tests import installed
from tests.conftest import ROOT
from tests.console import string_list
from tests.rendering import Format, build, render_files
from tests.tenants import directory

GOLDEN = ROOT / "tests" / "golden"
TENANT = json.loads((GOLDEN / "tenant.json").read_text(encoding="utf-8"))
NAMES = {g["id"]: g["displayName"] for g in TENANT["groups"]}


def _hcl_strings(folder_files: dict[str, str]) -> dict[str, str]:
    """team_alias literal tokens per team id, as a real HCL parser splits them."""
    found: dict[str, str] = {}
    for name, text in folder_files.items():
        if not name.endswith(".tf"):
            continue
        for block in hcl2.load(io.StringIO(text)).get("resource", []):
            team = block.get('"litellm_team"')  # python-hcl2 keeps labels quoted
            if team:
                (body,) = team.values()
                found[json.loads(body["team_id"])] = body["team_alias"]
    return found


@pytest.mark.integration
def test_hostile_names_come_back_as_literal_text_through_terraform(
    terraform: str, tmp_path: Path
) -> None:
    tokens = _hcl_strings(
        render_files(GOLDEN / "entraform.yaml", GOLDEN / "tenant.json", "terraform")
    )
    assert len(tokens) == 9
    ids = sorted(tokens)
    (tmp_path / "values.tf").write_text(
        "locals {\n  values = [" + ", ".join(tokens[i] for i in ids) + "]\n}\n", encoding="utf-8"
    )
    values = string_list(terraform, tmp_path, "local.values")
    assert values == [NAMES[i] for i in ids]


def test_hostile_names_round_trip_through_yaml() -> None:
    files = render_files(GOLDEN / "entraform.yaml", GOLDEN / "tenant.json", "yaml")
    teams = yaml.safe_load(files["teams.yaml"])["teams"]
    assert {i: t["alias"] for i, t in teams.items()} == {i: NAMES[i] for i in teams}
    metadata = {json.dumps(t["metadata"]) for t in teams.values()}
    assert metadata == {json.dumps({"${owner}": "%{ not a template }"})}


@pytest.mark.parametrize("output_format", ["terraform", "yaml"])
def test_every_file_name_stays_inside_the_output_folder(output_format: Format) -> None:
    files = render_files(GOLDEN / "entraform.yaml", GOLDEN / "tenant.json", output_format)
    for name in set(files) - {manifest.NAME}:
        assert Path(name).name == name
        assert name.replace("_", "").replace(".", "").isalnum()


def _shuffled(data: dict[str, Any], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    copy: dict[str, Any] = json.loads(json.dumps(data))
    for key in ("groups", "users"):
        rng.shuffle(copy[key])
    for group in copy["groups"]:
        rng.shuffle(group["members"])
    return copy


@pytest.mark.parametrize("output_format", ["terraform", "yaml"])
def test_shuffled_input_renders_the_same_bytes(output_format: Format, tmp_path: Path) -> None:
    outputs = [
        build(
            GOLDEN / "entraform.yaml", directory(_shuffled(TENANT, seed)), tmp_path, output_format
        ).files
        for seed in range(5)
    ]
    assert all(o == outputs[0] for o in outputs)


@pytest.mark.parametrize("output_format", ["terraform", "yaml"])
def test_the_manifest_reads_back_as_the_same_state_and_labels(
    output_format: Format, tmp_path: Path
) -> None:
    result = build(GOLDEN / "entraform.yaml", directory(TENANT), tmp_path, output_format)
    for name, text in result.files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    back = read(tmp_path, legacy.read)
    assert back.state == result.outcome.state
    assert back.labels == result.labels


def test_labels_are_readable_and_suffixed_by_the_object_id() -> None:
    assert addresses.allocate([("0f1e2d3c-aaaa", "Data Team"), ("9abc", "data-team")], {}) == {
        "0f1e2d3c-aaaa": "data_team_0f1e2d3c",
        "9abc": "data_team_9abc",
    }


def test_labels_do_not_depend_on_other_objects() -> None:
    alone = addresses.allocate([("11111111-x", "Finance")], {})
    crowded = addresses.allocate([("00000000-y", "Finance"), ("11111111-x", "Finance")], {})
    assert crowded["11111111-x"] == alone["11111111-x"]


def test_colliding_id_prefixes_get_longer_suffixes() -> None:
    found = addresses.allocate([("12345678-aa", "X"), ("12345678-bb", "X")], {})
    assert found == {"12345678-aa": "x_12345678", "12345678-bb": "x_12345678b"}


def test_a_label_once_written_is_kept_after_a_rename() -> None:
    assert addresses.allocate([("abc", "New Name")], {"abc": "old_name_abc"}) == {
        "abc": "old_name_abc"
    }


def test_names_without_letters_still_give_valid_labels() -> None:
    found = addresses.allocate([("7f00", "🚀🚀"), ("8f00", "2024 budget")], {})
    assert found == {"7f00": "group_7f00", "8f00": "g_2024_budget_8f00"}


def test_templates_are_found_from_a_checkout() -> None:
    assert templates.templates_dir() == ROOT / "templates"


@pytest.mark.integration
def test_templates_ship_in_the_wheel_and_render_the_same(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    wheel = installed.wheel(tmp_path_factory)
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(site)
    assert "generator/templates/terraform/organization.tf.j2" in names
    assert "generator/policy.schema.json" in names
    assert "generator/sources/snapshot.schema.json" in names
    script = (
        "import json, sys; from pathlib import Path; from generator.render import templates; "
        "from tests.rendering import render_files; "
        "assert templates.templates_dir() == Path(templates.__file__).parent.parent / 'templates'; "
        f"print(json.dumps(render_files(Path({str(GOLDEN / 'entraform.yaml')!r}), "
        f"Path({str(GOLDEN / 'tenant.json')!r}), 'terraform')))"
    )
    # The unpacked wheel comes first on the path; tests/ is importable from the checkout root.
    env_path = f"{site}:{ROOT}"
    run = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert json.loads(run.stdout) == render_files(
        GOLDEN / "entraform.yaml", GOLDEN / "tenant.json", "terraform"
    )


def test_each_roster_of_the_yaml_route_is_headed_by_its_object_s_name() -> None:
    team = Team(
        "t-1",
        "Sales\nEMEA",
        "Sales-EMEA",
        None,
        Settings(),
        (Membership("k", "k", "a@x.test", "user"),),
    )
    org = Organization(
        "o-1", "Org A", "Org-A", Settings(), (Membership("k", "k", "a@x.test", "internal_user"),)
    )
    files = yaml_format.files(
        DesiredState((org,), (team,)), Labels(), RenderOptions("entraform generate")
    )
    assert '  # Team Sales\\nEMEA\n  "t-1":' in files["team_members.yaml"]
    assert '  # Organization Org A\n  "o-1":' in files["organization_members.yaml"]
