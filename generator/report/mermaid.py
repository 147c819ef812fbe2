"""Mermaid flowcharts as GitHub and Azure DevOps render them: escaped labels, bounded size."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Literal

Shape = Literal["organization", "team", "group", "note"]

# Bounds of a diagram a reviewer can still read; Mermaid itself gives up at 500 links
# (a parse error) and 50,000 characters (an error box instead of the picture).
MAX_BOXES = 150
MAX_LINKS = 200
MAX_CHARS = 40_000
# Names are cut to this many characters: a box holds a name, not a paragraph.
MAX_NAME = 60
LINE_BREAK = "<br/>"

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
_SPACE = "#32;"


def short(name: str) -> str:
    """A name cut to MAX_NAME characters, with an ellipsis when cut; never empty."""
    if not name:
        return "(no name)"
    return name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…"


def label(text: str) -> str:
    """Text as the inside of a quoted Mermaid label: one source line, shown literally.

    Letters, digits, inner spaces, `-._,'/` and printable non-ASCII stay; everything else,
    including the other ASCII signs (quotes, brackets, `#`, `;`, `:`, `<`, backticks, `%`, `$`),
    every control and line or paragraph separator, becomes a decimal entity `#NN;`, which
    Mermaid shows as the character itself and never reads as syntax, HTML, Markdown, maths,
    an icon or a directive.
    """
    body = "".join(
        c if c in _KEPT or (c > "\x7f" and c.isprintable() and c not in _MARKERS) else f"#{ord(c)};"
        for c in text
    )
    # Mermaid trims a label: spaces at either end are shown only as entities.
    core = body.strip(" ")
    if not core:
        return _SPACE * len(body)
    leading = len(body) - len(body.lstrip(" "))
    trailing = len(body) - len(body.rstrip(" "))
    return _SPACE * leading + core + _SPACE * trailing


@dataclass
class Chart:
    """A flowchart being drawn: boxes by key, with generated ids (n1, n2, …) in drawing order."""

    _ids: dict[str, str] = field(default_factory=dict)
    _lines: list[str] = field(default_factory=list)
    _styles: dict[str, str] = field(default_factory=dict)
    _links: int = 0

    @property
    def boxes(self) -> int:
        """How many boxes the chart holds."""
        return len(self._ids)

    def box(
        self, key: str, lines: tuple[str, ...], shape: Shape, style: Style | None = None
    ) -> str:
        """Draw a box once per key and return its id; the first drawing of a key wins."""
        if key in self._ids:
            return self._ids[key]
        node = self._ids[key] = f"n{len(self._ids) + 1}"
        opening, closing = _SHAPES[shape]
        text = LINE_BREAK.join(label(line) for line in lines)
        styled = ""
        if style is not None:
            self._styles[style.name] = style.css
            styled = f":::{style.name}"
        self._lines.append(f'  {node}{opening}"{text}"{closing}{styled}')
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
        styles = [f"  classDef {name} {css}" for name, css in sorted(self._styles.items())]
        source = "\n".join(["flowchart LR", *self._lines, *styles]) + "\n"
        return source if len(source) <= MAX_CHARS else None


@dataclass(frozen=True)
class Style:
    """A class of boxes: its name in the chart, its look, and its words in the legend."""

    name: str
    css: str
    title: str
