"""Render a policy and snapshot in-process, the way `entraform generate` does."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path
from typing import Literal

from generator import mapping
from generator import run as pipeline
from generator.directory import Directory
from generator.policy import Layout, load_policy
from generator.report import summary
from generator.sources import snapshot
from generator.workspace import writes as files
from tests.conftest import ROOT

Format = Literal["terraform", "yaml"]


def build(
    policy_path: Path,
    directory: Directory,
    out: Path,
    output_format: Format = "terraform",
    layout: Layout = "single",
    *,
    shown_out: str | None = None,
    migrate_layout: bool = False,
) -> pipeline.Result:
    """Plan a run without writing; `shown_out` is the folder the file headers name."""
    policy = load_policy(policy_path)
    output = replace(policy.output, format=output_format, layout=layout)
    if shown_out is not None:
        output = replace(output, regenerate=output.regenerate_command(shown_out))
    policy = replace(policy, output=output)
    return pipeline.build(policy, directory, out, migrate_layout=migrate_layout)


def render_files(
    policy_path: Path,
    snapshot_path: Path,
    output_format: Format,
    layout: Layout = "single",
    shown_out: str | None = None,
) -> dict[str, str]:
    """Return the files a fresh run renders."""
    directory = snapshot.loads(snapshot_path.read_text(encoding="utf-8"))
    nowhere = Path("/nonexistent")
    return build(policy_path, directory, nowhere, output_format, layout, shown_out=shown_out).files


def render_map(policy_path: Path, snapshot_path: Path, target: Path) -> str:
    """Return the map `entraform map` writes, with paths relative to the checkout as committed."""
    directory = snapshot.loads(snapshot_path.read_text(encoding="utf-8"))
    state = mapping.apply(load_policy(policy_path), directory).state
    paths = [str(p.relative_to(ROOT)) for p in (policy_path, snapshot_path, target)]
    words = ["entraform", "map", "--config", paths[0], "--snapshot", paths[1], "--out", paths[2]]
    return summary.structure(state, shlex.join(words))


def generate(
    policy_path: Path,
    directory: Directory,
    out: Path,
    output_format: Format = "terraform",
    layout: Layout = "single",
    *,
    migrate_layout: bool = False,
) -> pipeline.Result:
    """Plan and write a run, ignoring the guards."""
    result = build(
        policy_path, directory, out, output_format, layout, migrate_layout=migrate_layout
    )
    files.write(out, result.plan.files)
    return result


def read_tree(folder: Path) -> dict[str, str]:
    """Return path (relative to the folder, one level of subfolders) → text for its files."""
    found: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        inner = sorted(path.iterdir()) if path.is_dir() and not path.name.startswith(".") else []
        for file in [path] if path.is_file() else inner:
            if file.is_file():
                found[file.relative_to(folder).as_posix()] = file.read_text(encoding="utf-8")
    return found
