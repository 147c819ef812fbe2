"""The output folder: entraform reads and rewrites only the root module folders it writes."""

from __future__ import annotations

import shutil
from pathlib import Path

from generator.workspace import roots
from tests.rendering import generate, read_tree
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
  - rule: loose
    select: {prefix: "Loose-"}
"""


def test_a_folder_in_the_output_that_is_no_root_module_is_neither_read_nor_deleted(
    tmp_path: Path,
) -> None:
    policy, out = tmp_path / "entraform.yaml", tmp_path / "out"
    policy.write_text(POLICY, encoding="utf-8")
    people = [user(p) for p in ("ann", "bob", "cy")]
    org, web = group("Org-A", ("ann",), groups=("Team-Web",)), group("Team-Web", ("bob",))
    lab = tenant([org, web, group("Loose-Lab", ("cy",))], people)
    generate(policy, directory(lab), out, layout="per-organization")
    shutil.copytree(out / roots.STANDALONE, out / "backup")  # generated files, headers and all
    copied = read_tree(out / "backup")
    joined = tenant([org, web, group("Loose-Lab", ("ann", "cy"))], people)
    result = generate(policy, directory(joined), out, layout="per-organization")
    assert [f.name for f in result.file_changes] == [
        "entraform-manifest.json",
        f"{roots.STANDALONE}/teams.tf",
    ]
    assert read_tree(out / "backup") == copied
