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
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

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


@pytest.mark.integration
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


def _cli(folder: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_a_run_without_format_keeps_the_folders_format_whatever_the_policy_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    policy = (GOLDEN / "entraform.yaml").read_text(encoding="utf-8")
    policy = policy[: policy.index("output:")] + "output: {format: terraform}\n"
    Path("entraform.yaml").write_text(policy, encoding="utf-8")
    shutil.copy(GOLDEN / "tenant.json", "tenant.json")
    args = ["generate", "-c", "entraform.yaml", "--snapshot", "tenant.json", "-o", "out"]
    assert _cli(tmp_path, *args).exit_code == 0
    switched = _cli(tmp_path, *args, "--format", "yaml", "--summary", "-")
    assert switched.exit_code == 0
    assert "The output format switched from terraform to yaml" in switched.stdout
    before = read_tree(tmp_path / "out")
    kept = _cli(tmp_path, *args, "--check")
    assert kept.exit_code == 0, kept.stderr
    assert (
        "output.format in the policy is terraform, but out holds yaml: kept yaml (run once "
        "with --format terraform to switch" in kept.stderr
    )
    assert read_tree(tmp_path / "out") == before
    back = _cli(tmp_path, *args, "--format", "terraform", "--check")
    assert back.exit_code == 1  # asked for explicitly: the tested migration, with moved blocks
    assert "would create out/moved.tf" not in back.stderr  # moved.tf stays: it is updated
    assert "would update out/moved.tf" in back.stderr


def test_the_header_names_the_command_that_reproduces_the_folder_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    policy = (GOLDEN / "entraform.yaml").read_text(encoding="utf-8")
    Path("entraform.yaml").write_text(policy[: policy.index("output:")], encoding="utf-8")
    shutil.copy(GOLDEN / "tenant.json", "tenant.json")
    args = ["generate", "-c", "entraform.yaml", "--snapshot", "tenant.json", "-o", "out"]
    assert _cli(tmp_path, *args, "--format", "yaml").exit_code == 0
    tree = read_tree(tmp_path / "out")
    headers = {
        text.split("\n", 2)[1] for name, text in tree.items() if name.endswith((".tf", ".yaml"))
    }
    assert headers == {
        "# Regenerate with: entraform generate --config entraform.yaml --snapshot tenant.json "
        "--out out --format yaml --layout single"
    }
    command = shlex.split(headers.pop().removeprefix("# Regenerate with: "))
    assert command[:2] == ["entraform", "generate"]
    again = _cli(tmp_path, *command[1:], "--check")
    assert again.exit_code == 0, again.stderr
    assert read_tree(tmp_path / "out") == tree
