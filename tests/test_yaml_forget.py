"""The YAML route never destroys what the policy forgets: prevent_destroy stops the plan.

A `removed` block cannot name one instance of the YAML route's shared resources, so a forgotten
organization or team (the default for organizations, `safety.teams_removed: forget` for teams)
is protected instead, as the summary says, and forgotten with `terraform state rm`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from generator.report import summary
from tests.rendering import build, generate
from tests.standin import run_terraform, stand_in_tree
from tests.tenants import directory, group, oid, tenant, user

POLICY = """\
version: 1
litellm: {enterprise: true}
organizations:
  - {rule: orgs, select: {prefix: "Org-"}}
teams:
  - {rule: teams, select: {prefix: "Team-"}}
safety: {teams_removed: forget, max_removed: 100, max_removed_percent: 100}
"""
GROUPS = {"Org-A": ("p0", "p1"), "Org-B": ("p2",), "Team-A": ("p0",), "Team-B": ("p1", "p2")}


def _tenant(without: str = "") -> dict[str, object]:
    groups = [group(name, people) for name, people in GROUPS.items() if name != without]
    return tenant(groups, [user(p) for p in ("p0", "p1", "p2")])


@pytest.mark.integration
@pytest.mark.parametrize("dropped", ["Team-B", "Org-B"])
def test_a_forgotten_organization_or_team_stops_the_plan_instead_of_being_destroyed(
    tmp_path: Path, terraform: str, dropped: str
) -> None:
    policy, out, stand = tmp_path / "p.yaml", tmp_path / "out", tmp_path / "stand"
    policy.write_text(POLICY, encoding="utf-8")
    generate(policy, directory(_tenant()), out, "yaml")
    (root,) = stand_in_tree(out, stand)
    run_terraform(terraform, root, "init", "-input=false")
    run_terraform(terraform, root, "apply", "-auto-approve", "-input=false")

    result = build(policy, directory(_tenant(without=dropped)), out, "yaml")
    assert "protected by prevent_destroy" in summary.markdown(result)
    generate(policy, directory(_tenant(without=dropped)), out, "yaml")
    (root,) = stand_in_tree(out, stand)
    plan = subprocess.run(
        [terraform, "plan", "-input=false", "-no-color"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CHECKPOINT_DISABLE": "1"},
    )
    assert plan.returncode != 0
    assert "Instance cannot be destroyed" in plan.stderr
    assert oid(f"group/{dropped}") in plan.stderr
