"""Write docs/reference/policy.md, every key of the policy file, from its JSON Schema.

python docs/reference.py            rewrite the page
python docs/reference.py --check    exit 1 if the committed page differs
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "generator" / "policy.schema.json"
PAGE = ROOT / "docs" / "reference" / "policy.md"
COMMAND = "python docs/reference.py"

Schema = dict[str, Any]

HEADER = f"""\
# Policy keys

Every key the policy file (`entraform.yaml`) allows, from its JSON Schema
(`generator/policy.schema.json`, which `entraform schema` prints). [The policy file](../policy.md)
explains how the rules select groups and place teams, with a complete example.

In a key, `[]` stands for each item of a list and `*` for any key of a mapping. A required key is
required only where its parent is given.

<!-- Written by `{COMMAND}`: edit the descriptions in the schema, not this page. -->
"""


@dataclass(frozen=True)
class Key:
    """One key of the policy file, as the page shows it."""

    path: str
    types: tuple[str, ...]
    values: tuple[Any, ...]
    default: Any
    required: bool
    description: str


def keys(schema: Schema) -> Iterator[Key]:
    """Every key the schema allows, each followed by the keys inside it, in schema order."""
    yield from _inside(schema, schema, "")


def _inside(root: Schema, node: Schema, path: str) -> Iterator[Key]:
    required = set(node.get("required", ()))
    for name, child in node.get("properties", {}).items():
        yield from _key(root, child, f"{path}.{name}" if path else name, name in required)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        yield from _key(root, extra, f"{path}.*", False)


def _key(root: Schema, node: Schema, path: str, required: bool) -> Iterator[Key]:
    node = _resolved(root, node)
    # A key that takes one of several shapes (a name or a mapping) is one key with all their types.
    alternatives: list[Schema] = node.get("oneOf") or node.get("anyOf") or [node]
    shapes = [_resolved(root, s) for s in alternatives]
    yield Key(
        path=path,
        types=tuple(dict.fromkeys(t for s in shapes for t in _types(root, s))),
        values=tuple(v for s in shapes for v in _values(s)),
        default=node.get("default"),
        required=required,
        description=str(node.get("description") or node.get("title") or ""),
    )
    for shape in shapes:
        if "items" in shape:
            yield from _inside(root, _resolved(root, shape["items"]), f"{path}[]")
        else:
            yield from _inside(root, shape, path)


def _resolved(root: Schema, node: Schema) -> Schema:
    """The node its `$ref` points at, with the referring node's own annotations over it."""
    if "$ref" not in node:
        return node
    target: Any = root
    for step in node["$ref"].removeprefix("#/").split("/"):
        target = target[step]
    return {**_resolved(root, target), **{k: v for k, v in node.items() if k != "$ref"}}


def _values(node: Schema) -> list[Any]:
    return [node["const"]] if "const" in node else list(node.get("enum", []))


# The policy file is YAML, so its containers are named as YAML names them.
_TYPE_WORDS = {"object": "mapping", "array": "list"}


def _types(root: Schema, node: Schema) -> list[str]:
    if "type" in node:
        named = node["type"]
        found = [named] if isinstance(named, str) else list(named)
    else:
        found = [_json_type(v) for v in _values(node)]
    if found == ["array"] and "items" in node:
        return [f"list of {' or '.join(_types(root, _resolved(root, node['items'])))}"]
    return [_TYPE_WORDS.get(t, t) for t in dict.fromkeys(found)]


def _json_type(value: Any) -> str:
    # bool before int: to Python, True is an int.
    kinds = (
        (bool, "boolean"),
        (int, "integer"),
        (float, "number"),
        (str, "string"),
        (list, "array"),
        (dict, "object"),
    )
    return next((name for kind, name in kinds if isinstance(value, kind)), "null")


def render(schema: Schema) -> str:
    """The reference page: one section, with one table, per top-level key."""
    sections: dict[str, list[Key]] = {}
    for key in keys(schema):
        sections.setdefault(key.path.split(".")[0].removesuffix("[]"), []).append(key)
    return "\n".join([HEADER, *(_section(name, found) for name, found in sections.items())])


_TABLE_HEAD = "| key | type | values | description |\n| --- | --- | --- | --- |\n"


def _section(name: str, found: list[Key]) -> str:
    rows = [
        f"| `{k.path}` | {_type_cell(k)} | {_values_cell(k)} | {_cell(k.description)} |\n"
        for k in found
    ]
    return f"## `{name}`\n\n{_TABLE_HEAD}" + "".join(rows)


def _type_cell(key: Key) -> str:
    types = " or ".join(key.types)
    return f"{types}, **required**" if key.required else types


def _values_cell(key: Key) -> str:
    shown = ", ".join(f"`{_literal(v)}`" for v in key.values)
    if key.default is not None:
        shown += f"{'; ' if shown else ''}default `{_literal(key.default)}`"
    return shown


def _literal(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _cell(text: str) -> str:
    # A pipe would end the table cell, and an angle bracket could open an HTML tag.
    return text.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def main(argv: list[str] | None = None) -> int:
    """Rewrite the page, or with --check say whether the committed one is current."""
    parser = argparse.ArgumentParser(
        prog=COMMAND, description=f"Write {PAGE.name} from the schema."
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is out of date")
    check = parser.parse_args(argv).check
    page = render(json.loads(SCHEMA.read_text(encoding="utf-8")))
    if not check:
        PAGE.parent.mkdir(parents=True, exist_ok=True)
        PAGE.write_text(page, encoding="utf-8", newline="\n")
        return 0
    if PAGE.is_file() and PAGE.read_text(encoding="utf-8") == page:
        return 0
    print(
        f"{PAGE.relative_to(ROOT)} is out of date with the schema: run {COMMAND}", file=sys.stderr
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
