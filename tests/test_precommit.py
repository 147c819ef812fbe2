"""The pre-commit hooks in .pre-commit-hooks.yaml: a valid manifest whose entries run.

pre-commit installs the hook repository into a venv of its own and runs each hook from the root
of the user's repository as `entry + args (+ file names)`, choosing by `files` with re.search.
That install needs a package index, so the tests run the entries the same way with this
checkout's install, which is what that venv would hold.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.integration  # starts servers, programs or builds

MANIFEST = ROOT / ".pre-commit-hooks.yaml"
HOOKS: dict[str, dict[str, Any]] = {
    hook["id"]: hook for hook in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
}
CI_PAGE = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")


def _run_hook(hook_id: str, repo: Path, files: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a hook as pre-commit would, on the given changed files."""
    hook = HOOKS[hook_id]
    selected = [f for f in files if re.search(hook.get("files", ""), f)]
    if not selected and not hook.get("always_run", False):
        pytest.fail(f"{hook_id} would not run for {files}")
    command = [*shlex.split(hook["entry"]), *hook.get("args", [])]
    if hook.get("pass_filenames", True):
        command += selected
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run(
        command,
        cwd=repo,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A config repository laid out as the hooks' default arguments expect."""
    shutil.copy(EXAMPLES / "entraform.yaml", tmp_path / "entraform.yaml")
    shutil.copy(EXAMPLES / "tenant.json", tmp_path / "tenant.json")
    return tmp_path


def _render(repo: Path) -> None:
    command = [sys.executable, "-m", "generator", "generate", "-c", "entraform.yaml"]
    command += ["--snapshot", "tenant.json", "-o", "infra/litellm", "--quiet"]
    subprocess.run(command, cwd=repo, check=True, capture_output=True)


def test_the_manifest_is_valid_for_pre_commit() -> None:
    tool = Path(sys.executable).parent / "pre-commit"
    assert tool.exists(), "pre-commit is not installed: pip install -e '.[test]'"
    run = subprocess.run(
        [str(tool), "validate-manifest", str(MANIFEST)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_validate_is_chosen_for_a_changed_policy_file_only() -> None:
    pattern = HOOKS["entraform-validate"]["files"]
    assert re.search(pattern, "entraform.yaml") and re.search(pattern, "config/entraform.yml")
    assert not re.search(pattern, "README.md") and not re.search(pattern, "my-entraform.yaml")


def test_the_validate_hook_passes_on_a_valid_policy(repo: Path) -> None:
    run = _run_hook("entraform-validate", repo, ["entraform.yaml"])
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("entraform.yaml: ok")


def test_the_validate_hook_fails_on_an_unknown_key(repo: Path) -> None:
    policy = repo / "entraform.yaml"
    policy.write_text(policy.read_text(encoding="utf-8") + "colour: blue\n", encoding="utf-8")
    run = _run_hook("entraform-validate", repo, ["entraform.yaml"])
    assert run.returncode == 2
    assert "colour" in run.stderr


def test_the_check_hook_passes_when_the_rendered_files_match_the_snapshot(repo: Path) -> None:
    _render(repo)
    run = _run_hook("entraform-check", repo, ["README.md"])
    assert run.returncode == 0, run.stderr


def test_the_check_hook_fails_and_names_the_fix_when_the_snapshot_changed(repo: Path) -> None:
    _render(repo)
    tenant = json.loads((repo / "tenant.json").read_text(encoding="utf-8"))
    # LLM-Sandbox is a team of three direct members; one of them leaves.
    sandbox = next(g for g in tenant["groups"] if g["displayName"] == "LLM-Sandbox")
    sandbox["members"] = sandbox["members"][1:]
    (repo / "tenant.json").write_text(json.dumps(tenant), encoding="utf-8")
    run = _run_hook("entraform-check", repo, ["tenant.json"])
    assert run.returncode == 1
    assert "update them with: entraform generate" in run.stderr


def test_the_docs_show_a_pre_commit_config_using_these_hooks() -> None:
    block = re.search(r"```yaml\n(repos:\n.*?)```", CI_PAGE, re.DOTALL)
    assert block, "a .pre-commit-config.yaml example in docs/ci.md"
    (repo_entry,) = yaml.safe_load(block.group(1))["repos"]
    assert re.fullmatch(r"[0-9a-f]{40}", repo_entry["rev"]), "pinned like the workflows"
    assert {hook["id"] for hook in repo_entry["hooks"]} == set(HOOKS)
