"""The policy file as text: YAML with each key's line and column, schema errors in words."""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from generator.errors import ConfigError

if TYPE_CHECKING:
    import jsonschema

KeyPath = tuple[str | int, ...]
Position = tuple[int, int]

# The user writes YAML, so types are named the way YAML readers know them.
TYPE_WORDS = {
    "array": "a list",
    "object": "a mapping of keys",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


@dataclass(frozen=True)
class Locator:
    """Where each key and list item of one policy file starts, for messages."""

    origin: str
    positions: dict[KeyPath, Position]

    def position(self, path: KeyPath) -> Position:
        """The line and column of the key at path, or of its nearest located parent."""
        found = (self.positions.get(path[:n]) for n in range(len(path), -1, -1))
        return next((p for p in found if p is not None), (1, 1))

    def line(self, path: KeyPath) -> int:
        """The line of the key at path."""
        return self.position(path)[0]

    def message(self, path: KeyPath, text: str) -> str:
        """Prefix text with file, line, column and the key path."""
        line, column = self.position(path)
        shown = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        return f"{self.origin}:{line}:{column}: {shown or '(top level)'}: {text}"

    def error(self, path: KeyPath, text: str) -> ConfigError:
        """A ConfigError located at path."""
        return ConfigError(self.message(path, text))


def read(text: str, origin: str) -> tuple[Any, Locator]:
    """Parse YAML text, refusing duplicate keys, and locate every key and list item."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ConfigError(
            f"{origin}{where}: not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from exc
    positions: dict[KeyPath, Position] = {}
    if node is not None:
        _locate(node, (), positions, origin)
    return ({} if data is None else data), Locator(origin, positions)


def _locate(
    node: yaml.Node, path: KeyPath, positions: dict[KeyPath, Position], origin: str
) -> None:
    positions.setdefault(path, _position(node.start_mark))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            line, column = _position(key.start_mark)
            if name in seen:  # PyYAML would silently keep the last one
                raise ConfigError(f"{origin}:{line}:{column}: duplicate key {name!r}")
            seen.add(name)
            key_path = (*path, name)
            positions[key_path] = (line, column)
            _locate(value, key_path, positions, origin)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _locate(item, (*path, index), positions, origin)


def _position(mark: yaml.Mark) -> Position:
    return mark.line + 1, mark.column + 1


def check(data: Any, where: Locator) -> None:
    """Raise one ConfigError naming every schema violation at its own key, in file order."""
    found = [m for e in _schema().iter_errors(data) for m in _messages(e)]
    if found:
        found.sort(key=lambda m: (where.position(m[0]), m[1]))
        raise ConfigError("\n".join(where.message(path, text) for path, text in found))


@cache
def _schema() -> jsonschema.Draft202012Validator:
    import jsonschema  # only a command that validates a policy loads it

    text = resources.files("generator").joinpath("policy.schema.json").read_text(encoding="utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


def _messages(error: jsonschema.ValidationError) -> list[tuple[KeyPath, str]]:
    best = _best(error)
    path = tuple(best.absolute_path)
    if best.validator == "additionalProperties":
        schema: Any = best.schema
        instance: Any = best.instance
        allowed = list(schema.get("properties", {}))
        extra = sorted(str(k) for k in instance if k not in allowed)
        return [((*path, key), _unknown_key(key, allowed)) for key in extra]
    return [(path, _describe(best))]


def _best(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    if not error.context:
        return error
    # Of a oneOf, the alternative the value has the shape of says best what is wrong inside it.
    shaped = [e for e in error.context if e.path or e.validator not in ("type", "enum")]
    from jsonschema.exceptions import best_match

    return best_match(shaped or error.context) or error


def _unknown_key(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "valid keys: " + ", ".join(allowed)
    return f"unknown key {key!r}; {hint}"


def _describe(error: jsonschema.ValidationError) -> str:
    # Words instead of jsonschema's messages, which show regexes and dump schemas and instances.
    words = _WORDS.get(str(error.validator))
    expected: Any = error.validator_value
    schema: Any = error.schema
    return error.message if words is None else words(expected, error.instance, schema)


def _type(expected: Any, value: Any, _: Any) -> str:
    wanted = [expected] if isinstance(expected, str) else expected
    return f"must be {' or '.join(TYPE_WORDS[t] for t in wanted)}, not {_shown(value)}"


def _enum(expected: Any, value: Any, _: Any) -> str:
    return f"{_shown(value)} is not one of {', '.join(map(str, expected))}{_guess(value, expected)}"


def _one_key(_: Any, value: Any, schema: Any) -> str:
    # Only select and admins bound their number of keys, both to exactly one.
    given = f", not {', '.join(map(str, value))}" if value else ""
    return f"give exactly one of {', '.join(schema['properties'])}{given}"


def _unique(_: Any, value: Any, __: Any) -> str:
    twice = [item for item, n in Counter(map(str, value)).items() if n > 1]
    return f"lists {', '.join(map(repr, twice))} more than once"


_WORDS: dict[str, Callable[[Any, Any, Any], str]] = {
    "type": _type,
    "enum": _enum,
    "const": lambda expected, value, _: f"must be {json.dumps(expected)}, not {_shown(value)}",
    "pattern": lambda _, value, schema: f"must be {schema['description']}, not {_shown(value)}",
    "minProperties": _one_key,
    "maxProperties": _one_key,
    "minLength": lambda *_: "must not be empty",
    "minItems": lambda *_: "must list at least one item",
    "uniqueItems": _unique,
}


def _guess(value: Any, choices: list[Any]) -> str:
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, [str(c) for c in choices], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value)
