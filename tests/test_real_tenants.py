"""Tenants shaped like real ones: thousands of groups, duplicate and hostile names, both formats."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from generator import run as runs
from generator.policy.load import parse_policy
from generator.report.outcome import Report
from generator.workspace import manifest
from tests.console import string_map
from tests.hostile import nfc
from tests.rendering import Format
from tests.tenants import directory, group, oid, tenant, user

USERS = [user(f"u{n}") for n in range(40)]
ALPHABET = [
    "a", "Z", "é", "ß", "日", "😀", "\u0301", "\u200b", "\u202e", "\u2028", "\x00", "\x07",
    "\n", "\t", "\\", '"', "'", "`", "$", "{", "}", "%", "#", "/", ".", ":", " ", "-", "*",
    "&", "!", "\ufeff", "\u212b", "0", "9",
]  # fmt: skip
FIXED = [
    "", "!!!", "...", "日本語", "Sales", "sales", "SALES", "Sales", "${file(\"/etc/passwd\")}",
    "%{ if true }x%{ endif }", "../../etc", "N", "Y", "08", "1e3", "a" * 256, "\n", " ",
]  # fmt: skip


def hostile_names(count: int, seed: int = 7) -> list[str]:
    """Deterministic display names: fixed traps, then random mixes of hostile characters."""
    rng = random.Random(seed)
    names = list(FIXED)
    while len(names) < count:
        length = rng.choice((1, 2, 5, 17, 64, 256))
        names.append("".join(rng.choice(ALPHABET) for _ in range(length)))
    return names[:count]


def hostile_tenant(count: int) -> dict[str, Any]:
    """A tenant whose group names are hostile; every group has one or two members."""
    groups = [
        group(name, (f"u{i % 40}", f"u{(i * 7) % 40}"), id=oid(f"group/{i}"))
        for i, name in enumerate(hostile_names(count))
    ]
    return tenant(groups, USERS)


def run(policy_text: str, data: dict[str, Any], out: Path, output_format: Format) -> Report:
    policy = parse_policy(
        textwrap.dedent(policy_text) + f"output: {{format: {output_format}}}\n", "p.yaml"
    )
    return runs.generate(policy, directory(data), runs.Options(out))


ALL_TEAMS = """\
version: 1
teams:
  - {rule: every, select: {regex: '(?s).*'}}
"""
PRESET = """\
version: 1
litellm: {enterprise: true}
preset: {name: entra_groups_also_create_orgs, select: {regex: '(?s).*'}}
"""


def _write(result: Report, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in result.files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


_TEAM = re.compile(
    r'^resource "litellm_team" "([^"]+)" \{\n  team_id\s+= ("[^"\n]*")\n  team_alias\s+= (.*)$',
    re.M,
)


def _aliases_as_terraform_reads_them(terraform: str, result: Report, tmp: Path) -> dict[str, str]:
    """team_id → team_alias, with every literal evaluated by terraform itself."""
    pairs = [m.group(2, 3) for text in result.files.values() for m in _TEAM.finditer(text)]
    tmp.mkdir(parents=True, exist_ok=True)
    body = ",\n".join(f"    [{i}, {alias}]" for i, alias in pairs)
    (tmp / "values.tf").write_text(f"locals {{\n  pairs = [\n{body}\n  ]\n}}\n", encoding="utf-8")
    return string_map(terraform, tmp, "{for p in local.pairs : p[0] => p[1]}")


def _expected_aliases(data: dict[str, Any]) -> dict[str, str]:
    # Terraform NFC-normalises every string it reads: that is what reaches LiteLLM.
    return {g["id"]: nfc(g["displayName"]) for g in data["groups"]}


@pytest.mark.integration
@pytest.mark.parametrize("output_format", ["terraform", "yaml"])
def test_a_regex_over_every_group_renders_thousands_of_hostile_names(
    output_format: Format, tmp_path: Path, terraform: str
) -> None:
    data = hostile_tenant(2000)
    result = run(ALL_TEAMS, data, tmp_path / "out", output_format)
    assert len(result.outcome.state.teams) == 2000
    for name in set(result.files) - {manifest.NAME}:
        assert re.fullmatch(r"[a-z0-9_]+\.(tf|yaml)", name), name
    folder = _write(result, tmp_path / "out")
    subprocess.run([terraform, "fmt", "-check", "-diff", str(folder)], check=True, timeout=300)
    if output_format == "yaml":
        # The output folder's main.tf needs the provider; the data file is read on its own.
        scratch = tmp_path / "console"
        scratch.mkdir()
        shutil.copy(folder / "teams.yaml", scratch / "teams.yaml")
        aliases = string_map(
            terraform,
            scratch,
            '{for k, v in yamldecode(file("teams.yaml")).teams : k => v.alias}',
        )
    else:
        assert len(set(result.labels.teams.values())) == 2000
        aliases = _aliases_as_terraform_reads_them(terraform, result, tmp_path / "console")
    assert aliases == _expected_aliases(data)


@pytest.mark.parametrize("output_format", ["terraform", "yaml"])
def test_the_preset_renders_every_group_of_a_tenant_with_duplicate_names(
    output_format: Format, tmp_path: Path
) -> None:
    data = hostile_tenant(300)
    names = [g["displayName"] for g in data["groups"]]
    assert len(set(names)) < len(names)  # the tenant really has duplicates
    result = run(PRESET, data, tmp_path / "out", output_format)
    state = result.outcome.state
    assert len(state.organizations) == len(state.teams) == 300
    assert all(t.organization_id == t.id for t in state.teams)
    if output_format == "yaml":
        teams = result.files["teams.yaml"]
        assert all(f'organization_id: "{t.id}"' in teams for t in state.teams)
    else:
        org_files = [n for n in result.files if n.startswith("org_")]
        assert len(org_files) == 300
        for team in state.teams:
            label = result.labels.organizations[team.id]
            assert (
                f"organization_id = litellm_organization.{label}.organization_id"
                in result.files[f"org_{label}.tf"]
            )
