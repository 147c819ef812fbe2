"""Golden files: rendered output compared byte for byte (conftest.UPDATE_GOLDEN updates them)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT, UPDATE_GOLDEN
from tests.rendering import Format, Layout, read_tree, render_files, render_map

FORMATS: tuple[Format, ...] = ("terraform", "yaml")

GOLDEN = ROOT / "tests" / "golden"
CASES = {
    "golden": (GOLDEN / "entraform.yaml", GOLDEN / "tenant.json", GOLDEN),
    "example": (EXAMPLES / "entraform.yaml", EXAMPLES / "tenant.json", EXAMPLES),
    # The example with users managed (offboarding): users.tf, users.yaml.
    "users": (GOLDEN / "users" / "entraform.yaml", EXAMPLES / "tenant.json", GOLDEN / "users"),
    "prefixed": (
        GOLDEN / "prefixed" / "entraform.yaml",
        EXAMPLES / "tenant.json",
        GOLDEN / "prefixed",
    ),
}
# The per-organization layout is the Terraform route's, shown on the bundled example.
VARIANTS: list[tuple[str, Format, Layout]] = [
    (case, output_format, "single") for case in sorted(CASES) for output_format in FORMATS
] + [("example", "terraform", "per-organization")]


def _folder(base: Path, output_format: Format, layout: Layout) -> Path:
    return base / (output_format if layout == "single" else f"{output_format}-{layout}")


@pytest.mark.parametrize(("case", "output_format", "layout"), VARIANTS)
def test_rendered_output_matches_the_committed_files(
    case: str, output_format: Format, layout: Layout, update_golden: bool
) -> None:
    policy, tenant, base = CASES[case]
    folder = _folder(base, output_format, layout)
    shown = folder.relative_to(ROOT).as_posix()
    rendered = render_files(policy, tenant, output_format, layout, shown)
    if update_golden:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, text in rendered.items():
            (folder / name).parent.mkdir(exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8", newline="\n")
    assert read_tree(folder) == rendered, f"{folder} is stale: run `{UPDATE_GOLDEN}`"


@pytest.mark.integration
@pytest.mark.parametrize(
    "folder",
    [_folder(CASES[case][2], output_format, layout) for case, output_format, layout in VARIANTS],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_committed_hcl_is_terraform_fmt_clean(folder: Path, terraform: str) -> None:
    run = subprocess.run(
        [terraform, "fmt", "-check", "-diff", "-recursive", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_map_matches_the_committed_file(case: str, update_golden: bool) -> None:
    policy, tenant, base = CASES[case]
    target = base / "map.md"
    rendered = render_map(policy, tenant, target)
    if update_golden:
        target.write_text(rendered, encoding="utf-8", newline="\n")
    assert target.read_text(encoding="utf-8") == rendered, (
        f"{target} is stale: run `{UPDATE_GOLDEN}`"
    )
