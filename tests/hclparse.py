"""Our HCL as a real HCL parser reads it (python-hcl2), for tests that look inside files."""

from __future__ import annotations

from typing import Any

import hcl2

from generator import hcl


def parsed(text: str) -> dict[str, Any]:
    """The whole file, as python-hcl2 gives it (string literals keep their quotes)."""
    found: dict[str, Any] = hcl2.loads(text)
    return found


def resources(text: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every resource block by (type, label), with its arguments as python-hcl2 reads them."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for block in parsed(text).get("resource", []):
        for kind, labelled in block.items():
            for label, arguments in labelled.items():
                found[literal(kind), literal(label)] = arguments
    return found


def literal(value: Any) -> str:
    """A string literal's text as Terraform reads it; other expressions as written."""
    text = str(value)
    return hcl.unquote(text) if text.startswith('"') and text.endswith('"') else text


def reference(value: Any) -> str:
    """The expression inside `${...}`, as python-hcl2 gives a reference."""
    return str(value).removeprefix("${").removesuffix("}")


def decoded(value: Any) -> Any:
    """Arguments with their string literals as Terraform reads them, references as `${...}`."""
    if isinstance(value, dict):
        return {literal(k): decoded(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list):
        return [decoded(v) for v in value]
    return literal(value) if isinstance(value, str) else value
