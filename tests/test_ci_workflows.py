"""The CI recipes in examples/ci have the structure their runners require and pass their linters.

check-jsonschema validates them against the schemas it vendors and zizmor audits them offline, so
no test reaches the network. The rest is checked here: triggers, jobs, steps that either `uses`
an action pinned by commit or `run` a script, OIDC permissions, no stored Azure secret, and no
`${{ }}` expression inside a script (script injection).
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
from click.testing import CliRunner

from generator.cli import cli

pytestmark = pytest.mark.integration  # starts servers, programs or builds

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "examples" / "ci"
ACTION = ROOT / "action.yml"
GITHUB = sorted((CI / "github").glob("*.yml"))
AZURE_DEVOPS = sorted((CI / "azure-devops").glob("*.yml"))
# The project's own workflow: the release.
RELEASE = ROOT / ".github" / "workflows" / "release.yml"
WORKFLOWS = [*GITHUB, RELEASE]
CRON = re.compile(r"^(\S+\s+){4}\S+$")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
# A `uses:` line as zizmor and Dependabot read it: the commit, then the release it is.
USES_LINE = re.compile(r"^\s*(- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
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
    names = [
        "entraform-apply-roots.yml",
        "entraform-apply.yml",
        "entraform-drift.yml",
        "entraform-generate.yml",
    ]
    assert [p.name for p in GITHUB] == names
    assert [p.name for p in AZURE_DEVOPS] == names


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
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


def test_generate_runs_entraform_through_the_action_with_the_graph_token() -> None:
    workflow = _load(CI / "github" / "entraform-generate.yml")
    step = next(s for s in _steps(workflow) if s.get("uses", "").startswith("your-org/entraform@"))
    assert step["id"] == "entraform"
    assert step["env"]["ENTRAFORM_GRAPH_TOKEN"] == "${{ steps.graph.outputs.token }}"
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert set(step["with"]) <= set(action["inputs"])
    assert "::add-mask::" in next(s for s in _steps(workflow) if s.get("id") == "graph")["run"]


def test_generate_opens_a_pull_request_only_when_files_changed() -> None:
    workflow = _load(CI / "github" / "entraform-generate.yml")
    steps = _steps(workflow)
    opening = next(s for s in steps if "gh pr create" in s.get("run", ""))
    assert opening["if"] == "steps.entraform.outputs.changed == 'true'"
    assert opening["env"]["SUMMARY"] == "${{ steps.entraform.outputs.summary-path }}"
    assert '--body-file "$SUMMARY"' in opening["run"]
    closing = next(s for s in steps if "gh pr close" in s.get("run", ""))
    assert closing["if"] == "steps.entraform.outputs.changed == 'false'"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkout_keeps_the_token_out_of_the_work_tree(path: Path) -> None:
    workflow = _load(path)
    checkout = next(
        s for s in _steps(workflow) if s.get("uses", "").startswith("actions/checkout@")
    )
    assert checkout["with"]["persist-credentials"] is False


def test_only_the_push_step_holds_the_repository_token() -> None:
    workflow = _load(CI / "github" / "entraform-generate.yml")
    holders = [s for s in _steps(workflow) if "github.token" in str(s.get("env", {}))]
    assert all(
        s["name"] in {"Open or update the pull request", "Close a stale pull request"}
        for s in holders
    )
    pushing = next(s for s in holders if "git push" in s["run"])
    assert "GIT_CONFIG_VALUE_0=" in pushing["run"], "the token reaches git through the environment"


@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION], ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_with_its_version_in_a_comment(path: Path) -> None:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if "uses:" in line]
    assert all(USES_LINE.match(line) for line in lines), lines


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
    jobs = pipeline.get("jobs", [pipeline])
    for step in (step for job in jobs for step in job["steps"]):
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
    assert pipeline["schedules"][0]["always"] == "true"
    text = (CI / "azure-devops" / "entraform-generate.yml").read_text(encoding="utf-8")
    assert "entraform generate" in text and "--summary" in text
    assert 'git status --porcelain -- "$OUT"' in text and "az repos pr create" in text


def _tool(name: str) -> str:
    """A linter from the test extras; missing is a failure, never a skip."""
    found = Path(sys.executable).parent / name
    assert found.exists(), f"{name} is not installed: pip install -e '.[test]'"
    return str(found)


def test_zizmor_finds_nothing_of_medium_or_higher_in_the_workflows_and_the_action() -> None:
    run = subprocess.run(
        [
            _tool("zizmor"),
            "--offline",
            "--no-config",
            "--no-progress",
            "--min-severity",
            "medium",
            "--format",
            "plain",
        ]
        + [str(p) for p in [*WORKFLOWS, ACTION]],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "No findings to report" in run.stdout, run.stdout


def _check_jsonschema(schema: str, paths: list[Path], *extra: str) -> None:
    """Validate files against one of check-jsonschema's vendored schemas, offline."""
    run = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", schema, *extra, *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_github_workflows_validate_against_the_published_workflow_schema() -> None:
    _check_jsonschema("vendor.github-workflows", WORKFLOWS)


