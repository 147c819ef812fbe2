"""Shared fixtures: paths, the golden-file switch, the terraform binary."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.mermaidjs import Parser, missing

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add --update-golden: rewrite golden files and committed examples instead of comparing."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite tests/golden and the rendered examples from the current code.",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when golden files should be rewritten."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def terraform() -> str:
    """Path of the terraform CLI; missing is a skip on a laptop and a failure under CI=true."""
    path = shutil.which("terraform")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("terraform is not installed, and CI=true requires it")
        pytest.skip("terraform is not installed")
    return path


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a proxy from the environment away from requests meant for loopback fakes."""
    for name in (
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def mermaid() -> Parser:
    """Mermaid's real parser; missing is a skip on a laptop and a failure under CI=true."""
    why = missing()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why}, and CI=true requires it")
        pytest.skip(why)
    return Parser(shutil.which("node") or "node")
