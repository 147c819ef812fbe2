"""entraform adopt and drift in the per-organization layout: one root module at a time."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator import mapping, run
from generator.cli import cli
from generator.live import adopt
from generator.policy.load import load_policy
from generator.sources.snapshot import SnapshotSource
from generator.state import DesiredState
from generator.workspace import roots, writes
from generator.workspace.labels import Labels
from tests import hclparse
from tests.conftest import EXAMPLES
from tests.example_ids import (
    ADELE,
    ANALYSTS,
    FINANCE,
    ISAIAH,
    NESTOR,
    RESEARCH,
    RESEARCH_ML,
    SAM,
    SANDBOX,
    UNSELECTED,
)
from tests.fakelitellm import API_KEY, FakeLiteLLM

pytestmark = pytest.mark.integration  # starts servers, programs or builds

POLICY = EXAMPLES / "entraform.yaml"
TENANT = EXAMPLES / "tenant.json"
LAYOUT = ("--layout", "per-organization")
ENV = {"LITELLM_API_KEY": API_KEY, "LITELLM_API_BASE": None}
IMPORT_BLOCK = re.compile(r'to = (\S+)\n  id = "([^"]+)"')


def _labels(out: Path) -> Labels:
    policy = load_policy(POLICY)
    directory = SnapshotSource(TENANT).read(policy.needs())
    return run.generate(policy, directory, run.Options(out, layout="per-organization")).labels


def _org_root(out: Path, org_id: str) -> str:
    return roots.organization_root(_labels(out).organizations[org_id])


def _root_folders(out: Path) -> list[str]:
    """The root modules on disk: the folders of OUT that hold .tf files."""
    return sorted(p.name for p in out.iterdir() if p.is_dir() and any(p.glob("*.tf")))


def _generate(out: Path, *args: str) -> None:
    run = CliRunner().invoke(
        cli, ["generate", "--snapshot", str(TENANT), "-o", str(out), *args], catch_exceptions=False
    )
    assert run.exit_code == 0, run.output


def _declared(folder: Path) -> set[str]:
    """Every resource address the root's generated .tf files declare, one per for_each key."""
    found: set[str] = set()
    for tf in sorted(folder.glob("*.tf")):
        if tf.name == adopt.FILE_NAME:
            continue
        for (kind, label), arguments in hclparse.resources(tf.read_text("utf-8")).items():
            keys = arguments.get("for_each")
            if isinstance(keys, dict):
                found |= {f"{kind}.{label}[{key}]" for key in keys}  # still quoted as written
            else:
                found.add(f"{kind}.{label}")
    return found


def _imports(path: Path) -> dict[str, str]:
    """The import blocks of one imports.tf, address to id."""
    return dict(IMPORT_BLOCK.findall(path.read_text(encoding="utf-8")))


def _written(out: Path) -> dict[str, dict[str, str]]:
    """Each root folder's import blocks, for the roots that have an imports.tf."""
    return {p.parent.name: _imports(p) for p in sorted(out.glob(f"*/{adopt.FILE_NAME}"))}


def _seed(fake: FakeLiteLLM) -> None:
    """A LiteLLM after SSO group sync: objects of three roots (Finance, Research, teams/)."""
    fake.add_team(RESEARCH_ML, "Research-ML", members=[(NESTOR, "user", None)])
    fake.add_team(SANDBOX, "LLM-Sandbox", members=[(SAM, "user", None)])
    fake.add_team(ANALYSTS, "LLM-Team-Finance-Analysts", members=[(ADELE, "user", None)])
    fake.add_team(UNSELECTED, "Engineering-Interns")
    fake.add_organization(FINANCE, "Finance", members=[(ADELE, "org_admin", None)])


