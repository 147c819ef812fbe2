"""Mermaid diagrams of the structure and of a run's changes, as Mermaid itself reads them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from generator import plan
from generator.report import diagram
from generator.report.mermaid import MAX_BOXES, MAX_CHARS, Chart, label, short
from generator.state import DesiredState, Membership, Organization, Settings, Team
from tests.hostile import CORPUS, random_strings
from tests.mermaidjs import Parser, shown
from tests.test_names_shown import unescaped

# Names that mean something to Mermaid, GitHub's Markdown or a browser.
MERMAID = (
    '"]; click n1 "https://example.com"', "%%{init: {'theme': 'dark'}}%%", "a\n%% comment",
    "<img src=x onerror=alert(1)>", "`**x**`", "fa:fa-bug", "$$x^2$$", "a\n```\nb", "end",
    "subgraph", "classDef", "A --> B", "n1:::removed", "#34;", "&quot;",
    "\ufb02\u00b0\u00b060\u00b6\u00df",
)  # fmt: skip
# Each name once: boxes that show one name are told apart by id, which a test of names would see.
HOSTILE = tuple(dict.fromkeys((*MERMAID, *CORPUS, *random_strings(100, seed=11))))
# What a label may hold: kept characters and decimal entities, nothing Mermaid could read.
LABEL = re.compile(r"(?:[A-Za-z0-9 \-._,'/]|#[0-9]+;|[^\x00-\x7f])*")


def _member(nick: str, role: str = "user") -> Membership:
    return Membership(f"id-{nick}", f"id-{nick}", f"{nick}@contoso.test", role)


def _texts(node: dict[str, Any]) -> list[str]:
    """A box's lines as a reviewer reads them back: entities shown, escapes undone."""
    return [unescaped(shown(line)) for line in node["text"].split("<br>")]


