"""Mermaid's own parser under Node (tests/mermaid), and how to read back what it understood."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent / "mermaid"
INSTALL = "npm ci --prefix tests/mermaid --no-audit --no-fund --ignore-scripts"
# While it parses, Mermaid holds a numeric entity #NN; as these markers around the number.
_ENTITY = re.compile("\ufb02\u00b0\u00b0(\\d+)\u00b6\u00df")
_FENCED = re.compile(r"^```mermaid\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def missing() -> str | None:
    """Why the parser cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (FOLDER / "node_modules" / "mermaid").is_dir():
        return f"Mermaid is not installed for the tests: run `{INSTALL}`"
    return None


@dataclass(frozen=True)
class Parser:
    """Runs the parser on many diagrams at once (starting Node and Mermaid takes seconds)."""

    node: str

    def parse(self, texts: list[str]) -> list[dict[str, Any]]:
        """One result per diagram: an `error`, or the nodes, edges, subgraphs and classes."""
        run = subprocess.run(
            [self.node, str(FOLDER / "parse.mjs")],
            input=json.dumps(texts),
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=False,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr
        results: list[dict[str, Any]] = json.loads(run.stdout)
        return results


def shown(text: str) -> str:
    """A label as Mermaid will show it: its numeric entities turned back into characters."""
    return _ENTITY.sub(lambda m: chr(int(m.group(1))), text)


def blocks(markdown: str) -> list[str]:
    """The Mermaid diagrams fenced in a Markdown text."""
    return _FENCED.findall(markdown)
