"""The per-organization layout: a root module per organization, changes that cross roots, migration.

Terraform is the judge wherever state is involved: rendered roots become provider-free stand-ins
(tests/standin.py), the earlier output is applied to local state, and the later output is planned
against it; nothing may be destroyed where the policy did not remove anything.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.errors import OutputError, Refused
from generator.render import legacy
from generator.workspace import roots, writes
from generator.workspace.folder import read as read_folder
from tests.rendering import Layout, build, generate, read_tree
from tests.standin import planned, run_terraform, stand_in_tree
from tests.tenants import directory, group, tenant, user, write

POLICY = """\
version: 1
litellm: {enterprise: true}
organizations:
  - rule: units
    select: {prefix: "Org-"}
teams:
  - rule: nested
    select: {prefix: "Team-"}
    organization: nested
  - rule: loose
    select: {prefix: "Loose-"}
safety: {max_removed: 1000, max_removed_percent: 100, organizations_removed: delete}
"""
PEOPLE = [f"p{n}" for n in range(12)]


def _tenant(*, data_in: str = "Org-A", with_b: bool = True) -> dict[str, Any]:
    """Two organizations nesting teams, one standalone team; `data_in` places Team-Data."""
    nested = {"Org-A": ["Team-Web"], "Org-B": ["Team-Ops"]}
    nested[data_in].append("Team-Data")
    groups = [
        group("Org-A", ("p0", "p1"), groups=tuple(nested["Org-A"])),
        group("Team-Web", ("p2", "p3")),
        group("Team-Ops", ("p4", "p5")),
        group("Team-Data", ("p6", "p7", "p8")),
        group("Loose-Lab", ("p9", "p10")),
    ]
    if with_b:
        groups.append(group("Org-B", ("p11",), groups=tuple(nested["Org-B"])))
    else:
        groups = [g for g in groups if g["displayName"] != "Team-Ops"]
    return tenant(groups, [user(p) for p in PEOPLE])


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "entraform.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def _apply(terraform: str, rendered: Path, stand: Path) -> None:
    for root in stand_in_tree(rendered, stand):
        run_terraform(terraform, root, "init", "-input=false")
        run_terraform(terraform, root, "apply", "-auto-approve", "-input=false")


def _plan(terraform: str, root: Path) -> dict[str, list[str]]:
    """Planned actions by address (imports as 'import'), for one stand-in root."""
    actions: dict[str, list[str]] = {}
    for change in planned(terraform, root):
        found = list(change["change"]["actions"])
        if change["change"].get("importing"):
            found.append("import")
        actions[change["address"]] = found
    return actions


def test_each_organization_gets_its_own_root_and_standalone_teams_one_more(
    tmp_path: Path, policy: Path
) -> None:
    generate(policy, directory(_tenant()), tmp_path / "out", layout="per-organization")
    tree = read_tree(tmp_path / "out")
    folders = sorted({roots.root_of(name) for name in tree} - {""})
    assert folders[-1] == "teams"
    assert [f for f in folders if f.startswith("org_")] == folders[:-1] and len(folders) == 3
    for folder in folders:
        assert f"{folder}/versions.tf" in tree
    assert 'resource "litellm_team" ' in tree["teams/teams.tf"]
    assert [name for name in tree if "/" not in name] == ["entraform-manifest.json"]


def test_the_report_names_only_the_roots_a_change_touches(tmp_path: Path, policy: Path) -> None:
    out = tmp_path / "out"
    generate(policy, directory(_tenant()), out, layout="per-organization")
    data = _tenant()
    data["groups"][2]["members"].pop()  # someone leaves Team-Ops, in Org-B
    result = build(policy, directory(data), out, layout="per-organization")
    org_b = roots.organization_root(result.labels.organizations[group("Org-B")["id"]])
    assert result.changed_roots == [org_b]


def test_a_layout_switch_is_refused_with_the_way_to_migrate(tmp_path: Path, policy: Path) -> None:
    out = tmp_path / "out"
    generate(policy, directory(_tenant()), out)
    before = read_tree(out)
    snapshot = write(tmp_path / "tenant.json", _tenant())
    args = ["generate", "-c", str(policy), "--snapshot", str(snapshot), "-o", str(out)]
    result = CliRunner().invoke(cli, [*args, "--layout", "per-organization"])
    assert result.exit_code == 4
    assert "--migrate-layout" in result.stderr
    assert read_tree(out) == before


def test_the_yaml_route_has_no_per_organization_layout(tmp_path: Path, policy: Path) -> None:
    with pytest.raises(Refused, match="per-organization needs format terraform") as caught:
        build(policy, directory(_tenant()), tmp_path, "yaml", "per-organization")
    assert caught.value.exit_code == 2


def test_a_layout_migration_waits_for_pending_moved_blocks(tmp_path: Path, policy: Path) -> None:
    out = tmp_path / "out"
    generate(policy, directory(_tenant()), out, "yaml")
    generate(policy, directory(_tenant()), out)  # writes moved.tf
    report = build(
        policy, directory(_tenant()), out, layout="per-organization", migrate_layout=True
    )
    with pytest.raises(Refused, match=r"still holds moved\.tf\. Nothing was written\. Apply them"):
        report.finish()


@pytest.mark.integration
@pytest.mark.parametrize(
    ("first", "second"), [("single", "per-organization"), ("per-organization", "single")]
)
def test_a_layout_migration_imports_everything_and_destroys_nothing(
    tmp_path: Path, policy: Path, terraform: str, first: Layout, second: Layout
) -> None:
    out, stand = tmp_path / "out", tmp_path / "stand"
    generate(policy, directory(_tenant()), out, layout=first)
    _apply(terraform, out, stand)
    applied = _instances(terraform, stand)
    result = generate(policy, directory(_tenant()), out, layout=second, migrate_layout=True)
    assert result.relaid_from == first
    recorded = read_folder(out, legacy.read).manifest
    assert recorded is not None
    assert recorded.layout == second
    stand_in_tree(out, stand)
    imported: set[str] = set()
    for root in _roots(out):
        actions = _plan(terraform, stand / root)
        assert not [a for a, acts in actions.items() if "delete" in acts or "create" in acts]
        imported |= {a for a, acts in actions.items() if "import" in acts}
    assert imported == applied
    assert _forgotten(terraform, stand, first) == {a.split("[")[0] for a in applied}


@pytest.mark.integration
def test_a_team_changing_organization_is_imported_there_and_forgotten_here(
    tmp_path: Path, policy: Path, terraform: str
) -> None:
    out, stand = tmp_path / "out", tmp_path / "stand"
    generate(policy, directory(_tenant()), out, layout="per-organization")
    _apply(terraform, out, stand)
    result = generate(policy, directory(_tenant(data_in="Org-B")), out, layout="per-organization")
    labels = result.labels
    team = labels.teams[group("Team-Data")["id"]]
    org_a = roots.organization_root(labels.organizations[group("Org-A")["id"]])
    org_b = roots.organization_root(labels.organizations[group("Org-B")["id"]])
    assert sorted(result.changed_roots) == sorted([org_a, org_b])
    assert [
        (k, was, now)
        for k, _, was, now in ((t.kind, t.id, t.source, t.target) for t in result.transfers)
    ] == [("team", org_a, org_b)]
    stand_in_tree(out, stand)
    old, new = _plan(terraform, stand / org_a), _plan(terraform, stand / org_b)
    # Org-A loses the people it had through Team-Data (transitive membership); the team stays.
    assert not [a for a, acts in old.items() if "delete" in acts and "team" in a.split("__")[0]]
    moved = {a for a, acts in new.items() if "import" in acts}
    assert f"terraform_data.team__{team}" in moved
    assert len(moved) == 1 + 3  # the team and its three members
    # Org-B gains them as organization members: created; the team and its members are imported.
    assert not [a for a, acts in new.items() if "create" in acts and "team" in a.split("__")[0]]


@pytest.mark.integration
def test_a_deleted_organization_keeps_its_root_until_apply_has_emptied_it(
    tmp_path: Path, policy: Path, terraform: str
) -> None:
    out, stand = tmp_path / "out", tmp_path / "stand"
    first = generate(policy, directory(_tenant()), out, layout="per-organization")
    _apply(terraform, out, stand)
    org_b = roots.organization_root(first.labels.organizations[group("Org-B")["id"]])
    generate(policy, directory(_tenant(with_b=False)), out, layout="per-organization")
    assert sorted(p.name for p in (out / org_b).iterdir()) == ["versions.tf"]
    stand_in_tree(out, stand)
    actions = _plan(terraform, stand / org_b)
    assert actions and all(acts == ["delete"] for acts in actions.values())


def test_a_root_folder_on_a_file_system_of_its_own_is_written(
    tmp_path: Path, policy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renamed = os.replace

    def within_one_file_system(source: Any, target: Any) -> None:
        # As if every folder were a mount of its own: a rename cannot leave its folder.
        if Path(source).parent != Path(target).parent:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(source))
        renamed(source, target)

    monkeypatch.setattr(os, "replace", within_one_file_system)
    out = tmp_path / "out"
    result = generate(policy, directory(_tenant()), out, layout="per-organization")
    assert read_tree(out) == result.files


def test_a_failed_first_write_leaves_none_of_the_folders_it_created(
    tmp_path: Path, policy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = writes._stage
    calls: list[Path] = []

    def failing(folder: Path, text: str) -> Path:
        calls.append(folder)
        if len(calls) == 3:  # the manifest and a root's first file are staged already
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return staged(folder, text)

    monkeypatch.setattr(writes, "_stage", failing)
    out = tmp_path / "new" / "out"
    with pytest.raises(OutputError, match="nothing was changed"):
        generate(policy, directory(_tenant()), out, layout="per-organization")
    assert not (tmp_path / "new").exists()


def _kept_destroyed(terraform: str, out: Path, stand: Path) -> dict[str, list[str]]:
    """Plan every root (each plan must succeed); teams and team members planned for deletion."""
    stand_in_tree(out, stand)
    found: dict[str, list[str]] = {}
    for root in _roots(out):
        actions = _plan(terraform, stand / root)
        found[root] = [a for a, acts in actions.items() if "delete" in acts and "team" in a]
    return found


@pytest.mark.integration
def test_a_team_moved_back_after_its_transfer_was_applied_plans_in_every_root_destroying_none(
    tmp_path: Path, policy: Path, terraform: str
) -> None:
    out, stand = tmp_path / "out", tmp_path / "stand"
    generate(policy, directory(_tenant()), out, layout="per-organization")
    _apply(terraform, out, stand)
    generate(policy, directory(_tenant(data_in="Org-B")), out, layout="per-organization")
    _apply(terraform, out, stand)  # transfers.tf stays: nobody deleted it after this apply
    generate(policy, directory(_tenant()), out, layout="per-organization")
    destroyed = _kept_destroyed(terraform, out, stand)
    assert set(destroyed) == set(_roots(out)) and not any(destroyed.values())


@pytest.mark.integration
def test_a_member_leaving_a_transferred_team_before_apply_leaves_every_root_plannable(
    tmp_path: Path, policy: Path, terraform: str
) -> None:
    out, stand = tmp_path / "out", tmp_path / "stand"
    generate(policy, directory(_tenant()), out, layout="per-organization")
    _apply(terraform, out, stand)
    moved = _tenant(data_in="Org-B")
    result = generate(policy, directory(moved), out, layout="per-organization")
    team = result.labels.teams[group("Team-Data")["id"]]
    org_b = roots.organization_root(result.labels.organizations[group("Org-B")["id"]])
    moved["groups"][3]["members"].pop()  # p8 leaves Team-Data before anyone applied
    generate(policy, directory(moved), out, layout="per-organization")
    assert not any(_kept_destroyed(terraform, out, stand).values())
    imported = {a for a, acts in _plan(terraform, stand / org_b).items() if "import" in acts}
    assert f"terraform_data.team__{team}" in imported
    assert len(imported) == 1 + 2  # the team and the two members it still has


def test_a_transfers_file_none_of_whose_imports_the_root_declares_any_more_is_deleted(
    tmp_path: Path, policy: Path
) -> None:
    out = tmp_path / "out"
    generate(policy, directory(_tenant()), out, layout="per-organization")
    result = generate(policy, directory(_tenant(data_in="Org-B")), out, layout="per-organization")
    org_b = roots.organization_root(result.labels.organizations[group("Org-B")["id"]])
    assert (out / org_b / "transfers.tf").is_file()
    generate(policy, directory(_tenant()), out, layout="per-organization")
    assert not (out / org_b / "transfers.tf").exists()


def test_an_import_block_changed_by_hand_stops_the_run_naming_its_file(
    tmp_path: Path, policy: Path
) -> None:
    out = tmp_path / "out"
    generate(policy, directory(_tenant()), out, layout="per-organization")
    result = generate(policy, directory(_tenant(data_in="Org-B")), out, layout="per-organization")
    org_b = roots.organization_root(result.labels.organizations[group("Org-B")["id"]])
    transfers = out / org_b / "transfers.tf"
    text = transfers.read_text(encoding="utf-8")
    # A comment inside a block changes nothing Terraform reads; another address does.
    text = text.replace("import {\n", "import {\n  # reviewed\n", 1)
    transfers.write_text(text.replace("to = litellm_team.", "to = litellm_team.x", 1), "utf-8")
    before = read_tree(out)
    data = _tenant(data_in="Org-B")
    data["groups"][3]["members"].pop()  # one import less: the file would be written again
    snapshot = write(tmp_path / "tenant.json", data)
    args = ["generate", "-c", str(policy), "--snapshot", str(snapshot), "-o", str(out)]
    run = CliRunner().invoke(cli, [*args, "--layout", "per-organization"])
    assert run.exit_code == 3
    assert f"{transfers}: entraform recognises 3 of its 4 `import` blocks" in run.stderr
    assert read_tree(out) == before


def _roots(out: Path) -> list[str]:
    return sorted({roots.root_of(name) for name in read_tree(out) if name.endswith(".tf")})


def _instances(terraform: str, stand: Path) -> set[str]:
    found: set[str] = set()
    for root in sorted({p.parent for p in stand.rglob("terraform.tfstate")}):
        state = json.loads(run_terraform(terraform, root, "show", "-json"))
        found |= {r["address"] for r in state["values"]["root_module"]["resources"]}
    return found


def _forgotten(terraform: str, stand: Path, first: Layout) -> set[str]:
    """Resource addresses the old roots' `removed` blocks forget."""
    old = [stand] if first == "single" else [p for p in stand.iterdir() if p.is_dir()]
    found: set[str] = set()
    for root in old:
        if (root / "removed.tf").exists():
            text = (root / "removed.tf").read_text(encoding="utf-8")
            found |= {line.split("=")[1].strip() for line in text.splitlines() if "from =" in line}
    return found


def test_removed_blocks_of_a_layout_migration_say_the_objects_moved_and_keep_saying_it(
    tmp_path: Path, policy: Path
) -> None:
    out = tmp_path / "out"
    generate(policy, directory(_tenant()), out, layout="single")
    generate(policy, directory(_tenant()), out, layout="per-organization", migrate_layout=True)
    text = (out / "removed.tf").read_text(encoding="utf-8")
    assert "# Objects moved to another root module, which imports them" in text
    assert "no longer selected" not in text
    again = generate(policy, directory(_tenant()), out, layout="per-organization")
    assert again.file_changes == ()
    recorded = read_folder(out, legacy.read).manifest
    assert recorded is not None and all(t.moved for t in recorded.labels.tombstones)
