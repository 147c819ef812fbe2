"""Render a policy and snapshot in-process, the way `entraform generate` does."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path
from typing import Literal

from generator import files, mapping, pipeline, summary
from generator.directory import Directory
from generator.policy import load_policy
from generator.sources import snapshot
from tests.conftest import ROOT

Format = Literal["terraform", "yaml"]


def build(
    policy_path: Path, directory: Directory, out: Path, output_format: Format = "terraform"
) -> pipeline.Result:
    """Plan a run without writing."""
    policy = load_policy(policy_path)
    policy = replace(policy, output=replace(policy.output, format=output_format))
    return pipeline.build(policy, directory, out)


def render_files(policy_path: Path, snapshot_path: Path, output_format: Format) -> dict[str, str]:
    """Return the files a fresh run renders."""
    directory = snapshot.loads(snapshot_path.read_text(encoding="utf-8"))
    return build(policy_path, directory, Path("/nonexistent"), output_format).files


def render_map(policy_path: Path, snapshot_path: Path, target: Path) -> str:
    """Return the map `entraform map` writes, with paths relative to the checkout as committed."""
    directory = snapshot.loads(snapshot_path.read_text(encoding="utf-8"))
    state = mapping.apply(load_policy(policy_path), directory).state
    paths = [str(p.relative_to(ROOT)) for p in (policy_path, snapshot_path, target)]
    words = ["entraform", "map", "--config", paths[0], "--snapshot", paths[1], "--out", paths[2]]
    return summary.structure(state, shlex.join(words))


def generate(
    policy_path: Path, directory: Directory, out: Path, output_format: Format = "terraform"
) -> pipeline.Result:
    """Plan and write a run, ignoring the guards."""
    result = build(policy_path, directory, out, output_format)
    files.write(out, result.plan.files)
    return result


def read_tree(folder: Path) -> dict[str, str]:
    """Return file name → text for the files in a folder."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.is_file()}
