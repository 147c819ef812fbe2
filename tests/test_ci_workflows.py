"""The CI recipes in examples/ci parse as YAML and have the structure their runners require.

No GitHub Actions schema is vendored and tests run offline, so the structure is checked here:
triggers, jobs, steps that either `uses` a pinned action or `run` a script, OIDC permissions,
no stored Azure secret, and no `${{ }}` expression inside a script (script injection).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

CI = Path(__file__).resolve().parent.parent / "examples" / "ci"
GITHUB = sorted((CI / "github").glob("*.yml"))
AZURE_DEVOPS = sorted((CI / "azure-devops").glob("*.yml"))
CRON = re.compile(r"^(\S+\s+){4}\S+$")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+(\.\d+)*|[0-9a-f]{40})$")
JOB_KEYS = {
    "runs-on",
    "environment",
    "timeout-minutes",
    "permissions",
    "steps",
    "defaults",
    "env",
    "needs",
    "if",
    "strategy",
    "concurrency",
    "outputs",
    "name",
    "container",
    "services",
}
STEP_KEYS = {
    "uses",
    "run",
    "with",
    "env",
    "name",
    "id",
    "if",
    "shell",
    "working-directory",
    "continue-on-error",
    "timeout-minutes",
}


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    # YAML 1.1 reads a bare `on` key as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def _scripts(workflow: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in _steps(workflow))


def test_the_recipes_exist() -> None:
    assert [p.name for p in GITHUB] == ["entraform-apply.yml", "entraform-generate.yml"]
    assert [p.name for p in AZURE_DEVOPS] == ["entraform-apply.yml", "entraform-generate.yml"]


@pytest.mark.parametrize("path", GITHUB, ids=lambda p: p.name)
def test_github_workflows_have_the_structure_actions_requires(path: Path) -> None:
    workflow = _load(path)
    assert isinstance(workflow["name"], str)
    assert workflow["on"] and isinstance(workflow["on"], dict)
    assert workflow["permissions"] == {"contents": "read"}, "least privilege by default"
    assert workflow["jobs"]
    for name, job in workflow["jobs"].items():
        assert re.fullmatch(r"[A-Za-z_][\w-]*", name)
        assert set(job) <= JOB_KEYS, set(job) - JOB_KEYS
        assert job["runs-on"] and job["steps"]
        for step in job["steps"]:
            assert set(step) <= STEP_KEYS, set(step) - STEP_KEYS
            assert ("uses" in step) != ("run" in step), step
            if "uses" in step:
                assert PINNED.match(step["uses"]), step["uses"]
            else:
                assert "${{" not in step["run"], "pass expressions through env, not into scripts"
    for cron in workflow["on"].get("schedule", []):
        assert CRON.match(cron["cron"])


def test_generate_runs_on_schedule_and_by_hand_with_oidc_and_no_secret() -> None:
    workflow = _load(CI / "github" / "entraform-generate.yml")
    assert workflow["on"]["schedule"] and "workflow_dispatch" in workflow["on"]
    job = workflow["jobs"]["generate"]
    assert job["permissions"]["id-token"] == "write"
    assert job["permissions"]["pull-requests"] == "write"
    text = (CI / "github" / "entraform-generate.yml").read_text(encoding="utf-8")
    assert "secrets." not in text and "AZURE_CLIENT_SECRET" not in text
    login = next(s for s in _steps(workflow) if s.get("uses", "").startswith("azure/login@"))
    assert set(login["with"]) >= {"client-id", "tenant-id"} and "creds" not in login["with"]
    scripts = _scripts(workflow)
    assert re.search(r"entraform generate\b", scripts)
    assert "--summary" in scripts


def test_generate_opens_a_pull_request_only_when_files_changed() -> None:
    workflow = _load(CI / "github" / "entraform-generate.yml")
    steps = _steps(workflow)
    opening = next(s for s in steps if "gh pr create" in s.get("run", ""))
    assert opening["if"] == "steps.changes.outputs.changed == 'true'"
    assert "--body-file" in opening["run"] and "summary.md" in opening["run"]
    detect = next(s for s in steps if s.get("id") == "changes")
    assert "git status --porcelain" in detect["run"]


def test_apply_plans_and_applies_after_the_merge() -> None:
    workflow = _load(CI / "github" / "entraform-apply.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    scripts = _scripts(workflow)
    plan, apply = scripts.index("terraform plan -out=tfplan"), scripts.index("terraform apply")
    assert plan < apply
    assert "terraform apply tfplan" in scripts, "apply exactly what was planned"
    assert workflow["jobs"]["apply"]["permissions"]["id-token"] == "write"


@pytest.mark.parametrize("path", AZURE_DEVOPS, ids=lambda p: p.name)
def test_azure_pipelines_have_the_structure_azure_devops_requires(path: Path) -> None:
    pipeline = _load(path)
    assert pipeline["pool"]["vmImage"]
    assert pipeline["pr"] == "none"
    for step in pipeline["steps"]:
        kinds = {"checkout", "script", "task", "bash"} & set(step)
        assert len(kinds) == 1, step
        if "task" in step:
            assert re.fullmatch(r"\w+@\d+", step["task"])
            if step["task"].startswith("AzureCLI@"):
                assert step["inputs"]["azureSubscription"], "a federated service connection"
    assert "servicePrincipalKey" not in path.read_text(encoding="utf-8")


def test_azure_generate_is_scheduled_and_opens_a_pull_request_only_on_change() -> None:
    pipeline = _load(CI / "azure-devops" / "entraform-generate.yml")
    assert pipeline["trigger"] == "none"
    assert CRON.match(pipeline["schedules"][0]["cron"])
    assert pipeline["schedules"][0]["always"] is True
    text = (CI / "azure-devops" / "entraform-generate.yml").read_text(encoding="utf-8")
    assert "entraform generate" in text and "--summary" in text
    assert 'git status --porcelain -- "$OUT"' in text and "az repos pr create" in text
