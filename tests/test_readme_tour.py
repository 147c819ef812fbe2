"""The README's five-minute tour runs as printed, on a copy of the bundled example."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _tour() -> list[list[str]]:
    """Each entraform command of the tour's block, as words, comments left out."""
    block = README.split("## A five-minute tour", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        for command in line.split("#", 1)[0].split("&&"):
            commands.append(shlex.split(command))
    return commands


def test_the_tour_runs_as_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    first = re.search(r"pip install \. && (entraform generate [^\n]+)", README)
    assert first is not None
    runner = CliRunner()
    assert runner.invoke(cli, shlex.split(first.group(1))[1:]).exit_code == 0
    codes = []
    for words in _tour():
        assert words[0] == "entraform"
        result = runner.invoke(cli, words[1:])
        codes.append(result.exit_code)
        if "--summary" in words:
            assert "renamed from Finance Controlling" in result.stdout
        if words[1] == "explain":
            assert "MeganB@contoso.com" in result.stdout
    assert codes == [1, 0, 0, 0, 0, 0]
    assert Path("map.md").is_file() and Path("my-policy.yaml").is_file()
