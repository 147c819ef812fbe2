"""The Jinja2 templates in templates/: one strict environment, escaping only by named filters."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from generator import hcl
from generator.render import yamltext


@dataclass(frozen=True)
class RenderOptions:
    """What every rendered file says besides the objects: its header, provider and backend."""

    regenerate: str = "entraform generate"
    provider_version: str = ">= 2.1.0, < 3.0.0"
    backend: str | None = None
    # Which de-scoped objects are forgotten (kept in LiteLLM) rather than deleted.
    forget_organizations: bool = True
    forget_teams: bool = False
    forget_users: bool = False


def templates_dir() -> Path:
    """Find the templates: inside the installed package, else at the top of a checkout."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "templates"
    return packaged if packaged.is_dir() else package.parent / "templates"


def text(name: str, context: dict[str, Any], options: RenderOptions) -> str:
    """One template rendered with the header and provider settings, in canonical form."""
    found = (
        _environment(templates_dir())
        .get_template(name)
        .render(
            regenerate=options.regenerate,
            provider_version=options.provider_version,
            backend=options.backend,
            comment="#",
            **context,
        )
    )
    return _canonical(found)


def policy(name: str, context: dict[str, Any]) -> str:
    """A policy file for `entraform init`, from its template in templates/policy/."""
    return _canonical(_environment(templates_dir()).get_template(name).render(**context))


def visible(text: str) -> str:
    """Text on one line that shows every character: the invisible ones as escapes (`\\u200b`)."""
    if _PLAIN.fullmatch(text):
        return text  # nearly every name and address: nothing to escape
    # Spaces at either end would not be seen, and a line loses them at its end: `\u0020`.
    first, last = len(text) - len(text.lstrip(" ")), len(text.rstrip(" "))
    out: list[str] = []
    after_escape = False
    for index, char in enumerate(text):
        edge = char == " " and not first <= index < last
        # A combining mark after an escape would be drawn onto its last letter (`\n` + U+0301).
        if edge or _hidden(char) or (after_escape and unicodedata.category(char).startswith("M")):
            code = ord(char)
            long = f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
            out.append(_SHORT.get(char, long))
            after_escape = True
        else:
            out.append(char)
            after_escape = False
    return "".join(out)


# Printable ASCII but the backslash, with no space at either end.
_PLAIN = re.compile(r"(?:[!-\[\]-~](?:[ -\[\]-~]*[!-\[\]-~])?)?")
# The escapes of a Terraform string, so that a comment reads like the literal beside it. A
# backslash is doubled: no name can pass for an escape. docs/reviewers.md tells reviewers.
_SHORT = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Letters and marks that print as nothing (Hangul fillers, the grapheme joiner, Khmer inherent
# vowels, the blank Braille cell): a name padded with them would look like one without.
_BLANK = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")


def _hidden(char: str) -> bool:
    # Not printable: controls, format characters, separators and whitespace but the plain space,
    # and unassigned, private-use or surrogate code points.
    return char in _SHORT or not char.isprintable() or char in _BLANK


def _comment_text(value: object) -> str:
    return visible(str(value))


@cache
def _environment(root: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        hcl=hcl.literal,
        yaml=yamltext.dump,
        yaml_quote=yamltext.quote,
        # Names in `#` comments of .tf and .yaml files, shown as the summary shows them.
        comment_text=_comment_text,
    )
    return env


def _canonical(text: str) -> str:
    # One final newline, no blank runs, no trailing spaces: bytes independent of template layout.
    lines = [line.rstrip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n") + "\n"
