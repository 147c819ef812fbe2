"""`entraform map` and the summary's diagram, read the way a pull request shows them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli
from generator.sources import snapshot
from tests.conftest import EXAMPLES
from tests.fakegraph import FakeGraph, Tenant, serve
from tests.mermaidjs import Parser, blocks, shown
from tests.tenants import group, tenant, write
from tests.test_cli import POLICY, USERS, generate, groups, invoke

EXAMPLE = ("-c", EXAMPLES / "entraform.yaml", "--snapshot", EXAMPLES / "tenant.json")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "entraform.yaml").write_text(POLICY, encoding="utf-8")
    write(tmp_path / "tenant.json", tenant(groups(), USERS))
    return tmp_path


def _map(*args: str | Path) -> Result:
    return invoke("map", *EXAMPLE, *args)


def _first_lines(parsed: dict[str, object]) -> set[str]:
    nodes = parsed["nodes"]
    assert isinstance(nodes, list)
    return {shown(n["text"]).split("<br>")[0] for n in nodes}


@pytest.mark.integration
def test_the_summary_folds_a_diagram_of_the_changes_that_mermaid_parses(
    work: Path, mermaid: Parser
) -> None:
    summary = generate(work, "--summary", "-").stdout
    assert "<details>\n<summary>Diagram of the changes</summary>\n\n```mermaid\n" in summary
    (diagram,) = blocks(summary)
    (parsed,) = mermaid.parse([diagram])
    assert "error" not in parsed, parsed
    assert {"Org-A", "Team-X", "added"} <= _first_lines(parsed)


@pytest.mark.integration
def test_the_summary_draws_only_what_changed(work: Path, mermaid: Parser) -> None:
    assert generate(work).exit_code == 0
    more = [*groups(), group("Team-Y", ("ann",))]
    more[0]["members"].append({"@odata.type": "#microsoft.graph.group", "id": more[2]["id"]})
    write(work / "tenant.json", tenant(more, USERS))
    (diagram,) = blocks(generate(work, "--summary", "-").stdout)
    (parsed,) = mermaid.parse([diagram])
    assert _first_lines(parsed) == {"Org-A", "Team-Y", "added"}


def test_a_run_without_changes_draws_no_diagram(work: Path) -> None:
    assert generate(work).exit_code == 0
    summary = generate(work, "--summary", "-").stdout
    assert "No change to organizations" in summary
    assert "```mermaid" not in summary


def test_a_change_too_large_to_draw_is_one_line_instead(work: Path) -> None:
    teams = [group(f"Team-{n:03}", ("ann",)) for n in range(80)]
    org = group("Org-A", groups=tuple(t["displayName"] for t in teams))
    write(work / "tenant.json", tenant([org, *teams], USERS))
    summary = generate(work, "--summary", "-").stdout
    assert "The diagram of the changes is left out: it would need 163 boxes" in summary
    assert "```mermaid" not in summary
    assert "team `Team-079`" in summary


def test_map_lists_the_teams_of_an_organization_too_large_to_draw(work: Path) -> None:
    teams = [group(f"Team-{n:03}", ("ann",)) for n in range(80)]
    org = group("Org-A", groups=tuple(t["displayName"] for t in teams))
    write(work / "tenant.json", tenant([org, *teams], USERS))
    args = ("-c", work / "entraform.yaml", "--snapshot", work / "tenant.json", "-o", "-")
    result = invoke("map", *args)
    assert result.exit_code == 0, result.stderr
    assert "Too large for one diagram (162 boxes, at most 150); its teams:" in result.stdout
    assert "```mermaid" not in result.stdout
    assert "\n- `Team-000` (" in result.stdout and "\n- `Team-079` (" in result.stdout


@pytest.mark.integration
def test_a_name_holding_a_code_fence_cannot_close_the_diagram_early(
    work: Path, mermaid: Parser
) -> None:
    name = "Team-a\n```\n# b"
    write(
        work / "tenant.json", tenant([group("Org-A", groups=(name,)), group(name, ("ann",))], USERS)
    )
    args = ("-c", work / "entraform.yaml", "--snapshot", work / "tenant.json", "-o", "-")
    result = invoke("map", *args)
    assert result.exit_code == 0, result.stderr
    (diagram,) = blocks(result.stdout)
    (parsed,) = mermaid.parse([diagram])
    # Drawn as written, its line breaks shown as escapes as everywhere a reviewer reads names.
    assert "Team-a\\n```\\n# b" in _first_lines(parsed)


@pytest.mark.integration
def test_map_draws_one_diagram_per_organization_and_one_for_standalone_teams(
    mermaid: Parser,
) -> None:
    result = _map("--out", "-")
    assert result.exit_code == 0, result.stderr
    diagrams = blocks(result.stdout)
    parsed = mermaid.parse(diagrams)
    assert [p.get("error") for p in parsed] == [None] * 5
    assert [sorted(_first_lines(p))[:2] for p in parsed[:2]] == [
        ["Finance", "Finance Analysts"],
        ["LLM-App-Marketing"],
    ]
    assert "LLM-Sandbox" in _first_lines(parsed[4])
    assert '${file("/etc/passwd")}' in _first_lines(parsed[4])


def test_map_writes_the_file_and_replaces_its_own_next_time(tmp_path: Path) -> None:
    target = tmp_path / "docs" / "map.md"
    assert _map("--out", target, "-q").exit_code == 0
    first = target.read_text(encoding="utf-8")
    assert first.startswith("<!-- Generated by entraform")
    assert blocks(first) == blocks((EXAMPLES / "map.md").read_text(encoding="utf-8"))
    assert _map("--out", target, "-q").exit_code == 0
    assert target.read_text(encoding="utf-8") == first


def test_map_never_overwrites_a_file_it_did_not_write(tmp_path: Path) -> None:
    target = tmp_path / "map.md"
    target.write_text("# Our own notes\n", encoding="utf-8")
    result = _map("--out", target)
    assert result.exit_code == 3
    assert "was not generated by entraform" in result.stderr
    assert target.read_text(encoding="utf-8") == "# Our own notes\n"


def test_map_with_a_broken_policy_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    policy = tmp_path / "entraform.yaml"
    policy.write_text("version: 1\nteams: [{rule: x}]\n", encoding="utf-8")
    result = invoke("map", "-c", policy, "--snapshot", EXAMPLES / "tenant.json", "-o", "-")
    assert result.exit_code == 2
    assert "```mermaid" not in result.stdout


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    """A fake Graph serving the bundled example tenant."""
    directory = snapshot.loads((EXAMPLES / "tenant.json").read_text(encoding="utf-8"))
    yield from serve(Tenant(directory))


@pytest.mark.integration
def test_map_from_graph_draws_what_the_snapshot_draws(fake: FakeGraph) -> None:
    env = {"ENTRAFORM_GRAPH_URL": fake.base_url, "ENTRAFORM_GRAPH_TOKEN": "fake-token-for-tests"}
    live = CliRunner(env=env).invoke(
        cli, ["map", "-c", str(EXAMPLES / "entraform.yaml"), "-o", "-", "-q"]
    )
    assert live.exit_code == 0, live.stderr
    assert blocks(live.stdout) == blocks((EXAMPLES / "map.md").read_text(encoding="utf-8"))
