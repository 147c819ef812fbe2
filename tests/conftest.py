"""Shared fixtures: paths, the golden-file switch, the terraform binary."""

from __future__ import annotations

import os
import shutil
import socketserver
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.mermaidjs import Parser, missing

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# Rewrites every golden file and rendered example (the integration layer holds some of them).
UPDATE_GOLDEN = 'python -m pytest -m "" -k golden --update-golden'


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


# The two layers. A plain `pytest` runs the unit and golden tests; `pytest -m ""` (the README's
# test command) adds the integration tests: those that start Terraform, Node, a package build,
# a server on loopback or a linter. A test outside that layer that starts one fails, so that
# the fast layer stays fast.
INTEGRATION = "integration"
_PROGRAMS = frozenset({"terraform", "node", "npm", "ruff", "mypy", "pre-commit", "zizmor"})


@pytest.fixture(autouse=True)
def _stays_in_its_layer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside the integration layer, refuse to start a server or one of the heavy programs."""
    if request.node.get_closest_marker(INTEGRATION) is not None:
        return
    bind = socketserver.TCPServer.server_bind
    popen = subprocess.Popen.__init__

    def no_server(self: socketserver.TCPServer) -> None:
        pytest.fail(f"{request.node.nodeid} starts a server: mark it @pytest.mark.integration")
        bind(self)

    def no_program(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        words = [args] if isinstance(args, (str, Path)) else list(args)
        program = Path(str(words[0])).name
        building = program.startswith("python") and ("build" in words or "wheel" in words)
        if program in _PROGRAMS or building or "pip" in words:
            pytest.fail(f"{request.node.nodeid} runs {program}: mark it @pytest.mark.integration")
        popen(self, args, *rest, **kwargs)

    monkeypatch.setattr(socketserver.TCPServer, "server_bind", no_server)
    monkeypatch.setattr(subprocess.Popen, "__init__", no_program)
