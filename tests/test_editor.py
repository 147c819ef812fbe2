"""Editors and shells: the policy schema for YAML language servers, shell completion, --version."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from generator.cli import cli
from tests.conftest import EXAMPLES, ROOT

EDITORS = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")
SCHEMA_LINE = re.compile(r"# yaml-language-server: \$schema=(\S+)")
ENTRAFORM = Path(sys.executable).parent / "entraform"


def _complete(**env: str) -> subprocess.CompletedProcess[str]:
    """Run the console script with click's completion variables set."""
    assert ENTRAFORM.exists(), "entraform is not installed: pip install -e '.[test]'"
    return subprocess.run(
        [str(ENTRAFORM)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def test_the_schema_command_prints_the_packaged_policy_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert result.output == (ROOT / "generator" / "policy.schema.json").read_text("utf-8")
    assert json.loads(result.output)["title"].startswith("entraform policy")


def test_the_example_policy_names_the_schema_on_its_first_line() -> None:
    first = (EXAMPLES / "entraform.yaml").read_text(encoding="utf-8").splitlines()[0]
    match = SCHEMA_LINE.fullmatch(first)
    assert match, first
    named = (EXAMPLES / match.group(1)).resolve()
    assert named == (ROOT / "generator" / "policy.schema.json").resolve()


def test_the_example_policy_is_valid_under_the_schema_it_names() -> None:
    text = (EXAMPLES / "entraform.yaml").read_text(encoding="utf-8")
    schema = json.loads(CliRunner().invoke(cli, ["schema"]).output)
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(text))


def test_the_docs_show_the_schema_line_for_a_checkout_and_an_installed_package() -> None:
    assert "# yaml-language-server: $schema=../generator/policy.schema.json" in EDITORS
    assert "entraform schema > entraform.schema.json" in EDITORS
    assert "# yaml-language-server: $schema=entraform.schema.json" in EDITORS


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o nosort -F"), ("zsh", "#compdef entraform"), ("fish", "complete ")],
)
def test_click_writes_a_completion_script_for_each_documented_shell(
    shell: str, marker: str
) -> None:
    script = _complete(_ENTRAFORM_COMPLETE=f"{shell}_source").stdout
    assert marker in script
    assert f"_ENTRAFORM_COMPLETE={shell}_source entraform" in EDITORS


def test_completion_offers_the_commands_that_match_what_was_typed() -> None:
    run = _complete(_ENTRAFORM_COMPLETE="bash_complete", COMP_WORDS="entraform sch", COMP_CWORD="1")
    assert run.stdout.split() == ["plain,schema"]


def test_the_version_option_prints_the_package_version_and_is_documented() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.output == f"entraform, version {metadata.version('entraform')}\n"
    assert "`entraform --version`" in EDITORS
