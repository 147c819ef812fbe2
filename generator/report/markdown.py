"""Markdown made of untrusted names: each shown exactly, on one line, never a link or mention."""

from __future__ import annotations

import re

from generator.render.templates import visible

# CommonMark has no empty code span: an empty name is said in words, as in the diagrams.
EMPTY = "(no name)"


def code(text: str) -> str:
    """Untrusted text as an inline code span, fence included: shown as `visible` writes it."""
    return _span(visible(text))


def plain(text: str) -> str:
    """Untrusted text as Markdown words: no HTML, emphasis, link, mention, reference or emoji."""
    # GitHub links, mentions and emoji after Markdown, in any text outside code: such words go
    # in code spans, which it leaves alone; every other sign of Markdown is escaped.
    words = (
        _span(word) if _LINKED.search(word) else _MARKDOWN.sub(r"\\\1", word)
        for word in visible(text).split(" ")
    )
    # At the start of a line, `-`, `+` or `1.` would open a list inside the list item.
    return _BLOCK.sub(r"\1\\\2", " ".join(words), count=1)


def _span(shown: str) -> str:
    if not shown:
        return EMPTY
    # The fence is longer than any run of backticks inside, so none of them can close it.
    fence = "`" * (max(map(len, _TICKS.findall(shown)), default=0) + 1)
    # A space on each side keeps a backtick at either end apart from the fence; the reader
    # strips both (`visible` never leaves a space at either end, so nothing else is stripped).
    pad = " " if "`" in (shown[0], shown[-1]) else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


_TICKS = re.compile("`+")
# An underscore between two letters or digits cannot emphasise (`max_budget`): it stays bare.
_MARKDOWN = re.compile(r"([\\`*~<>&\[\]!|$]|(?<![^\W_])_|_(?![^\W_]))")
# Addresses and mentions (@), issue references (#1, GH-1), URLs (://, www.) and emoji (:x:).
_LINKED = re.compile(r"[@#]|:.|www\.|gh-\d", re.IGNORECASE | re.DOTALL)
_BLOCK = re.compile(r"^(\d*)([-+.)=])")


def folded(title: str, mermaid: str) -> list[str]:
    """A Mermaid diagram folded under a title, for the pull request."""
    return ["<details>", f"<summary>{title}</summary>", "", *fenced(mermaid), "", "</details>", ""]


def fenced(mermaid: str) -> list[str]:
    """A Mermaid diagram in its code fence."""
    return ["```mermaid", *mermaid.splitlines(), "```"]
