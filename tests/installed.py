"""entraform installed from its wheel into a fresh venv, as pipx or a CI action would, offline."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT

# What the checkout's own install adds to site-packages; everything else there is a dependency.
OWN = ("generator", "entraform", "_editable_impl_entraform")


def wheel(factory: pytest.TempPathFactory) -> Path:
    """Build entraform's wheel once per test session."""
    dist = factory.getbasetemp() / "entraform-dist"
    built = sorted(dist.glob("entraform-*.whl"))
    if built:
        return built[0]
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*command, "-w", str(dist), str(ROOT)], check=True, timeout=300, capture_output=True
    )
    (found,) = dist.glob("entraform-*.whl")
    return found


def dependencies(factory: pytest.TempPathFactory) -> Path:
    """A folder holding the test venv's installed packages except entraform itself."""
    folder = factory.getbasetemp() / "entraform-dependencies"
    if not folder.exists():
        folder.mkdir()
        site = Path(sysconfig.get_path("purelib"))
        for entry in site.iterdir():
            if entry.name.startswith(OWN) or entry.suffix == ".pth" or entry.name == "__pycache__":
                continue
            (folder / entry.name).symlink_to(entry)
    return folder


def venv(path: Path, factory: pytest.TempPathFactory) -> Path:
    """Create a venv at path that finds entraform's dependencies without a package index."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    site = subprocess.run(
        [
            str(path / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # A .pth line appends the folder to sys.path, after the venv's own site-packages.
    (Path(site) / "entraform-test-dependencies.pth").write_text(
        f"{dependencies(factory)}\n", encoding="utf-8"
    )
    return path


def offline_env(**extra: str) -> dict[str, str]:
    """A minimal environment in which pip cannot reach a package index."""
    # The test venv's bin leaves PATH, so nothing resolves to the checkout's install.
    own = str(Path(sys.executable).parent)
    path = os.pathsep.join(
        p for p in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p != own
    )
    return {
        "PATH": path,
        "HOME": os.environ.get("HOME", "/root"),
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        **extra,
    }
