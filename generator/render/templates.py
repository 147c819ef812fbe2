"""The Jinja2 templates in templates/: one strict environment, escaping only by named filters."""

from __future__ import annotations

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


def comment_text(value: str) -> str:
    """Text that stays one comment line whatever a display name contains."""
    return "".join(c if c.isprintable() else " " for c in str(value))


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
        comment_text=comment_text,
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