def test_azure_pipelines_validate_against_the_published_pipeline_schema() -> None:
    # The schema's patterns are .NET regexes, which the default ECMAScript-unicode engine rejects.
    transform = ("--data-transform", "azure-pipelines", "--regex-variant", "nonunicode")
    _check_jsonschema("vendor.azure-pipelines", AZURE_DEVOPS, *transform)


def test_azure_generate_hands_the_build_token_to_the_push_alone() -> None:
    pipeline = _load(CI / "azure-devops" / "entraform-generate.yml")
    checkout = next(s for s in pipeline["steps"] if "checkout" in s)
    assert "persistCredentials" not in checkout
    pushing = next(s for s in pipeline["steps"] if "git push" in s.get("script", ""))
    assert pushing["env"]["SYSTEM_ACCESSTOKEN"] == "$(System.AccessToken)"
    assert "GIT_CONFIG_VALUE_0=" in pushing["script"]


def test_github_drift_runs_hourly_and_fails_on_a_security_finding_only() -> None:
    workflow = _load(CI / "github" / "entraform-drift.yml")
    assert [CRON.match(c["cron"]) is not None for c in workflow["on"]["schedule"]] == [True]
    assert workflow["on"]["schedule"][0]["cron"].split()[1] == "*", "every hour"
    step = next(s for s in _steps(workflow) if "entraform drift" in s.get("run", ""))
    assert step["env"]["LITELLM_API_KEY"] == "${{ secrets.LITELLM_VIEWER_KEY }}"
    script = step["run"]
    assert "|| code=$?" in script, "the exit code is read, not lost to bash -e"
    assert "5)" in script and "::error" in script
    assert 'if [ "$code" -eq 1 ]; then exit 0; fi' in script, "ordinary drift only warns"
    assert script.rstrip().endswith('exit "$code"'), "exit 5 (and 2, 3) fail the run"
    assert "@html" in script, "names from Entra are escaped in the job summary"
    assert workflow["jobs"]["drift"]["permissions"] == {"contents": "read", "id-token": "write"}


def test_azure_drift_runs_hourly_and_fails_on_a_security_finding_only() -> None:
    pipeline = _load(CI / "azure-devops" / "entraform-drift.yml")
    assert pipeline["trigger"] == "none"
    assert pipeline["schedules"][0]["cron"].split()[1] == "*"
    assert pipeline["schedules"][0]["always"] == "true"
    task = next(s for s in pipeline["steps"] if s.get("displayName") == "entraform drift")
    script = task["inputs"]["inlineScript"]
    assert "entraform drift --config entraform.yaml || code=$?" in script
    assert "type=error" in script and "5)" in script
    assert script.rstrip().endswith('exit "$code"')
    assert task["env"]["LITELLM_API_KEY"] == "$(LITELLM_VIEWER_KEY)"


