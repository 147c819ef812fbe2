"""Strings that YAML readers, Unicode normalisation and templates get wrong, and random mixes."""

from __future__ import annotations

import random

from generator import hcl

# What Terraform makes of a string it reads, to compare its output with.
nfc = hcl.normalized


# Plain scalars that YAML 1.1 or 1.2 types as something other than a string.
TYPED = (
    "y", "Y", "n", "N", "yes", "No", "ON", "off", "True", "FALSE", "null", "Null", "NULL",
    "~", "", "0", "08", "010", "0o17", "0x1F", "0b101", "+.5", "-.5", "1e3", "1E+3", "1_000",
    "1:20", "-1:20:30", "2001-12-14", "2001-12-14t21:59:43.10-05:00", ".inf", "-.Inf", ".NaN",
    "<<", "=", "+1", "-0", "1.", "0.",
)  # fmt: skip
# Characters a plain scalar may not start with, or sequences that end or start a structure.
INDICATORS = (
    "*a", "&a", "!a", "!!str", "%YAML", "@a", "`a", "- a", "? a", ": a", "#a", "a #b", "a: b",
    "|", ">", "'", '"', "{a}", "[a]", ",", "---", "...", "- ", "?", ":", "-",
)  # fmt: skip
WHITESPACE = (" ", "   ", "\t", " a", "a ", "\t a \t", "\u00a0", "\u3000", "\u2000", "\u200b")
CONTROLS = tuple(chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)))
SEPARATORS = ("\n", "\r\n", "\r", "\u0085", "\u2028", "\u2029", "\ufeff", "\ufffe", "\uffff")
# Marks of several combining classes, ones that compose with letters that also end escapes
# (`\n`, `\t`, hex digits), with `=`/`<`/`>`, and Hangul jamo that compose though they are letters.
COMBINING = (
    "\u0301", "\u0300", "\u0302", "\u0303", "\u0308", "\u030a", "\u0323", "\u0327", "\u0338",
    "\u0345", "\u05b4", "\u0e38", "\u093c", "\u094d", "\u0b3e", "\u0f71", "\u20dd", "\u3099",
    "\u1dce", "\U0001d165", "\u1161", "\u11a8",
)  # fmt: skip
BASES = ("a", "e", "n", "t", "r", "u", "A", "E", "F", "0", "=", "<", ">", "\u1100", "\u304b")
# Characters that NFC replaces outright (singletons and excluded compositions).
COMPATIBILITY = ("\u212b", "\u2126", "\u0340", "\u0958", "\uf900", "\u1e9b\u0323", "\u2000")
ASTRAL = (
    "\U0001f600", "\U0001f680", "\U0001f469\u200d\U0001f469\u200d\U0001f467",
    "\U0001f1fa\U0001f1f8", "\U0001d518", "\U00020000", "\U000e0001", "\U000f0000",
    "\U0010fffd", "\U0001fffe",
)  # fmt: skip
INVISIBLE = ("\u200d", "\u200e", "\u200f", "\u202e", "\u2066", "\u00ad", "\u034f")
TEMPLATE = ("${", "%{", "$${x}", "%%{", '${file("/etc/passwd")}', "}", "\\", "\\n", "\\u0041")
NAMES = (
    "Müller", "José", "Ångström", "Nguyễn", "हिन्दी", "ภาษาไทย", "한국어", "日本語",
    "Zoë O'Brien", "sam.rivera_fabrikam.com#EXT#@contoso.onmicrosoft.com",
)  # fmt: skip

CLASSES = (
    TYPED, INDICATORS, WHITESPACE, CONTROLS, SEPARATORS, COMBINING, BASES, COMPATIBILITY,
    ASTRAL, INVISIBLE, TEMPLATE, NAMES,
)  # fmt: skip

CORPUS = tuple(
    dict.fromkeys(
        [
            *(s for cls in CLASSES for s in cls),
            # Every escape this writer uses, then a mark that composes with its last character.
            *(c + m for c in (*CONTROLS, "\\", '"') for m in ("\u0301", "\u0338", "\u0303")),
            *(b + m for b in BASES for m in COMBINING),
            "e\u0301",  # decomposed: Terraform reads it composed
            "\u1100\u1161\u11a8",  # Hangul jamo that NFC composes into one syllable
            "a\u0323\u0302\u0301",  # marks NFC reorders and composes
            "\u0301" * 50,  # more marks in a row than Go's normaliser lets stand
            "\u0301" * 61,  # and twice over
            "\u00e9" + "\u0301" * 30,
            "a" + "\u0323\u0301" * 20,
            "x" * 100_000,
            " " * 40,
        ]
    )
)


def random_strings(count: int, seed: int) -> list[str]:
    """Deterministic strings mixing every class above, 0 to 12 pieces each."""
    rng = random.Random(seed)
    return [
        "".join(rng.choice(rng.choice(CLASSES)) for _ in range(rng.randint(0, 12)))
        for _ in range(count)
    ]
