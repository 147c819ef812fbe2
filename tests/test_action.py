"""The composite action in action.yml: its structure, and its shell steps run as GitHub runs them.

GitHub substitutes `${{ inputs.x }}` into a composite action's steps (no INPUT_* variables), gives
each step its own GITHUB_OUTPUT file, and runs `shell: bash` as `bash --noprofile --norc -eo
pipefail FILE`. The tests do the same from the parsed action.yml, offline: the action installs
this checkout (its GITHUB_ACTION_PATH) into its own venv without a package index.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import installed
from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.integration  # starts servers, programs or builds

ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass(frozen=True)
class Step:
    """What one step left behind: its exit code, its printed text and its outputs."""

    code: int
    text: str
    outputs: dict[str, str]


@dataclass(frozen=True)
class Runner:
    """A runner's temporary folder on which the action's install step has run."""

    temp: Path
    install: Step


def _expressions(value: Any) -> list[str]:
    return EXPRESSION.findall(json.dumps(value))


def _substitute(text: str, context: dict[str, dict[str, str]]) -> str:
    """Evaluate `${{ scope.name }}` as GitHub does for the contexts these tests give."""

    def value(match: re.Match[str]) -> str:
        scope, _, name = match.group(1).partition(".")
        if scope == "steps":
            step, _, output = name.partition(".outputs.")
            return context["steps"].get(f"{step}.{output}", "")
        return context[scope][name]

    return EXPRESSION.sub(value, text)


def _inputs(given: dict[str, str]) -> dict[str, str]:
    unknown = set(given) - set(ACTION["inputs"])
    assert not unknown, f"not inputs of the action: {unknown}"
    defaults = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    return defaults | given


def _run(step: dict[str, Any], given: dict[str, str], temp: Path, workspace: Path) -> Step:
    """Run one `run` step of the action with the files and variables GitHub gives it."""
    assert step["shell"] == "bash"
    context = {"inputs": _inputs(given)}
    script = temp / "step.sh"
    script.write_text(_substitute(step["run"], context), encoding="utf-8")
    output = temp / "github_output"
    output.write_text("", encoding="utf-8")
    env = installed.offline_env(
        GITHUB_ACTIONS="true",
        CI="true",
        GITHUB_ACTION_PATH=str(ROOT),
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(workspace.parent / "step_summary.md"),
        RUNNER_TEMP=str(temp),
        # A local build uses the hatchling the test venv already has instead of fetching one.
        PIP_NO_BUILD_ISOLATION="0",
    )
    env |= {key: _substitute(str(v), context) for key, v in step.get("env", {}).items()}
    run = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    lines = output.read_text(encoding="utf-8").splitlines()
    return Step(run.returncode, run.stdout + run.stderr, dict(line.split("=", 1) for line in lines))


def _action_outputs(generate: Step) -> dict[str, str]:
    """The action's outputs, resolved from its `outputs:` expressions as GitHub does."""
    steps = {f"generate.{name}": value for name, value in generate.outputs.items()}
    return {
        name: _substitute(spec["value"], {"steps": steps})
        for name, spec in ACTION["outputs"].items()
    }