def _script(text: str, marker: str) -> str:
    """The shell script of a recipe's step that contains `marker`."""
    data = yaml.safe_load(text)
    found = [
        step.get("run") or step.get("bash")
        for job in (data["jobs"].values() if isinstance(data["jobs"], dict) else data["jobs"])
        for step in job["steps"]
        if marker in (step.get("run") or step.get("bash") or "")
    ]
    assert len(found) == 1, found
    return str(found[0])


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A repository whose last commit changed one organization's root: the report's roots."""
    repo = tmp_path_factory.mktemp("repo")
    tenant = json.loads((ROOT / "examples" / "tenant.json").read_text(encoding="utf-8"))

    def commit(message: str) -> dict[str, Any]:
        (repo / "tenant.json").write_text(json.dumps(tenant), encoding="utf-8")
        report = repo / "report.json"
        args = ["generate", "-c", str(ROOT / "examples" / "entraform.yaml")]
        args += ["--snapshot", str(repo / "tenant.json"), "-o", str(repo / "infra" / "litellm")]
        args += ["--layout", "per-organization", "--report", str(report)]
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.test"]
        subprocess.run([*git, "add", "infra"], check=True, capture_output=True)
        subprocess.run([*git, "commit", "-qm", message], check=True, capture_output=True)
        loaded: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
        return loaded

    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    commit("first run")
    team = next(g for g in tenant["groups"] if g["displayName"] == "LLM-Team-Finance-Analysts")
    team["members"].pop()
    report = commit("someone leaves a finance team")
    assert report["changed_roots"] and "." not in report["changed_roots"]
    return repo, report["changed_roots"]


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A recipe's script run by bash in `cwd`, with the rendered folder as OUT."""
    return subprocess.run(
        [shutil.which("bash") or "bash", "-c", script],
        cwd=cwd,
        env={**os.environ, "OUT": "infra/litellm", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _run(script: str, repo: Path, **env: str) -> None:
    run = _bash(script, repo, env)
    assert run.returncode == 0, run.stderr


def test_github_roots_job_finds_the_roots_the_report_lists(
    pushed: tuple[Path, list[str]], tmp_path: Path
) -> None:
    repo, changed = pushed
    text = (CI / "github" / "entraform-apply-roots.yml").read_text(encoding="utf-8")
    output = tmp_path / "output"
    before = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD~1"], capture_output=True, text=True, check=True
    ).stdout.strip()
    _run(
        _script(text, "git diff"),
        repo,
        BEFORE=before,
        AFTER="HEAD",
        CHOSEN="",
        GITHUB_OUTPUT=str(output),
    )
    assert json.loads(output.read_text(encoding="utf-8").removeprefix("roots=")) == changed


def test_github_apply_matrix_runs_one_job_per_listed_root() -> None:
    workflow = _load(CI / "github" / "entraform-apply-roots.yml")
    roots, apply = workflow["jobs"]["roots"], workflow["jobs"]["apply"]
    assert roots["outputs"]["roots"] == "${{ steps.changed.outputs.roots }}"
    assert apply["strategy"]["matrix"]["root"] == "${{ fromJSON(needs.roots.outputs.roots) }}"
    assert apply["strategy"]["fail-fast"] is False
    assert apply["env"]["ROOT"] == "${{ matrix.root }}"
    scripts = _scripts(workflow)
    assert scripts.index("terraform plan -parallelism") < scripts.index("terraform apply")
    assert '-backend-config="key=$key"' in scripts
    dispatch = workflow["on"]["workflow_dispatch"]["inputs"]["roots"]
    assert "changed_roots" in dispatch["description"]


def test_azure_roots_job_builds_a_matrix_of_the_roots_the_report_lists(
    pushed: tuple[Path, list[str]], tmp_path: Path
) -> None:
    repo, changed = pushed
    text = (CI / "azure-devops" / "entraform-apply-roots.yml").read_text(encoding="utf-8")
    script = _script(text, "git diff")
    log = tmp_path / "log"
    _run(f"( {script} ) > {shlex.quote(str(log))}", repo)
    line = log.read_text(encoding="utf-8").strip().splitlines()[-1]
    prefix = "##vso[task.setvariable variable=roots;isOutput=true]"
    matrix = json.loads(line.removeprefix(prefix))
    assert sorted(v["root"] for v in matrix.values()) == changed
    assert all(re.fullmatch(r"\w+", name) for name in matrix)
    pipeline = yaml.safe_load(text)
    apply = next(job for job in pipeline["jobs"] if job["job"] == "apply")
    assert apply["strategy"]["matrix"] == "$[ dependencies.roots.outputs['changed.roots'] ]"
    assert apply["steps"][-1]["env"]["ROOT"] == "$(root)"


GITLAB = CI / "gitlab" / ".gitlab-ci.yml"


def _gitlab() -> dict[str, Any]:
    data = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _job_script(job: str) -> str:
    """A GitLab job's script as the runner runs it: its lines in one shell, stopping on error."""
    lines = _gitlab()[job]["script"]
    return "set -eo pipefail\n" + "\n".join(lines)


def _fakes(folder: Path, **programs: str) -> dict[str, str]:
    """Programs on a PATH of their own, each a shell script body, logging its arguments."""
    folder.mkdir(exist_ok=True)
    for name, body in programs.items():
        program = folder / name
        program.write_text(f'#!/bin/sh\necho "{name} $*" >> "$LOG"\n{body}\n', encoding="utf-8")
        program.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}", "LOG": str(folder / "log")}


