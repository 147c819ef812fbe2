"""Names from Entra as a reviewer reads them back: the summary, `#` comments, diagram labels."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from generator.render.templates import visible
from generator.report import diagram, summary
from generator.report.markdown import EMPTY, code, plain
from generator.report.mermaid import label
from generator.report.outcome import Report
from generator.state import DesiredState, Team
from tests.hostile import CORPUS, random_strings
from tests.rendering import build, generate
from tests.tenants import directory, group, oid, tenant, user

# Names that mean something to Markdown or GitHub: code spans, links, mentions, HTML, emoji.
MARKDOWN = (
    "Back`tick", "`", "``", "a ` b", "`a`", " `a` ", "``x``", "```", "a\\`b", "\\", "\\n",
    "\\u200b", "Line1\nLine2", "Line1 Line2", "a\u200bb", "[click](https://evil.test)",
    "@org/team", "<b>bold</b>", "&amp;", ":x:", "#1", "*x*", "_x_", "~x~", "$x$", "- item",
    "1. item", "> quote", "| a | b |", "**", " ", "  a  ", "\u3164", "Sales\u3164",
)  # fmt: skip
NAMES = tuple(dict.fromkeys((*MARKDOWN, *CORPUS, *random_strings(100, seed=7))))
# Addresses a tenant may hold in userPrincipalName or mail.
ADDRESSES = (
    "ann@contoso.test", "Back`tick@contoso.test", "@org/team", "line\nbreak@contoso.test",
    "a\u200b@contoso.test", "[x](https://evil.test)@contoso.test", "<b>@contoso.test",
)  # fmt: skip

_TICKS = re.compile("`+")
_ESCAPE = re.compile(r"\\(u[0-9a-f]{4}|U[0-9a-f]{8}|[nrt\\])?")
_SHORT = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}


def unescaped(shown: str) -> str:
    """A name as docs/reviewers.md says to read it; anything not visible fails the test."""
    assert shown.isprintable(), repr(shown)
    assert shown == shown.strip(" "), repr(shown)

    def one(escape: re.Match[str]) -> str:
        found = escape.group(1)
        assert found is not None, f"a backslash that starts no escape in {shown!r}"
        # A mark drawn onto the escape's last letter would make it read as another.
        after = shown[escape.end() : escape.end() + 1]
        assert not unicodedata.category(after or "a").startswith("M"), repr(shown)
        return _SHORT.get(found) or chr(int(found[1:], 16))

    return _ESCAPE.sub(one, shown)


def span_at(line: str, start: int) -> tuple[str, int]:
    """The code span that opens at `start`, as CommonMark reads it: its text, and its end."""
    found = _span(line, start)
    assert found is not None, f"no code span at {start} of {line!r}"
    return found


def _span(line: str, start: int) -> tuple[str, int] | None:
    opening = _TICKS.match(line, start)
    if opening is None:
        return None
    # It closes at the next run of exactly as many backticks; a longer or shorter run is text.
    for closing in _TICKS.finditer(line, opening.end()):
        if len(closing.group()) == len(opening.group()):
            text = line[opening.end() : closing.start()]
            if text.startswith(" ") and text.endswith(" ") and text.strip(" "):
                text = text[1:-1]
            return text, closing.end()
    return None  # a run that never closes is text


def outside_code(line: str) -> str:
    """The text of a Markdown line outside its code spans, as CommonMark splits them."""
    outside, at, index = [], 0, 0
    while index < len(line):
        if line[index] == "\\":
            index += 2  # an escaped backtick opens nothing
            continue
        found = _span(line, index) if line[index] == "`" else None
        if found is not None:
            outside.append(line[at:index])
            at = index = found[1]
        else:
            run = _TICKS.match(line, index)
            index = run.end() if run else index + 1
    return "".join([*outside, line[at:]])


def _no_markup(text: str) -> None:
    """Text outside code holds nothing GitHub links, and every Markdown sign escaped."""
    for risky in ("@", "#", "://", "www.", ":x"):
        assert risky not in text, (risky, text)
    assert not re.search(r"(?<!\\)(?:\\\\)*[*~<>&\[\]!|$`]", text), text
    assert not re.search(r"(?<!\\)(?:\\\\)*(?<![^\W_])_|(?<!\\)(?:\\\\)*_(?![^\W_])", text), text


def read(line: str, *parts: str | None) -> list[str]:
    """The names in a line made of literal parts and name slots (None), each read back."""
    names, at = [], 0
    for part in parts:
        if part is not None:
            assert line.startswith(part, at), (line, at, part)
            at += len(part)
        elif line.startswith(EMPTY, at):
            names.append("")
            at += len(EMPTY)
        else:
            text, at = span_at(line, at)
            names.append(unescaped(text))
    assert at == len(line), (line, at)
    return names


def _policy(path: Path, ids: list[str]) -> Path:
    text = f"version: 1\nteams:\n  - {{rule: t, select: {{ids: {json.dumps(ids)}}}}}\n"
    (path / "entraform.yaml").write_text(text, encoding="utf-8")
    return path / "entraform.yaml"


def _groups(names: dict[str, str], members: tuple[str, ...] = ("ann",)) -> list[dict[str, Any]]:
    return [group(name, members, id=group_id) for group_id, name in names.items()]


def _by_id(report: Report, section: str, ids: list[str]) -> dict[str, str]:
    """The lines of one section of the summary that name one of `ids`, by that id."""
    text = summary.markdown(report)
    body = text.split(f"\n### {section}\n\n", 1)[1].split("\n### ", 1)[0]
    found: dict[str, str] = {}
    for line in body.splitlines():
        # No name holds an id of this tenant: only the line's own id is found in it.
        held = set(_UUID.findall(line)) & set(ids)
        if held:
            (i,) = held
            assert i not in found, line
            found[i] = line
    assert set(found) == set(ids), section
    return found


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_every_hostile_name_reads_back_from_the_summary_exactly(tmp_path: Path) -> None:
    ids = [oid(f"group/hostile-{n}") for n in range(len(NAMES))]
    first = dict(zip(ids, NAMES, strict=True))
    policy = _policy(tmp_path, ids)
    added = generate(policy, directory(tenant(_groups(first), [user("ann")])), tmp_path / "out")
    for i, line in _by_id(added, "Added", ids).items():
        assert read(line, "- team ", None, f" ({i})") == [first[i]]
    for i, line in _by_id(added, "Memberships", ids).items():
        assert read(line, "**team ", None, f"** ({i}): +1 −0") == [first[i]]
    # Then a third of the groups leave, and a third take the names of those that left.
    gone = ids[0::3]
    renamed = dict(zip(ids[1::3], NAMES[0::3], strict=False))
    second = renamed | {i: first[i] for i in ids[2::3]}
    later = build(policy, directory(tenant(_groups(second), [user("ann")])), tmp_path / "out")
    for i, line in _by_id(later, "Renamed", list(renamed)).items():
        assert read(line, "- team ", None, f" ({i}), was ", None) == [renamed[i], first[i]]
    for i, line in _by_id(later, "Removed", gone).items():
        assert read(line, "- team ", None, f" ({i}): deleted from LiteLLM by the next apply") == [
            first[i]
        ]
    fate = ") is no longer selected: apply deletes it, and its keys go with it"
    for i, line in _by_id(later, "Warnings", gone).items():
        assert read(line, "- team ", None, " (", None, fate) == [first[i], i]


def test_every_address_reads_back_from_the_member_lines_with_nothing_added(tmp_path: Path) -> None:
    people = [user(f"p{n}", userPrincipalName=a, mail=a) for n, a in enumerate(ADDRESSES)]
    members = tuple(f"p{n}" for n in range(len(ADDRESSES)))
    policy = _policy(tmp_path, [oid("group/Team-A")])
    report = build(policy, directory(tenant([group("Team-A", members)], people)), tmp_path)
    text = summary.markdown(report)
    lines = [line for line in text.splitlines() if line.startswith("- + ")]
    assert sorted(read(line, "- + ", None, " (user)")[0] for line in lines) == sorted(ADDRESSES)
    # GitHub never makes a mention or a link of a code span: nothing need hide the `@`.
    assert "- + `ann@contoso.test` (user)" in lines
    assert "\u200b" not in text


def test_a_backtick_and_a_line_break_are_shown_not_swallowed() -> None:
    assert code("Back`tick") == "``Back`tick``"
    assert code("`a`") == "`` `a` ``"
    assert code("Line1\nLine2") == "`Line1\\nLine2`"
    assert code("a\\nb") == "`a\\\\nb`"  # a backslash in the name cannot pass for an escape
    assert code("\u200b") == "`\\u200b`"
    assert code(" a ") == "`\\u0020a\\u0020`"


def test_what_prints_as_nothing_is_an_escape_too() -> None:
    # Hangul fillers, the grapheme joiner, Khmer inherent vowels, the blank Braille cell.
    for blank in "\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0":
        assert visible(f"Sales{blank}") == f"Sales\\u{ord(blank):04x}"
    # A combining mark after an escape is one too; after a letter it belongs to the letter.
    assert visible("\n\u0301") == "\\n\\u0301"
    assert visible("e\u0301") == "e\u0301"


def test_a_line_break_in_a_group_name_shows_as_an_escape_in_the_team_comment(
    tmp_path: Path,
) -> None:
    names = {oid("group/x"): "Line1\nLine2", oid("group/y"): "a\u200bb\\"}
    policy = _policy(tmp_path, list(names))
    report = build(policy, directory(tenant(_groups(names), [user("ann")])), tmp_path)
    comments = [line for line in report.files["teams.tf"].splitlines() if line.startswith("# Team")]
    assert sorted(comments) == ["# Team Line1\\nLine2", "# Team a\\u200bb\\\\"]


def test_a_line_break_in_a_name_shows_as_an_escape_in_the_diagram() -> None:
    team = Team("t", "Line1\nLine2", "a\u200bb")
    text = diagram.standalone(DesiredState((), (team,))).text()
    assert text is not None
    assert '["Line1#92;nLine2<br/>team · 0 members"]' in text
    assert '(["a#92;u200bb"])' in text
    for name in NAMES:
        entities = re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), label(name))
        assert unescaped(entities) == name, repr(name)


def test_text_outside_code_makes_no_link_mention_reference_emoji_or_html() -> None:
    text = (
        "user [click](https://evil.test) <b>x</b> @org/team eve@evil.test #12 GH-3 :x: "
        "www.evil.test *a* _b_ ~c~ $d$ &amp; a|b \\ `e` !x max_budget\n"
    )
    shown = plain(text)
    rest = outside_code(shown)
    _no_markup(rest)
    assert rest.startswith("user ")
    assert rest.endswith(" \\`e\\` \\!x max_budget\\\\n")
    assert plain("- a") == "\\- a"
    assert plain("1. a") == "1\\. a"


def test_a_warning_that_names_a_user_makes_no_link_or_mention(tmp_path: Path) -> None:
    nameless = user("eve", displayName="[x](https://evil.test) @org *y*", mail=None)
    nameless["userPrincipalName"] = None
    policy = _policy(tmp_path, [oid("group/Team-A")])
    people = [user("ann"), nameless]
    report = build(policy, directory(tenant([group("Team-A", ("ann", "eve"))], people)), tmp_path)
    (line,) = (w for w in summary.markdown(report).splitlines() if "has no" in w)
    assert line.startswith("- user `[x](https://evil.test)` `@org` \\*y\\* in 'Team-A' ")
    _no_markup(outside_code(line))