def _step(step_id: str) -> dict[str, Any]:
    return next(s for s in STEPS if s.get("id") == step_id)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """RUNNER_TEMP after the install step installed this checkout (version left empty)."""
    temp = tmp_path_factory.mktemp("runner_temp")
    workspace = tmp_path_factory.mktemp("workspace")
    # The venv the step creates exists already, so its dependencies come without an index.
    installed.venv(temp / "entraform-venv", tmp_path_factory)
    install = _run(STEPS[0], {"out": "out", "python": sys.executable}, temp, workspace)
    assert install.code == 0, install.text
    return Runner(temp, install)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A repository work tree holding the example policy and snapshot."""
    root = tmp_path / "workspace"
    root.mkdir()
    for name in ("entraform.yaml", "tenant.json"):
        shutil.copy(EXAMPLES / name, root / name)
    return root


def _generate(runner: Runner, workspace: Path, **given: str) -> tuple[Step, dict[str, str]]:
    step = _run(_step("generate"), {"snapshot": "tenant.json", **given}, runner.temp, workspace)
    return step, _action_outputs(step)


def test_the_action_declares_what_a_composite_action_requires() -> None:
    assert {"name", "description", "inputs", "outputs", "runs"} <= set(ACTION)
    assert ACTION["runs"]["using"] == "composite"
    for name, spec in ACTION["inputs"].items():
        assert spec["description"], name
        assert spec.get("required", False) != ("default" in spec), name
    assert all(step["shell"] == "bash" and "run" in step for step in STEPS)


def test_every_input_a_step_names_is_declared_and_every_input_is_used() -> None:
    named = {e.removeprefix("inputs.") for e in _expressions(STEPS) if e.startswith("inputs.")}
    assert named == set(ACTION["inputs"])
    assert all(e.startswith("inputs.") for e in _expressions(STEPS)), "only inputs reach steps"


def test_inputs_reach_scripts_through_the_environment_never_inside_the_script() -> None:
    assert all("${{" not in step["run"] for step in STEPS)


def test_every_output_is_written_by_the_step_it_names() -> None:
    for name, spec in ACTION["outputs"].items():
        assert spec["description"], name
        match = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", spec["value"])
        assert match, spec["value"]
        step_id, output = match.groups()
        assert f'echo "{output}=' in _step(step_id)["run"]


def test_the_action_validates_against_the_published_action_schema() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    assert checker.exists(), "check-jsonschema is not installed: pip install -e '.[test]'"
    run = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-actions", str(ROOT / "action.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_install_step_puts_the_actions_own_commit_in_its_own_venv(runner: Runner) -> None:
    assert "entraform, version " in runner.install.text
    python = runner.temp / "entraform-venv" / "bin" / "python"
    run = subprocess.run(
        [str(python), "-c", "import generator; print(generator.__file__)"],
        cwd=runner.temp,  # not the checkout, whose generator/ `python -c` would import first
        env=installed.offline_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(run.stdout.strip()).is_relative_to(runner.temp)


def test_a_first_run_writes_the_files_and_says_they_changed(
    runner: Runner, workspace: Path
) -> None:
    step, outputs = _generate(runner, workspace, out="infra/litellm")
    assert step.code == 0, step.text
    assert outputs["changed"] == "true" and outputs["exit-code"] == "0"
    assert (workspace / "infra" / "litellm" / "teams.tf").exists()
    report = json.loads(Path(outputs["report-path"]).read_text(encoding="utf-8"))
    assert report["changed_files"]


def test_the_summary_is_appended_to_the_job_summary(runner: Runner, workspace: Path) -> None:
    job_summary = workspace.parent / "step_summary.md"
    job_summary.write_text("earlier step\n", encoding="utf-8")
    _, outputs = _generate(runner, workspace, out="infra/litellm")
    summary = Path(outputs["summary-path"]).read_text(encoding="utf-8")
    assert summary.startswith("## entraform")
    assert job_summary.read_text(encoding="utf-8") == "earlier step\n" + summary


def test_a_second_run_over_its_own_output_says_nothing_changed(
    runner: Runner, workspace: Path
) -> None:
    _generate(runner, workspace, out="infra/litellm")
    step, outputs = _generate(runner, workspace, out="infra/litellm", args="--check")
    assert step.code == 0, step.text
    assert outputs["changed"] == "false" and outputs["exit-code"] == "0"


def test_extra_arguments_are_split_as_a_shell_would_and_a_failure_keeps_the_outputs(
    runner: Runner, workspace: Path
) -> None:
    _generate(runner, workspace, out="infra/litellm")
    step, outputs = _generate(
        runner, workspace, out="infra/litellm", format="yaml", args="--check  '--diff'"
    )
    assert step.code == 1
    assert outputs["exit-code"] == "1" and outputs["changed"] == "true"
    assert "+++ b/teams.yaml" in step.text
    assert not (workspace / "infra" / "litellm" / "teams.yaml").exists(), "--check writes nothing"


def test_a_config_error_fails_the_step_with_exit_code_2(runner: Runner, workspace: Path) -> None:
    step, outputs = _generate(runner, workspace, out="out", config="missing.yaml")
    assert step.code == 2
    assert outputs["exit-code"] == "2" and outputs["changed"] == "false"


def _fewer_members(workspace: Path) -> None:
    tenant = json.loads((workspace / "tenant.json").read_text(encoding="utf-8"))
    for group in tenant["groups"]:
        users = [m for m in group["members"] if m["@odata.type"] == "#microsoft.graph.user"]
        others = [m for m in group["members"] if m["@odata.type"] != "#microsoft.graph.user"]
        group["members"] = others + users[:1]
    (workspace / "tenant.json").write_text(json.dumps(tenant), encoding="utf-8")


def test_many_removals_are_refused_unless_allow_removals_is_true(
    runner: Runner, workspace: Path
) -> None:
    _generate(runner, workspace, out="infra/litellm")
    _fewer_members(workspace)
    refused, outputs = _generate(runner, workspace, out="infra/litellm")
    assert refused.code == 4 and outputs["exit-code"] == "4"
    allowed, outputs = _generate(
        runner, workspace, out="infra/litellm", **{"allow-removals": "true"}
    )
    assert allowed.code == 0, allowed.text
    assert outputs["changed"] == "true"


def test_a_pip_requirement_as_version_installs_that_package(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    temp, workspace = tmp_path / "runner_temp", tmp_path / "workspace"
    workspace.mkdir()
    installed.venv(temp / "entraform-venv", tmp_path_factory)
    wheel = installed.wheel(tmp_path_factory)
    given = {"out": "out", "python": sys.executable, "version": str(wheel)}
    install = _run(STEPS[0], given, temp, workspace)
    assert install.code == 0, install.text
    record = next((temp / "entraform-venv").glob("lib/python*/site-packages/entraform-*.dist-info"))
    url = json.loads((record / "direct_url.json").read_text(encoding="utf-8"))["url"]
    assert urllib.parse.unquote(url).endswith(wheel.name)  # a local version's `+` is quoted
