"""Project promises: the README's commands are what CI runs; the code is lint- and type-clean."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.policy.load import parse_policy
from tests.conftest import ROOT, UPDATE_GOLDEN

README = (ROOT / "README.md").read_text(encoding="utf-8")
TEST_COMMAND = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test,docs]' && "
    'npm ci --prefix tests/mermaid --no-audit --no-fund --ignore-scripts && python -m pytest -m ""'
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


def test_the_docs_give_the_command_that_updates_the_golden_files() -> None:
    assert UPDATE_GOLDEN in README
    assert UPDATE_GOLDEN in (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


@pytest.mark.integration
def test_ruff_finds_nothing() -> None:
    run = subprocess.run(
        [_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.integration
def test_mypy_strict_finds_nothing() -> None:
    run = subprocess.run(
        [_tool("mypy")], cwd=ROOT, capture_output=True, text=True, check=False, timeout=600
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_documented_policy_reference_is_a_valid_policy() -> None:
    page = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    start = page.index("ids:                             # LiteLLM organization")
    block = page[page.rindex("```yaml\n", 0, start) + 8 : page.index("```", start)]
    policy = parse_policy(block, "docs/policy.md")
    assert policy.organizations and policy.teams


# The shape of the code: a tree that reads as the pipeline, each concern in one place.

GENERATOR = ROOT / "generator"
# From the bottom up; a unit imports only from its own layer and those below it.
LAYERS = (
    ("errors", "backoff", "hcl"),
    ("directory", "state"),
    ("sources",),
    ("policy",),
    ("mapping", "plan", "workspace"),
    ("render",),
    ("live",),
    ("report",),
    ("run", "settings"),
    ("cli",),
    ("__main__",),
)


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(GENERATOR.rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        found[name] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def _imports(tree: ast.Module, package: str) -> set[str]:
    """The generator modules one module imports, anywhere in it (lazy imports count too)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("generator"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("generator")}
    return found


def _unit(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def test_the_tree_has_few_flat_modules_each_small_enough_to_read_in_one_sitting() -> None:
    flat = [p.name for p in GENERATOR.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(flat) <= 8, flat
    long = {
        str(p.relative_to(ROOT)): n
        for p in GENERATOR.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 300
    }
    assert long == {}


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    layer = {unit: n for n, units in enumerate(LAYERS) for unit in units}
    modules = _modules()
    assert {_unit(m) for m in modules} - {"generator"} <= set(layer), "a unit without a layer"
    upward = [
        f"{module} imports {target}"
        for module, tree in modules.items()
        for target in _imports(tree, module)
        if target in modules and layer.get(_unit(target), 0) > layer.get(_unit(module), 0)
    ]
    assert upward == []


def test_no_modules_import_each_other_in_a_cycle() -> None:
    modules = _modules()
    edges = {
        m: {t for t in _imports(tree, m) if t in modules and t != m} for m, tree in modules.items()
    }
    # A package's __init__ importing its own submodules is how a package presents them.
    edges = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in edges.items()}
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> None:
        if module in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(module) :], module]))
        if module in done:
            return
        path.append(module)
        for target in sorted(edges[module]):
            visit(target)
        path.pop()
        done.add(module)

    for module in sorted(edges):
        visit(module)


def test_no_two_types_share_a_name() -> None:
    seen: dict[str, list[str]] = {}
    for module, tree in _modules().items():
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                seen.setdefault(node.name, []).append(module)
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                value = node.value
                alias = isinstance(value, ast.BinOp) or (
                    isinstance(value, (ast.Subscript, ast.Call))
                    and getattr(
                        value.value if isinstance(value, ast.Subscript) else value.func, "id", ""
                    )
                    in ("Literal", "TypeVar", "NamedTuple")
                )
                if alias:
                    seen.setdefault(node.targets[0].id, []).append(module)
    assert {name: found for name, found in seen.items() if len(found) > 1} == {}
