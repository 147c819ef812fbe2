"""The wheel installed on its own, as pipx would: it renders, shows its schema and version."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests import installed
from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.integration  # starts servers, programs or builds

EXAMPLE = [
    "generate",
    "--config",
    "examples/entraform.yaml",
    "--snapshot",
    "examples/tenant.json",
    "--out",
    "examples/terraform",
]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the wheel installed from this checkout."""
    path = installed.venv(tmp_path_factory.mktemp("pipx") / "venv", tmp_path_factory)
    wheel = installed.wheel(tmp_path_factory)
    subprocess.run(
        [str(path / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        env=installed.offline_env(),
        check=True,
        timeout=300,
    )
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _example_tree(where: Path) -> Path:
    (where / "examples").mkdir(parents=True)
    for name in ("entraform.yaml", "tenant.json"):
        shutil.copy(EXAMPLES / name, where / "examples" / name)
    return where


def test_the_installed_command_renders_the_example_as_the_checkout_does(
    venv: Path, tmp_path: Path
) -> None:
    wheel_run, checkout_run = (
        _example_tree(tmp_path / "wheel"),
        _example_tree(tmp_path / "checkout"),
    )
    env = installed.offline_env()
    subprocess.run([str(venv / "bin" / "entraform"), *EXAMPLE], cwd=wheel_run, env=env, check=True)
    subprocess.run(
        [sys.executable, "-m", "generator", *EXAMPLE], cwd=checkout_run, env=env, check=True
    )
    rendered = _files(wheel_run / "examples" / "terraform")
    assert "teams.tf" in rendered
    assert rendered == _files(checkout_run / "examples" / "terraform")


def test_the_installed_package_reads_templates_and_schema_from_its_own_files(
    venv: Path, tmp_path: Path
) -> None:
    script = (
        "import json, generator, generator.render.templates as r, generator.policy.file as p; "
        "print(json.dumps([generator.__file__, str(r.templates_dir())]))"
    )
    run = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script],
        cwd=tmp_path,
        env=installed.offline_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    module, templates = (Path(p) for p in json.loads(run.stdout))
    assert module.is_relative_to(venv) and templates.is_relative_to(venv)
    assert (templates / "terraform").is_dir()


def test_the_installed_schema_command_prints_the_schema_the_wheel_ships(
    venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with zipfile.ZipFile(installed.wheel(tmp_path_factory)) as archive:
        shipped = archive.read("generator/policy.schema.json").decode("utf-8")
    run = subprocess.run(
        [str(venv / "bin" / "entraform"), "schema"],
        env=installed.offline_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout == shipped == (ROOT / "generator" / "policy.schema.json").read_text("utf-8")


def test_the_installed_command_reports_the_package_version(
    venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run = subprocess.run(
        [str(venv / "bin" / "entraform"), "--version"],
        env=installed.offline_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    # The version is the build's (from git): the one the wheel's name carries.
    built = installed.wheel(tmp_path_factory).name.split("-")[1]
    assert run.stdout == f"entraform, version {built}\n"
