"""Markdown made of untrusted names: one line each, shown as written, never a link or mention."""

from __future__ import annotations

import html
import re


def code(text: str) -> str:
    """Untrusted text (names from Entra) made safe inside an inline code span: one line, no `."""
    return "".join(c if c.isprintable() else " " for c in text).replace("`", "'")


def plain(text: str) -> str:
    """Untrusted text made safe as plain Markdown: no links, HTML, emphasis or @mentions."""
    escaped = html.escape(code(text), quote=False)
    escaped = _MARKDOWN.sub(r"\\\1", escaped)
    # A zero-width space after a leading @ keeps GitHub from notifying a user or team.
    return _MENTION.sub("\\1@\u200b", escaped)


_MARKDOWN = re.compile(r"([\\*_\[\]#|~!])")
_MENTION = re.compile(r"(^|[^\w.])@(?=\w)")


def folded(title: str, mermaid: str) -> list[str]:
    """A Mermaid diagram folded under a title, for the pull request."""
    return ["<details>", f"<summary>{title}</summary>", "", *fenced(mermaid), "", "</details>", ""]


def fenced(mermaid: str) -> list[str]:
    """A Mermaid diagram in its code fence."""
    return ["```mermaid", *mermaid.splitlines(), "```"]
