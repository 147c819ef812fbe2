"""Managed users live in maps split like memberships: plans stay linear, and leavers still go.

Terraform plans a resource per user in time that grows faster than their number, so users are
`for_each` maps split by a hash of the key. Membership maps wait for the user maps their
members are in (`depends_on`), and a `removed` block, which cannot name one instance, forgets a
user after a `moved` block has given them a resource of their own.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from generator.errors import OutputError
from generator.render.addresses import chunk
from generator.workspace import manifest
from generator.workspace.labels import CHUNK, Forgotten
from tests import hclparse
from tests.conftest import ROOT
from tests.example_ids import NESTOR
from tests.rendering import Format, build, generate
from tests.standin import run_terraform, stand_in_tree
from tests.tenants import directory, group, oid, tenant, user

POLICY = """\
version: 1
litellm: {{enterprise: true}}
teams:
  - rule: teams
    select: {{prefix: "Team-"}}
users: {{manage: true, removed: {removed}}}
safety: {{max_removed: 1000, max_removed_percent: 100}}
"""
# More people than one chunk holds, so that the users' map is split.
PEOPLE = [f"p{n}" for n in range(CHUNK + 36)]
LEAVER = "p7"
LEGACY = Path(__file__).resolve().parent / "legacy" / "chunked-terraform"


def _tenant(people: list[str]) -> dict[str, Any]:
    """Everyone in one team; the first ten of everyone in a second team too."""
    few = tuple(p for p in PEOPLE[:10] if p in people)
    groups = [group("Team-All", tuple(people)), group("Team-Few", few)]
    return tenant(groups, [user(p) for p in PEOPLE])


def _policy(tmp_path: Path, removed: str = "delete") -> Path:
    path = tmp_path / "entraform.yaml"
    path.write_text(POLICY.format(removed=removed), encoding="utf-8")
    return path


def _plan(terraform: str, root: Path) -> dict[str, tuple[tuple[str, ...], str]]:
    """Each planned change of a stand-in root: its actions and its previous address."""
    run_terraform(terraform, root, "plan", "-input=false", "-out", "p.plan")
    plan = json.loads(run_terraform(terraform, root, "show", "-json", "p.plan"))
    return {
        c["address"]: (tuple(c["change"]["actions"]), c.get("previous_address", ""))
        for c in plan.get("resource_changes", [])
    }


def _changed(plan: dict[str, tuple[tuple[str, ...], str]]) -> dict[str, tuple[str, ...]]:
    return {a: acts for a, (acts, _) in plan.items() if acts != ("no-op",)}


def _applied(terraform: str, out: Path, stand: Path) -> Path:
    """The stand-in of `out`, over the state applied so far, applied."""
    (root,) = stand_in_tree(out, stand)
    run_terraform(terraform, root, "init", "-input=false")
    run_terraform(terraform, root, "apply", "-auto-approve", "-input=false")
    return root


def _restaged(out: Path, stand: Path) -> Path:
    """The stand-in of `out` over the state applied so far, not applied."""
    (root,) = stand_in_tree(out, stand)
    return root


def test_each_membership_map_waits_for_exactly_the_user_maps_of_its_members(
    tmp_path: Path,
) -> None:
    result = generate(_policy(tmp_path), directory(_tenant(PEOPLE)), tmp_path / "out")
    tf = (text for name, text in result.files.items() if name.endswith(".tf"))
    resources = hclparse.resources("\n".join(tf))
    users = {
        label: {hclparse.literal(k) for k in arguments["for_each"]}
        for (kind, label), arguments in resources.items()
        if kind == "litellm_user"
    }
    assert len(users) == 16 and set().union(*users.values()) == {oid(f"user/{p}") for p in PEOPLE}
    for label, keys in users.items():
        assert {f"users__{chunk(k, 1)}" for k in keys} <= {label}
    members = {label: a for (kind, label), a in resources.items() if kind.endswith("_member")}
    assert members
    for arguments in members.values():
        keys = {hclparse.literal(k) for k in arguments["for_each"]}
        waits = {hclparse.reference(d) for d in arguments.get("depends_on", [])}
        assert waits == {f"litellm_user.{label}" for label, held in users.items() if keys & held}


@pytest.mark.integration
def test_a_leaver_is_deleted_with_their_memberships_which_go_first(
    tmp_path: Path, terraform: str
) -> None:
    policy, out, stand = _policy(tmp_path), tmp_path / "out", tmp_path / "stand"
    generate(policy, directory(_tenant(PEOPLE)), out)
    root = _applied(terraform, out, stand)
    state = json.loads(run_terraform(terraform, root, "show", "-json"))
    instances = state["values"]["root_module"]["resources"]
    leaver = oid(f"user/{LEAVER}")
    theirs = [r for r in instances if r.get("index") == leaver]
    user_map = next(r["address"].partition("[")[0] for r in theirs if "user__" in r["address"])
    for membership in (r for r in theirs if "member__" in r["address"]):
        # Recorded in the state: Terraform destroys the membership before the user.
        assert user_map in membership["depends_on"]

    generate(policy, directory(_tenant([p for p in PEOPLE if p != LEAVER])), out)
    root = _restaged(out, stand)
    changed = _changed(_plan(terraform, root))
    assert changed == {r["address"]: ("delete",) for r in theirs}
    assert len(changed) == 3  # the user and their two memberships
    run_terraform(terraform, root, "apply", "-auto-approve", "-input=false")


@pytest.mark.integration
@pytest.mark.parametrize("output_format", ["terraform", "yaml"])
def test_a_forgotten_user_is_moved_out_of_their_map_forgotten_and_may_come_back(
    tmp_path: Path, terraform: str, output_format: Format
) -> None:
    policy, out, stand = _policy(tmp_path, "forget"), tmp_path / "out", tmp_path / "stand"
    generate(policy, directory(_tenant(PEOPLE)), out, output_format)
    _applied(terraform, out, stand)
    left = directory(_tenant([p for p in PEOPLE if p != LEAVER]))
    result = generate(policy, left, out, output_format)
    removed = result.files["removed.tf"]
    assert "moved {" in removed and "removed {" in removed
    root = _restaged(out, stand)
    plan = _plan(terraform, root)
    changed = _changed(plan)
    forgotten = [a for a, acts in changed.items() if acts == ("forget",)]
    assert len(forgotten) == 1
    assert f'["{oid(f"user/{LEAVER}")}"]' in plan[forgotten[0]][1]  # moved out of its map
    assert sorted(set(changed.values())) == [("delete",), ("forget",)]
    assert len([a for a, acts in changed.items() if acts == ("delete",)]) == 2  # memberships
    run_terraform(terraform, root, "apply", "-auto-approve", "-input=false")

    again = build(policy, left, out, output_format)
    assert not again.file_changes
    assert _changed(_plan(terraform, root)) == {}

    back = generate(policy, directory(_tenant(PEOPLE)), out, output_format)
    assert "moved {" not in back.files.get("removed.tf", "")
    root = _restaged(out, stand)
    assert set(_changed(_plan(terraform, root)).values()) == {("create",)}


def _legacy(tmp_path: Path, terraform: str) -> tuple[Path, dict[str, Any], Path]:
    """A copy of a 0.1.0 folder with a resource per user, applied to its stand-in."""
    folder = tmp_path / "old"
    shutil.copytree(LEGACY, folder)
    data = json.loads((folder / "tenant.json").read_text(encoding="utf-8"))
    _applied(terraform, folder / "out", tmp_path / "stand")
    return folder, data, tmp_path / "stand"


@pytest.mark.integration
def test_users_a_resource_each_move_into_their_maps_and_nothing_else_changes(
    tmp_path: Path, terraform: str
) -> None:
    folder, data, stand = _legacy(tmp_path, terraform)
    out = folder / "out"
    result = generate(folder / "entraform.yaml", directory(data), out, None, None)
    assert len(result.moves) == len(result.outcome.state.users)
    root = _restaged(out, stand)
    plan = _plan(terraform, root)
    assert _changed(plan) == {}
    moved = [a for a, (_, was) in plan.items() if was.startswith("terraform_data.user__")]
    assert len(moved) == len(result.outcome.state.users)


@pytest.mark.integration
def test_a_user_forgotten_before_the_move_into_maps_was_applied_is_still_only_forgotten(
    tmp_path: Path, terraform: str
) -> None:
    folder, data, stand = _legacy(tmp_path, terraform)
    out = folder / "out"
    generate(folder / "entraform.yaml", directory(data), out, None, None)  # moves, not applied
    team = next(g for g in data["groups"] if len(g["members"]) > 1)
    leaver = team["members"][0]["id"]
    for g in data["groups"]:
        g["members"] = [m for m in g["members"] if m["id"] != leaver]
    generate(folder / "entraform.yaml", directory(data), out, None, None)
    root = _restaged(out, stand)
    changed = _changed(_plan(terraform, root))
    assert ("forget",) in changed.values()
    assert [a for a, acts in changed.items() if "delete" in acts and "user__" in a] == []


def test_a_forgotten_user_is_recorded_with_the_instance_it_leaves(tmp_path: Path) -> None:
    policy, out = _policy(tmp_path, "forget"), tmp_path / "out"
    generate(policy, directory(_tenant(PEOPLE)), out)
    generate(policy, directory(_tenant([p for p in PEOPLE if p != LEAVER])), out)
    data = json.loads((out / manifest.NAME).read_text(encoding="utf-8"))
    (address, was), *_ = [f for f in data["forgotten"][""] if isinstance(f, list)]
    assert address.startswith("litellm_user.p7_")
    assert was == f'litellm_user.users__{chunk(oid("user/p7"), 1)}["{oid("user/p7")}"]'


@pytest.mark.parametrize(
    "was",
    [
        'litellm_user.users["x"]\n}\nresource "x" "y" {',
        'litellm_team.users["x"]',
        'litellm_user.users["x"',
        ["x"],
    ],
)
def test_a_hand_edited_instance_of_a_forgotten_user_is_refused(tmp_path: Path, was: object) -> None:
    policy, out = _policy(tmp_path, "forget"), tmp_path / "out"
    generate(policy, directory(_tenant(PEOPLE)), out)
    generate(policy, directory(_tenant([p for p in PEOPLE if p != LEAVER])), out)
    path = out / manifest.NAME
    data = json.loads(path.read_text(encoding="utf-8"))
    data["forgotten"][""] = [
        [f[0], was] if isinstance(f, list) else f for f in data["forgotten"][""]
    ]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(Exception, match="not a manifest entraform wrote"):
        build(policy, directory(_tenant(PEOPLE)), out)


@pytest.mark.parametrize("output_format", ["terraform", "yaml"])
def test_users_maps_are_read_back_from_the_files_when_the_manifest_is_gone(
    tmp_path: Path, output_format: Format
) -> None:
    policy, out = _policy(tmp_path), tmp_path / "out"
    written = generate(policy, directory(_tenant(PEOPLE)), out, output_format)
    (out / manifest.NAME).unlink()
    again = build(policy, directory(_tenant(PEOPLE)), out, output_format)
    assert again.changes.empty
    assert again.previous.users == written.outcome.state.users
    assert [(f.name, f.action) for f in again.file_changes] == [(manifest.NAME, "create")]


def test_a_pending_forget_survives_a_manifest_read_back_from_the_files(tmp_path: Path) -> None:
    policy, out = _policy(tmp_path, "forget"), tmp_path / "out"
    generate(policy, directory(_tenant(PEOPLE)), out)
    left = directory(_tenant([p for p in PEOPLE if p != LEAVER]))
    removed = generate(policy, left, out).files["removed.tf"]
    (out / manifest.NAME).unlink()
    again = build(policy, left, out)
    assert [(f.name, f.action) for f in again.file_changes] == [(manifest.NAME, "create")]
    assert again.files["removed.tf"] == removed and "moved.tf" not in again.files


def test_the_offboarding_page_shows_what_a_leaver_changes(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "offboarding.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```hcl\n(.*?)```", page, re.S)
    golden = ROOT / "tests" / "golden" / "users"
    assert blocks[1].strip() in (golden / "terraform" / "users.tf").read_text(encoding="utf-8")
    policy = tmp_path / "forget.yaml"
    text = (golden / "entraform.yaml").read_text(encoding="utf-8")
    policy.write_text(text.replace("removed: delete ", "removed: forget "), encoding="utf-8")
    data = json.loads((ROOT / "examples" / "tenant.json").read_text(encoding="utf-8"))
    generate(policy, directory(data), tmp_path / "out")
    for g in data["groups"]:
        g["members"] = [m for m in g.get("members") or [] if m["id"] != NESTOR]
    removed = generate(policy, directory(data), tmp_path / "out").files["removed.tf"]
    assert blocks[0] in removed


@pytest.mark.parametrize("output_format", ["terraform", "yaml"])
def test_a_leaver_is_still_forgotten_when_the_manifest_was_read_back_from_the_files(
    tmp_path: Path, output_format: Format
) -> None:
    policy, out = _policy(tmp_path, "forget"), tmp_path / "out"
    generate(policy, directory(_tenant(PEOPLE)), out, output_format)
    (out / manifest.NAME).unlink()
    left = build(policy, directory(_tenant([p for p in PEOPLE if p != LEAVER])), out, output_format)
    leaver = oid(f"user/{LEAVER}")
    assert [(o.id, o.detail) for o in left.changes.objects] == [(leaver, "forgotten")]
    assert f'["{leaver}"]' in left.files["removed.tf"].partition("removed {")[0]


def test_a_moved_block_added_by_hand_beside_a_forgotten_user_is_refused(tmp_path: Path) -> None:
    policy, out = _policy(tmp_path, "forget"), tmp_path / "out"
    generate(policy, directory(_tenant(PEOPLE)), out)
    left = directory(_tenant([p for p in PEOPLE if p != LEAVER]))
    generate(policy, left, out)
    path = out / "removed.tf"
    extra = '\nmoved {\n  from = litellm_user.users__0["x"]\n  to   = litellm_user.x\n}\n'
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    with pytest.raises(OutputError, match=r"recognises 1 of its 2 `moved` blocks"):
        build(policy, left, out)


@pytest.mark.parametrize(
    "recorded",
    [
        ["litellm_team.team_x_1", 'litellm_user.users["k"]'],  # only a user leaves a map
        ["litellm_user.p_1", "litellm_user.p_1"],  # not an instance of a map
        ["litellm_user.p_1", 'litellm_user.users["k"]', "x"],
    ],
)
def test_only_a_user_is_recorded_with_the_instance_it_leaves(recorded: list[str]) -> None:
    with pytest.raises(ValueError, match="not an address entraform forgets"):
        Forgotten.parse(recorded)
