"""YAML text: what the YAML route writes for Terraform's `yamldecode` to read back exactly."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

# Terraform's `yamldecode` types plain scalars by YAML 1.1 rules (`N` is false, `0o17` is 15),
# so every string value is double-quoted. A key stays bare only when it is a lowercase word that
# no YAML version reads as anything but a string: letters only rule out numbers, dates, `.inf`,
# `~`, `<<` and `=`, which leaves these booleans and null.
_BARE_KEY = re.compile(r"[a-z]+(?:[-_][a-z]+)*")
_TYPED_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
_MERGE = "<<"
# YAML readers reject an implicit key longer than 1024 characters; longer keys go explicit (`? `).
_IMPLICIT_KEY_LIMIT = 1000
# Printable ASCII other than `"` and `\`: written as is, which is most ids and emails.
_PLAIN = re.compile(r"[ !#-\[\]-~]*")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Hangul vowel and trailing jamo compose with the jamo before them, though they are letters.
_HANGUL_JOINING = re.compile("[\u1161-\u1175\u11a8-\u11c2]")


class Flow(dict[str, Any]):
    """A mapping written on one line, so that one membership is one line of YAML."""


class Ordered(dict[str, Any]):
    """A mapping written in the order given (members by email), where others are sorted."""


class Commented(Ordered):
    """An ordered mapping written under a `#` comment line (one line, shown as it is)."""

    def __init__(self, entries: Mapping[str, Any], comment: str) -> None:
        super().__init__(entries)
        self.comment = comment


def dump(data: Mapping[str, Any]) -> str:
    """Return a mapping as block YAML without a final newline; keys sorted, strings quoted."""
    return "\n".join(_entries(data, 0))


def quote(text: str) -> str:
    """Return text as a double-quoted YAML scalar that reads back as exactly that text.

    Terraform NFC-normalises a file before `yamldecode` parses it. Normalisation can fuse a
    combining mark with the character before it, so an escape such as `\\n` followed by an
    accent would become an unknown escape. The scalar returned is already NFC, so Terraform's
    normalisation leaves every escape in it unchanged (it only puts U+034F into a run of more
    than 30 marks, as it does in every string it reads).
    """
    if _PLAIN.fullmatch(text):
        return f'"{text}"'
    return '"' + "".join(_escaped(text)) + '"'


def _escaped(text: str) -> Iterator[str]:
    # `segment` is the literal text since the last character that starts a normalisation
    # segment (nothing before it can change under NFC); it is empty right after an escape.
    segment = ""
    for char in text:
        if _is_literal(char, segment):
            segment = char if _starts_segment(char) else segment + char
            yield char
        else:
            segment = ""
            yield _ESCAPES.get(char) or _code(char)


def _is_literal(char: str, segment: str) -> bool:
    if char in _ESCAPES or not char.isprintable():
        return False
    if _starts_segment(char):
        return True
    # A character that may combine or reorder is written as itself only after literal text of
    # this string, and only when that text stays NFC with it; never after a quote or an escape.
    return bool(segment) and unicodedata.is_normalized("NFC", segment + char)


def _starts_segment(char: str) -> bool:
    # A starter that is NFC on its own and composes with nothing before it: NFC of the text
    # before it and NFC of the text from it on are independent (a normalisation boundary).
    return (
        unicodedata.combining(char) == 0
        and not unicodedata.category(char).startswith("M")
        and not _HANGUL_JOINING.match(char)
        and unicodedata.is_normalized("NFC", char)
    )


def _code(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _key(key: str) -> str:
    if key == _MERGE:
        # Terraform's reader takes an untagged `<<` key for a merge even when it is quoted.
        return f"!!str {quote(key)}"
    return key if _BARE_KEY.fullmatch(key) and key not in _TYPED_WORDS else quote(key)


def _entries(mapping: Mapping[str, Any], indent: int) -> Iterator[str]:
    pad = " " * indent
    for key in mapping if isinstance(mapping, Ordered) else sorted(mapping):
        name = _key(key)
        if len(name) > _IMPLICIT_KEY_LIMIT:
            yield f"{pad}? {name}"
            name = ""
        value = mapping[key]
        if isinstance(value, Flow) or not value or not isinstance(value, (Mapping, list, tuple)):
            yield f"{pad}{name}: {_inline(value)}"
        elif isinstance(value, Mapping):
            if isinstance(value, Commented):
                yield f"{pad}# {value.comment}"
            yield f"{pad}{name}:"
            yield from _entries(value, indent + 2)
        else:
            yield f"{pad}{name}:"
            yield from (f"{pad}- {_inline(item)}" for item in value)


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        keys = value if isinstance(value, Ordered) else sorted(value)
        pairs = (f"{_flow_key(k)} {_inline(value[k])}" for k in keys)
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[" + ", ".join(_inline(item) for item in value) + "]"
    return _scalar(value)


def _flow_key(key: str) -> str:
    name = _key(key)
    return f"? {name} :" if len(name) > _IMPLICIT_KEY_LIMIT else f"{name}:"


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return quote(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    raise TypeError(f"no YAML scalar for {type(value).__name__}")


def _float(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    mantissa, exponent, power = repr(value).partition("e")
    # YAML 1.1 readers (PyYAML among them) take `1e+16` for a string: keep a decimal point.
    return mantissa + ("" if "." in mantissa or not exponent else ".0") + exponent + power