@pytest.fixture
def sso_era() -> Iterator[FakeLiteLLM]:
    server = FakeLiteLLM()
    _seed(server)
    with server.serving():
        yield server


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The bundled example generated in the per-organization layout."""
    out = tmp_path / "out"
    _generate(out, "-c", str(POLICY), *LAYOUT)
    return out


def _adopt(fake: FakeLiteLLM, out: Path, *extra: str) -> Result:
    args = ["adopt", "-c", str(POLICY), "--snapshot", str(TENANT), "-o", str(out), *LAYOUT]
    args += ["--litellm-url", fake.url, *extra]
    return CliRunner().invoke(cli, args, env=ENV, catch_exceptions=False)


# adopt ---------------------------------------------------------------------------------------


def test_adopt_writes_an_imports_file_into_each_root_whose_objects_litellm_has(
    sso_era: FakeLiteLLM, tree: Path
) -> None:
    result = _adopt(sso_era, tree)
    assert result.exit_code == 0, result.output
    expected = {_org_root(tree, FINANCE), _org_root(tree, RESEARCH), roots.STANDALONE}
    assert set(_written(tree)) == expected
    assert not (tree / adopt.FILE_NAME).exists(), "the output folder itself is no root here"
    assert len(_root_folders(tree)) > len(expected), "roots LiteLLM has nothing of get no file"


def test_adopt_addresses_every_import_to_a_resource_of_its_own_root(
    sso_era: FakeLiteLLM, tree: Path
) -> None:
    assert _adopt(sso_era, tree).exit_code == 0
    written = _written(tree)
    declared = {root: _declared(tree / root) for root in _root_folders(tree)}
    for root, blocks in written.items():
        assert blocks, root
        assert set(blocks) <= declared[root], root
        for other in declared.keys() - {root}:
            assert not set(blocks) & declared[other], (root, other)


def test_adopt_over_the_roots_imports_what_the_single_layout_imports(
    sso_era: FakeLiteLLM, tree: Path, tmp_path: Path
) -> None:
    assert _adopt(sso_era, tree).exit_code == 0
    single = tmp_path / "single"
    _generate(single, "-c", str(POLICY))
    args = ["adopt", "-c", str(POLICY), "--snapshot", str(TENANT), "-o", str(single)]
    run = CliRunner().invoke(cli, [*args, "--litellm-url", sso_era.url], env=ENV)
    assert run.exit_code == 0, run.output
    together = {a: i for blocks in _written(tree).values() for a, i in blocks.items()}
    assert together == _imports(single / adopt.FILE_NAME)
    assert sum(map(len, _written(tree).values())) == len(together), "no block in two roots"


def test_adopt_with_root_writes_only_that_roots_imports_file(
    sso_era: FakeLiteLLM, tree: Path, tmp_path: Path
) -> None:
    finance = _org_root(tree, FINANCE)
    result = _adopt(sso_era, tree, "--root", finance)
    assert result.exit_code == 0, result.output
    assert list(_written(tree)) == [finance]
    assert f"{finance}/{adopt.FILE_NAME}" in result.output
    whole = tmp_path / "whole"
    _generate(whole, "-c", str(POLICY), *LAYOUT)
    assert _adopt(sso_era, whole).exit_code == 0
    assert (tree / finance / adopt.FILE_NAME).read_bytes() == (
        whole / finance / adopt.FILE_NAME
    ).read_bytes()


def test_adopt_with_root_accepts_the_folder_with_a_trailing_slash(
    sso_era: FakeLiteLLM, tree: Path
) -> None:
    result = _adopt(sso_era, tree, "--root", f"{roots.STANDALONE}/")
    assert result.exit_code == 0, result.output
    assert list(_written(tree)) == [roots.STANDALONE]


def test_adopt_with_an_unknown_root_is_a_usage_error_listing_the_roots(
    sso_era: FakeLiteLLM, tree: Path
) -> None:
    result = _adopt(sso_era, tree, "--root", "org_nowhere")
    assert result.exit_code == 2
    assert "--root org_nowhere: no such root module" in result.output
    assert f"(roots: {', '.join(_root_folders(tree))})" in result.output
    assert _written(tree) == {}
    assert sso_era.requests == [], "refused before LiteLLM is asked anything"


def test_adopt_with_root_does_not_report_other_roots_objects_as_unmanaged(
    sso_era: FakeLiteLLM, tree: Path
) -> None:
    result = _adopt(sso_era, tree, "--root", roots.STANDALONE, "--json")
    assert result.exit_code == 0, result.output
    unmanaged = {u["id"] for u in json.loads(result.output)["unmanaged"]}
    assert unmanaged == {UNSELECTED}


# drift ---------------------------------------------------------------------------------------


def _per_organization_policy(folder: Path) -> Path:
    """The bundled policy with output.layout per-organization: the layout without --layout."""
    text = POLICY.read_text(encoding="utf-8")
    output = "\noutput:\n  format: terraform\n"
    assert output in text
    path = folder / "entraform.yaml"
    path.write_text(text.replace(output, f"{output}  layout: per-organization\n"), "utf-8")
    return path


def _desired() -> DesiredState:
    policy = load_policy(POLICY)
    return mapping.apply(policy, SnapshotSource(TENANT).read(policy.needs())).state


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    return _per_organization_policy(tmp_path)


@pytest.fixture
def laid_out(tmp_path: Path, policy: Path) -> Path:
    """The bundled example generated from a policy whose output.layout is per-organization."""
    out = tmp_path / "laid-out"
    _generate(out, "-c", str(policy))
    return out


@pytest.fixture
def mirrored() -> Iterator[FakeLiteLLM]:
    server = FakeLiteLLM()
    server.mirror(_desired())
    with server.serving():
        yield server


def _drift(fake: FakeLiteLLM, policy: Path, *extra: str) -> Result:
    args = ["drift", "-c", str(policy), "--snapshot", str(TENANT), "--litellm-url", fake.url]
    return CliRunner().invoke(cli, [*args, *extra], env=ENV, catch_exceptions=False)


def test_drift_with_root_reports_a_difference_in_that_root(
    mirrored: FakeLiteLLM, policy: Path, laid_out: Path
) -> None:
    mirrored.teams[ANALYSTS]["max_budget"] = 999.5
    finance = _org_root(laid_out, FINANCE)
    result = _drift(mirrored, policy, "--root", finance, "-o", str(laid_out), "--json")
    assert result.exit_code == 1, result.output
    [difference] = json.loads(result.stdout)["differences"]
    assert (difference["object_id"], difference["what"]) == (ANALYSTS, "max_budget")


def test_drift_with_root_ignores_a_difference_in_another_root(
    mirrored: FakeLiteLLM, policy: Path, laid_out: Path
) -> None:
    mirrored.teams[SANDBOX]["max_budget"] = 999.5
    mirrored.member(RESEARCH_ML, ISAIAH)["role"] = "user"
    finance = _org_root(laid_out, FINANCE)
    result = _drift(mirrored, policy, "--root", finance, "-o", str(laid_out))
    assert result.exit_code == 0, result.output
    assert "no drift" in result.stderr
    whole = _drift(mirrored, policy)
    assert whole.exit_code == 1, "the same LiteLLM drifts when every root is compared"


def test_drift_with_root_reads_the_details_of_that_roots_teams_only(
    mirrored: FakeLiteLLM, policy: Path, laid_out: Path
) -> None:
    finance = _org_root(laid_out, FINANCE)
    assert _drift(mirrored, policy, "--root", finance, "-o", str(laid_out)).exit_code == 0
    asked = {
        target.partition("team_id=")[2] for _, target in mirrored.requests if "/team/info" in target
    }
    in_root = {t.id for t in _desired().teams if t.organization_id == FINANCE}
    assert asked == in_root


def test_drift_with_root_does_not_list_other_roots_teams_as_unmanaged(
    mirrored: FakeLiteLLM, policy: Path, laid_out: Path
) -> None:
    mirrored.add_team(UNSELECTED, "Engineering-Interns", members=[(NESTOR, "user", None)])
    finance = _org_root(laid_out, FINANCE)
    result = _drift(mirrored, policy, "--root", finance, "-o", str(laid_out), "--json")
    assert result.exit_code == 0, result.output
    unmanaged = json.loads(result.stdout)["unmanaged"]
    assert [(u["kind"], u["id"]) for u in unmanaged] == [("team", UNSELECTED)]


def test_drift_with_root_but_no_output_folder_is_a_usage_error(
    mirrored: FakeLiteLLM, policy: Path
) -> None:
    result = _drift(mirrored, policy, "--root", roots.STANDALONE)
    assert result.exit_code == 2
    assert "--root needs -o/--out" in result.output
    assert mirrored.requests == []


def test_drift_with_an_unknown_root_is_a_usage_error_listing_the_roots(
    mirrored: FakeLiteLLM, policy: Path, laid_out: Path
) -> None:
    result = _drift(mirrored, policy, "--root", "org_nowhere", "-o", str(laid_out))
    assert result.exit_code == 2
    assert f"(roots: {', '.join(_root_folders(laid_out))})" in result.output


def test_drift_with_root_works_on_a_tree_generated_with_the_layout_option(
    mirrored: FakeLiteLLM, tree: Path
) -> None:
    result = _drift(mirrored, POLICY, "--root", roots.STANDALONE, "-o", str(tree), *LAYOUT)
    assert result.exit_code == 0, result.output


def test_adopt_writes_no_root_while_one_holds_an_imports_file_it_did_not_write(
    sso_era: FakeLiteLLM, tree: Path
) -> None:
    stranger = tree / roots.path(roots.STANDALONE, adopt.FILE_NAME)
    stranger.write_text("# mine\n", encoding="utf-8")
    result = _adopt(sso_era, tree)
    assert result.exit_code == 3
    assert f"{stranger} exists but was not written by entraform adopt" in result.output
    assert "Nothing was written" in result.output
    assert list(tree.rglob(adopt.FILE_NAME)) == [stranger]
    assert stranger.read_text(encoding="utf-8") == "# mine\n"


def test_adopt_and_drift_refuse_a_layout_the_folder_does_not_hold(
    sso_era: FakeLiteLLM, tree: Path
) -> None:
    adopted = _adopt(sso_era, tree, "--layout", "single")
    assert adopted.exit_code == 4
    assert "holds the per-organization layout and this run asks for single" in adopted.output
    told = (
        "Run entraform generate with --migrate-layout first and apply what it writes, then "
        "this command again; or keep the layout: pass --layout per-organization."
    )
    assert told in " ".join(adopted.output.split())
    assert "Run again with --migrate-layout" not in adopted.output  # adopt has no such option
    assert list(tree.rglob(adopt.FILE_NAME)) == []
    assert _adopt(sso_era, tree, "--layout", "per-organization").exit_code == 0  # as printed
    drifted = _drift(
        sso_era, POLICY, "--root", roots.STANDALONE, "-o", str(tree), "--layout", "single"
    )
    assert drifted.exit_code == 4
    assert "holds the per-organization layout" in drifted.output


def test_adopt_refuses_a_change_of_the_id_scheme(sso_era: FakeLiteLLM, tree: Path) -> None:
    policy = tree.parent / "prefixed.yaml"
    text = POLICY.read_text(encoding="utf-8")
    policy.write_text(text + "\nids: {scheme: prefixed}\n", encoding="utf-8")
    args = ["adopt", "-c", str(policy), "--snapshot", str(TENANT), "-o", str(tree)]
    result = CliRunner().invoke(
        cli, [*args, "--litellm-url", sso_era.url], env=ENV, catch_exceptions=False
    )
    assert result.exit_code == 4, result.output
    told = "Run entraform generate with --migrate-ids first and apply what it writes"
    assert told in " ".join(result.output.split())
    assert "; or restore ids: in the policy." in " ".join(result.output.split())
    assert list(tree.rglob(adopt.FILE_NAME)) == []


def test_adopt_is_not_stopped_by_a_removal_guard_it_has_nothing_to_do_with(
    sso_era: FakeLiteLLM, tree: Path
) -> None:
    data = json.loads(TENANT.read_text(encoding="utf-8"))
    for group in data["groups"]:
        if group["id"] == ANALYSTS:
            group["members"] = []  # generate would refuse: the team had members, now none
    emptied = tree.parent / "emptied.json"
    emptied.write_text(json.dumps(data), encoding="utf-8")
    args = ["adopt", "-c", str(POLICY), "--snapshot", str(emptied), "-o", str(tree), *LAYOUT]
    result = CliRunner().invoke(
        cli, [*args, "--litellm-url", sso_era.url], env=ENV, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert list(tree.rglob(adopt.FILE_NAME))
    generated = CliRunner().invoke(
        cli, ["generate", "-c", str(POLICY), "--snapshot", str(emptied), "-o", str(tree)]
    )
    assert generated.exit_code == 4 and "--allow-removals" in generated.output


def test_adopt_writes_no_root_when_staging_one_fails(
    sso_era: FakeLiteLLM, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = writes._stage
    calls = []

    def failing(folder: Path, text: str) -> Path:
        calls.append(folder)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return staged(folder, text)

    monkeypatch.setattr(writes, "_stage", failing)
    result = _adopt(sso_era, tree)
    assert result.exit_code == 3
    assert "nothing was changed" in result.output
    assert list(tree.rglob(adopt.FILE_NAME)) == []
    assert list(tree.rglob(".entraform-*")) == []
