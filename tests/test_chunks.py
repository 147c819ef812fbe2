"""Large membership maps are split into chunks by key hash: bounded maps, stable addresses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from generator import hcl
from generator.errors import OutputError
from generator.render import legacy
from generator.render.addresses import chunk
from generator.workspace import folder
from generator.workspace.labels import CHUNK, chunk_level
from tests import hclparse
from tests.console import evaluate
from tests.hostile import CORPUS, random_strings
from tests.rendering import Format, build, generate
from tests.standin import planned, run_terraform, stand_in_tree
from tests.tenants import directory, group, tenant, user

GOLDEN = Path(__file__).resolve().parent / "golden"
POLICY = GOLDEN / "entraform.yaml"
TEAM = "Data"
MEMBER_HEADER = re.compile(r'^resource "litellm_team_member" "([\w-]+)" \{$', re.MULTILINE)


def _tenant(size: int) -> dict[str, Any]:
    """One standalone team of `size` people, plus a small one that never splits."""
    people = [f"p{n}" for n in range(size)]
    groups = [group(TEAM, tuple(people)), group("line team", ("p0", "p1"))]
    return tenant(groups, [user(p) for p in people])


def _member_blocks(text: str) -> dict[str, dict[str, Any]]:
    """Membership resource label → the keys of its `for_each` map, as HCL reads them."""
    return {
        label: {hclparse.literal(k): v for k, v in arguments["for_each"].items()}
        for (kind, label), arguments in hclparse.resources(text).items()
        if kind == "litellm_team_member"
    }


@pytest.mark.parametrize(
    ("size", "previous", "level"),
    [
        (0, None, 0),
        (CHUNK, None, 0),
        (CHUNK + 1, None, 1),
        (CHUNK * 16, None, 1),
        (CHUNK * 16 + 1, None, 2),
        (10_000, None, 2),
        (2 * CHUNK, 0, 0),  # kept: within twice the level's range
        (2 * CHUNK + 1, 0, 1),
        (CHUNK // 2 + 1, 1, 1),  # kept: not yet halved below the range
        (CHUNK // 2, 1, 0),
        (CHUNK * 16 * 2, 1, 1),
        (CHUNK * 16 * 2 + 1, 1, 2),
        (CHUNK * 16 // 2, 2, 1),
    ],
)
def test_a_map_changes_level_only_when_it_doubles_past_or_halves_below_its_range(
    size: int, previous: int | None, level: int
) -> None:
    assert chunk_level(size, previous) == level


@pytest.mark.integration
def test_the_chunk_of_a_key_is_what_terraforms_sha1_gives_for_hostile_keys(
    terraform: str, tmp_path: Path
) -> None:
    keys = [k for k in (*CORPUS, *random_strings(200, seed=7)) if k]
    listed = ",\n".join(hcl.quote(k) for k in keys)
    (tmp_path / "keys.tf").write_text(f"locals {{\n  keys = [\n{listed}\n  ]\n}}\n", "utf-8")
    found = evaluate(terraform, tmp_path, "[for k in local.keys : substr(sha1(k), 0, 3)]")
    assert found == [chunk(k, 3) for k in keys]


def test_a_team_past_the_chunk_size_renders_every_chunk_with_its_own_keys(tmp_path: Path) -> None:
    result = build(POLICY, directory(_tenant(300)), tmp_path)
    blocks = _member_blocks(result.files["teams.tf"])
    split = {label: keys for label, keys in blocks.items() if "__" in label}
    assert len(split) == 16  # every chunk, empty or not: a new member changes one line
    assert sum(len(keys) for keys in split.values()) == 300
    for label, keys in split.items():
        assert all(chunk(key, 1) == label.rpartition("__")[2] for key in keys)
    assert max(len(keys) for keys in split.values()) < 2 * CHUNK


def test_a_member_joining_a_split_team_changes_one_line(tmp_path: Path) -> None:
    generate(POLICY, directory(_tenant(300)), tmp_path)
    before = (tmp_path / "teams.tf").read_text(encoding="utf-8").splitlines()
    after = build(POLICY, directory(_tenant(301)), tmp_path).files["teams.tf"].splitlines()
    assert len(after) == len(before) + 1
    assert not set(before) - set(after)


@pytest.mark.parametrize("output_format", ["terraform", "yaml"])
def test_the_output_reads_back_as_the_same_members_once_split(
    tmp_path: Path, output_format: Format
) -> None:
    result = generate(POLICY, directory(_tenant(300)), tmp_path, output_format)
    assert folder.read(tmp_path, legacy.read).state == result.outcome.state
    again = build(POLICY, directory(_tenant(300)), tmp_path, output_format)
    assert not again.file_changes
    assert not again.moves


def test_growing_past_the_chunk_size_moves_every_kept_member(tmp_path: Path) -> None:
    generate(POLICY, directory(_tenant(CHUNK)), tmp_path)
    result = build(POLICY, directory(_tenant(3 * CHUNK)), tmp_path)
    moved = [m for m in result.moves if m.kind == "team member"]
    assert len(moved) == CHUNK
    label = result.labels.teams[group(TEAM)["id"]]
    for move in moved:
        key = move.source.partition("[")[2]
        name = chunk(hcl.unquote(key[:-1]), 1)
        assert move.source == f"litellm_team_member.{label}[{key}"
        assert move.target == f"litellm_team_member.{label}__{name}[{key}"
    assert "moved {" in result.files["moved.tf"]


def _locals_only(main_tf: str) -> str:
    """The YAML route's `locals` block: what Terraform evaluates without a provider."""
    start = main_tf.index("locals {")
    return main_tf[start : main_tf.index("\n}\n", start) + 3]