def test_the_gitlab_recipe_validates_against_gitlab_ci_schema() -> None:
    _check_jsonschema("vendor.gitlab-ci", [GITLAB])


def test_the_gitlab_recipe_reaches_azure_with_id_tokens_and_stores_no_azure_secret() -> None:
    recipe = _gitlab()
    text = GITLAB.read_text(encoding="utf-8")
    assert "AZURE_CLIENT_SECRET" not in text and "ARM_CLIENT_SECRET" not in text
    audience = {"AZURE_ID_TOKEN": {"aud": "api://AzureADTokenExchange"}}
    assert recipe[".entraform"]["id_tokens"] == audience
    assert recipe["apply"]["id_tokens"] == audience
    assert recipe["generate"]["extends"] == recipe["drift"]["extends"] == ".entraform"
    assert recipe["apply"]["variables"]["ARM_USE_OIDC"] == "true"
    assert recipe["drift"]["variables"]["LITELLM_API_KEY"] == "$LITELLM_VIEWER_KEY"
    # Each secret is scoped to the environment of the one job that needs it.
    scopes = {job: recipe[job]["environment"] for job in ("generate", "apply", "drift")}
    assert scopes["generate"] == {"name": "entraform", "action": "prepare"}
    assert scopes["drift"] == {"name": "entraform-drift", "action": "prepare"}
    assert scopes["apply"] == "litellm"


def test_the_gitlab_jobs_run_when_the_github_ones_do() -> None:
    recipe = _gitlab()
    schedule = '$CI_PIPELINE_SOURCE == "schedule" && $ENTRAFORM_JOB == "{}"'
    assert recipe["generate"]["rules"][0]["if"] == schedule.format("generate")
    assert recipe["drift"]["rules"][0]["if"] == schedule.format("drift")
    apply = recipe["apply"]
    assert apply["rules"][0]["changes"] == ["infra/litellm/**/*"]
    assert apply["environment"] == "litellm" and apply["resource_group"]
    assert recipe["drift"]["allow_failure"] == {"exit_codes": [1]}


@pytest.mark.parametrize(
    ("code", "told"), [(0, ""), (1, "drifted"), (5, "security finding"), (3, "")]
)
def test_gitlab_drift_passes_the_exit_code_on(tmp_path: Path, code: int, told: str) -> None:
    env = _fakes(tmp_path / "bin", entraform=f"exit {code}")
    run = _bash(_job_script("drift"), tmp_path, env)
    assert run.returncode == code, run.stderr
    assert told in run.stdout
    assert (
        "entraform drift --config entraform.yaml --out infra/litellm"
        in Path(env["LOG"]).read_text()
    )


def test_gitlab_apply_plans_and_applies_each_changed_root(
    pushed: tuple[Path, list[str]], tmp_path: Path
) -> None:
    repo, changed = pushed
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD", "HEAD~1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    env = _fakes(tmp_path / "bin", terraform="exit 0")
    env |= {"CI_COMMIT_SHA": head[0], "CI_COMMIT_BEFORE_SHA": head[1], "CI_PROJECT_DIR": str(repo)}
    env["AZURE_ID_TOKEN"] = "fake-oidc-token-for-tests"
    run = _bash(_job_script("apply"), repo, env)
    assert run.returncode == 0, run.stderr
    calls = Path(env["LOG"]).read_text(encoding="utf-8").splitlines()
    inits = [c for c in calls if c.startswith("terraform init")]
    assert [c.rsplit("key=litellm/", 1)[1] for c in inits] == [f"{r}.tfstate" for r in changed]
    assert sum(c.startswith("terraform apply") for c in calls) == len(changed)


