"""What a run learns from the output folder: its manifest alone, with hand edits refused."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path
from typing import Any

import hcl2
import pytest

from generator.errors import OutputError
from generator.render import legacy
from generator.workspace import manifest
from generator.workspace.folder import Previous, read
from tests.rendering import Format, build, generate, read_tree
from tests.tenants import directory, group, oid, tenant, user

GOLDEN = Path(__file__).resolve().parent / "golden"
POLICY = GOLDEN / "entraform.yaml"
USERS = [user(f"u{n}") for n in range(30)]


def _tenant(seed: int) -> dict[str, Any]:
    """Two organizations with nested teams and random members; the seed varies the members."""
    rng = random.Random(seed)

    def some() -> tuple[str, ...]:
        return tuple(f"u{n}" for n in rng.sample(range(30), 8))

    groups = [
        group("Org-Hostile", some(), groups=("$Team-A", '"Team-B')),
        group("$Team-A", some()),
        group('"Team-B', some()),
        group("line team", some()),
        group("Data", some()),
    ]
    return tenant(groups, USERS)


def _read(out: Path) -> Previous:
    return read(out, legacy.read)


@pytest.fixture(params=["terraform", "yaml"])
def output_format(request: pytest.FixtureRequest) -> Format:
    return request.param  # type: ignore[no-any-return]


def test_a_hand_edited_file_is_refused_even_when_it_still_reads_well(
    tmp_path: Path, output_format: Format
) -> None:
    generate(POLICY, directory(_tenant(1)), tmp_path, output_format)
    target = next(p for p in tmp_path.iterdir() if p.name.endswith((".yaml", "teams.tf")))
    target.write_text(target.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with pytest.raises(OutputError, match=rf"{target.name}: changed since entraform wrote it"):
        build(POLICY, directory(_tenant(1)), tmp_path, output_format)


def test_a_generated_file_the_manifest_does_not_know_is_refused(tmp_path: Path) -> None:
    generate(POLICY, directory(_tenant(1)), tmp_path)
    shutil.copy(tmp_path / "teams.tf", tmp_path / "copy.tf")
    with pytest.raises(OutputError, match=r"copy\.tf: changed since entraform wrote it"):
        _read(tmp_path)


def test_pruning_the_removed_and_moved_blocks_by_hand_is_allowed(tmp_path: Path) -> None:
    generate(POLICY, directory(_tenant(1)), tmp_path, "yaml")
    generate(POLICY, directory(_tenant(1)), tmp_path, "terraform")
    (tmp_path / "moved.tf").unlink()
    result = build(POLICY, directory(_tenant(1)), tmp_path, "terraform")
    assert not result.file_changes  # the manifest too: it still knows the blocks it wrote
    assert _read(tmp_path).manifest.moves == {}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    ["{}", "[]", "not json", '{"version": 2, "files": {}}', '{"version": 3, "files": {}}'],
    ids=["empty", "a list", "not json", "version 2 without its objects", "a later version"],
)
def test_a_manifest_that_is_not_ours_is_refused(tmp_path: Path, text: str) -> None:
    generate(POLICY, directory(_tenant(1)), tmp_path)
    (tmp_path / manifest.NAME).write_text(text, encoding="utf-8")
    with pytest.raises(OutputError, match="not a manifest entraform wrote"):
        build(POLICY, directory(_tenant(1)), tmp_path)


def test_output_without_a_manifest_is_read_once_and_gets_one(tmp_path: Path) -> None:
    generate(POLICY, directory(_tenant(1)), tmp_path)
    (tmp_path / manifest.NAME).unlink()
    result = build(POLICY, directory(_tenant(2)), tmp_path)
    assert any(m.action == "removed" for m in result.changes.members)
    assert [f.name for f in result.file_changes if f.action == "create"] == [manifest.NAME]


@pytest.mark.parametrize("seed", range(4))
def test_the_manifest_gives_the_changes_an_earlier_release_read_from_the_files(
    tmp_path: Path, output_format: Format, seed: int
) -> None:
    generate(POLICY, directory(_tenant(seed)), tmp_path / "a", output_format)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / manifest.NAME).unlink()  # b is read from its files, a from its manifest
    after = directory(_tenant(seed + 100))
    from_manifest = build(POLICY, after, tmp_path / "a", output_format)
    from_files = build(POLICY, after, tmp_path / "b", output_format)
    assert from_manifest.changes == from_files.changes
    assert from_manifest.refusals == from_files.refusals
    assert from_manifest.changes.members


def test_a_run_parses_none_of_its_own_hcl_or_yaml_back(
    tmp_path: Path, output_format: Format, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate(POLICY, directory(_tenant(1)), tmp_path, output_format)

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("a run parsed its own output")

    monkeypatch.setattr(hcl2, "loads", refused)
    monkeypatch.setattr(legacy, "read", refused)  # the only reader of HCL and YAML output
    result = build(POLICY, directory(_tenant(2)), tmp_path, output_format)
    assert result.changes.members


def test_group_names_come_back_as_they_were_not_as_aliases(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "version: 1\nteams:\n  - {rule: t, select: {prefix: G-}, alias: T}\n", "utf-8"
    )
    generate(policy, directory(tenant([group("G-1", ("u1",))], USERS)), tmp_path / "out")
    (team,) = _read(tmp_path / "out").state.teams
    assert (team.alias, team.group_name) == ("T", "G-1")


def test_a_deleted_output_folder_gives_the_same_labels_back(tmp_path: Path) -> None:
    first = generate(POLICY, directory(_tenant(1)), tmp_path / "out")
    shutil.rmtree(tmp_path / "out")
    again = generate(POLICY, directory(_tenant(1)), tmp_path / "out")
    assert again.labels == first.labels
    assert read_tree(tmp_path / "out") == first.files


def test_guards_weigh_removals_against_everything_there_was(tmp_path: Path) -> None:
    generate(POLICY, directory(_tenant(1)), tmp_path)
    there_was = _read(tmp_path).state
    total = sum(len(o.members) for o in there_was.organizations + there_was.teams)
    data = _tenant(1)
    data["groups"][3]["members"] = []
    result = build(POLICY, directory(data), tmp_path)
    assert [r.reason for r in result.refusals] == [
        f"8 member removals of {total} ({100 * 8 / total:.0f}%) exceed the limit of 10 or 10%",
        f"team 'line team' ({oid('group/line team')}) had 8 members and now has none",
    ]
    assert oid("group/line team") in {t.id for t in result.outcome.state.teams}


def _forget_one_team(tmp_path: Path) -> None:
    policy = tmp_path / "forget.yaml"
    policy.write_text(
        POLICY.read_text(encoding="utf-8") + "safety: {teams_removed: forget, max_removed: 99}\n",
        encoding="utf-8",
    )
    generate(policy, directory(_tenant(1)), tmp_path / "out")
    data = _tenant(1)
    data["groups"] = [g for g in data["groups"] if g["displayName"] != "Data"]
    generate(policy, directory(data), tmp_path / "out")


def test_a_comment_on_a_removed_block_keeps_the_block(tmp_path: Path) -> None:
    _forget_one_team(tmp_path)
    removed = tmp_path / "out" / "removed.tf"
    text = removed.read_text(encoding="utf-8")
    assert "from = litellm_team.data_" in text
    removed.write_text(text.replace("\n  lifecycle", " # applied on Monday\n  lifecycle"), "utf-8")
    tombstones = _read(tmp_path / "out").labels.tombstones
    assert {t.address.split(".")[0] for t in tombstones} == {"litellm_team", "litellm_team_member"}


def test_a_removed_block_deleted_by_hand_is_forgotten_and_the_rest_kept(tmp_path: Path) -> None:
    _forget_one_team(tmp_path)
    removed = tmp_path / "out" / "removed.tf"
    text = removed.read_text(encoding="utf-8")
    start = text.index("removed {")
    removed.write_text(text[:start] + text[text.index("}\n}\n", start) + 4 :], "utf-8")
    tombstones = _read(tmp_path / "out").labels.tombstones
    assert [t.address.split(".")[0] for t in tombstones] == ["litellm_team_member"]


def test_an_address_in_removed_tf_that_cannot_be_read_is_refused(tmp_path: Path) -> None:
    _forget_one_team(tmp_path)
    removed = tmp_path / "out" / "removed.tf"
    removed.write_text(
        removed.read_text(encoding="utf-8").replace("from = litellm_team.", "from = team.", 1),
        encoding="utf-8",
    )
    with pytest.raises(OutputError, match=r"removed.tf: entraform recognises 1 of its 2"):
        _read(tmp_path / "out")


def test_a_hand_edit_that_breaks_the_file_is_refused_as_an_edit_not_read(tmp_path: Path) -> None:
    generate(POLICY, directory(_tenant(1)), tmp_path)
    teams = tmp_path / "teams.tf"
    text = teams.read_text(encoding="utf-8")
    teams.write_text(
        re.sub(r'team_id( +)= "[^"]+"', r'team_id\1= "\\U0011ffff"', text, count=1), "utf-8"
    )
    with pytest.raises(OutputError, match=r"teams\.tf: changed since entraform wrote it"):
        _read(tmp_path)
