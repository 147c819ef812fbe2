"""Switching --format on a folder that holds the other format moves objects, never destroys them.

Terraform itself is the judge: the rendered files are turned into a provider-free stand-in
(tests/standin.py: every `litellm_*` resource becomes a `terraform_data` resource at the same
address shape, with the same `for_each` keys and its arguments as `input`), the old format is
applied to a local state, and the new format with its `moved` blocks is planned against that
state: equal objects in both formats give equal inputs, so anything but a move shows.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from tests.conftest import ROOT
from tests.rendering import Format, read_tree
from tests.standin import run_terraform, stand_in

GOLDEN = ROOT / "tests" / "golden"


def _generate(out: Path, output_format: Format, *extra: str) -> str:
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "-c",
            str(GOLDEN / "entraform.yaml"),
            "--snapshot",
            str(GOLDEN / "tenant.json"),
            "-o",
            str(out),
            "--format",
            output_format,
            *extra,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _root(folder: Path, rendered: Path) -> None:
    for path in folder.glob("*.tf"):
        path.unlink()
    for path in rendered.iterdir():
        if path.suffix == ".tf":
            (folder / path.name).write_text(stand_in(path.read_text(encoding="utf-8")))
        else:
            shutil.copy(path, folder / path.name)


@pytest.mark.parametrize(("first", "second"), [("terraform", "yaml"), ("yaml", "terraform")])
def test_terraform_plans_no_destroy_after_a_format_switch(
    first: Format, second: Format, tmp_path: Path, terraform: str
) -> None:
    out, root = tmp_path / "out", tmp_path / "root"
    root.mkdir()
    _generate(out, first)
    _root(root, out)
    run_terraform(terraform, root, "init", "-input=false")
    run_terraform(terraform, root, "apply", "-auto-approve", "-input=false")
    state = json.loads(run_terraform(terraform, root, "show", "-json"))
    applied = {r["address"] for r in state["values"]["root_module"]["resources"]}
    summary = _generate(out, second, "--summary", "-")
    assert "### Format switched" in summary
    _root(root, out)
    run_terraform(terraform, root, "plan", "-input=false", "-out", "switch.plan")
    plan = json.loads(run_terraform(terraform, root, "show", "-json", "switch.plan"))
    changes = plan["resource_changes"]
    assert changes, "the stand-in holds no resources"
    assert {tuple(c["change"]["actions"]) for c in changes} == {("no-op",)}
    assert {c.get("previous_address") for c in changes} == applied


def test_the_moved_blocks_stay_until_someone_deletes_them(tmp_path: Path) -> None:
    _generate(tmp_path, "terraform")
    _generate(tmp_path, "yaml")
    moved = (tmp_path / "moved.tf").read_text(encoding="utf-8")
    assert not any(name.startswith("org_") for name in read_tree(tmp_path))
    _generate(tmp_path, "yaml", "--check")
    assert (tmp_path / "moved.tf").read_text(encoding="utf-8") == moved
    (tmp_path / "moved.tf").unlink()
    _generate(tmp_path, "yaml", "--check")


def test_the_summary_lists_each_moved_organization_and_team(tmp_path: Path) -> None:
    _generate(tmp_path, "yaml")
    summary = _generate(tmp_path, "terraform", "--summary", "-")
    assert "switched from yaml to terraform" in summary
    team_moves = re.findall(
        r'^- `litellm_team\.this\["[^"]+"\]` → `litellm_team\.\w+`$', summary, re.M
    )
    assert len(team_moves) == 9
    assert re.search(r"^- and \d+ membership\(s\), one block each$", summary, re.M)