def test_gitlab_generate_opens_a_merge_request_only_when_files_changed(tmp_path: Path) -> None:
    project, remote = tmp_path / "project", tmp_path / "server" / "group" / "project.git"
    remote.parent.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.test"]
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "start"], check=True)
    render = 'mkdir -p infra/litellm && echo "$CHANGE" > infra/litellm/teams.tf\n'
    render += 'echo "# summary" > summary.md'
    env = _fakes(tmp_path / "bin", entraform=render, curl='cat >> "$LOG.stdin"; echo "[]"')
    env |= {
        "CI_SERVER_URL": f"file://{tmp_path / 'server'}",
        "CI_SERVER_HOST": "gitlab.example.test",
        "CI_PROJECT_PATH": "group/project",
        "CI_API_V4_URL": "https://gitlab.example.test/api/v4",
        "CI_PROJECT_ID": "7",
        "CI_DEFAULT_BRANCH": "main",
        "ENTRAFORM_GITLAB_TOKEN": "glpat-fake-token-for-tests",
        "BRANCH": "entraform/update",
        "CHANGE": "one",
    }
    first = _bash(_job_script("generate"), project, env)
    assert first.returncode == 0, first.stderr
    calls = Path(env["LOG"]).read_text(encoding="utf-8")
    assert "curl" in calls and "description@summary.md" in calls and "--request POST" in calls
    pushed = subprocess.run(
        ["git", "-C", str(remote), "log", "--format=%s", "entraform/update"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert pushed.stdout.splitlines()[0] == "entraform: LiteLLM access from Entra ID"
    assert "glpat-fake-token-for-tests" not in first.stdout + first.stderr
    assert "glpat-fake-token-for-tests" not in calls, "no token on a command line"
    headers = Path(env["LOG"] + ".stdin").read_text(encoding="utf-8")
    assert headers.count("PRIVATE-TOKEN: glpat-fake-token-for-tests\n") == 2
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "merged"], check=True)
    Path(env["LOG"]).unlink()
    again = _bash(_job_script("generate"), project, env)
    assert again.returncode == 0, again.stderr
    assert "nothing changed" in again.stdout
    assert "curl" not in Path(env["LOG"]).read_text(encoding="utf-8")


def test_a_release_publishes_what_it_built_with_trusted_publishing_alone() -> None:
    workflow = _load(RELEASE)
    assert workflow["on"] == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+*"]}}
    build, publish = workflow["jobs"]["build"], workflow["jobs"]["publish"]
    assert build["permissions"] == {"contents": "read"}
    assert publish["permissions"] == {"id-token": "write"}, "OIDC for PyPI, nothing else"
    assert publish["needs"] == "build" and publish["environment"] == "pypi"
    uploaded = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload"))
    assert uploaded["with"]["path"] == "dist/"
    publishing = publish["steps"][-1]
    assert publishing["uses"].startswith("pypa/gh-action-pypi-publish@")
    assert "with" not in publishing, "no password or token: trusted publishing"
    checkout = build["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0, "the version comes from the tag"
    scripts = _scripts(workflow)
    assert 'test -f "dist/entraform-$version-py3-none-any.whl"' in scripts
    assert 'entraform" generate --config' in scripts


def test_the_version_of_a_build_is_its_tag(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    git = ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@example.test"]
    subprocess.run([*git, "tag", "-a", "v9.8.7", "-m", "a release"], check=True)
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp_path / "dist"), "."],
        cwd=clone,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    names = sorted(p.name for p in (tmp_path / "dist").iterdir())
    assert names == ["entraform-9.8.7-py3-none-any.whl", "entraform-9.8.7.tar.gz"]


def test_gitlab_writes_the_oidc_token_for_azure_identity_and_after_script_removes_it(
    tmp_path: Path,
) -> None:
    job = _gitlab()[".entraform"]
    steps = [line for line in job["before_script"] if "pip install" not in line]
    env = {"TMPDIR": str(tmp_path), "CI_JOB_ID": "42", "AZURE_ID_TOKEN": "fake-oidc-token"}
    script = "\n".join([*steps, 'stat -c %a "$AZURE_FEDERATED_TOKEN_FILE"'])
    before = _bash("set -eo pipefail\n" + script, tmp_path, env)
    assert before.returncode == 0, before.stderr
    token = tmp_path / "azure-federated-token-42"
    assert token.read_text(encoding="utf-8") == "fake-oidc-token"
    assert before.stdout.strip() == "600", "only the job's user reads it"
    after = _bash("\n".join(job["after_script"]), tmp_path, env)  # a shell of its own
    assert after.returncode == 0 and not token.exists()