def _by_text(parsed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {shown(n["text"]).split("<br>")[0]: n for n in parsed["nodes"]}


def test_every_label_holds_only_kept_characters_and_decimal_entities() -> None:
    for name in HOSTILE:
        escaped = label(name)
        assert LABEL.fullmatch(escaped), repr(name)
        assert not set(escaped) & {"\ufb02", "\u00b6"}, repr(name)


def test_long_names_are_cut_with_an_ellipsis_and_empty_ones_get_words() -> None:
    assert short("x" * 100_000) == "x" * 59 + "…"
    assert short("") == "(no name)"


def _chunks(names: tuple[str, ...], size: int) -> list[tuple[str, ...]]:
    # Many names to a diagram: starting Mermaid costs far more than parsing one more box.
    return [names[i : i + size] for i in range(0, len(names), size)]


@pytest.mark.integration
def test_every_hostile_name_parses_and_reads_back_as_written(mermaid: Parser) -> None:
    chunks = _chunks(HOSTILE, 70)
    texts = []
    for chunk in chunks:
        org = Organization("o", chunk[0], "Org group", members=(_member("ann", "internal_user"),))
        teams = tuple(
            Team(f"t{i:03}", n, n, "o", members=(_member("bob"),)) for i, n in enumerate(chunk)
        )
        texts.append(diagram.organization(DesiredState((org,), teams), org).text())
    assert all(t is not None and len(t) <= MAX_CHARS for t in texts)
    for chunk, parsed in zip(chunks, mermaid.parse([t or "" for t in texts]), strict=True):
        assert "error" not in parsed, (chunk, parsed)
        assert (parsed["type"], parsed["config"]) == ("flowchart-v2", {}), chunk
        expected = [
            [short(chunk[0]), "organization · 1 member"],
            ["Org group"],
            *([short(n), "team · 1 member"] for n in chunk),
            *([short(n)] for n in chunk),
        ]
        assert sorted(_texts(n) for n in parsed["nodes"]) == sorted(expected), chunk


@pytest.mark.integration
def test_hostile_names_in_change_notes_and_links_read_back_as_written(mermaid: Parser) -> None:
    chunks = _chunks(HOSTILE, 40)
    texts = []
    for chunk in chunks:
        orgs = (
            Organization("o", "Org", "Org"),
            *(Organization(f"o{i:03}", n, n) for i, n in enumerate(chunk)),
        )
        old = DesiredState(
            orgs, tuple(Team(f"t{i:03}", n, n, f"o{i:03}") for i, n in enumerate(chunk))
        )
        new = DesiredState(
            orgs, tuple(Team(f"t{i:03}", n + "!", n, "o") for i, n in enumerate(chunk))
        )
        texts.append(diagram.changes(old, new, plan.diff(old, new)).text())
    assert all(t is not None for t in texts)
    for chunk, parsed in zip(chunks, mermaid.parse([t or "" for t in texts]), strict=True):
        assert "error" not in parsed, (chunk, parsed)
        (legend,) = parsed["subgraphs"]
        moved = [
            _texts(n)
            for n in parsed["nodes"]
            if n["classes"] == ["moved"] and n["id"] not in legend["nodes"]
        ]
        assert sorted(moved) == sorted(
            [short(n + "!"), f"team · renamed from {short(n)}; moved from {short(n)}"]
            for n in chunk
        ), chunk
        assert {e["text"] for e in parsed["edges"]} == {"", "moved out"}


def _change_states() -> tuple[DesiredState, DesiredState]:
    ann, bob = _member("ann"), _member("bob")
    old = DesiredState(
        (Organization("o-a", "Org A", "G-A"), Organization("o-b", "Org B", "G-B")),
        (
            Team("t-gone", "Gone", "G-gone", "o-a", members=(ann,)),
            Team("t-moved", "Moved", "G-moved", "o-a", members=(ann,)),
            Team("t-renamed", "Old name", "G-renamed", None, members=(ann,)),
            Team("t-members", "Members", "G-members", "o-b", members=(ann,)),
            Team("t-settings", "Settings", "G-settings", "o-b", members=(ann,)),
            Team("t-same", "Same", "G-same", "o-b", members=(ann,)),
        ),
    )
    new = DesiredState(
        old.organizations,
        (
            Team("t-added", "Added", "G-added", "o-b", members=(ann,)),
            Team("t-moved", "Moved", "G-moved", "o-b", members=(ann,)),
            Team("t-renamed", "New name", "G-renamed", None, members=(ann,)),
            Team("t-members", "Members", "G-members", "o-b", members=(bob,)),
            Team("t-settings", "Settings", "G-settings", "o-b", Settings(max_budget=5), (ann,)),
            Team("t-same", "Same", "G-same", "o-b", members=(ann,)),
        ),
    )
    return old, new


@pytest.mark.integration
def test_each_kind_of_change_is_styled_and_said_in_words(mermaid: Parser) -> None:
    old, new = _change_states()
    text = diagram.changes(old, new, plan.diff(old, new)).text()
    assert text is not None
    (parsed,) = mermaid.parse([text])
    nodes = _by_text(parsed)
    expected = {
        "Added": (["added"], "team · added"),
        "Gone": (["removed"], "team · removed, deleted"),
        "Moved": (["moved"], "team · moved from Org A"),
        "New name": (["renamed"], "team · renamed from Old name"),
        "Members": (["members"], "team · +1 −1 members"),
        "Settings": (["settings"], "team · settings changed"),
    }
    for alias, (classes, words) in expected.items():
        assert nodes[alias]["classes"] == classes, alias
        assert _texts(nodes[alias])[1] == words, alias
    assert "Same" not in nodes
    assert set(parsed["classes"]) == {s.name for s in diagram.PRECEDENCE}


@pytest.mark.integration
def test_a_changed_team_hangs_under_its_organization_and_a_moved_one_from_the_old_too(
    mermaid: Parser,
) -> None:
    old, new = _change_states()
    text = diagram.changes(old, new, plan.diff(old, new)).text()
    assert text is not None
    (parsed,) = mermaid.parse([text])
    ids = {shown(n["text"]).split("<br>")[0]: n["id"] for n in parsed["nodes"]}
    edges = {(e["start"], e["end"], e["stroke"], e["text"]) for e in parsed["edges"]}
    assert (ids["Org B"], ids["Moved"], "normal", "") in edges
    assert (ids["Org A"], ids["Moved"], "dotted", "moved out") in edges
    assert (ids["Org A"], ids["Gone"], "normal", "") in edges
    assert (ids["Moved"], ids["G-moved"], "dotted", "") in edges
    assert not any(
        e["start"] == ids["New name"] and e["stroke"] == "normal" for e in parsed["edges"]
    )


@pytest.mark.integration
def test_the_legend_shows_only_the_kinds_of_change_that_happened(mermaid: Parser) -> None:
    old = DesiredState((), (Team("t", "T", "G"),))
    new = DesiredState((), (Team("t", "T", "G"), Team("u", "U", "H")))
    text = diagram.changes(old, new, plan.diff(old, new)).text()
    assert text is not None
    (parsed,) = mermaid.parse([text])
    (legend,) = parsed["subgraphs"]
    assert [shown(n["text"]) for n in parsed["nodes"] if n["id"] in legend["nodes"]] == ["added"]


def test_a_diagram_over_the_box_limit_is_not_drawn() -> None:
    chart = Chart()
    for n in range(MAX_BOXES + 1):
        chart.box(f"team/{n}", (f"team {n}",), "team")
    assert chart.text() is None
    assert chart.boxes == MAX_BOXES + 1


def test_a_diagram_over_the_character_limit_is_not_drawn() -> None:
    chart = Chart()
    for n in range(MAX_BOXES - 1):
        chart.box(f"team/{n}", ("\U000e0001" * 60,), "team")
    assert chart.text() is None


def test_an_organization_with_too_many_teams_is_not_drawn() -> None:
    org = Organization("o", "O", "O")
    teams = tuple(Team(f"t{n:04}", f"T{n}", f"G{n}", "o") for n in range(MAX_BOXES // 2))
    assert diagram.organization(DesiredState((org,), teams), org).text() is None


@pytest.mark.integration
def test_the_largest_organization_drawn_still_parses(mermaid: Parser) -> None:
    org = Organization("o", "O", "O")
    teams = tuple(Team(f"t{n:04}", f"T{n}", f"G{n}", "o") for n in range(MAX_BOXES // 2 - 1))
    text = diagram.organization(DesiredState((org,), teams), org).text()
    assert text is not None
    (parsed,) = mermaid.parse([text])
    assert len(parsed["nodes"]) == MAX_BOXES


def _twins() -> tuple[Organization, tuple[Team, ...]]:
    org = Organization("o", "Org", "G-org")
    teams = (
        Team("0f1e2d3c-aaaa", "Sales-EMEA", "Sales-EMEA", "o"),
        Team("9abc8def-bbbb", "Sales-EMEA", "Sales-EMEA", "o"),
        Team("12345678-cccc", "Sales-US", "Sales-US", "o"),
    )
    return org, teams


def test_two_teams_with_one_name_carry_the_start_of_their_ids_and_others_do_not() -> None:
    org, teams = _twins()
    text = diagram.organization(DesiredState((org,), teams), org).text()
    assert text is not None
    for short_id in ("0f1e2d3c", "9abc8def"):
        assert f'["Sales-EMEA<br/>team · 0 members<br/>id {short_id}"]' in text
        assert f'(["Sales-EMEA<br/>id {short_id}"])' in text
    assert '["Sales-US<br/>team · 0 members"]' in text
    assert '(["Sales-US"])' in text
    assert '[["Org<br/>organization · 0 members"]]' in text


def test_ids_that_begin_alike_are_shown_until_they_differ() -> None:
    chart = Chart()
    for ident in ("12345678-aa", "12345678-bb"):
        chart.box(f"team/{ident}", ("X",), "team", ident=ident)
    chart.box("organization/12345678-cc", ("X",), "organization", ident="12345678-cc")
    assert chart.text() == (
        'flowchart LR\n  n1["X<br/>id 12345678-a"]\n  n2["X<br/>id 12345678-b"]\n  n3[["X"]]\n'
    )


@pytest.mark.integration
def test_two_removed_teams_with_one_name_are_two_boxes_told_apart(mermaid: Parser) -> None:
    org, teams = _twins()
    old = DesiredState((org,), teams)
    new = DesiredState((org,), teams[2:])
    text = diagram.changes(old, new, plan.diff(old, new)).text()
    assert text is not None
    (parsed,) = mermaid.parse([text])
    (legend,) = parsed["subgraphs"]
    boxes = [n for n in parsed["nodes"] if n["id"] not in legend["nodes"]]
    removed = sorted(_texts(n) for n in boxes if n["classes"] == ["removed"])
    assert removed == [
        ["Sales-EMEA", "team · removed, deleted", "id 0f1e2d3c"],
        ["Sales-EMEA", "team · removed, deleted", "id 9abc8def"],
    ]
