"""HCL as python-hcl2 gives it, read as Terraform reads it: for the files of an earlier release."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from generator import hcl
from generator.state import Settings


def settings(attributes: Mapping[str, Any]) -> Settings:
    """An organization's or team's settings among its resource's arguments."""
    return Settings.from_mapping({k: plain(v) for k, v in attributes.items()})


def plain(value: Any) -> Any:
    """A value as Terraform reads it: string literals unquoted, in lists and maps too."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {text(k): plain(v) for k, v in value.items() if not k.startswith("__")}
    return value


def text(value: Any) -> str:
    """A string literal as Terraform reads it (YAML data arrives as plain text already)."""
    found = str(value)
    return hcl.unquote(found) if found.startswith('"') and found.endswith('"') else found


def address(expression: str) -> str:
    """A reference as written in HCL: `${litellm_team.x}` is `litellm_team.x`."""
    return expression.removeprefix("${").removesuffix("}")


def label_in(expression: str) -> str:
    """The resource label in a `${TYPE.LABEL.ATTRIBUTE}` reference."""
    return address(expression).split(".")[1]


def resources(parsed: Mapping[str, Any]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    """Every resource of a file: its type, label and arguments."""
    for block in parsed.get("resource", []):
        for kind, labelled in block.items():
            for label, attributes in labelled.items():
                yield text(kind), text(label), attributes


def blocks(parsed: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    """The blocks of one kind in a file (`moved`, `removed`, `import`, `locals`)."""
    found: list[dict[str, Any]] = parsed.get(kind, [])
    return found
