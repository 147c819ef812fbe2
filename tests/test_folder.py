"""The output folder as the next run finds it: what is ours, what people pruned, what they see."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from generator.errors import OutputError
from generator.policy.ids import Ids
from generator.render import legacy
from generator.state import DesiredState, Organization, Settings, Team
from generator.workspace import manifest, roots
from generator.workspace.folder import ADOPTED, GENERATED, Previous, foreign, ours, read
from generator.workspace.labels import Labels
from generator.workspace.manifest import Manifest
from tests.rendering import Layout, build, generate, read_tree
from tests.tenants import directory, group, tenant, user

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
safety: {max_removed: 1000, max_removed_percent: 100, teams_removed: forget}
"""
PEOPLE = [user(f"p{n}") for n in range(8)]
HEADER = f"# {GENERATED} from Microsoft Entra ID groups.\n"


def _tenant(*, data_in: str = "Org-A", web: bool = True, ops: bool = True) -> dict[str, Any]:
    """Two organizations nesting teams; `data_in` places Team-Data, `web` and `ops` keep teams."""
    nested = {"Org-A": ["Team-Web"] if web else [], "Org-B": ["Team-Ops"] if ops else []}
    nested[data_in].append("Team-Data")
    groups = [
        group("Org-A", ("p0",), groups=tuple(nested["Org-A"])),
        group("Org-B", ("p1",), groups=tuple(nested["Org-B"])),
        group("Team-Data", ("p4", "p5", "p6")),
    ]
    groups += [group("Team-Web", ("p7",))] if web else []
    return tenant(groups + ([group("Team-Ops", ("p2", "p3"))] if ops else []), PEOPLE)


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "entraform.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def _read(out: Path) -> Previous:
    return read(out, legacy.read)


