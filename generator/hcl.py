"""HCL text: escaping for Terraform, and aligning like `terraform fmt`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Invisible characters (controls, bidi marks, line separators) are written as escapes so a
# reviewer sees them; Terraform reads back the same text.
_INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}
_ATTRIBUTE = re.compile(r'^(\s*)((?:"(?:[^"\\]|\\.)*")|[A-Za-z_][\w-]*)\s*=\s*(.*)$')
_UNESCAPE = re.compile(r'\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([nrt\\"]))|\$\$\{|%%\{')
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"'}
# Go's normaliser keeps text stream-safe: a joiner before the 31st non-starter in a row.
_MAX_NON_STARTERS = 30
_STREAM_SAFE_JOINER = "\u034f"
# Most ids and emails need no escaping at all; skipping the per-character walk matters at scale.
_PLAIN = re.compile(r"[ !#&-\[\]-~]*")


def quote(text: str) -> str:
    """Return text as an HCL string literal that Terraform reads back unchanged."""
    if _PLAIN.fullmatch(text):
        return f'"{text}"'
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif unicodedata.category(char) in _INVISIBLE:
            code = ord(char)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    # Template sequences must stay literal text, never interpolation.
    return '"' + "".join(out).replace("${", "$${").replace("%{", "%%{") + '"'


def normalized(text: str) -> str:
    """What Terraform makes of any string it reads: NFC, in the stream-safe form Go produces.

    Go's normaliser puts U+034F (combining grapheme joiner) before the 31st non-starter in a row,
    counted in the decomposed text before marks are reordered; Python's NFC does not do that.
    """
    if text.isascii():
        return text
    out: list[str] = []
    run = 0
    for char in "".join(unicodedata.normalize("NFD", c) for c in text):
        run = run + 1 if unicodedata.combining(char) else 0
        if run > _MAX_NON_STARTERS:
            out.append(_STREAM_SAFE_JOINER)
            run = 1
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def unquote(literal: str) -> str:
    """Inverse of quote: the text of an HCL string literal."""
    inner = literal[1:-1]
    if _PLAIN.fullmatch(inner):
        return inner

    def one(m: re.Match[str]) -> str:
        if m.group(1) or m.group(2):
            return chr(int(m.group(1) or m.group(2), 16))
        if m.group(3) is not None:
            return _SIMPLE[m.group(3)]
        return m.group(0)[1:]

    return _UNESCAPE.sub(one, inner)


def literal(value: Any) -> str:
    """Return a Python value as a one-line HCL expression."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Budgets are numbers, limits are integers: never write 100.0 for 100.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{key(k)} = {literal(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(f"no HCL literal for {type(value).__name__}")


def key(name: str) -> str:
    """Return an object key: bare when it is an identifier, quoted otherwise."""
    return name if re.fullmatch(r"[A-Za-z_][\w-]*", name) else quote(name)


def entries(pairs: Sequence[tuple[str, str]], indent: str) -> str:
    """One-line `key = value` lines (keys already HCL tokens), aligned as `terraform fmt` does."""
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join([f"{indent}{k.ljust(width)} = {v}" for k, v in pairs])


def align(text: str) -> str:
    """Align `=` in runs of one-line attributes at the same indent, as `terraform fmt` does.

    The body of a `for_each = {` map passes through untouched: it is written by `entries`,
    aligned already, and it is where nearly all the lines of a large output are. Lines and
    runs repeat (every chunk of a map has the same attributes): each distinct one is read and
    aligned once.
    """
    out: list[str] = []
    run: list[tuple[str, str, str]] = []
    closing: str | None = None
    parsed: dict[str, tuple[str, str, str] | None] = {}
    aligned: dict[tuple[tuple[str, str, str], ...], list[str]] = {}

    def flush() -> None:
        key = tuple(run)
        if key not in aligned:
            width = max(len(name) for _, name, _ in run)
            aligned[key] = [f"{indent}{name.ljust(width)} = {value}" for indent, name, value in run]
        out.extend(aligned[key])
        run.clear()

    for line in text.split("\n"):
        if closing is not None:
            out.append(line)
            closing = None if line == closing else closing
            continue
        if line in parsed:
            attribute = parsed[line]
        else:
            attribute = parsed[line] = _one_line(line)
        if run and (attribute is None or attribute[0] != run[0][0]):
            flush()
        if attribute is not None:
            run.append(attribute)
        else:
            out.append(line)
            if line.endswith("for_each = {"):
                closing = line[: len(line) - len(line.lstrip())] + "}"
    if run:
        flush()
    return "\n".join(out)


def _one_line(line: str) -> tuple[str, str, str] | None:
    """A one-line attribute's indent, name and value; None for any other line."""
    match = _ATTRIBUTE.match(line)
    if match is None or line.endswith(("{", "[", "(")):
        return None
    indent, name, value = match.groups()
    return indent, name, value
