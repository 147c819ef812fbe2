"""The CLI against a fake Graph: snapshot, generate, and the same bytes either way."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli
from generator.sources import snapshot
from tests.conftest import EXAMPLES
from tests.fakegraph import FakeGraph, Tenant, serve
from tests.rendering import read_tree

pytestmark = pytest.mark.integration  # starts servers, programs or builds

TOKEN = "fake-token-for-tests"
POLICY = EXAMPLES / "entraform.yaml"


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    """A fake Graph serving the bundled example tenant."""
    directory = snapshot.loads((EXAMPLES / "tenant.json").read_text(encoding="utf-8"))
    yield from serve(Tenant(directory))


def invoke(fake: FakeGraph, *args: str | Path) -> Result:
    env = {"ENTRAFORM_GRAPH_URL": fake.base_url, "ENTRAFORM_GRAPH_TOKEN": TOKEN}
    return CliRunner(env=env).invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_generate_from_graph_matches_generate_from_its_snapshot(
    fake: FakeGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = invoke(fake, "snapshot", "-c", POLICY, "-o", tmp_path / "tenant.json", "-q")
    assert taken.exit_code == 0, taken.stderr
    # The same relative output folder in two places, as the file headers name it.
    out = Path("examples/terraform")
    for place in ("live", "offline"):
        (tmp_path / place).mkdir()
    monkeypatch.chdir(tmp_path / "live")
    live = invoke(fake, "generate", "-c", POLICY, "-o", out, "-q")
    assert live.exit_code == 0, live.stderr
    monkeypatch.chdir(tmp_path / "offline")
    offline = invoke(
        fake, "generate", "-c", POLICY, "--snapshot", tmp_path / "tenant.json", "-o", out
    )
    assert offline.exit_code == 0, offline.stderr
    assert read_tree(tmp_path / "live" / out) == read_tree(tmp_path / "offline" / out)
    # And both equal the committed example, rendered from the hand-written snapshot.
    assert read_tree(tmp_path / "live" / out) == read_tree(EXAMPLES / "terraform")


def test_a_permanent_403_exits_3_and_writes_nothing(fake: FakeGraph, tmp_path: Path) -> None:
    fake.fault("/members", status=403, code="Authorization_RequestDenied", times=None)
    result = invoke(fake, "generate", "-c", POLICY, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 3
    assert "Authorization_RequestDenied" in result.stderr
    assert "GroupMember.Read.All" in result.stderr
    assert TOKEN not in result.stderr
    assert not (tmp_path / "out").exists()
    taken = invoke(fake, "snapshot", "-c", POLICY, "-o", tmp_path / "tenant.json", "-q")
    assert taken.exit_code == 3
    assert not (tmp_path / "tenant.json").exists()


def test_a_429_storm_longer_than_the_wait_budget_exits_3_and_leaves_the_output_untouched(
    fake: FakeGraph, tmp_path: Path
) -> None:
    fake.fault("/members", status=429, retry_after="0.05", times=None)
    previous = tmp_path / "tenant.json"
    previous.write_text("the snapshot of an earlier run\n", encoding="utf-8")
    result = invoke(fake, "snapshot", "-c", POLICY, "-o", previous, "--graph-max-wait", "0.4")
    assert result.exit_code == 3
    assert "Graph kept throttling (429 TooManyRequests)" in result.stderr
    assert "wait budget of 0.4 s" in result.stderr
    assert "member lists" in result.stderr and "--graph-max-wait" in result.stderr
    assert previous.read_text(encoding="utf-8") == "the snapshot of an earlier run\n"
    assert fake.count("/members") > 4  # it kept asking while the budget lasted


def test_a_budget_that_is_no_size_class_or_number_is_a_usage_error(
    fake: FakeGraph, tmp_path: Path
) -> None:
    result = invoke(
        fake, "snapshot", "-c", POLICY, "-o", tmp_path / "t.json", "--graph-budget", "XL"
    )
    assert result.exit_code == 2
    assert "not S, M, L or a positive number" in result.stderr


def test_the_check_hint_carries_the_graph_options_given_and_runs_as_printed(
    fake: FakeGraph, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    given = ("--graph-url", fake.base_url, "--graph-budget", "3500", "--graph-max-wait", "60")
    env = {"ENTRAFORM_GRAPH_URL": None, "ENTRAFORM_GRAPH_TOKEN": TOKEN}
    runner = CliRunner(env=env)
    result = runner.invoke(cli, ["generate", "-c", str(POLICY), *given, "-o", str(out), "--check"])
    assert result.exit_code == 1, result.stderr
    printed = result.stderr.split("update them with: ", 1)[1].strip()
    assert " ".join(given) in printed
    assert TOKEN not in printed and "--graph-token" not in printed
    words = shlex.split(printed)
    assert words[0] == "entraform"
    assert runner.invoke(cli, words[1:], catch_exceptions=False).exit_code == 0
    assert runner.invoke(cli, [*words[1:], "--check"]).exit_code == 0
