"""A folder entraform 0.1.0 wrote is upgraded in place: only the manifest and comments change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator.errors import OutputError
from generator.workspace import manifest
from tests.rendering import build, generate, read_tree
from tests.tenants import directory

LEGACY = Path(__file__).resolve().parent / "legacy"
CASES = sorted(p.name for p in LEGACY.iterdir() if p.is_dir())


def _copy(case: str, tmp_path: Path) -> Path:
    shutil.copytree(LEGACY / case, tmp_path / case)
    return tmp_path / case


def _tenant(folder: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((folder / "tenant.json").read_text(encoding="utf-8"))
    return data


def test_every_kind_of_folder_the_old_release_wrote_is_covered() -> None:
    kinds = {
        "terraform": any((LEGACY / c / "out" / "teams.tf").exists() for c in CASES),
        "yaml": any((LEGACY / c / "out" / "main.tf").exists() for c in CASES),
        "moved": any((LEGACY / c / "out" / "moved.tf").exists() for c in CASES),
        "removed": any((LEGACY / c / "out" / "removed.tf").exists() for c in CASES),
        "transfers": any(list((LEGACY / c / "out").glob("*/transfers.tf")) for c in CASES),
        "users": any((LEGACY / c / "out" / "users.tf").exists() for c in CASES),
        "ids": any('"ids"' in (LEGACY / c / "out" / manifest.NAME).read_text() for c in CASES),
    }
    assert all(kinds.values()), kinds
    for case in CASES:
        assert manifest.version((LEGACY / case / "out" / manifest.NAME).read_text()) == 1


def _only_comments_differ(before: str, after: str) -> bool:
    """Whether two files differ at most in `#` comment lines: what Terraform reads is the same."""

    # Comments changed since 0.1.0: names in them show line breaks, invisible characters and
    # backslashes as escapes (`\n`, `\u200f`, `\\`), and YAML rosters are headed by their team.
    def code(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.lstrip().startswith("# ")]

    return code(before) == code(after)


# Terraform users were a resource each in 0.1.0; they move into maps (see test_user_maps).
RESOURCE_PER_USER = "chunked-terraform"
# 0.1.0 destroyed a team the YAML route was told to forget; it stops the plan now.
TEAM_GUARD = (
    "\n\n  # safety.teams_removed: forget. A team dropped from teams.yaml stops the plan: "
    "deleting it\n  # would delete its keys. Forget it with `terraform state rm` instead.\n"
    "  lifecycle {\n    prevent_destroy = true\n  }"
)


@pytest.mark.parametrize("case", CASES)
def test_the_same_input_changes_nothing_but_the_manifest(tmp_path: Path, case: str) -> None:
    folder = _copy(case, tmp_path)
    out = folder / "out"
    before = read_tree(out)
    result = build(folder / "entraform.yaml", directory(_tenant(folder)), out, None, None)
    assert (manifest.NAME, "update") in [(f.name, f.action) for f in result.file_changes]
    assert result.changes.empty, result.changes
    assert not result.refusals
    if case == RESOURCE_PER_USER:
        users = {u.key for u in result.outcome.state.users}
        assert users and {m.kind for m in result.moves} == {"user"}
        assert {m.target.partition("[")[2].strip('"]') for m in result.moves} == users
        assert {f.name: f.action for f in result.file_changes if f.action != "update"} == {
            "moved.tf": "create"
        }
    else:
        assert {f.action for f in result.file_changes} == {"update"}
        assert not result.moves
    generate(folder / "entraform.yaml", directory(_tenant(folder)), out, None, None)
    after = read_tree(out)
    assert after.keys() == before.keys() | ({"moved.tf"} if case == RESOURCE_PER_USER else set())
    reshaped = {"users.tf", *(n for n in before if n.startswith("team"))}
    for name in before.keys() - {manifest.NAME}:
        text = after[name]
        if case == "chunked-yaml" and name == "main.tf":
            assert TEAM_GUARD in text
            text = text.replace(TEAM_GUARD, "")
        if case != RESOURCE_PER_USER or name not in reshaped:
            assert _only_comments_differ(before[name], text), name
    assert manifest.version(after[manifest.NAME]) == manifest.VERSION
    again = build(folder / "entraform.yaml", directory(_tenant(folder)), out, None, None)
    assert not again.file_changes


@pytest.mark.parametrize("case", ["chunked-terraform", "chunked-yaml", "hostile-terraform"])
def test_the_upgrade_run_sees_what_changed_since_the_old_release_wrote(
    tmp_path: Path, case: str
) -> None:
    folder = _copy(case, tmp_path)
    data = _tenant(folder)
    groups = data["groups"]
    assert isinstance(groups, list)
    team = next(g for g in groups if g["members"] and len(g["members"]) > 1)
    gone = team["members"].pop()
    result = build(folder / "entraform.yaml", directory(data), folder / "out", None, None)
    removed = [m for m in result.changes.members if m.action == "removed"]
    assert {m.user_id for m in removed} == {gone["id"]}
    assert not [m for m in result.changes.members if m.action != "removed"]
    assert not [o for o in result.changes.objects if o.kind != "user"]


def test_an_old_manifest_with_an_id_scheme_this_release_does_not_know_is_an_output_error(
    tmp_path: Path,
) -> None:
    folder = _copy("prefixed", tmp_path)
    path = folder / "out" / manifest.NAME
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"prefixed:entraform-"', '"hashed:x"'), encoding="utf-8")
    with pytest.raises(OutputError, match=r"no id scheme 'hashed:x'.*restore them"):
        build(folder / "entraform.yaml", directory(_tenant(folder)), folder / "out", None, None)


def test_a_manifest_recording_a_format_this_release_does_not_write_is_an_output_error(
    tmp_path: Path,
) -> None:
    folder = _copy("prefixed", tmp_path)
    out = folder / "out"
    generate(folder / "entraform.yaml", directory(_tenant(folder)), out, None, None)
    text = (out / manifest.NAME).read_text(encoding="utf-8")
    (out / manifest.NAME).write_text(text.replace('"terraform"', '"toml"', 1), encoding="utf-8")
    with pytest.raises(OutputError, match=r"records the format 'toml'.*\(terraform, yaml\)"):
        build(folder / "entraform.yaml", directory(_tenant(folder)), out, None, None)
