"""Render a policy and snapshot in-process, the way `entraform generate` does."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path
from typing import Literal

from generator import mapping, render, run
from generator.directory import Directory
from generator.policy import Policy
from generator.policy.load import load_policy
from generator.render.templates import RenderOptions
from generator.report.outcome import Report
from generator.report.structure import structure
from generator.sources import snapshot
from generator.state import DesiredState
from generator.workspace import writes
from generator.workspace.labels import Labels, assign, chunked
from tests.conftest import ROOT
from tests.standin import stand_in_tree

Format = Literal["terraform", "yaml"]
Layout = Literal["single", "per-organization"]


def build(
    policy_path: Path,
    directory: Directory,
    out: Path,
    output_format: Format | None = "terraform",
    layout: Layout | None = "single",
    *,
    shown_out: str | None = None,
    migrate_layout: bool = False,
    allow_removals: bool = False,
) -> Report:
    """Plan a run without writing; `shown_out` is the folder the file headers name.

    None for the format or the layout: as the folder holds it, like a run without the option.
    """
    policy = load_policy(policy_path)
    words = ("entraform", "generate", "--config", str(policy_path), "--out", shown_out or str(out))
    options = run.Options(
        out,
        output_format,
        layout,
        migrate_layout=migrate_layout,
        allow_removals=allow_removals,
        command=words,
    )
    if shown_out is not None:
        # The folder the headers name, when the policy's command names one with {out}.
        policy = _shown(policy, shown_out)
    return run.generate(policy, directory, options)


def _shown(policy: Policy, shown_out: str) -> Policy:
    output = policy.output
    if output.regenerate is None:
        return policy
    regenerate = output.regenerate.replace("{out}", shown_out)
    return replace(policy, output=replace(output, regenerate=regenerate))


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
    report = build(policy_path, directory, nowhere, output_format, layout, shown_out=shown_out)
    return dict(report.files)


def render_map(policy_path: Path, snapshot_path: Path, target: Path) -> str:
    """Return the map `entraform map` writes, with paths relative to the checkout as committed."""
    directory = snapshot.loads(snapshot_path.read_text(encoding="utf-8"))
    state = mapping.apply(load_policy(policy_path), directory).state
    paths = [str(p.relative_to(ROOT)) for p in (policy_path, snapshot_path, target)]
    words = ["entraform", "map", "--config", paths[0], "--snapshot", paths[1], "--out", paths[2]]
    return structure(state, shlex.join(words))


def generate(
    policy_path: Path,
    directory: Directory,
    out: Path,
    output_format: Format | None = "terraform",
    layout: Layout | None = "single",
    *,
    migrate_layout: bool = False,
) -> Report:
    """Plan and write a run, ignoring the guards."""
    report = build(
        policy_path,
        directory,
        out,
        output_format,
        layout,
        migrate_layout=migrate_layout,
    )
    writes.write(out, report.file_changes)
    return report


def read_tree(folder: Path) -> dict[str, str]:
    """Return path (relative to the folder, one level of subfolders) → text for its files."""
    found: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        inner = sorted(path.iterdir()) if path.is_dir() and not path.name.startswith(".") else []
        for file in [path] if path.is_file() else inner:
            if file.is_file():
                found[file.relative_to(folder).as_posix()] = file.read_text(encoding="utf-8")
    return found


def stand_in_state(state: DesiredState, output_format: Format, tmp_path: Path) -> Path:
    """Render a state as one root, maps split as they grow; the root of its stand-in."""
    fmt = render.named(output_format)
    labels = assign(Labels(), state, forget_organizations=True, forget_teams=False)
    labels = chunked(labels, fmt.map_sizes(state, labels))
    out = tmp_path / "out"
    out.mkdir()
    for name, text in render.render(state, labels, fmt, RenderOptions(), "single").items():
        (out / name).write_text(text, encoding="utf-8", newline="\n")
    (root,) = stand_in_tree(out, tmp_path / "stand")
    return root