@pytest.mark.integration
def test_the_yaml_route_splits_memberships_the_way_its_keys_hash_inrun_terraform(
    terraform: str, tmp_path: Path
) -> None:
    out, folder = tmp_path / "out", tmp_path / "console"
    result = generate(POLICY, directory(_tenant(300)), out, "yaml")
    main_tf = result.files["main.tf"]
    labels = MEMBER_HEADER.findall(main_tf)
    assert labels == [f"this__{n:x}" for n in range(16)]
    folder.mkdir()
    for name in ("organizations", "teams", "organization_members", "team_members"):
        (folder / f"{name}.yaml").write_text(result.files[f"{name}.yaml"], "utf-8")
    (folder / "locals.tf").write_text(_locals_only(main_tf), "utf-8")
    found = evaluate(terraform, folder, "local.team_member_chunks")
    expected: dict[str, list[str]] = {}
    for team in result.outcome.state.teams:
        for m in team.members:
            expected.setdefault(chunk(m.key, 1), []).append(f"{team.id}/{m.key}")
    assert {c: sorted(keys) for c, keys in found.items()} == {
        c: sorted(keys) for c, keys in expected.items()
    }


def _plan_actions(terraform: str, rendered: Path, stand: Path) -> dict[str, tuple[list[str], str]]:
    """Planned actions and previous address by address, from the stand-in of `rendered`."""
    (root,) = stand_in_tree(rendered, stand)
    return {
        c["address"]: (c["change"]["actions"], c.get("previous_address", ""))
        for c in planned(terraform, root)
    }


@pytest.mark.integration
@pytest.mark.parametrize("output_format", ["terraform", "yaml"])
def test_terraform_moves_members_when_a_map_splits_and_joins_again_destroying_none(
    tmp_path: Path, terraform: str, output_format: Format
) -> None:
    out, stand = tmp_path / "out", tmp_path / "stand"
    generate(POLICY, directory(_tenant(40)), out, output_format)
    (root,) = stand_in_tree(out, stand)
    run_terraform(terraform, root, "init", "-input=false")
    run_terraform(terraform, root, "apply", "-auto-approve", "-input=false")

    grown = generate(POLICY, directory(_tenant(3 * CHUNK)), out, output_format)
    assert grown.moves
    actions = _plan_actions(terraform, out, stand)
    moved = {a for a, (acts, was) in actions.items() if was and acts == ["no-op"]}
    assert (
        len(moved)
        == len([m for m in grown.moves if m.kind.endswith("member")])
        == 40 + 2 * (output_format == "yaml")
    )
    assert not [a for a, (acts, _) in actions.items() if "delete" in acts]
    run_terraform(terraform, root, "apply", "-auto-approve", "-input=false")

    # moved.tf is still there (nobody deleted it): its blocks must not fight the way back.
    shrunk = generate(POLICY, directory(_tenant(10)), out, output_format)
    assert shrunk.moves
    actions = _plan_actions(terraform, out, stand)
    back = {a for a, (acts, was) in actions.items() if was and acts == ["no-op"]}
    assert len(back) == 10 + 2 * (output_format == "yaml")
    gone = {a for a, (acts, _) in actions.items() if acts == ["delete"]}
    assert len(gone) == 3 * CHUNK - 10  # the people who left, and only they


@pytest.mark.integration
def test_moved_blocks_whose_source_is_declared_again_are_dropped_when_no_new_move_comes(
    tmp_path: Path, terraform: str
) -> None:
    out, stand = tmp_path / "out", tmp_path / "stand"
    generate(POLICY, directory(_tenant(40)), out)
    (root,) = stand_in_tree(out, stand)
    run_terraform(terraform, root, "init", "-input=false")
    run_terraform(terraform, root, "apply", "-auto-approve", "-input=false")
    assert generate(POLICY, directory(_tenant(3 * CHUNK)), out).moves  # split, not applied
    gone = _tenant(40)
    gone["groups"] = [g for g in gone["groups"] if g["displayName"] != TEAM]
    generate(POLICY, directory(gone), out)
    back = generate(POLICY, directory(_tenant(40)), out)  # the same label, unsplit again
    assert not back.moves
    actions = _plan_actions(terraform, out, stand)
    assert {tuple(acts) for acts, _ in actions.values()} == {("no-op",)}
    assert not (out / "moved.tf").exists()


def test_a_moved_block_changed_by_hand_stops_the_run_naming_its_file(tmp_path: Path) -> None:
    generate(POLICY, directory(_tenant(40)), tmp_path)
    generate(POLICY, directory(_tenant(3 * CHUNK)), tmp_path)
    moved = tmp_path / "moved.tf"
    text = moved.read_text(encoding="utf-8")
    moved.write_text(text.replace("moved {\n", "moved {\n  # reviewed\n", 1), "utf-8")
    build(POLICY, directory(_tenant(10)), tmp_path)  # a comment changes nothing Terraform reads
    target = re.search(r"to   = (\S+)", text)
    assert target is not None
    moved.write_text(text.replace(target[1], target[1].replace("__", "__x"), 1), "utf-8")
    with pytest.raises(OutputError, match=re.escape(f"{moved}: entraform recognises 39 of its 40")):
        build(POLICY, directory(_tenant(10)), tmp_path)