def _drop_last(path: Path, kind: str) -> None:
    """Delete a file's last block as a person does after apply, blank line before it included."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.rindex(f"\n\n{kind} {{")] + "\n", encoding="utf-8")


def _run(policy: Path, out: Path, layout: Layout = "per-organization", **tenant: Any) -> None:
    generate(policy, directory(_tenant(**tenant)), out, layout=layout)


# Blocks people delete after apply


def test_blocks_deleted_after_apply_are_gone_for_the_next_run_and_no_file_changes(
    tmp_path: Path, policy: Path
) -> None:
    out = tmp_path / "out"
    _run(policy, out)
    _run(policy, out, data_in="Org-B")  # Org-A forgets Team-Data, Org-B imports it
    (removed,) = out.glob("org_*/removed.tf")
    (transfers,) = out.glob("org_*/transfers.tf")
    _drop_last(removed, "removed")
    _drop_last(transfers, "import")
    result = build(policy, directory(_tenant(data_in="Org-B")), out, layout="per-organization")
    assert result.file_changes == ()  # the manifest too: it keeps what its run wrote
    previous = _read(out)
    org_b = roots.root_of(transfers.relative_to(out).as_posix())
    assert len(previous.labels.tombstones) == 1 and len(previous.manifest.imports[org_b]) == 3  # type: ignore[union-attr]
    assert len(previous.recorded.labels.tombstones) == 2  # type: ignore[union-attr]
    assert len(previous.recorded.imports[org_b]) == 4  # type: ignore[union-attr]


def test_a_pruned_file_keeps_its_entry_while_another_root_is_written_anew(
    tmp_path: Path, policy: Path
) -> None:
    out = tmp_path / "out"
    _run(policy, out)
    _run(policy, out, data_in="Org-B")
    (transfers,) = out.glob("org_*/transfers.tf")
    name = transfers.relative_to(out).as_posix()
    recorded = _read(out).recorded
    _drop_last(transfers, "import")
    _run(policy, out, data_in="Org-B", web=False)  # Org-A (sorted first) forgets Team-Web too
    after = _read(out).recorded
    assert recorded is not None and after is not None
    assert after.files[name] == recorded.files[name]
    assert after.imports == recorded.imports
    assert len(after.labels.tombstones) > len(recorded.labels.tombstones)


def test_moved_blocks_deleted_after_apply_are_gone_and_no_file_changes(
    tmp_path: Path, policy: Path
) -> None:
    out = tmp_path / "out"
    generate(policy, directory(_tenant()), out, "yaml")
    generate(policy, directory(_tenant(web=False)), out, "terraform")  # moves, and forgets Web
    _drop_last(out / "moved.tf", "moved")
    _drop_last(out / "removed.tf", "removed")
    recorded = _read(out).recorded
    assert not build(policy, directory(_tenant(web=False)), out, "terraform").file_changes
    previous = _read(out)
    assert previous.recorded == recorded
    assert recorded is not None and previous.manifest is not None
    assert len(previous.manifest.moves[""]) == len(recorded.moves[""]) - 1
    assert len(previous.labels.tombstones) == len(recorded.labels.tombstones) - 1


def test_a_pruned_removed_file_keeps_its_entry_and_another_roots_new_ones_stay(
    tmp_path: Path, policy: Path
) -> None:
    out = tmp_path / "out"
    _run(policy, out)
    _run(policy, out, data_in="Org-B")
    (removed,) = out.glob("org_*/removed.tf")
    _drop_last(removed, "removed")
    _run(policy, out, data_in="Org-B", ops=False)  # Org-B forgets Team-Ops
    after = _read(out).recorded
    assert after is not None
    assert sorted({t.root for t in after.labels.tombstones}) == sorted(
        r.relative_to(out).as_posix() for r in out.glob("org_*") if (r / "removed.tf").exists()
    )
    assert len({t.root for t in after.labels.tombstones}) == 2


# What the folder holds


def test_a_file_is_ours_only_when_its_first_line_says_so() -> None:
    assert ours(HEADER + "x = 1\n")
    assert not ours("# notes\n" + HEADER)
    assert ours(f"# {ADOPTED}\n", ADOPTED) and not ours(HEADER, ADOPTED)


def test_foreign_reads_only_a_files_first_bytes_and_never_fails_on_them(tmp_path: Path) -> None:
    cut = tmp_path / "cut.tf"
    cut.write_bytes(b"#" * 299 + "é".encode())  # the 300th byte is half a character
    assert foreign(cut)
    late = tmp_path / "late.tf"
    late.write_text("#" * 279 + GENERATED + "\n", encoding="utf-8")  # ends at byte 301
    assert foreign(late)
    early = tmp_path / "early.tf"
    early.write_text("#" * 278 + GENERATED + "\n", encoding="utf-8")
    assert not foreign(early)
    adopted = tmp_path / "imports.tf"
    adopted.write_text(f"# {ADOPTED}\n", encoding="utf-8")
    assert not foreign(adopted, ADOPTED) and foreign(adopted)
    assert not foreign(tmp_path / "missing.tf")


def test_a_path_that_cannot_be_read_is_an_output_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(OutputError) as caught:
        foreign(tmp_path)
    assert str(caught.value) == f"cannot read {tmp_path}: Is a directory"


def test_a_file_of_ours_that_is_not_utf8_is_an_output_error_naming_it(
    tmp_path: Path, policy: Path
) -> None:
    _run(policy, tmp_path, layout="single")
    (tmp_path / "teams.tf").write_bytes(HEADER.encode() + b"\xff\n")
    with pytest.raises(OutputError) as caught:
        _read(tmp_path)
    assert str(caught.value).startswith(f"cannot read {tmp_path / 'teams.tf'}: 'utf-8' codec")


def test_a_folder_named_like_a_file_of_ours_is_not_read(tmp_path: Path, policy: Path) -> None:
    _run(policy, tmp_path)
    root = next(tmp_path.glob("org_*"))
    (root / "old.tf").mkdir()
    (tmp_path / "old.yaml").mkdir()
    assert not [name for name in _read(tmp_path).digests if "old" in name]


def test_writing_over_a_file_that_is_not_ours_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "teams.tf").write_text("# mine\n", encoding="utf-8")
    with pytest.raises(OutputError) as caught:
        Previous(tmp_path).refuse_foreign(["teams.tf"])
    assert str(caught.value) == (
        f"{tmp_path / 'teams.tf'} exists but was not generated by entraform; "
        "move it away or choose another output folder"
    )
    Previous(tmp_path).refuse_foreign(["versions.tf"])  # not there: nothing to refuse


def test_a_file_with_our_header_the_manifest_does_not_record_is_told_apart(
    tmp_path: Path,
) -> None:
    (tmp_path / "teams.tf").write_text(HEADER + "# a copy\n", encoding="utf-8")
    with pytest.raises(OutputError) as caught:
        Previous(tmp_path).refuse_foreign(["teams.tf"])
    assert str(caught.value) == (
        f"{tmp_path / 'teams.tf'} carries entraform's header but {manifest.NAME} does not record "
        "it (a copy, or left by an earlier run); delete it if it is entraform's, or move it away"
    )


def test_files_edited_by_hand_are_named_together_with_what_to_do(
    tmp_path: Path, policy: Path
) -> None:
    _run(policy, tmp_path, layout="single")
    for name in ("teams.tf", "versions.tf"):
        (tmp_path / name).write_text(HEADER, encoding="utf-8")
    with pytest.raises(OutputError) as caught:
        _read(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'teams.tf'}, {tmp_path / 'versions.tf'}: changed since entraform wrote it "
        f"(it no longer matches {manifest.NAME}). entraform does not overwrite hand edits: "
        "restore the file from version control (git checkout -- FILE), or delete it to have it "
        "written afresh"
    )


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("not json", ""),
        ('{"version": 2, "files": {}}', " (unreadable: KeyError('format'))"),
    ],
)
def test_a_manifest_that_is_not_ours_says_why_and_what_to_do(
    tmp_path: Path, text: str, detail: str
) -> None:
    (tmp_path / manifest.NAME).write_text(text, encoding="utf-8")
    with pytest.raises(OutputError) as caught:
        _read(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / manifest.NAME} is not a manifest entraform wrote{detail}; restore it from "
        "version control, or delete it (entraform then reads the generated files once to write "
        "it again)"
    )


# What the last run recorded


def test_the_last_runs_members_come_back_as_this_runs_objects(tmp_path: Path, policy: Path) -> None:
    _run(policy, tmp_path)
    state = _read(tmp_path).state
    known = [m for o in state.organizations for m in o.members]
    known += [m for t in state.teams for m in t.members]
    again = read(tmp_path, legacy.read, known).state
    found = [m for o in again.organizations for m in o.members]
    found += [m for t in again.teams for m in t.members]
    assert found == known and all(a is b for a, b in zip(found, known, strict=True))


def test_the_manifest_of_an_unchanged_record_is_the_file_as_it_is(
    tmp_path: Path, policy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(policy, tmp_path)
    previous = _read(tmp_path)
    assert previous.current and previous.recorded is not None

    def refused(record: Manifest) -> str:
        raise AssertionError("written again")

    monkeypatch.setattr(manifest, "dumps", refused)
    assert previous.manifest_text(previous.recorded, list) == previous.text(manifest.NAME)


def test_under_new_ids_every_object_and_label_follows_and_other_parents_stay(
    tmp_path: Path,
) -> None:
    old, new = Ids(), Ids("prefixed", "llm-")
    org = Organization("g-org", "Org", "Org", Settings(), ())
    teams = (
        Team("g-a", "A", "A", "g-org", Settings(), ()),
        Team("g-b", "B", "B", "g-elsewhere", Settings(), ()),  # under an org of no group here
        Team("g-c", "C", "C", None, Settings(), ()),
    )
    labels = Labels({"g-org": "org"}, {"g-a": "a", "g-b": "b", "g-c": "c"})
    last = Manifest("terraform", "single", state=DesiredState((org,), teams), labels=labels)
    moved, state = Previous(tmp_path, manifest=last).under(old, new)
    assert [(t.id, t.organization_id) for t in state.teams] == [
        ("llm-g-a", "llm-g-org"),
        ("llm-g-b", "g-elsewhere"),
        ("llm-g-c", None),
    ]
    assert [o.id for o in state.organizations] == ["llm-g-org"]
    assert (moved.organizations, moved.teams) == (
        {"llm-g-org": "org"},
        {"llm-g-a": "a", "llm-g-b": "b", "llm-g-c": "c"},
    )
    assert Previous(tmp_path, manifest=last).under(None, new) == (labels, last.state)


def test_a_copy_of_a_root_folder_is_neither_read_nor_written(tmp_path: Path, policy: Path) -> None:
    out = tmp_path / "out"
    _run(policy, out)
    root = next(out.glob("org_*"))
    backup = out / f"{root.name}_backup"
    shutil.copytree(root, backup)
    copied = read_tree(backup)
    assert not [name for name in _read(out).digests if "_backup" in name]
    (out / manifest.NAME).unlink()  # read once from the files, as an upgrade is
    assert not [name for name in _read(out).digests if "_backup" in name]
    _run(policy, out, data_in="Org-B")
    assert read_tree(backup) == copied


def test_a_file_with_our_header_that_is_not_hcl_is_refused_when_read_without_a_manifest(
    tmp_path: Path, policy: Path
) -> None:
    _run(policy, tmp_path, layout="single")
    (tmp_path / manifest.NAME).unlink()
    (tmp_path / "teams.tf").write_text(HEADER + "team_id =\n", encoding="utf-8")
    with pytest.raises(OutputError) as caught:
        _read(tmp_path)
    assert str(caught.value).startswith(
        f"cannot read the files an earlier entraform wrote in {tmp_path} (Unexpected"
    )


def test_a_folder_that_cannot_be_listed_is_an_output_error_naming_it(
    tmp_path: Path, policy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(policy, tmp_path)
    locked = next(tmp_path.glob("org_*"))
    listing = Path.iterdir

    def refused(self: Path) -> Any:
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return listing(self)

    monkeypatch.setattr(Path, "iterdir", refused)
    with pytest.raises(OutputError) as caught:
        _read(tmp_path)
    assert str(caught.value) == f"cannot read {locked}: Permission denied"


def test_a_folder_that_can_be_listed_but_not_entered_is_an_output_error_naming_it(
    tmp_path: Path, policy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(policy, tmp_path)
    locked = next(tmp_path.glob("org_*"))
    is_file = Path.is_file

    def refused(self: Path) -> bool:
        if self.parent == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return is_file(self)

    monkeypatch.setattr(Path, "is_file", refused)
    with pytest.raises(OutputError) as caught:
        _read(tmp_path)
    assert str(caught.value).startswith(f"cannot read {locked}/")
    assert str(caught.value).endswith(": Permission denied")
