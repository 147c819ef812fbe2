"""Project promises: the README's commands are what CI runs; the code is lint- and type-clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.policy.load import parse_policy
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
TEST_COMMAND = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && "
    "npm ci --prefix tests/mermaid --no-audit --no-fund --ignore-scripts && python -m pytest"
)
EXAMPLE_COMMAND = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install . && "
    "entraform generate --config examples/entraform.yaml --snapshot examples/tenant.json "
    "--out out/litellm"
)


def test_the_readme_test_command_is_what_ci_runs() -> None:
    assert TEST_COMMAND in README
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_readme_shows_the_example_command() -> None:
    assert EXAMPLE_COMMAND in README


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def test_ruff_finds_nothing() -> None:
    run = subprocess.run(
        [_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_strict_finds_nothing() -> None:
    run = subprocess.run(
        [_tool("mypy")], cwd=ROOT, capture_output=True, text=True, check=False, timeout=600
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_readme_policy_reference_is_a_valid_policy() -> None:
    start = README.index("ids:                             # LiteLLM organization")
    block = README[README.rindex("```yaml\n", 0, start) + 8 : README.index("```", start)]
    policy = parse_policy(block, "README.md")
    assert policy.organizations and policy.teams
