"""The documentation site: the policy reference is current, every page is in the nav, it builds."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, UPDATE_GOLDEN

DOCS = ROOT / "docs"
SCHEMA: dict[str, Any] = json.loads(
    (ROOT / "generator" / "policy.schema.json").read_text(encoding="utf-8")
)


def _script(path: Path) -> ModuleType:
    # docs/reference.py is a script beside the pages, not a module of an importable package.
    spec = importlib.util.spec_from_file_location(f"docs_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # where its dataclass looks itself up
    spec.loader.exec_module(module)
    return module


reference = _script(DOCS / "reference.py")


def test_the_policy_reference_matches_its_golden_page(update_golden: bool) -> None:
    if update_golden:
        reference.main([])
    page: Path = reference.PAGE
    assert page.read_text(encoding="utf-8") == reference.render(SCHEMA), (
        f"{page.relative_to(ROOT)} is stale: run `python docs/reference.py` or `{UPDATE_GOLDEN}`"
    )


def _schema_keys(node: dict[str, Any], path: str = "") -> Iterator[str]:
    """The dotted path of every property below node, walked apart from the generator's walk."""
    if "$ref" in node:
        yield from _schema_keys(SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]], path)
    for name, child in node.get("properties", {}).items():
        key = f"{path}.{name}" if path else name
        yield key
        yield from _schema_keys(child, key)
    if "items" in node:
        yield from _schema_keys(node["items"], f"{path}[]")
    for shape in node.get("oneOf", []):
        yield from _schema_keys(shape, path)


def test_the_policy_reference_lists_every_key_of_the_schema() -> None:
    page = (DOCS / "reference" / "policy.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([^`]+)` \|", page, re.MULTILINE))
    assert "teams[].select.prefix" in listed
    assert sorted(set(_schema_keys(SCHEMA)) - listed) == []


def _nav_pages(entry: Any) -> Iterator[str]:
    """The page of every nav entry, in sections at any depth."""
    if isinstance(entry, str):
        yield entry
    elif isinstance(entry, dict):
        for value in entry.values():
            yield from _nav_pages(value)
    else:
        for item in entry:
            yield from _nav_pages(item)


def test_every_page_is_in_the_nav_and_every_nav_entry_is_a_page() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["docs_dir"] == "docs"
    nav = list(_nav_pages(config["nav"]))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert sorted(pages - set(nav)) == [], "pages the nav leaves out"
    assert sorted(set(nav) - pages) == [], "nav entries without a page"
    assert len(nav) == len(set(nav)), "a page listed twice"


@pytest.fixture(scope="session")
def mkdocs() -> list[str]:
    """The mkdocs command; missing is a skip on a laptop and a failure under CI=true."""
    absent = [name for name in ("mkdocs", "material") if importlib.util.find_spec(name) is None]
    if absent:
        why = f"{' and '.join(absent)} not installed (pip install -e '.[docs]')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why}, and CI=true requires it")
        pytest.skip(why)
    return [sys.executable, "-m", "mkdocs"]


@pytest.mark.integration
def test_the_site_builds_in_strict_mode(mkdocs: list[str], tmp_path: Path) -> None:
    # Material's notice of its end of life would otherwise head every failure message.
    quiet = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    run = subprocess.run(
        [*mkdocs, "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env=quiet,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "reference" / "policy" / "index.html").is_file()
