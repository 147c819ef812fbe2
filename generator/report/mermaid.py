"""Mermaid flowcharts as GitHub and Azure DevOps render them: escaped labels, bounded size."""

from __future__ import annotations

import string
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from generator.render.templates import visible
from generator.report.markdown import EMPTY

Shape = Literal["organization", "team", "group", "note"]

# Bounds of a diagram a reviewer can still read; Mermaid itself gives up at 500 links
# (a parse error) and 50,000 characters (an error box instead of the picture).
MAX_BOXES = 150
MAX_LINKS = 200
MAX_CHARS = 40_000
# Names are cut to this many characters: a box holds a name, not a paragraph.
MAX_NAME = 60
LINE_BREAK = "<br/>"
# Characters of an object id that tell apart boxes showing the same name.
SHORT_ID = 8

_SHAPES: dict[Shape, tuple[str, str]] = {
    "organization": ("[[", "]]"),
    "team": ("[", "]"),
    "group": ("([", "])"),
    "note": ("[", "]"),
}
# Signs that mean nothing inside a quoted label, kept so that the Markdown diff stays readable.
_KEPT = frozenset(string.ascii_letters + string.digits + " -._,'/")
# Mermaid marks entities with these while it parses; kept raw, a name could forge one.
_MARKERS = frozenset("\ufb02\u00b6")


def short(name: str) -> str:
    """A name cut to MAX_NAME characters, with an ellipsis when cut; never empty."""
    if not name:
        return EMPTY
    return name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…"


def label(text: str) -> str:
    """Text as the inside of a quoted Mermaid label: one source line, shown literally.

    The text is first made `visible` (a newline reads `\\n`, an invisible character `\\u200b`, a
    backslash `\\\\`), as in the summary. Then letters, digits, inner spaces, `-._,'/` and
    printable non-ASCII stay; every other ASCII sign (quotes, brackets, `#`, `;`, `:`, `<`,
    backticks, `%`, `$`, the backslash of an escape) becomes a decimal entity `#NN;`, which
    Mermaid shows as the character itself and never reads as syntax, HTML, Markdown, maths, an
    icon or a directive.
    """
    # Mermaid trims a label, but `visible` leaves no space at either end (`\u0020`).
    return "".join(
        c if c in _KEPT or (c > "\x7f" and c not in _MARKERS) else f"#{ord(c)};"
        for c in visible(text)
    )


@dataclass
class Chart:
    """A flowchart being drawn: boxes by key, with generated ids (n1, n2, …) in drawing order."""

    _ids: dict[str, str] = field(default_factory=dict)
    _lines: list[str | _Box] = field(default_factory=list)
    _styles: dict[str, str] = field(default_factory=dict)
    _links: int = 0

    @property
    def boxes(self) -> int:
        """How many boxes the chart holds."""
        return len(self._ids)

    def box(
        self,
        key: str,
        lines: tuple[str, ...],
        shape: Shape,
        style: Style | None = None,
        *,
        ident: str | None = None,
    ) -> str:
        """Draw a box once per key and return its id; the first drawing of a key wins."""
        # `ident`, the object id, is shown (its start) only where another box of the same shape
        # shows the same first line: two teams named alike must not look the same.
        if key in self._ids:
            return self._ids[key]
        node = self._ids[key] = f"n{len(self._ids) + 1}"
        styled = ""
        if style is not None:
            self._styles[style.name] = style.css
            styled = f":::{style.name}"
        self._lines.append(_Box(node, shape, lines, styled, ident))
        return node

    def link(self, start: str, end: str, text: str = "", *, dotted: bool = False) -> None:
        """Draw an arrow between two boxes, dotted for what is not containment."""
        arrow = "-.->" if dotted else "-->"
        labelled = f'|"{label(text)}"|' if text else ""
        self._lines.append(f"  {start} {arrow}{labelled} {end}")
        self._links += 1

    def legend(self, styles: tuple[Style, ...]) -> None:
        """Draw a legend of the given styles, one sample box each."""
        if not styles:
            return
        self._lines.append('  subgraph legend["Legend"]')
        for style in styles:
            self._styles[style.name] = style.css
            key = f"legend/{style.name}"
            node = self._ids[key] = f"n{len(self._ids) + 1}"
            self._lines.append(f'    {node}["{label(style.title)}"]:::{style.name}')
        self._lines.append("  end")

    def text(self) -> str | None:
        """The flowchart's source, or None when it is too large to read."""
        if self.boxes > MAX_BOXES or self._links > MAX_LINKS:
            return None
        tags = _tags([b for b in self._lines if isinstance(b, _Box)])
        drawn = [
            line if isinstance(line, str) else line.source(tags.get(line.node))
            for line in self._lines
        ]
        styles = [f"  classDef {name} {css}" for name, css in sorted(self._styles.items())]
        source = "\n".join(["flowchart LR", *drawn, *styles]) + "\n"
        return source if len(source) <= MAX_CHARS else None


@dataclass(frozen=True)
class _Box:
    node: str
    shape: Shape
    lines: tuple[str, ...]
    styled: str
    ident: str | None

    def source(self, tag: str | None) -> str:
        """The box's line of the chart, with the tag that tells it apart, if it needs one."""
        opening, closing = _SHAPES[self.shape]
        lines = self.lines if tag is None else (*self.lines, tag)
        text = LINE_BREAK.join(label(line) for line in lines)
        return f'  {self.node}{opening}"{text}"{closing}{self.styled}'


def _tags(boxes: list[_Box]) -> dict[str, str]:
    """The short id to show, by node, on each box that would otherwise look like another."""
    alike: dict[tuple[Shape, str], list[tuple[str, str]]] = defaultdict(list)
    for box in boxes:
        if box.ident is not None and box.lines:
            alike[(box.shape, box.lines[0])].append((box.node, box.ident))
    tags: dict[str, str] = {}
    for found in (f for f in alike.values() if len(f) > 1):
        # The first 8 characters of an object id, more if two ids of the group begin alike.
        width = SHORT_ID
        while len({i[:width] for _, i in found}) < len({i for _, i in found}):
            width += 1
        tags.update((node, f"id {ident[:width]}") for node, ident in found)
    return tags


@dataclass(frozen=True)
class Style:
    """A class of boxes: its name in the chart, its look, and its words in the legend."""

    name: str
    css: str
    title: str
